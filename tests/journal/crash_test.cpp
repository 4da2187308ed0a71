// The journal under a killed process and a full disk, each in a forked child.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>

#include "journal/files.h"
#include "journal_util.h"

namespace wspush::journal {
namespace {

using namespace testing;  // journal_util.h

constexpr int kChannels = 4;
const char* const kNames[kChannels] = {"k0", "k1", "k2", "k3"};

Options harness_options() {
    Options o;
    // A kill loses nothing the kernel has (the page cache outlives the process), so the
    // policy does not change what must survive; no syncs keeps the rounds short.
    o.fsync = Fsync::kNever;
    o.max_bytes = 256 << 10;
    o.segment_bytes = 64 << 10;
    o.history = 50;
    return o;
}

// Between 0 and 299 bytes of padding, known from the seq.
std::string harness_payload(int c, uint64_t seq) { return payload_of(kNames[c], seq, seq * 37 % 300); }

// The child: recovers, then publishes forever in turns of 1..20 messages, each turn one
// commit, after which it tells the parent the last seq committed on each channel.
[[noreturn]] void publish_forever(const std::string& dir, int ack_fd, uint32_t seed) {
    const Options o = harness_options();
    Recovered rec;
    Error err;
    Writer w;
    if (!recover(dir, o, rec, err) || !w.open(dir, o, rec, err)) _exit(3);
    uint64_t last[kChannels] = {};
    for (int c = 0; c < kChannels; ++c)
        if (const RecoveredChannel* ch = find_channel(rec, kNames[c])) last[c] = ch->last_seq;
    std::mt19937 rng(seed);
    for (;;) {
        const int n = 1 + static_cast<int>(rng() % 20);
        for (int i = 0; i < n; ++i) {
            const int c = static_cast<int>(rng() % kChannels);
            ++last[c];
            if (w.append_message(kNames[c], 1, last[c], false, harness_payload(c, last[c])) != 0) _exit(4);
        }
        if (w.commit() != 0) _exit(5);
        if (write(ack_fd, last, sizeof last) != static_cast<ssize_t>(sizeof last)) _exit(6);
    }
}

// kill -9 at a random point (after a random number of commits), eight times over the
// same directory: every commit acknowledged before the kill is recovered, each channel's
// history is whole (its last min(50, last seq) messages, in order, once) and numbering
// never goes back.
TEST(JournalCrash, KillNineAtRandomPoints) {
    TempDir dir;
    const Options o = harness_options();
    std::mt19937 rng(::testing::UnitTest::GetInstance()->random_seed() + 12345);
    uint64_t before[kChannels] = {};
    for (int round = 0; round < 8; ++round) {
        const uint32_t seed = rng();
        const int commits = 1 + static_cast<int>(rng() % 400);
        SCOPED_TRACE("round " + std::to_string(round) + " seed " + std::to_string(seed) + " commits " +
                     std::to_string(commits));
        int fds[2];
        ASSERT_EQ(pipe(fds), 0);
        const pid_t pid = fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            close(fds[0]);
            publish_forever(dir.path(), fds[1], seed);
        }
        close(fds[1]);
        uint64_t acked[kChannels] = {};
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        for (int i = 0; i < commits && std::chrono::steady_clock::now() < deadline; ++i)
            if (read(fds[0], acked, sizeof acked) != static_cast<ssize_t>(sizeof acked)) break;
        ASSERT_EQ(kill(pid, SIGKILL), 0);
        int status = 0;
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        ASSERT_TRUE(WIFSIGNALED(status)) << "the child stopped by itself, status " << status;
        uint64_t more[kChannels];  // acknowledgements still in the pipe
        while (read(fds[0], more, sizeof more) == static_cast<ssize_t>(sizeof more)) std::memcpy(acked, more, sizeof more);
        close(fds[0]);

        const Recovered rec = recover_ok(dir.path(), o);
        for (int c = 0; c < kChannels; ++c) {
            const RecoveredChannel* ch = find_channel(rec, kNames[c]);
            if (acked[c] == 0 && before[c] == 0 && ch == nullptr) continue;
            ASSERT_NE(ch, nullptr) << kNames[c];
            EXPECT_GE(ch->last_seq, acked[c]) << kNames[c];
            EXPECT_GE(ch->last_seq, before[c]) << kNames[c];
            const uint64_t kept = std::min<uint64_t>(o.history, ch->last_seq);
            std::vector<uint64_t> seqs;
            for (const RecoveredMessage& m : ch->messages) {
                seqs.push_back(m.seq);
                EXPECT_EQ(m.payload, harness_payload(c, m.seq)) << kNames[c] << " seq " << m.seq;
            }
            EXPECT_EQ(seqs, range(ch->last_seq - kept + 1, ch->last_seq)) << kNames[c];
            before[c] = ch->last_seq;
        }
    }
}

// The child's checks, each with its own exit status (reported by the parent).
const char* const kFullDiskFailures[] = {
    "ok",
    "setrlimit",
    "recover or open",
    "an append failed before the limit",
    "no commit failed within 1000 (the limit was not reached)",
    "the commit failed with another error than EFBIG",
    "the error text does not say File too large",
    "an append after the error was not refused with the error",
    "retry failed once the limit was lifted",
    "a commit after the retry failed",
    "recovery afterwards failed",
    "recovery found another last seq",
    "recovery found another history",
    "the records on disk are not those committed",
};

// Recovered bytes on disk in every segment: the seqs there, in file order.
std::vector<uint64_t> seqs_on_disk(const std::string& dir, const Recovered& rec) {
    std::vector<uint64_t> out;
    for (const SegmentInfo& s : rec.segments) {
        std::ifstream in(join(dir, segment_name(s.number)), std::ios::binary);
        const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
        (void)scan_records(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                           [&](const Record& r, size_t) { out.push_back(r.seq); });
    }
    return out;
}

int full_disk_child(const std::string& dir) {
    signal(SIGXFSZ, SIG_IGN);
    rlimit lim;
    getrlimit(RLIMIT_FSIZE, &lim);
    const rlim_t hard = lim.rlim_max;
    lim.rlim_cur = 48 << 10;  // a segment may not pass 48 KiB
    if (setrlimit(RLIMIT_FSIZE, &lim) != 0) return 1;
    const Options o;
    Recovered rec;
    Error err;
    Writer w;
    if (!recover(dir, o, rec, err) || !w.open(dir, o, rec, err)) return 2;
    uint64_t seq = 0;
    int r = 0;
    while (r == 0 && seq < 1000) {
        ++seq;
        if (w.append_message("d", 1, seq, false, payload_of("d", seq, 1000)) != 0) return 3;
        r = w.commit();
    }
    if (r == 0) return 4;
    if (r != -EFBIG || w.error().code != -EFBIG) return 5;
    if (std::strstr(w.error().text, "File too large") == nullptr) return 6;
    const uint64_t failed = seq;
    ++seq;
    if (w.append_message("d", 1, seq, false, payload_of("d", seq, 1000)) != -EFBIG) return 7;
    lim.rlim_cur = hard;
    if (setrlimit(RLIMIT_FSIZE, &lim) != 0) return 1;
    if (w.retry() != 0) return 8;
    ++seq;
    if (w.append_message("d", 1, seq, false, payload_of("d", seq, 1000)) != 0 || w.commit() != 0) return 9;
    Recovered after;
    if (!recover(dir, o, after, err)) return 10;
    const RecoveredChannel* ch = find_channel(after, "d");
    if (ch == nullptr || ch->last_seq != seq) return 11;
    if (ch->messages.size() != 1 || ch->messages[0].seq != seq) return 12;  // the gap: failed, failed + 1
    std::vector<uint64_t> expect = range(1, failed - 1);
    expect.push_back(seq);
    if (seqs_on_disk(dir, after) != expect) return 13;
    return 0;
}

// A file-size limit (RLIMIT_FSIZE, SIGXFSZ ignored) stands for a full disk: the commit
// that passes it fails with EFBIG and a clear text, nothing half-written stays, appends
// are refused until retry(), and then the journal goes on.
TEST(JournalCrash, FullDiskIsAnErrorNotACrash) {
    TempDir dir;
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) _exit(full_disk_child(dir.path()));
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status)) << "the child was killed by signal " << WTERMSIG(status);
    const int code = WEXITSTATUS(status);
    ASSERT_LT(code, static_cast<int>(std::size(kFullDiskFailures))) << "exit status " << code;
    EXPECT_EQ(code, 0) << kFullDiskFailures[code];
}

}  // namespace
}  // namespace wspush::journal
