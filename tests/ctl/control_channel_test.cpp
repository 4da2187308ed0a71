// ControlChannel on a real Unix socket and a real epoll instance, with a recording command
// handler: client lifetimes (a client that goes away while output is queued for it), the
// per-client output cap, TAIL budgets with DROPPED n, the client cap.
#include "ctl/control_channel.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace wspush::ctl {
namespace {

constexpr uint64_t kListenTag = 2;
constexpr uint64_t kClientTag = 5;

struct Recorder final : CommandHandler {
    Reply execute(const Command& cmd, std::string_view payload, std::string& out) noexcept override {
        verbs.push_back(cmd.verb);
        payloads.emplace_back(payload);
        if (hold_pubs && (cmd.verb == Verb::kPub || cmd.verb == Verb::kPubb)) {
            if (channel) tickets.push_back(channel->next_ticket());
            out += "OK " + std::string(cmd.text.empty() ? payload : cmd.text) + "\n";
            return Reply::kHeld;
        }
        out += "OK\n";
        return Reply::kFinal;
    }
    bool hold_pubs = false;  // PUB/PUBB replies wait for the journal, as the server's do
    std::vector<Verb> verbs;
    std::vector<std::string> payloads;
    ControlChannel* channel = nullptr;  // set: the tickets of held replies are recorded
    std::vector<uint64_t> tickets;
};

class ControlChannelTest : public ::testing::Test {
protected:
    void SetUp() override {
        path_ = "/tmp/wspush-cc-" + std::to_string(getpid()) + ".sock";
        ASSERT_EQ(reactor_.open(), 0);
        std::string err;
        ASSERT_TRUE(channel_.open(path_, kListenTag, err)) << err;
    }

    // One loop turn as the server runs it: events, then the before-sleep flush, then reap.
    void turn(int timeout_ms = 50) {
        epoll_event evs[64];
        int n = reactor_.wait(evs, 64, channel_.has_ready() ? 0 : timeout_ms);
        for (int i = 0; i < n; ++i) {
            uint64_t tag = evs[i].data.u64;
            if (tag == kListenTag) channel_.on_accept();
            else channel_.on_client_event(tag, evs[i].events);
        }
        channel_.flush_pending();
        channel_.reap();
    }

    // Turns until pred() holds, at most 5 s.
    template <class P>
    bool turn_until(P pred) {
        auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (!pred()) {
            if (std::chrono::steady_clock::now() > end) return false;
            turn();
        }
        return true;
    }

    int connect_client() {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un sa{};
        sa.sun_family = AF_UNIX;
        memcpy(sa.sun_path, path_.c_str(), path_.size() + 1);
        EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
        return fd;
    }

    static std::string read_some(int fd) {
        char buf[65536];
        ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
    }

    void send_all(int fd, std::string_view s) {
        while (!s.empty()) {
            ssize_t w = send(fd, s.data(), s.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w > 0) {
                s.remove_prefix(static_cast<size_t>(w));
                continue;
            }
            turn(10);  // the socket buffer is full: let the channel read
        }
    }

    std::string path_;
    net::Reactor reactor_;
    Recorder handler_;
    ControlLimits limits_{.max_clients = 3, .max_payload = 1024, .out_cap = 4096, .tail_cap = 8192};
    ControlChannel channel_{reactor_, handler_, limits_, kClientTag};
};

TEST_F(ControlChannelTest, AnswersCommandsInOrder) {
    int fd = connect_client();
    send_all(fd, "STATS\nPUBB ch 3\nabcHELP\n");
    std::string got;
    ASSERT_TRUE(turn_until([&] {
        got += read_some(fd);
        return got.size() >= 6 + help_text().size();
    }));
    EXPECT_EQ(got, "OK\nOK\n" + std::string(help_text()));
    ASSERT_EQ(handler_.verbs.size(), 2u);
    EXPECT_EQ(handler_.verbs[1], Verb::kPubb);
    EXPECT_EQ(handler_.payloads[1], "abc");
    close(fd);
}

// Replies to journaled publications are held until the commit: what comes before them goes
// out at once, nothing after them overtakes them, and the order is kept whatever the verdict.
TEST_F(ControlChannelTest, HeldRepliesWaitForTheCommitAndKeepTheirOrder) {
    handler_.hold_pubs = true;
    int fd = connect_client();
    send_all(fd, "STATS\nPUB a x\nSTATS\nPUBB a 2\nyzCHANNELS\n");
    ASSERT_TRUE(turn_until([&] { return handler_.verbs.size() == 5; }));
    std::string got;
    ASSERT_TRUE(turn_until([&] { return (got += read_some(fd)) == "OK\n"; }));
    turn(10);
    got += read_some(fd);
    EXPECT_EQ(got, "OK\n") << "a held reply, or one after it, went out before the commit";
    EXPECT_TRUE(channel_.has_held());
    channel_.settle({});
    EXPECT_FALSE(channel_.has_held());
    ASSERT_TRUE(turn_until([&] { return (got += read_some(fd)).size() >= 17; }));
    EXPECT_EQ(got, "OK\nOK x\nOK\nOK yz\nOK\n");
    close(fd);
}

// Replies held for the --workers parent are resolved one by one, by ticket, in any order and
// to texts of any length: each goes out in its place, none before the ones ahead of it.
TEST_F(ControlChannelTest, ResolvedRepliesGoOutInTheirPlaceWhateverTheOrder) {
    handler_.hold_pubs = true;
    handler_.channel = &channel_;
    int fd = connect_client();
    send_all(fd, "PUB a one\nSTATS\nPUB a two\nPUB a three\nSTATS\n");
    ASSERT_TRUE(turn_until([&] { return handler_.verbs.size() == 5; }));
    ASSERT_EQ(handler_.tickets.size(), 3u);
    channel_.resolve(handler_.tickets[1], "OK seq=2 and a longer text\n");
    channel_.resolve(handler_.tickets[2], "E\n");
    channel_.resolve(handler_.tickets[2] + 100, "never held\n");
    turn(10);
    std::string got = read_some(fd);
    EXPECT_EQ(got, "") << "the first reply is still held";
    EXPECT_TRUE(channel_.has_held());
    channel_.resolve(handler_.tickets[0], "OK seq=1\n");
    EXPECT_FALSE(channel_.has_held());
    const std::string want = "OK seq=1\nOK\nOK seq=2 and a longer text\nE\nOK\n";
    ASSERT_TRUE(turn_until([&] { return (got += read_some(fd)).size() >= want.size(); }));
    EXPECT_EQ(got, want);
    // In order, as the parent answers: each as soon as it is resolved.
    send_all(fd, "PUB a four\nPUB a five\n");
    ASSERT_TRUE(turn_until([&] { return handler_.tickets.size() == 5; }));
    channel_.resolve(handler_.tickets[3], "OK 4\n");
    got.clear();
    ASSERT_TRUE(turn_until([&] { return (got += read_some(fd)).size() >= 5; }));
    EXPECT_EQ(got, "OK 4\n");
    channel_.resolve(handler_.tickets[4], "OK five, longer\n");
    got.clear();
    ASSERT_TRUE(turn_until([&] { return (got += read_some(fd)).size() >= 16; }));
    EXPECT_EQ(got, "OK five, longer\n");
    close(fd);
}

TEST_F(ControlChannelTest, AFailedCommitTurnsEachHeldReplyIntoAJournalError) {
    handler_.hold_pubs = true;
    int fd = connect_client();
    send_all(fd, "PUB a first\nSTATS\nPUB a second\n");
    ASSERT_TRUE(turn_until([&] { return handler_.verbs.size() == 3; }));
    channel_.settle("disk full");
    const std::string want = "ERR journal: disk full\nOK\nERR journal: disk full\n";
    std::string got;
    ASSERT_TRUE(turn_until([&] { return (got += read_some(fd)).size() >= want.size(); }));
    EXPECT_EQ(got, want);
    close(fd);
}

// A client that half-closes right after a held PUB still gets its answer before the close.
TEST_F(ControlChannelTest, HalfCloseAfterAHeldReplyWaitsForTheCommit) {
    handler_.hold_pubs = true;
    int fd = connect_client();
    send_all(fd, "PUB a x\n");
    shutdown(fd, SHUT_WR);
    ASSERT_TRUE(turn_until([&] { return handler_.verbs.size() == 1; }));
    turn(10);
    EXPECT_EQ(channel_.clients(), 1u) << "closed with a reply still held";
    channel_.settle({});
    std::string got;
    ASSERT_TRUE(turn_until([&] { return (got += read_some(fd)) == "OK x\n"; }));
    ASSERT_TRUE(turn_until([&] { return channel_.clients() == 0; }));
    close(fd);
}

// The client goes away (reset) while TAIL output is queued for it and it sits on the flush
// list: the next turns must not touch it (ASan/valgrind see a use after free otherwise).
TEST_F(ControlChannelTest, ClientResetWithOutputQueuedIsNeverTouchedAgain) {
    int fd = connect_client();
    send_all(fd, "TAIL\n");
    ASSERT_TRUE(turn_until([&] { return channel_.has_tail_readers(); }));
    std::string big(2000, 'x');
    for (int i = 0; i < 50; ++i) channel_.tail("c1", ws::Opcode::kText, big);  // on the flush list now
    linger lg{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
    ASSERT_TRUE(turn_until([&] { return channel_.clients() == 0; }));
    for (int i = 0; i < 5; ++i) {
        channel_.tail("c1", ws::Opcode::kText, big);
        turn(1);
    }
    EXPECT_FALSE(channel_.has_tail_readers());
}

TEST_F(ControlChannelTest, TailReaderThatStallsMissesMessagesAndIsToldHowMany) {
    int fd = connect_client();
    send_all(fd, "TAIL\n");
    std::string got;
    ASSERT_TRUE(turn_until([&] {
        got += read_some(fd);
        return got == "OK\n";
    }));
    // Fill the kernel's buffers and the reader's 8 KiB budget without reading.
    std::string line(1000, 'm');
    int sent = 0;
    while (channel_.tail_dropped_total() < 10 && sent < 100000) {
        channel_.tail("c7", ws::Opcode::kText, line);
        ++sent;
        turn(0);
    }
    ASSERT_GE(channel_.tail_dropped_total(), 10u);
    EXPECT_EQ(channel_.clients(), 1u) << "a slow TAIL reader is not disconnected";
    uint64_t dropped = channel_.tail_dropped_total();
    // Read everything; then one more message arrives after the DROPPED line.
    got.clear();
    ASSERT_TRUE(turn_until([&] {
        got += read_some(fd);
        return got.find("DROPPED ") != std::string::npos;
    }));
    channel_.tail("c7", ws::Opcode::kText, "after");
    ASSERT_TRUE(turn_until([&] {
        got += read_some(fd);
        return got.ends_with("MSG c7 after\n");
    }));
    size_t at = got.find("DROPPED ");
    EXPECT_EQ(got.substr(at), "DROPPED " + std::to_string(dropped) + "\nMSG c7 after\n");
    close(fd);
}

// Every byte of output counts: a client that only sends bad lines and never reads stops
// being read once its unread errors reach the cap, so it cannot make the server grow.
TEST_F(ControlChannelTest, ErrorRepliesCountAgainstTheOutputCap) {
    int fd = connect_client();
    int small = 4096;  // little room in the kernel: what the channel reads is what it holds
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    std::string junk(64 * 1024, '\n');  // each empty line is answered with an ERR line
    size_t off = 0;
    // Send until nothing more is taken for 200 turns in a row (bounded: 3 s).
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    for (int idle = 0; idle < 200 && off < junk.size() && std::chrono::steady_clock::now() < end;) {
        ssize_t w = send(fd, junk.data() + off, junk.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            off += static_cast<size_t>(w);
            idle = 0;
        } else {
            ++idle;
        }
        turn(0);
    }
    EXPECT_LT(off, junk.size()) << "the channel kept reading although its replies were not read";
    // Reading the replies lets the rest through: every line gets its ERR, none lost.
    std::string got;
    size_t errs = 0;
    ASSERT_TRUE(turn_until([&] {
        if (off < junk.size()) {
            ssize_t w = send(fd, junk.data() + off, junk.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w > 0) off += static_cast<size_t>(w);
        }
        got += read_some(fd);
        size_t nl;
        while ((nl = got.find('\n')) != std::string::npos) {
            if (got.compare(0, 4, "ERR ") == 0) ++errs;
            got.erase(0, nl + 1);
        }
        return errs == junk.size();
    }));
    close(fd);
}

TEST_F(ControlChannelTest, RefusesClientsPastTheCap) {
    int fds[4];
    for (int& fd : fds) fd = connect_client();
    ASSERT_TRUE(turn_until([&] { return channel_.refused_total() == 1; }));
    EXPECT_EQ(channel_.clients(), 3u);
    std::string got;
    for (int fd : fds) got += read_some(fd);
    EXPECT_EQ(got, "ERR too many control clients\n");
    for (int fd : fds) close(fd);
    ASSERT_TRUE(turn_until([&] { return channel_.clients() == 0; }));
}

// The socket file is 0600, but a directory or a mode changed by hand may still let another
// user connect: the kernel's word on the peer (SO_PEERCRED) decides.
TEST_F(ControlChannelTest, RefusesAnotherUser) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to connect as another user";
    ASSERT_EQ(chmod(path_.c_str(), 0666), 0);
    int sv[2];
    ASSERT_EQ(pipe(sv), 0);
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        // As nobody: connect, report what the server said through the pipe.
        if (setgid(65534) != 0 || setuid(65534) != 0) _exit(2);
        int fd = connect_client();
        char buf[64] = {};
        pollfd p{fd, POLLIN, 0};
        ssize_t n = poll(&p, 1, 5000) == 1 ? recv(fd, buf, sizeof buf - 1, 0) : 0;
        ssize_t w = write(sv[1], buf, n > 0 ? static_cast<size_t>(n) : 0);
        _exit(w >= 0 ? 0 : 3);
    }
    close(sv[1]);
    ASSERT_TRUE(turn_until([&] { return channel_.refused_total() == 1; }));
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    char got[64] = {};
    ssize_t n = read(sv[0], got, sizeof got - 1);
    close(sv[0]);
    EXPECT_EQ(std::string(got, n > 0 ? static_cast<size_t>(n) : 0), "ERR permission denied\n");
    EXPECT_EQ(channel_.clients(), 0u);
}

TEST_F(ControlChannelTest, QuitAnswersThenCloses) {
    int fd = connect_client();
    ASSERT_TRUE(turn_until([&] { return channel_.clients() == 1; }));
    send_all(fd, "QUIT\nSTATS\n");
    std::string got;
    ASSERT_TRUE(turn_until([&] {
        got += read_some(fd);
        return channel_.clients() == 0;
    }));
    got += read_some(fd);
    EXPECT_EQ(got, "OK bye\n");
    EXPECT_TRUE(handler_.verbs.empty()) << "nothing after QUIT runs";
    close(fd);
}

}  // namespace
}  // namespace wspush::ctl
