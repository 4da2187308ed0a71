// Backpressure: a client that stops reading is closed once its unread backlog reaches
// --send-buffer, while a client that reads receives everything and memory stays bounded.
#include <gtest/gtest.h>

#include <thread>

#include "support/push_support.h"

namespace wspush::testing {
namespace {

class Backpressure : public PushServerTest {};

// The flood: 2000 messages of 4 KiB, 8 MiB in all. The kernel buffers a few MiB for a
// client that does not read (on loopback up to net.ipv4.tcp_wmem's maximum, 4 MiB here)
// before anything stays queued in the server, so the flood must be larger than that.
constexpr int kCount = 2000;
constexpr size_t kSize = 4096;

// Reads envelopes until seq `last` (or a failure), in its own thread.
struct Reader {
    RawClient client;
    SeqCheck seqs;
    std::string error;
    std::thread thread;

    void start(uint64_t last) {
        thread = std::thread([this, last] {
            while (seqs.last() < last) {
                auto j = read_json(client, 20000);
                if (!j) {
                    error = "nothing after seq " + std::to_string(seqs.last());
                    return;
                }
                seqs.add(envelope_seq(*j));
            }
        });
    }
    void join() {
        if (thread.joinable()) thread.join();
    }
    ~Reader() { join(); }
};

// Sends `count` PUBs of about `size` bytes to ch through ctl, all in one write when
// `pipelined`, else each after the previous reply; checks every reply.
void flood(ControlConn& ctl, const std::string& ch, int count, size_t size, bool pipelined = true) {
    std::string batch;
    for (int i = 1; i <= count; ++i) {
        std::string head = "PUB " + ch + " " + std::to_string(i) + " ";
        batch += head + std::string(size - std::min(size, head.size()), 'p') + "\n";
        if (pipelined && i < count) continue;
        ASSERT_TRUE(ctl.send(batch));
        batch.clear();
        for (int r = pipelined ? 1 : i; r <= i; ++r) {
            auto l = ctl.read_line(20000);
            ASSERT_TRUE(l) << "reply " << r << " missing";
            ASSERT_EQ(l->rfind("OK seq=" + std::to_string(r) + " ", 0), 0u) << *l;
        }
    }
}

class SlowConsumer : public Backpressure, public ::testing::WithParamInterface<bool> {};

TEST_P(SlowConsumer, IsClosedWhileAReaderGetsEverything) {
    ASSERT_TRUE(start({"--send-buffer", "64K"}));
    auto rss_before = stat(ctl_, "rss_bytes");
    ASSERT_TRUE(rss_before);

    RawClient slow;
    ASSERT_TRUE(subscribe(slow, srv_.port(), "/ws/flood"));
    Reader reader;
    ASSERT_TRUE(subscribe(reader.client, srv_.port(), "/ws/flood", true));
    reader.start(kCount);

    ASSERT_NO_FATAL_FAILURE(flood(ctl_, "flood", kCount, kSize, GetParam()));
    reader.join();
    EXPECT_EQ(reader.error, "");
    EXPECT_TRUE(reader.seqs.ok()) << reader.seqs.error();
    EXPECT_EQ(reader.seqs.last(), static_cast<uint64_t>(kCount));
    EXPECT_EQ(reader.seqs.count(), static_cast<uint64_t>(kCount));

    // The slow client finally reads: whole frames of what was sent before the cut, then
    // Close 1008 "slow consumer" (or EOF if the Close could not be written in time).
    int data = 0;
    std::optional<Frame> close;
    for (int i = 0; i <= kCount; ++i) {
        auto f = slow.read_frame(10000);
        if (!f) break;
        if (f->opcode == 0x8) {
            close = f;
            break;
        }
        ASSERT_EQ(f->opcode, 0x1);
        ASSERT_EQ(f->payload.rfind(std::to_string(data + 1) + " ", 0), 0u) << "frame " << data + 1 << " out of order";
        ++data;
    }
    EXPECT_LT(data, kCount) << "the slow client was never cut off";
    if (close) {
        EXPECT_EQ(close->close_code(), 1008);
        EXPECT_EQ(close->close_reason(), "slow consumer");
    }
    EXPECT_TRUE(slow.wait_eof(10000));

    auto s = stats(ctl_);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->get("drops")->get("slow_consumer")->uint(), 1u) << "only the client that did not read";
    EXPECT_EQ(s->get("connections")->uint(), 1u);
    uint64_t rss = s->get("rss_bytes")->uint().value_or(0);
    EXPECT_LT(rss, *rss_before + (32u << 20)) << "resident memory grew by " << (rss - *rss_before) << " bytes";
}

INSTANTIATE_TEST_SUITE_P(Flood, SlowConsumer, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "Pipelined" : "OneByOne"; });

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
    constexpr int kReaders = 3;
    ASSERT_TRUE(start({"--send-buffer", "64K"}));
    RawClient slow[kSlow];
    for (auto& c : slow) ASSERT_TRUE(subscribe(c, srv_.port(), "/ws/flood"));
    Reader readers[kReaders];
    for (auto& r : readers) {
        ASSERT_TRUE(subscribe(r.client, srv_.port(), "/ws/flood", true));
        r.start(kCount);
    }
    ASSERT_NO_FATAL_FAILURE(flood(ctl_, "flood", kCount, kSize, false));
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
