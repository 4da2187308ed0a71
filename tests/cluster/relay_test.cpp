// The three pieces together, as --workers will use them: workers forked by the supervisor
// publish over their socketpairs (wire kPublish); the parent numbers each publication with
// the sequencer and sends it (kPublished) to every worker, the publisher included, in one
// order. Each worker checks what it gets (seq consecutive per channel in one epoch, its own
// publications completed in the order it made them) and folds it into a digest it reports
// in a kStats frame: every worker must report every publication once, with the same digest.
#include <poll.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/clock.h"
#include "cluster/blocking_io.h"
#include "cluster/sequencer.h"
#include "cluster/supervisor.h"
#include "cluster/wire.h"

namespace wspush::cluster {
namespace {

using test_support::write_all;

constexpr uint32_t kWorkers = 3;
constexpr uint64_t kPerWorker = 300;
constexpr uint64_t kTotal = kWorkers * kPerWorker;
constexpr const char* kChannels[] = {"alpha", "beta", "gamma"};
constexpr int kWaitMs = 10000;

enum Counter : uint8_t { kReceived, kDigest, kCompleted, kViolations, kCounters };

uint64_t fnv(uint64_t h, std::string_view s) {
    for (char c : s) h = (h ^ static_cast<uint8_t>(c)) * 0x100000001b3ull;
    return h;
}

uint64_t fnv(uint64_t h, uint64_t v) {
    return fnv(h, std::string_view(reinterpret_cast<const char*>(&v), sizeof v));
}

std::string frame_bytes(const Frame& f) {
    std::string out;
    if (!encode(f, out)) abort();
    return out;
}

// The worker: publishes kPerWorker messages spread over the channels, then applies what the
// parent sends until its end closes.
int worker(void*, uint32_t index, int fd) {
    std::string out;
    for (uint64_t k = 0; k < kPerWorker; ++k) {
        Frame f;
        f.kind = Kind::kPublish;
        f.request = k + 1;
        f.type = k % 5 == 0 ? PayloadType::kBinary : PayloadType::kText;
        f.channel = kChannels[(k + index) % 3];
        const std::string payload = "w" + std::to_string(index) + "-" + std::to_string(k);
        f.payload = payload;
        if (!encode(f, out)) return 5;
    }
    if (!write_all(fd, out)) return 2;

    uint64_t c[kCounters] = {0, 0xcbf29ce484222325ull, 0, 0};
    uint64_t epoch[3] = {}, last[3] = {};
    uint64_t next_request = 1;
    WireDecoder d;
    char buf[4096];
    for (;;) {
        pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
        poll(&p, 1, -1);
        const ssize_t n = read(fd, buf, sizeof buf);
        if (n == 0) return 0;
        if (n < 0) continue;  // EAGAIN, EINTR
        for (size_t pos = 0; pos < static_cast<size_t>(n);) {
            size_t used = 0;
            const auto r = d.feed(buf + pos, static_cast<size_t>(n) - pos, used);
            pos += used;
            if (r == WireDecoder::Result::kError) return 4;
            if (r == WireDecoder::Result::kNeedMore) break;
            const Frame& f = d.frame();
            if (f.kind == Kind::kPublished) {
                ++c[kReceived];
                c[kDigest] = fnv(fnv(fnv(fnv(c[kDigest], f.epoch), f.seq), f.channel), f.payload);
                size_t ch = 0;
                while (ch < 3 && f.channel != kChannels[ch]) ++ch;
                if (ch == 3 || (epoch[ch] != 0 && epoch[ch] != f.epoch) || f.seq != last[ch] + 1) ++c[kViolations];
                if (ch < 3) epoch[ch] = f.epoch, last[ch] = f.seq;
                if (f.origin == index) {
                    if (f.request != next_request++) ++c[kViolations];
                    ++c[kCompleted];
                }
            } else if (f.kind == Kind::kStatsQuery) {
                Frame s;
                s.kind = Kind::kStats;
                s.request = f.request;
                s.counter_count = kCounters;
                for (size_t i = 0; i < kCounters; ++i) s.counters[i] = c[i];
                if (!write_all(fd, frame_bytes(s))) return 2;
            }
        }
    }
}

TEST(ClusterRelay, EveryWorkerAppliesEveryPublicationOnceInOneOrder) {
    Supervisor s(SupervisorOptions{.workers = kWorkers}, SupervisorHooks{.body = worker});
    ASSERT_TRUE(s.start(base::monotonic_ms())) << s.error();
    Sequencer seq(SequencerLimits{.workers = kWorkers, .max_channels = 8, .epoch_base = uint64_t{77} << 32});
    WireDecoder decoders[kWorkers];
    std::vector<uint64_t> stats[kWorkers];
    uint64_t forwarded = 0;
    bool queried = false;
    size_t reported = 0;

    const uint64_t end = base::monotonic_ms() + kWaitMs;
    while (reported < kWorkers) {
        const uint64_t now = base::monotonic_ms();
        ASSERT_LT(now, end) << "forwarded " << forwarded << ", stats from " << reported;
        pollfd fds[kWorkers];
        for (uint32_t i = 0; i < kWorkers; ++i) fds[i] = {.fd = s.worker_fd(i), .events = POLLIN, .revents = 0};
        ASSERT_GE(poll(fds, kWorkers, static_cast<int>(end - now)), 0);
        for (uint32_t i = 0; i < kWorkers; ++i) {
            if (fds[i].revents == 0) continue;
            char buf[1500];  // small reads: frames arrive split
            const ssize_t n = read(fds[i].fd, buf, sizeof buf);
            ASSERT_GT(n, 0) << "worker " << i;
            for (size_t pos = 0; pos < static_cast<size_t>(n);) {
                size_t used = 0;
                const auto r = decoders[i].feed(buf + pos, static_cast<size_t>(n) - pos, used);
                pos += used;
                ASSERT_NE(r, WireDecoder::Result::kError) << decoders[i].error();
                if (r == WireDecoder::Result::kNeedMore) break;
                const Frame& f = decoders[i].frame();
                if (f.kind == Kind::kPublish) {
                    Number num;
                    ASSERT_TRUE(seq.next(f.channel, num));
                    Frame p = f;
                    p.kind = Kind::kPublished;
                    p.epoch = num.epoch;
                    p.seq = num.seq;
                    p.origin = i;
                    const std::string bytes = frame_bytes(p);
                    for (uint32_t w = 0; w < kWorkers; ++w) ASSERT_TRUE(write_all(s.worker_fd(w), bytes));
                    ++forwarded;
                } else {
                    ASSERT_EQ(f.kind, Kind::kStats);
                    ASSERT_EQ(f.request, 42u);
                    stats[i].assign(f.counters, f.counters + f.counter_count);
                    ++reported;
                }
            }
        }
        if (forwarded == kTotal && !queried) {
            // After every publication, on the same stream: the answers count them all.
            Frame q;
            q.kind = Kind::kStatsQuery;
            q.request = 42;
            for (uint32_t w = 0; w < kWorkers; ++w) ASSERT_TRUE(write_all(s.worker_fd(w), frame_bytes(q)));
            queried = true;
        }
    }
    for (uint32_t i = 0; i < kWorkers; ++i) {
        ASSERT_EQ(stats[i].size(), size_t{kCounters});
        EXPECT_EQ(stats[i][kReceived], kTotal) << "worker " << i;
        EXPECT_EQ(stats[i][kCompleted], kPerWorker) << "worker " << i;
        EXPECT_EQ(stats[i][kViolations], 0u) << "worker " << i;
        EXPECT_EQ(stats[i][kDigest], stats[0][kDigest]) << "worker " << i;
    }
    EXPECT_EQ(seq.channels(), 3u);
    Number last;
    uint64_t sum = 0;
    for (const char* ch : kChannels) {
        ASSERT_TRUE(seq.last(ch, last));
        sum += last.seq;
    }
    EXPECT_EQ(sum, kTotal);

    s.stop(base::monotonic_ms());
    const uint64_t stop_end = base::monotonic_ms() + kWaitMs;
    while (!s.finished() && base::monotonic_ms() < stop_end) s.run_once(-1, kWaitMs);
    EXPECT_EQ(s.state(), Supervisor::State::kDone);
}

}  // namespace
}  // namespace wspush::cluster
