// OutQueue over real socketpairs: order, partial writes, 64-bit counters, the cost that
// --send-buffer judges, Pong coalescing, the ring's memory, out-of-memory. A Message leak
// check ends every test.
#include "push/out_queue.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

#include "push/alloc_hook.h"
#include "push/test_util.h"

namespace wspush::push {
namespace {

using testing::AllocHook;
using testing::frame_of;
using testing::pattern;

// A non-blocking Unix stream socketpair with small buffers: [0] is written by the queue,
// [1] is the peer that reads.
class OutQueueTest : public testing::LeakCheckedTest {
protected:
    void SetUp() override {
        LeakCheckedTest::SetUp();
        signal(SIGPIPE, SIG_IGN);  // flush() on a closed peer must return -EPIPE, not kill us
        ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds_), 0);
        int small = 4096;
        setsockopt(fds_[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
        setsockopt(fds_[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
        fcntl(fds_[0], F_SETFL, O_NONBLOCK);
        fcntl(fds_[1], F_SETFL, O_NONBLOCK);
    }
    void TearDown() override {
        queue_.clear();
        for (int fd : fds_)
            if (fd >= 0) close(fd);
        LeakCheckedTest::TearDown();
    }

    // Queues a new message (the queue holds the only reference) and returns its frame.
    std::string push_new(ws::Opcode op, const std::string& payload, bool pong = false) {
        Message* m = Message::make(op, payload.data(), payload.size());
        EXPECT_TRUE(pong ? queue_.push_pong(m) : queue_.push(m));
        std::string f = frame_of(m);
        m->unref();
        return f;
    }

    // Everything the peer can read right now.
    std::string drain_peer() {
        std::string out;
        char buf[65536];
        for (;;) {
            ssize_t n = read(fds_[1], buf, sizeof buf);
            if (n <= 0) break;
            out.append(buf, static_cast<size_t>(n));
        }
        return out;
    }

    // Flushes until the queue is empty, reading the peer in between (bounded: the peer
    // must make progress every round).
    std::string flush_all() {
        std::string got;
        for (int round = 0; round < 1'000'000 && !queue_.empty(); ++round) {
            bool wb = false;
            uint64_t before = queue_.bytes();
            long w = queue_.flush(fds_[0], &wb);
            EXPECT_GE(w, 0);
            if (w < 0) break;
            EXPECT_EQ(queue_.bytes(), before - static_cast<uint64_t>(w));
            EXPECT_EQ(wb, !queue_.empty()) << "stops early only when the socket is full";
            got += drain_peer();
        }
        got += drain_peer();
        return got;
    }

    OutQueue queue_;
    int fds_[2] = {-1, -1};
};

// More frames than one writev takes (64) and more bytes than the socket buffers hold:
// the peer reads every frame, whole and in order.
TEST_F(OutQueueTest, FlushWritesEveryFrameInOrder) {
    std::string want;
    for (unsigned i = 0; i < 300; ++i) want += push_new(ws::Opcode::kBinary, pattern(1 + (i * 37) % 3000, i));
    EXPECT_EQ(queue_.bytes(), want.size());
    EXPECT_EQ(queue_.frames(), 300u);
    std::string got = flush_all();
    EXPECT_TRUE(queue_.empty());
    EXPECT_EQ(queue_.bytes(), 0u);
    ASSERT_EQ(got.size(), want.size());
    EXPECT_TRUE(got == want) << "bytes out of order or corrupted";
}

TEST_F(OutQueueTest, SharedMessageIsWrittenOncePerQueue) {
    Message* m = Message::make(ws::Opcode::kText, "shared", 6);
    OutQueue other;
    ASSERT_TRUE(queue_.push(m));
    ASSERT_TRUE(other.push(m));
    ASSERT_TRUE(queue_.push(m));
    m->unref();
    std::string got = flush_all();
    EXPECT_EQ(got, frame_of(m) + frame_of(m));
    other.clear();  // frees the message: the leak check sees it go
}

// Fill the peer: the first flush of a frame larger than both buffers writes only part of
// it. drop_unstarted() keeps that head (it must be finished) and drops the rest.
TEST_F(OutQueueTest, DropUnstartedKeepsAPartlyWrittenHead) {
    std::string head = push_new(ws::Opcode::kBinary, pattern(1 << 20, 9));
    for (int i = 0; i < 5; ++i) push_new(ws::Opcode::kText, "later");
    bool wb = false;
    long w = queue_.flush(fds_[0], &wb);
    ASSERT_GT(w, 0);
    ASSERT_LT(static_cast<uint64_t>(w), head.size()) << "socket buffers larger than expected";
    EXPECT_TRUE(wb);
    EXPECT_TRUE(queue_.head_started());
    queue_.drop_unstarted();
    EXPECT_EQ(queue_.frames(), 1u);
    EXPECT_EQ(queue_.bytes(), head.size() - static_cast<uint64_t>(w));
    std::string got = drain_peer();
    got += flush_all();
    EXPECT_TRUE(got == head) << "got " << got.size() << " bytes, want " << head.size();
    EXPECT_FALSE(queue_.head_started());
}

TEST_F(OutQueueTest, DropUnstartedWithNothingWrittenDropsAll) {
    for (int i = 0; i < 3; ++i) push_new(ws::Opcode::kText, "x");
    EXPECT_FALSE(queue_.head_started());
    queue_.drop_unstarted();
    EXPECT_TRUE(queue_.empty());
    EXPECT_EQ(queue_.bytes(), 0u);
    EXPECT_EQ(queue_.ring_capacity(), 0u) << "the ring goes with the last frame";
    push_new(ws::Opcode::kText, "y");
    EXPECT_EQ(flush_all(), "\x81\x01y");
}

TEST_F(OutQueueTest, FlushToAClosedPeerReturnsMinusErrno) {
    close(fds_[1]);
    fds_[1] = -1;
    push_new(ws::Opcode::kText, "gone");
    bool wb = false;
    EXPECT_EQ(queue_.flush(fds_[0], &wb), -EPIPE);
    EXPECT_FALSE(queue_.empty()) << "nothing was written";
}

TEST_F(OutQueueTest, ClearDropsEveryReference) {
    for (int i = 0; i < 200; ++i) push_new(ws::Opcode::kText, "q");
    queue_.clear();
    EXPECT_TRUE(queue_.empty());
    EXPECT_EQ(queue_.bytes(), 0u);
    EXPECT_EQ(queue_.ring_capacity(), 0u);
}

// One 1 MiB message queued 5000 times: 5000 MiB and change, which a 32-bit count wraps
// (to about 904 MiB). Only the pointers are stored: the ring is 8192 slots, 64 KiB.
TEST_F(OutQueueTest, BytesCountPast4GiBWithoutCopies) {
    std::string mib(1 << 20, 'a');
    Message* m = Message::make(ws::Opcode::kBinary, mib.data(), mib.size());
    for (int i = 0; i < 5000; ++i) ASSERT_TRUE(queue_.push(m));
    const uint64_t frame = m->frame_size();
    EXPECT_EQ(frame, (1u << 20) + 10u);
    EXPECT_EQ(queue_.frames(), 5000u);
    EXPECT_EQ(queue_.bytes(), 5000 * frame);
    EXPECT_GT(queue_.bytes(), uint64_t{5000} << 20);
    EXPECT_EQ(queue_.cost(), 5000 * (frame + OutQueue::kFrameOverhead));
    EXPECT_EQ(queue_.cost_behind_head(), 4999 * (frame + OutQueue::kFrameOverhead));
    EXPECT_EQ(queue_.ring_capacity(), 8192u);
    m->unref();
}

// One frame is held in the struct, whose byte count is the frame's size less what was
// written of it; a second frame moves both into a ring that counts for itself.
TEST_F(OutQueueTest, OneFramePartlyWrittenThenARing) {
    std::string big = push_new(ws::Opcode::kBinary, pattern(1 << 20, 4));
    EXPECT_EQ(queue_.bytes(), big.size());
    EXPECT_EQ(queue_.ring_capacity(), 0u);
    bool wb = false;
    long w = queue_.flush(fds_[0], &wb);
    ASSERT_GT(w, 0);
    ASSERT_LT(static_cast<uint64_t>(w), big.size()) << "socket buffers larger than expected";
    EXPECT_EQ(queue_.bytes(), big.size() - static_cast<uint64_t>(w));
    EXPECT_EQ(queue_.cost(), big.size() - static_cast<uint64_t>(w) + OutQueue::kFrameOverhead);
    EXPECT_EQ(queue_.cost_behind_head(), 0u);
    std::string small = push_new(ws::Opcode::kText, "next");
    EXPECT_GT(queue_.ring_capacity(), 0u);
    EXPECT_EQ(queue_.bytes(), big.size() - static_cast<uint64_t>(w) + small.size());
    EXPECT_EQ(queue_.cost_behind_head(), small.size() + OutQueue::kFrameOverhead);
    std::string got = drain_peer();
    got += flush_all();
    EXPECT_TRUE(got == big + small);
    EXPECT_EQ(queue_.bytes(), 0u);
}

// A single frame over 4 GiB (an envelope of a large message may be): its unwritten bytes
// are counted in 64 bits, alone in the struct and in a ring.
TEST_F(OutQueueTest, OneFrameOver4GiBCountsEveryByte) {
#if defined(__SANITIZE_ADDRESS__)
    GTEST_SKIP() << "ASan would poison the shadow of the whole 5 GiB";
#else
    constexpr size_t kBig = (size_t{5} << 30) + 3;
    Message* m = Message::make_buffer(kBig);
    if (m == nullptr) GTEST_SKIP() << "no 5 GiB of address space here";
    m->extend(kBig);
    m->seal(ws::Opcode::kBinary);
    const uint64_t frame = m->frame_size();
    ASSERT_EQ(frame, kBig + 10);
    ASSERT_TRUE(queue_.push(m));
    m->unref();
    EXPECT_EQ(queue_.bytes(), frame);
    EXPECT_EQ(queue_.cost(), frame + OutQueue::kFrameOverhead);
    bool wb = false;
    long w = queue_.flush(fds_[0], &wb);  // as much as the small socket buffers take
    ASSERT_GT(w, 0);
    EXPECT_TRUE(wb);
    EXPECT_EQ(queue_.bytes(), frame - static_cast<uint64_t>(w));
    std::string small = push_new(ws::Opcode::kText, "x");
    EXPECT_EQ(queue_.bytes(), frame - static_cast<uint64_t>(w) + small.size());
    EXPECT_EQ(queue_.cost_behind_head(), small.size() + OutQueue::kFrameOverhead);
    queue_.drop_unstarted();
    EXPECT_EQ(queue_.bytes(), frame - static_cast<uint64_t>(w));
    queue_.clear();
    EXPECT_EQ(queue_.bytes(), 0u);
#endif
}

// cost() is what --send-buffer judges: 1000 empty Pongs are 2 wire bytes each but 66
// each charged, so a flood of them cannot hide under a byte cap.
TEST_F(OutQueueTest, CostChargesEachFrame) {
    for (int i = 0; i < 1000; ++i) push_new(ws::Opcode::kPing, "");
    EXPECT_EQ(queue_.bytes(), 2000u);
    EXPECT_EQ(queue_.cost(), 1000 * (2 + OutQueue::kFrameOverhead));
    EXPECT_EQ(queue_.cost_behind_head(), 999 * (2 + OutQueue::kFrameOverhead));
}

TEST_F(OutQueueTest, CostBehindHeadLeavesOutTheFrameBeingWritten) {
    std::string big = push_new(ws::Opcode::kBinary, pattern(1 << 20, 3));
    std::string small = push_new(ws::Opcode::kText, "after");
    bool wb = false;
    long w = queue_.flush(fds_[0], &wb);
    ASSERT_GT(w, 0);
    ASSERT_TRUE(queue_.head_started());
    EXPECT_EQ(queue_.cost_behind_head(), small.size() + OutQueue::kFrameOverhead);
    EXPECT_EQ(queue_.cost(), big.size() - static_cast<uint64_t>(w) + small.size() + 2 * OutQueue::kFrameOverhead);
}

// RFC 6455 5.5.3: 100k Pings unanswered hold one Pong, the latest.
TEST_F(OutQueueTest, PingFloodHoldsOnePongTheLatest) {
    std::string last;
    for (int i = 0; i < 100'000; ++i) last = push_new(ws::Opcode::kPong, std::to_string(i), true);
    EXPECT_EQ(queue_.frames(), 1u);
    EXPECT_EQ(queue_.bytes(), last.size());
    EXPECT_EQ(flush_all(), last);
}

// Behind data (a ring, not the one-frame slot): the queued Pong is replaced where it
// stands, and frames queued after it keep their places.
// Only a Pong at the tail is replaced: one with a reply queued behind it stays where it is,
// so the answers keep the order of the frames they answer.
TEST_F(OutQueueTest, OnlyTheLastQueuedPongIsReplaced) {
    std::string a = push_new(ws::Opcode::kText, "a");
    std::string p1 = push_new(ws::Opcode::kPong, "p1", true);
    std::string b = push_new(ws::Opcode::kText, "b");
    std::string p2;
    for (int i = 0; i < 1000; ++i) p2 = push_new(ws::Opcode::kPong, "p" + std::to_string(i + 2), true);
    EXPECT_EQ(queue_.frames(), 4u);
    EXPECT_EQ(queue_.bytes(), a.size() + p1.size() + b.size() + p2.size());
    EXPECT_EQ(flush_all(), a + p1 + b + p2);
}

// A Pong partly written is started: it must be finished, so a new one goes behind it
// (and then replaces only that new one).
TEST_F(OutQueueTest, StartedPongIsNotReplaced) {
    // An oversized "Pong" (the queue does not check control-frame limits) that cannot be
    // written whole into the small socket buffers.
    std::string first = push_new(ws::Opcode::kPong, pattern(1 << 20, 5), true);
    bool wb = false;
    ASSERT_GT(queue_.flush(fds_[0], &wb), 0);
    ASSERT_TRUE(queue_.head_started());
    push_new(ws::Opcode::kPong, "second", true);
    std::string third = push_new(ws::Opcode::kPong, "third", true);
    EXPECT_EQ(queue_.frames(), 2u);
    std::string got = drain_peer() + flush_all();
    EXPECT_TRUE(got == first + third);
}

TEST_F(OutQueueTest, PlainPushNeverReplaces) {
    std::string p1 = push_new(ws::Opcode::kPong, "p1");
    std::string p2 = push_new(ws::Opcode::kPong, "p2", true);
    std::string p3 = push_new(ws::Opcode::kPong, "p3");
    EXPECT_EQ(queue_.frames(), 3u);
    EXPECT_EQ(flush_all(), p1 + p2 + p3);
}

// One frame lives in the struct: queueing it allocates nothing (the fan-out hot path).
TEST_F(OutQueueTest, OneFrameAllocatesNothing) {
    Message* m = Message::make(ws::Opcode::kText, "x", 1);
    AllocHook count(false);
    ASSERT_TRUE(queue_.push(m));
    EXPECT_EQ(count.calls(), 0u);
    EXPECT_EQ(queue_.ring_capacity(), 0u);
    ASSERT_TRUE(queue_.push(m));
    EXPECT_EQ(count.calls(), 1u) << "the second frame makes the ring";
    EXPECT_EQ(queue_.ring_capacity(), 4u);
    m->unref();
}

// The ring doubles to hold 100k frames, shrinks as a flush empties it and is freed when
// the last frame is written: memory comes back.
TEST_F(OutQueueTest, RingIsFreedWhenDrained) {
    Message* m = Message::make(ws::Opcode::kText, "0123456789", 10);
    for (int i = 0; i < 100'000; ++i) ASSERT_TRUE(queue_.push(m));
    m->unref();
    EXPECT_EQ(queue_.ring_capacity(), 131072u);
    uint64_t smallest = queue_.ring_capacity();
    for (int round = 0; round < 1'000'000 && !queue_.empty(); ++round) {
        bool wb = false;
        ASSERT_GE(queue_.flush(fds_[0], &wb), 0);
        drain_peer();
        if (!queue_.empty()) {
            EXPECT_LE(queue_.ring_capacity(), std::max<uint64_t>(1024, 16 * queue_.frames()))
                << "shrinks as it empties (" << queue_.frames() << " frames left)";
            smallest = std::min(smallest, queue_.ring_capacity());
        }
    }
    EXPECT_TRUE(queue_.empty());
    EXPECT_LT(smallest, 131072u);
    EXPECT_EQ(queue_.ring_capacity(), 0u);
}

TEST_F(OutQueueTest, PushOutOfMemoryQueuesNothing) {
    Message* m = Message::make(ws::Opcode::kText, "m", 1);
    ASSERT_TRUE(queue_.push(m));  // in the struct
    {
        AllocHook fail;
        EXPECT_FALSE(queue_.push(m)) << "the second frame needs the ring";
        EXPECT_FALSE(queue_.push_pong(m));
    }
    EXPECT_EQ(queue_.frames(), 1u);
    EXPECT_EQ(queue_.bytes(), 3u);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(queue_.push(m));
    EXPECT_EQ(queue_.ring_capacity(), 4u);
    {
        AllocHook fail;
        EXPECT_FALSE(queue_.push(m)) << "a full ring cannot double";
    }
    EXPECT_EQ(queue_.frames(), 4u);
    EXPECT_EQ(queue_.bytes(), 12u);
    m->unref();  // a reference taken by a failed push would leak: the leak check sees it
    EXPECT_EQ(flush_all(), "\x81\x01m\x81\x01m\x81\x01m\x81\x01m");
}

}  // namespace
}  // namespace wspush::push
