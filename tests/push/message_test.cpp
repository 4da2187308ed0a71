// Message (shared, sealed frames) and OutQueue (per-connection writev queue) over real
// socketpairs, with a leak check on every test.
#include "push/message.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace wspush::push {
namespace {

std::string frame_of(const Message* m) {
    return std::string(reinterpret_cast<const char*>(m->frame()), m->frame_size());
}
std::string payload_of(const Message* m) {
    return std::string(reinterpret_cast<const char*>(m->payload()), m->payload_size());
}

// The RFC 6455 5.2 header of an unmasked, final server frame.
std::string header(uint8_t opcode, uint64_t n) {
    std::string h(1, static_cast<char>(0x80 | opcode));
    if (n < 126) {
        h += static_cast<char>(n);
    } else if (n <= 0xFFFF) {
        h += static_cast<char>(126);
        h += static_cast<char>(n >> 8);
        h += static_cast<char>(n & 0xFF);
    } else {
        h += static_cast<char>(127);
        for (int i = 7; i >= 0; --i) h += static_cast<char>((n >> (8 * i)) & 0xFF);
    }
    return h;
}

std::string pattern(size_t n, unsigned seed) {
    std::string s(n, '\0');
    for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 31 + seed * 7 + (i >> 8)) & 0xFF);
    return s;
}

class MessageTest : public ::testing::Test {
protected:
    void SetUp() override { live_before_ = Message::live(); }
    void TearDown() override { EXPECT_EQ(Message::live(), live_before_) << "Message leak"; }

private:
    size_t live_before_ = 0;
};

class MessageSizes : public MessageTest, public ::testing::WithParamInterface<size_t> {};

TEST_P(MessageSizes, MakeFramesThePayload) {
    size_t n = GetParam();
    std::string p = pattern(n, 1);
    Message* m = Message::make(ws::Opcode::kBinary, p.data(), n);
    EXPECT_EQ(m->opcode(), ws::Opcode::kBinary);
    EXPECT_EQ(m->payload_size(), n);
    EXPECT_EQ(payload_of(m), p);
    EXPECT_EQ(frame_of(m), header(0x2, n) + p);
    m->unref();
}

// Each header length and both sides of each boundary.
INSTANTIATE_TEST_SUITE_P(Lengths, MessageSizes,
                         ::testing::Values(0, 1, 125, 126, 127, 65535, 65536, 70000),
                         [](const auto& info) { return "Bytes" + std::to_string(info.param); });

TEST_F(MessageTest, MakeRawIsTheBytesExactly) {
    const char resp[] = "HTTP/1.1 101 Switching Protocols\r\n\r\n";
    Message* m = Message::make_raw(resp, sizeof resp - 1);
    EXPECT_EQ(frame_of(m), std::string(resp));
    m->unref();
}

TEST_F(MessageTest, LiveCountsUntilTheLastUnref) {
    size_t before = Message::live();
    Message* m = Message::make(ws::Opcode::kText, "x", 1);
    EXPECT_EQ(Message::live(), before + 1);
    m->ref();
    m->ref();
    m->unref();
    m->unref();
    EXPECT_EQ(Message::live(), before + 1) << "one reference left";
    m->unref();
    EXPECT_EQ(Message::live(), before);
}

// Pieces of every size from 1 to 97 bytes (growing the buffer several times from a
// zero capacity), then seal: the frame equals one made whole.
TEST_F(MessageTest, AppendAndSealEqualsMake) {
    std::string whole = pattern(100'000, 2);
    Message* m = Message::make_buffer(0);
    size_t at = 0;
    for (size_t step = 1; at < whole.size(); step = step % 97 + 1) {
        size_t n = std::min(step, whole.size() - at);
        m = Message::append(m, whole.data() + at, n);
        at += n;
        ASSERT_EQ(m->payload_size(), at);
    }
    m->seal(ws::Opcode::kText);
    Message* ref = Message::make(ws::Opcode::kText, whole.data(), whole.size());
    EXPECT_EQ(frame_of(m), frame_of(ref));
    EXPECT_EQ(m->opcode(), ws::Opcode::kText);
    m->unref();
    ref->unref();
}

TEST_F(MessageTest, ConsumeDropsAHeadThenAppendContinues) {
    Message* m = Message::make_buffer(4);
    m = Message::append(m, "GET / HTTP/1.1\r\n\r\n", 18);
    m = Message::append(m, "\x81\x05", 2);
    m->consume(18);
    EXPECT_EQ(payload_of(m), "\x81\x05");
    m = Message::append(m, "hello", 5);
    m->consume(2);
    EXPECT_EQ(payload_of(m), "hello");
    m->seal(ws::Opcode::kText);
    EXPECT_EQ(frame_of(m), "\x81\x05hello");
    m->unref();
}

// ------------------------------------------------------------------ OutQueue

// A non-blocking Unix stream socketpair with small buffers: [0] is written by the queue,
// [1] is the peer that reads.
class OutQueueTest : public MessageTest {
protected:
    void SetUp() override {
        MessageTest::SetUp();
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
        MessageTest::TearDown();
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
        for (int round = 0; round < 100'000 && !queue_.empty(); ++round) {
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
    for (unsigned i = 0; i < 300; ++i) {
        std::string p = pattern(1 + (i * 37) % 3000, i);
        Message* m = Message::make(ws::Opcode::kBinary, p.data(), p.size());
        queue_.push(m);
        want += frame_of(m);
        m->unref();  // the queue holds the only reference now
    }
    EXPECT_EQ(queue_.bytes(), want.size());
    std::string got = flush_all();
    EXPECT_TRUE(queue_.empty());
    EXPECT_EQ(queue_.bytes(), 0u);
    ASSERT_EQ(got.size(), want.size());
    EXPECT_TRUE(got == want) << "bytes out of order or corrupted";
}

TEST_F(OutQueueTest, SharedMessageIsWrittenOncePerQueue) {
    Message* m = Message::make(ws::Opcode::kText, "shared", 6);
    OutQueue other;
    queue_.push(m);
    other.push(m);
    queue_.push(m);
    m->unref();
    std::string got = flush_all();
    EXPECT_EQ(got, frame_of(m) + frame_of(m));
    other.clear();  // frees the message: the leak check sees it go
}

// Fill the peer: the first flush of a frame larger than both buffers writes only part of
// it. drop_unstarted() keeps that head (it must be finished) and drops the rest.
TEST_F(OutQueueTest, DropUnstartedKeepsAPartlyWrittenHead) {
    std::string big = pattern(1 << 20, 9);
    Message* head = Message::make(ws::Opcode::kBinary, big.data(), big.size());
    queue_.push(head);
    for (int i = 0; i < 5; ++i) {
        Message* m = Message::make(ws::Opcode::kText, "later", 5);
        queue_.push(m);
        m->unref();
    }
    bool wb = false;
    long w = queue_.flush(fds_[0], &wb);
    ASSERT_GT(w, 0);
    ASSERT_LT(static_cast<uint64_t>(w), head->frame_size()) << "socket buffers larger than expected";
    EXPECT_TRUE(wb);
    EXPECT_TRUE(queue_.head_started());
    queue_.drop_unstarted();
    EXPECT_EQ(queue_.bytes(), head->frame_size() - static_cast<uint64_t>(w));
    std::string got = drain_peer();
    got += flush_all();
    EXPECT_TRUE(got == frame_of(head)) << "got " << got.size() << " bytes, want " << head->frame_size();
    EXPECT_FALSE(queue_.head_started());
    head->unref();
}

TEST_F(OutQueueTest, DropUnstartedWithNothingWrittenDropsAll) {
    for (int i = 0; i < 3; ++i) {
        Message* m = Message::make(ws::Opcode::kText, "x", 1);
        queue_.push(m);
        m->unref();
    }
    EXPECT_FALSE(queue_.head_started());
    queue_.drop_unstarted();
    EXPECT_TRUE(queue_.empty());
    EXPECT_EQ(queue_.bytes(), 0u);
    // The queue works normally afterwards.
    Message* m = Message::make(ws::Opcode::kText, "y", 1);
    queue_.push(m);
    m->unref();
    EXPECT_EQ(flush_all(), "\x81\x01y");
}

TEST_F(OutQueueTest, FlushToAClosedPeerReturnsMinusErrno) {
    close(fds_[1]);
    fds_[1] = -1;
    Message* m = Message::make(ws::Opcode::kText, "gone", 4);
    queue_.push(m);
    m->unref();
    bool wb = false;
    long w = queue_.flush(fds_[0], &wb);
    EXPECT_EQ(w, -EPIPE);
    EXPECT_FALSE(queue_.empty()) << "nothing was written";
}

TEST_F(OutQueueTest, ClearDropsEveryReference) {
    for (int i = 0; i < 200; ++i) {
        Message* m = Message::make(ws::Opcode::kText, "q", 1);
        queue_.push(m);
        m->unref();
    }
    queue_.clear();
    EXPECT_TRUE(queue_.empty());
    EXPECT_EQ(queue_.bytes(), 0u);
}

}  // namespace
}  // namespace wspush::push
