// Listening sockets: the control socket's creation (mode, stale files, live and wedged
// servers, things that are not sockets), the peer's uid and the peer's address.
#include "net/socket.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <future>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <string>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <vector>

namespace wspush::net {
namespace {

// How long listen_unix may take before the test calls it blocked. Generous for a loaded
// machine; a blocking probe never returns at all while the listener is wedged.
constexpr auto kPromptly = std::chrono::seconds(5);

sockaddr_un unix_address(const std::string& path) {
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    path.copy(sa.sun_path, sizeof sa.sun_path - 1);
    return sa;
}

// A non-blocking connect to path: 0, or -errno.
int connect_to(const std::string& path, int* fd_out = nullptr) {
    const sockaddr_un sa = unix_address(path);
    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    const int rc = connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0 ? 0 : -errno;
    if (rc == 0 && fd_out != nullptr) *fd_out = fd;
    else ::close(fd);
    return rc;
}

// A socket bound at path by hand, listening with `backlog`, or not listening (backlog < 0).
int bind_by_hand(const std::string& path, int backlog) {
    const sockaddr_un sa = unix_address(path);
    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(bind(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa), 0) << strerror(errno);
    if (backlog >= 0) {
        EXPECT_EQ(listen(fd, backlog), 0);
    }
    return fd;
}

mode_t mode_of(const std::string& path, bool follow = false) {
    struct stat st {};
    EXPECT_EQ(follow ? stat(path.c_str(), &st) : lstat(path.c_str(), &st), 0) << path;
    return st.st_mode;
}

class SocketUnix : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/wspush-socket-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        path_ = dir_ + "/ctl.sock";
    }
    void TearDown() override {
        for (const int fd : fds_) ::close(fd);
        for (const char* name : {"/ctl.sock", "/target"}) unlink((dir_ + name).c_str());
        rmdir(dir_.c_str());
    }
    int keep(int fd) {
        if (fd >= 0) fds_.push_back(fd);
        return fd;
    }

    std::string dir_;
    std::string path_;
    std::vector<int> fds_;
};

TEST_F(SocketUnix, CreatedPrivateUnderPermissiveUmask) {
    const mode_t before = umask(0);
    std::string err;
    const int fd = keep(listen_unix(path_, err));
    const mode_t during = umask(before);
    ASSERT_GE(fd, 0) << err;
    EXPECT_TRUE(S_ISSOCK(mode_of(path_)));
    EXPECT_EQ(mode_of(path_) & 07777, 0600u);
    EXPECT_EQ(during, 0u) << "listen_unix restores the process umask";
    EXPECT_EQ(connect_to(path_), 0);
}

TEST_F(SocketUnix, ListenerIsNonBlockingAndCloseOnExec) {
    std::string err;
    const int fd = keep(listen_unix(path_, err));
    ASSERT_GE(fd, 0) << err;
    EXPECT_NE(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
    EXPECT_NE(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
}

TEST_F(SocketUnix, ReplacesStaleSocket) {
    ::close(bind_by_hand(path_, 8));  // the file stays behind, nobody listens
    ASSERT_EQ(connect_to(path_), -ECONNREFUSED);
    std::string err;
    const int fd = keep(listen_unix(path_, err));
    ASSERT_GE(fd, 0) << err;
    EXPECT_EQ(connect_to(path_), 0);
}

TEST_F(SocketUnix, ReplacesBoundButNeverListeningSocket) {
    keep(bind_by_hand(path_, -1));
    std::string err;
    const int fd = keep(listen_unix(path_, err));
    ASSERT_GE(fd, 0) << err;
    EXPECT_EQ(connect_to(path_), 0);
}

TEST_F(SocketUnix, RefusesLiveServer) {
    keep(bind_by_hand(path_, 8));
    std::string err;
    EXPECT_EQ(listen_unix(path_, err), -1);
    EXPECT_NE(err.find("is in use by a running server"), std::string::npos) << err;
    EXPECT_EQ(connect_to(path_), 0) << "the live server's socket is left in place";
}

// A server that no longer accepts, its backlog full: a blocking connect would wait until it
// accepts, which a wedged server never does.
TEST_F(SocketUnix, RefusesWedgedServerWithoutBlocking) {
    const int wedged = bind_by_hand(path_, 0);
    int queued = 0;
    for (int fd = -1; queued < 64; ++queued) {
        const int rc = connect_to(path_, &fd);
        if (rc == -EAGAIN) break;
        ASSERT_EQ(rc, 0) << strerror(-rc);
        keep(fd);
    }
    ASSERT_LT(queued, 64) << "the backlog never filled";
    ASSERT_EQ(connect_to(path_), -EAGAIN);

    std::string err;
    auto result = std::async(std::launch::async, [&] { return listen_unix(path_, err); });
    const bool prompt = result.wait_for(kPromptly) == std::future_status::ready;
    // If it is blocked, closing the listener wakes it (and it then takes the path over).
    ::close(wedged);
    const int fd = keep(result.get());
    ASSERT_TRUE(prompt) << "listen_unix blocked behind a full backlog";
    EXPECT_EQ(fd, -1);
    EXPECT_NE(err.find("is in use by a running server"), std::string::npos) << err;
}

TEST_F(SocketUnix, RefusesSymlinkWithoutTouchingItsTarget) {
    const std::string target = dir_ + "/target";
    const int t = open(target.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    ASSERT_GE(t, 0);
    ::close(t);
    ASSERT_EQ(chmod(target.c_str(), 0644), 0);
    ASSERT_EQ(symlink(target.c_str(), path_.c_str()), 0);

    std::string err;
    EXPECT_EQ(listen_unix(path_, err), -1);
    EXPECT_NE(err.find("exists and is not a socket"), std::string::npos) << err;
    EXPECT_TRUE(S_ISLNK(mode_of(path_))) << "the link is not removed";
    EXPECT_EQ(mode_of(target) & 07777, 0644u) << "the target's mode is unchanged";
}

TEST_F(SocketUnix, RefusesSymlinkToStaleSocket) {
    const std::string target = dir_ + "/target";
    ::close(bind_by_hand(target, 8));
    ASSERT_EQ(symlink(target.c_str(), path_.c_str()), 0);
    std::string err;
    EXPECT_EQ(listen_unix(path_, err), -1);
    EXPECT_NE(err.find("exists and is not a socket"), std::string::npos) << err;
    EXPECT_TRUE(S_ISLNK(mode_of(path_)));
    EXPECT_TRUE(S_ISSOCK(mode_of(target))) << "the socket behind the link is not removed";
}

TEST_F(SocketUnix, RefusesRegularFile) {
    const int f = open(path_.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    ASSERT_GE(f, 0);
    ::close(f);
    std::string err;
    EXPECT_EQ(listen_unix(path_, err), -1);
    EXPECT_NE(err.find("exists and is not a socket"), std::string::npos) << err;
    EXPECT_TRUE(S_ISREG(mode_of(path_)));
}

TEST_F(SocketUnix, RefusesTooLongPath) {
    std::string err;
    EXPECT_EQ(listen_unix(dir_ + "/" + std::string(108, 'p'), err), -1);
    EXPECT_NE(err.find("too long"), std::string::npos) << err;
}

TEST(SocketPeerUid, OverSocketpair) {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    for (const int fd : sv) {
        uid_t uid = 12345;
        EXPECT_TRUE(peer_uid(fd, uid));
        EXPECT_EQ(uid, getuid());
        ::close(fd);
    }
}

TEST_F(SocketUnix, PeerUidOfAcceptedControlClient) {
    std::string err;
    const int listener = keep(listen_unix(path_, err));
    ASSERT_GE(listener, 0) << err;
    int client = -1;
    ASSERT_EQ(connect_to(path_, &client), 0);
    keep(client);
    const int accepted = keep(accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
    ASSERT_GE(accepted, 0) << strerror(errno);
    uid_t uid = 12345;
    EXPECT_TRUE(peer_uid(accepted, uid));
    EXPECT_EQ(uid, getuid());
}

TEST(SocketPeerUid, FailsOnNonSocket) {
    int p[2];
    ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
    uid_t uid = 12345;
    EXPECT_FALSE(peer_uid(p[0], uid));
    EXPECT_EQ(uid, 12345u) << "untouched on failure";
    ::close(p[0]);
    ::close(p[1]);
}

// Connects to the TCP listener `lfd` from `from` (an address literal) and accepts it: the
// accepted descriptor, and the client's port in *port. -1 on failure.
int accept_from(int lfd, const char* from, uint16_t* port) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (getsockname(lfd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return -1;
    const uint16_t lport = ntohs(reinterpret_cast<sockaddr_in6&>(ss).sin6_port);
    const bool v6 = strchr(from, ':') != nullptr;
    const int c = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int rc;
    if (v6) {
        sockaddr_in6 sa{};
        sa.sin6_family = AF_INET6;
        sa.sin6_port = htons(lport);
        inet_pton(AF_INET6, from, &sa.sin6_addr);
        rc = connect(c, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    } else {
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(lport);
        inet_pton(AF_INET, from, &sa.sin_addr);
        rc = connect(c, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    }
    sockaddr_storage me{};
    len = sizeof me;
    getsockname(c, reinterpret_cast<sockaddr*>(&me), &len);
    *port = ntohs(reinterpret_cast<sockaddr_in&>(me).sin_port);  // same offset in sockaddr_in6
    const int fd = rc == 0 ? accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC) : -1;
    ::close(c);
    return fd;
}

// The peer's address for log lines: an IPv4 client of a dual-stack listener reads as IPv4,
// an IPv6 one in brackets, each with its port; a descriptor that is no socket reads "?".
TEST(PeerAddress, NamesTheClientWithItsPort) {
    std::string err;
    const int lfd = listen_tcp("::", 0, err);
    ASSERT_GE(lfd, 0) << err;
    for (const char* from : {"127.0.0.1", "::1"}) {
        uint16_t port = 0;
        const int fd = accept_from(lfd, from, &port);
        ASSERT_GE(fd, 0) << from;
        char out[kPeerAddressChars];
        peer_address(fd, out);
        const std::string want = strchr(from, ':') ? "[::1]:" + std::to_string(port) : "127.0.0.1:" + std::to_string(port);
        EXPECT_EQ(std::string(out), want);
        ::close(fd);
    }
    ::close(lfd);
    char out[kPeerAddressChars];
    peer_address(-1, out);
    EXPECT_EQ(std::string(out), "?");
}

}  // namespace
}  // namespace wspush::net
