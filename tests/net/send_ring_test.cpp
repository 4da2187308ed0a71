// SendRing: batched sends over socketpairs, including a kernel that takes fewer entries than
// asked (io_uring_enter replaced through SendRing::enter_fn).
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <vector>

#include "net/send_ring.h"

namespace wspush::net {
namespace {

int real_enter(int fd, unsigned to_submit, unsigned min_complete, unsigned flags) {
    return static_cast<int>(syscall(__NR_io_uring_enter, fd, to_submit, min_complete, flags, nullptr, 0));
}

// Takes at most one entry per call.
int one_at_a_time(int fd, unsigned to_submit, unsigned min_complete, unsigned flags) {
    return real_enter(fd, to_submit < 1 ? to_submit : 1, min_complete < 1 ? min_complete : 1, flags);
}

// Takes one entry, then refuses (as with no memory for requests) until reset.
int g_calls = 0;
int one_then_enomem(int fd, unsigned to_submit, unsigned min_complete, unsigned flags) {
    if (to_submit > 0 && g_calls++ > 0) {
        errno = ENOMEM;
        return -1;
    }
    return one_at_a_time(fd, to_submit, min_complete, flags);
}

struct Pair {
    int fd[2] = {-1, -1};
    Pair() { EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fd), 0); }
    ~Pair() {
        ::close(fd[0]);
        ::close(fd[1]);
    }
    std::string drain() const {
        std::string got;
        char buf[256];
        for (ssize_t n; (n = ::read(fd[1], buf, sizeof buf)) > 0;) got.append(buf, static_cast<size_t>(n));
        return got;
    }
};

struct Send {
    std::string bytes;
    iovec iov{};
    msghdr msg{};
    void point() {
        iov = {bytes.data(), bytes.size()};
        msg = {};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
    }
};

class SendRingTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (int rc = ring_.open(); rc < 0) GTEST_SKIP() << "io_uring unavailable: " << strerror(-rc);
    }
    void TearDown() override { SendRing::enter_fn = real_enter; }
    // Queues n sends, send i carrying text(i) to pair i, tagged i.
    template <class Text>
    void queue(Pair* p, Send* s, uint32_t n, Text text) {
        for (uint32_t i = 0; i < n; ++i) {
            s[i].bytes = text(i);
            s[i].point();
            ring_.add(p[i].fd[0], &s[i].msg, i);
        }
    }
    SendRing ring_;
};

TEST_F(SendRingTest, EverySendCompletesOnceWithItsTag) {
    Pair p[4];
    Send s[4];
    queue(p, s, 4, [](uint32_t i) { return "message " + std::to_string(i); });
    std::vector<int> seen(4, 0);
    int error = -1;
    EXPECT_EQ(ring_.submit([&](uint32_t tag, int32_t res) {
        ASSERT_LT(tag, 4u);
        EXPECT_EQ(res, static_cast<int32_t>(s[tag].bytes.size()));
        ++seen[tag];
    }, &error), 4u);
    EXPECT_EQ(error, 0);
    for (int i = 0; i < 4; ++i) {
        EXPECT_EQ(seen[i], 1);
        EXPECT_EQ(p[i].drain(), s[i].bytes);
    }
}

TEST_F(SendRingTest, AKernelTakingOneAtATimeStillGetsThemAll) {
    SendRing::enter_fn = one_at_a_time;
    Pair p[5];
    Send s[5];
    queue(p, s, 5, [](uint32_t i) { return std::string(10 + i, static_cast<char>('a' + i)); });
    int calls = 0, error = -1;
    EXPECT_EQ(ring_.submit([&](uint32_t, int32_t) { ++calls; }, &error), 5u);
    EXPECT_EQ(calls, 5);
    EXPECT_EQ(error, 0);
    for (int i = 0; i < 5; ++i) EXPECT_EQ(p[i].drain(), s[i].bytes);
}

// The kernel takes the first entry and refuses the rest: submit() says one was taken, the
// others are not sent then, and never later either, when their buffers belong to others.
TEST_F(SendRingTest, EntriesNotTakenAreTakenBackNotSentLater) {
    g_calls = 0;
    SendRing::enter_fn = one_then_enomem;
    Pair p[3];
    Send s[3];
    queue(p, s, 3, [](uint32_t i) { return "first batch " + std::to_string(i); });
    std::vector<uint32_t> tags;
    int error = 0;
    EXPECT_EQ(ring_.submit([&](uint32_t tag, int32_t) { tags.push_back(tag); }, &error), 1u);
    EXPECT_EQ(error, ENOMEM);
    EXPECT_EQ(tags, std::vector<uint32_t>{0});
    EXPECT_EQ(p[0].drain(), s[0].bytes);
    // The next batch, on a working kernel, reuses the slots: only it goes out.
    SendRing::enter_fn = real_enter;
    s[1].bytes = "second batch";
    s[1].point();
    ring_.add(p[2].fd[0], &s[1].msg, 0);
    tags.clear();
    EXPECT_EQ(ring_.submit([&](uint32_t tag, int32_t) { tags.push_back(tag); }, &error), 1u);
    EXPECT_EQ(tags, std::vector<uint32_t>{0});
    EXPECT_EQ(p[1].drain(), "") << "an entry the kernel refused was sent later";
    EXPECT_EQ(p[2].drain(), "second batch");
}

}  // namespace
}  // namespace wspush::net
