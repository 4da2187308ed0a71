// Backpressure: a client that stops reading is closed once its unread backlog reaches
// --send-buffer, while a client that reads receives everything and memory stays bounded.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <ostream>
#include <thread>
#include <vector>

#include "support/process_info.h"
#include "support/push_support.h"

namespace wspush::testing {
namespace {

class Backpressure : public PushServerTest {};

// The flood: 2000 messages of 4 KiB, 8 MiB in all. The kernel buffers a few MiB for a
// client that does not read (on loopback up to net.ipv4.tcp_wmem's maximum, 4 MiB here)
// before anything stays queued in the server, so the flood must be larger than that.
constexpr int kCount = 2000;
constexpr size_t kSize = 4096;

// The highest seq each reader has seen, so the publisher can stay a bounded distance
// ahead: readers then never fall behind by more than the kernel buffers hold, however
// slow this machine (or a sanitizer) makes them.
struct Progress {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<uint64_t> seen;

    void update(size_t who, uint64_t seq) {
        std::lock_guard<std::mutex> lock(mu);
        seen[who] = seq;
        cv.notify_all();
    }
    // Waits until every reader has seen `seq` (bounded). False on timeout.
    bool wait_all(uint64_t seq, int timeout_ms) {
        std::unique_lock<std::mutex> lock(mu);
        return cv.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                           [&] { return *std::min_element(seen.begin(), seen.end()) >= seq; });
    }
};

// Reads envelopes until seq `last` (or a failure), in its own thread.
struct Reader {
    RawClient client;
    SeqCheck seqs;
    std::string error;
    std::thread thread;

    void start(uint64_t last, Progress& progress, size_t me) {
        thread = std::thread([this, last, &progress, me] {
            while (seqs.last() < last) {
                auto j = read_json(client, 20000);
                if (!j) {
                    error = "nothing after seq " + std::to_string(seqs.last());
                    progress.update(me, UINT64_MAX);  // stop the publisher waiting for us
                    return;
                }
                seqs.add(envelope_seq(*j));
                progress.update(me, seqs.last());
            }
        });
    }
    void join() {
        if (thread.joinable()) thread.join();
    }
    ~Reader() { join(); }
};

// Sends kCount PUBs of kSize bytes to ch through ctl, `batch` commands per write, checking
// every reply; before each write, waits until the readers are at most two batches behind.
void flood(ControlConn& ctl, const std::string& ch, int batch, Progress& progress) {
    std::string lines;
    for (int i = 1; i <= kCount; ++i) {
        std::string head = "PUB " + ch + " " + std::to_string(i) + " ";
        lines += head + std::string(kSize - head.size(), 'p') + "\n";
        if (i % batch != 0 && i < kCount) continue;
        int first = i - (i - 1) % batch;
        ASSERT_TRUE(progress.wait_all(first > 2 * batch ? first - 2 * batch : 0, 20000))
            << "readers stalled before seq " << first;
        ASSERT_TRUE(ctl.send(lines));
        lines.clear();
        for (int r = first; r <= i; ++r) {
            auto l = ctl.read_line(20000);
            ASSERT_TRUE(l) << "reply " << r << " missing";
            ASSERT_EQ(l->rfind("OK seq=" + std::to_string(r) + " ", 0), 0u) << *l;
        }
    }
}

struct FloodCase {
    const char* name;
    int batch;  // PUB commands per write
};

void PrintTo(const FloodCase& c, std::ostream* os) { *os << c.name; }

class SlowConsumer : public Backpressure, public ::testing::WithParamInterface<FloodCase> {};

// 64 commands of 4 KiB per write (256 KiB, more than --send-buffer) or one per write.
TEST_P(SlowConsumer, IsClosedWhileAReaderGetsEverything) {
    ASSERT_TRUE(start({"--send-buffer", "64K"}));
    auto rss_before = stat(ctl_, "rss_bytes");
    ASSERT_TRUE(rss_before);

    RawClient slow;
    ASSERT_TRUE(subscribe(slow, srv_.port(), "/ws/flood"));
    // The slow client reads again as soon as the server has given up on it (within the 2 s
    // the Close waits for it): whole frames of what was sent before the cut, then Close 1008
    // "slow consumer" (queued behind the frame being written when it was cut).
    ControlConn watch;
    ASSERT_TRUE(control(watch, srv_));
    int data = 0;
    std::optional<Frame> close;
    std::string slow_error;
    std::thread slow_side([&] {
        if (!wait_until([&] { return stat(watch, "drops.slow_consumer").value_or(0) > 0; }, 60000, 20)) return;
        while (auto f = slow.read_frame(10000)) {
            if (f->opcode == 0x8) {
                close = f;
                return;
            }
            if (f->opcode != 0x1 || f->payload.rfind(std::to_string(data + 1) + " ", 0) != 0) {
                slow_error = "frame " + std::to_string(data + 1) + " out of order or not text";
                return;
            }
            ++data;
        }
    });
    struct Joiner {
        std::thread& t;
        ~Joiner() {
            if (t.joinable()) t.join();
        }
    } joiner{slow_side};

    Progress progress;
    progress.seen.assign(1, 0);
    Reader reader;
    ASSERT_TRUE(subscribe(reader.client, srv_.port(), "/ws/flood", true));
    reader.start(kCount, progress, 0);

    ASSERT_NO_FATAL_FAILURE(flood(ctl_, "flood", GetParam().batch, progress));
    reader.join();
    EXPECT_EQ(reader.error, "");
    EXPECT_TRUE(reader.seqs.ok()) << reader.seqs.error();
    EXPECT_EQ(reader.seqs.last(), static_cast<uint64_t>(kCount));
    EXPECT_EQ(reader.seqs.count(), static_cast<uint64_t>(kCount));

    slow_side.join();
    EXPECT_EQ(slow_error, "");
    EXPECT_LT(data, kCount) << "the slow client was never cut off";
    ASSERT_TRUE(close) << "EOF without a Close frame after " << data << " frames";
    EXPECT_EQ(close->close_code(), 1008);
    EXPECT_EQ(close->close_reason(), "slow consumer");
    EXPECT_TRUE(slow.wait_eof(10000));

    auto s = stats(ctl_);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->get("drops")->get("slow_consumer")->uint(), 1u) << "only the client that did not read";
    EXPECT_EQ(s->get("connections")->uint(), 1u);
    // About 1 MiB of growth is expected (history, buffers); keeping the flood (8 MiB raw plus
    // as much again in envelopes) would be far over 8 MiB. A sanitized server keeps freed
    // blocks in quarantine, so its RSS says nothing here.
    if (!sanitized(srv_.pid()) && !ServerProcess::wrapped()) {
        uint64_t rss = s->get("rss_bytes")->uint().value_or(0);
        EXPECT_LT(rss, *rss_before + (8u << 20)) << "resident memory grew by " << (rss - *rss_before) << " bytes";
    }
}

INSTANTIATE_TEST_SUITE_P(Flood, SlowConsumer,
                         ::testing::Values(FloodCase{"Pipelined", 64}, FloodCase{"OneByOne", 1}),
                         [](const auto& info) { return std::string(info.param.name); });

// The cap bounds the backlog, not a message: one message larger than --send-buffer still
// reaches a client that keeps up.
TEST_F(Backpressure, MessageLargerThanTheCapReachesAReader) {
    ASSERT_TRUE(start({"--send-buffer", "4K"}));
    RawClient c;
    ASSERT_TRUE(subscribe(c, srv_.port(), "/ws/big"));
    std::string big(100'000, 'b');
    EXPECT_EQ(cmd("PUB big " + big), "OK seq=1 delivered=1");
    EXPECT_TRUE(next_data_is(c, big));
    EXPECT_EQ(cmd("PUB big small"), "OK seq=2 delivered=1");
    EXPECT_TRUE(next_data_is(c, "small"));
    EXPECT_EQ(stat(ctl_, "drops.slow_consumer"), 0u);
}

// Several readers and several slow clients on one channel: every slow one is dropped,
// every reader gets everything.
TEST_F(Backpressure, ManySlowFewReaders) {
    constexpr int kSlow = 4;
    constexpr size_t kReaders = 3;
    ASSERT_TRUE(start({"--send-buffer", "64K"}));
    RawClient slow[kSlow];
    for (auto& c : slow) ASSERT_TRUE(subscribe(c, srv_.port(), "/ws/flood"));
    Progress progress;
    progress.seen.assign(kReaders, 0);
    Reader readers[kReaders];
    for (size_t i = 0; i < kReaders; ++i) {
        ASSERT_TRUE(subscribe(readers[i].client, srv_.port(), "/ws/flood", true));
        readers[i].start(kCount, progress, i);
    }
    ASSERT_NO_FATAL_FAILURE(flood(ctl_, "flood", 1, progress));
    for (auto& r : readers) {
        r.join();
        EXPECT_EQ(r.error, "");
        EXPECT_TRUE(r.seqs.ok()) << r.seqs.error();
        EXPECT_EQ(r.seqs.count(), static_cast<uint64_t>(kCount));
    }
    for (auto& c : slow) EXPECT_TRUE(c.wait_eof(10000));
    EXPECT_EQ(stat(ctl_, "drops.slow_consumer"), static_cast<uint64_t>(kSlow));
    EXPECT_EQ(stat(ctl_, "connections"), static_cast<uint64_t>(kReaders));
}

}  // namespace
}  // namespace wspush::testing
