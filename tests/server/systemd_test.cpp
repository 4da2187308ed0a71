// systemd's notification protocol, from the manager's side: the test owns the datagram
// socket it passes as NOTIFY_SOCKET (a path, or an @abstract name) and reads what the server
// says: READY=1 once it listens, STATUS= with its counts, RELOADING=1/READY=1 around SIGHUP,
// STOPPING=1 at SIGTERM, and WATCHDOG=1 at half of WATCHDOG_USEC (only when WATCHDOG_PID
// is unset or names the server).
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <initializer_list>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "support/test_server.h"

namespace {

using wspush::testing::ControlConn;
using wspush::testing::RawClient;
using wspush::testing::ServerProcess;
using Clock = std::chrono::steady_clock;

// The manager's end: a datagram socket at a fresh path (or abstract name).
class NotifySocket {
public:
    explicit NotifySocket(bool abstract = false) {
        name_ = (abstract ? "@wspush-notify-" : "/tmp/wspush-notify-") + std::to_string(getpid()) + "-" +
                std::to_string(++counter_);
        fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un sa{};
        sa.sun_family = AF_UNIX;
        name_.copy(sa.sun_path, name_.size());
        if (abstract) sa.sun_path[0] = '\0';
        else unlink(name_.c_str());
        bound_ = bind(fd_, reinterpret_cast<sockaddr*>(&sa),
                      static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name_.size())) == 0;
    }
    ~NotifySocket() {
        if (fd_ >= 0) close(fd_);
        if (name_[0] == '/') unlink(name_.c_str());
    }
    NotifySocket(const NotifySocket&) = delete;
    NotifySocket& operator=(const NotifySocket&) = delete;

    [[nodiscard]] bool bound() const { return bound_; }
    [[nodiscard]] const std::string& name() const { return name_; }

    // The next datagram, or nullopt after timeout_ms.
    std::optional<std::string> next(int timeout_ms) {
        pollfd p{fd_, POLLIN, 0};
        if (poll(&p, 1, timeout_ms) <= 0) return std::nullopt;
        char buf[4096];
        ssize_t n = recv(fd_, buf, sizeof buf, 0);
        if (n < 0) return std::nullopt;
        return std::string(buf, static_cast<size_t>(n));
    }
    // Datagrams until one contains `needle` (bounded); that one, or nullopt.
    std::optional<std::string> until(const std::string& needle, int timeout_ms = 10000) {
        const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
        for (;;) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
            if (left <= 0) return std::nullopt;
            std::optional<std::string> m = next(static_cast<int>(left));
            if (!m || m->find(needle) != std::string::npos) return m;
        }
    }

private:
    static inline int counter_ = 0;
    std::string name_;
    int fd_ = -1;
    bool bound_ = false;
};

// Sets environment variables for the servers started in its lifetime (fork inherits them).
class Env {
public:
    explicit Env(std::initializer_list<std::pair<std::string, std::string>> vars) : vars_(vars) {
        for (const auto& [k, v] : vars_) setenv(k.c_str(), v.c_str(), 1);
    }
    ~Env() {
        for (const auto& [k, v] : vars_) unsetenv(k.c_str());
    }
    Env(const Env&) = delete;
    Env& operator=(const Env&) = delete;

private:
    std::vector<std::pair<std::string, std::string>> vars_;
};

TEST(Systemd, ReadyOnceListeningStatusWithCountsAndStoppingAtShutdown) {
    NotifySocket manager;
    ASSERT_TRUE(manager.bound());
    ServerProcess srv;
    {
        Env env({{"NOTIFY_SOCKET", manager.name()}});
        ASSERT_TRUE(srv.start({})) << srv.log();
    }
    std::optional<std::string> ready = manager.until("READY=1");
    ASSERT_TRUE(ready) << srv.log();
    EXPECT_NE(ready->find("STATUS=0 clients, 0 channels"), std::string::npos) << *ready;
    // Ready means the listener is up: a client is served at once.
    RawClient c;
    ASSERT_TRUE(c.connect(srv.port()));
    ASSERT_EQ(c.upgrade("/ws/news"), 101);
    kill(srv.pid(), SIGTERM);
    std::optional<std::string> stopping = manager.until("STOPPING=1");
    ASSERT_TRUE(stopping) << srv.log();
    EXPECT_NE(stopping->find("STATUS=stopping: closing 1 clients"), std::string::npos) << *stopping;
    std::optional<wspush::testing::Frame> bye = c.read_close();
    ASSERT_TRUE(bye);
    EXPECT_EQ(bye->close_code(), 1001);
    c.close();
    EXPECT_EQ(srv.stop(SIGTERM), 0);
}

TEST(Systemd, ReloadIsBracketedByReloadingAndReady) {
    NotifySocket manager;
    ASSERT_TRUE(manager.bound());
    ServerProcess srv;
    {
        Env env({{"NOTIFY_SOCKET", manager.name()}});
        ASSERT_TRUE(srv.start({})) << srv.log();
    }
    ASSERT_TRUE(manager.until("READY=1")) << srv.log();
    kill(srv.pid(), SIGHUP);
    std::optional<std::string> reloading = manager.until("RELOADING=1");
    ASSERT_TRUE(reloading) << srv.log();
    EXPECT_NE(reloading->find("MONOTONIC_USEC="), std::string::npos) << *reloading;
    std::optional<std::string> again = manager.next(5000);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->rfind("READY=1\n", 0), 0u) << *again;
    EXPECT_EQ(srv.stop(), 0);
}

// With --config, the reload happens between RELOADING=1 and READY=1: its log line is out
// before READY=1. A file that no longer loads is refused, and READY=1 still follows.
TEST(Systemd, ConfigReloadHappensBetweenReloadingAndReady) {
    NotifySocket manager;
    ASSERT_TRUE(manager.bound());
    const std::string conf = manager.name() + ".conf";
    auto write = [&](const char* text) {
        FILE* f = fopen(conf.c_str(), "w");
        ASSERT_NE(f, nullptr);
        fputs(text, f);
        fclose(f);
    };
    write("history = 5\n");
    ServerProcess srv;
    {
        Env env({{"NOTIFY_SOCKET", manager.name()}});
        ASSERT_TRUE(srv.start({"--config", conf})) << srv.log();
    }
    ASSERT_TRUE(manager.until("READY=1")) << srv.log();
    for (const char* text : {"history = 5\norigins = http://gw.local\n", "history = 5\nbogus = 1\n"}) {
        write(text);
        kill(srv.pid(), SIGHUP);
        ASSERT_TRUE(manager.until("RELOADING=1")) << srv.log();
        std::optional<std::string> again = manager.next(5000);
        ASSERT_TRUE(again) << srv.log();
        EXPECT_EQ(again->rfind("READY=1\n", 0), 0u) << *again;
    }
    const std::string log = srv.log();
    EXPECT_NE(log.find("SIGHUP: reloaded " + conf + ": changed origins\n"), std::string::npos) << log;
    EXPECT_NE(log.find("SIGHUP: " + conf + ":2: unknown key 'bogus'"), std::string::npos) << log;
    EXPECT_EQ(srv.stop(), 0);
    unlink(conf.c_str());
}

TEST(Systemd, WatchdogAtHalfTheIntervalFromTheLoop) {
    NotifySocket manager(/*abstract=*/true);
    ASSERT_TRUE(manager.bound());
    ServerProcess srv;
    {
        Env env({{"NOTIFY_SOCKET", manager.name()}, {"WATCHDOG_USEC", "600000"}});
        ASSERT_TRUE(srv.start({})) << srv.log();
    }
    ASSERT_TRUE(manager.until("READY=1")) << srv.log();
    EXPECT_TRUE(srv.wait_log("systemd watchdog: WATCHDOG=1 every 300 ms")) << srv.log();
    // STATUS= follows the counts, with the next ping.
    RawClient c;
    ASSERT_TRUE(c.connect(srv.port()));
    ASSERT_EQ(c.upgrade("/ws/news"), 101);
    std::optional<std::string> status = manager.until("STATUS=1 clients, 1 channels", 3000);
    ASSERT_TRUE(status) << srv.log();
    EXPECT_NE(status->find("WATCHDOG=1\n"), std::string::npos) << *status;
    // 1.8 s of pings: about six, none more than the interval apart (systemd would restart
    // the service), none in a burst.
    std::vector<Clock::time_point> at;
    const auto end = Clock::now() + std::chrono::milliseconds(1800);
    while (Clock::now() < end) {
        std::optional<std::string> m = manager.next(600);
        ASSERT_TRUE(m) << "no notification for the whole interval: " << srv.log();
        if (m->find("WATCHDOG=1") != std::string::npos) at.push_back(Clock::now());
    }
    ASSERT_GE(at.size(), 4u);
    EXPECT_LE(at.size(), 8u);
    for (size_t i = 1; i < at.size(); ++i) {
        const auto gap = std::chrono::duration_cast<std::chrono::milliseconds>(at[i] - at[i - 1]).count();
        EXPECT_LT(gap, 600) << "watchdog ping " << i;
        EXPECT_GT(gap, 150) << "watchdog ping " << i;
    }
    // A stopped loop sends nothing: the watchdog is the loop's own.
    ASSERT_EQ(kill(srv.pid(), SIGSTOP), 0);
    while (manager.next(50)) {
    }
    EXPECT_FALSE(manager.next(700)) << "a ping while the process was stopped";
    ASSERT_EQ(kill(srv.pid(), SIGCONT), 0);
    EXPECT_TRUE(manager.until("WATCHDOG=1", 2000)) << srv.log();
    c.close();
    EXPECT_EQ(srv.stop(), 0);
}

TEST(Systemd, WatchdogMeantForAnotherProcessIsNotOurs) {
    NotifySocket manager;
    ASSERT_TRUE(manager.bound());
    ServerProcess srv;
    {
        Env env({{"NOTIFY_SOCKET", manager.name()}, {"WATCHDOG_USEC", "100000"}, {"WATCHDOG_PID", "1"}});
        ASSERT_TRUE(srv.start({})) << srv.log();
    }
    ASSERT_TRUE(manager.until("READY=1")) << srv.log();
    EXPECT_FALSE(manager.until("WATCHDOG=1", 400)) << "pings for a watchdog of pid 1";
    EXPECT_EQ(srv.log().find("systemd watchdog"), std::string::npos) << srv.log();
    EXPECT_EQ(srv.stop(), 0);
}

TEST(Systemd, UnusableNotifySocketIsReportedAndServingGoesOn) {
    ServerProcess srv;
    {
        Env env({{"NOTIFY_SOCKET", "relative/path"}});
        ASSERT_TRUE(srv.start({})) << srv.log();
    }
    EXPECT_TRUE(srv.wait_log("systemd notification off: NOTIFY_SOCKET is neither")) << srv.log();
    RawClient c;
    ASSERT_TRUE(c.connect(srv.port()));
    EXPECT_EQ(c.upgrade("/ws/news"), 101);
    c.close();
    EXPECT_EQ(srv.stop(), 0);
}

// Socket activation: sockets made by the test, handed over as a service manager does.

// A listening TCP socket on 127.0.0.1 at a free port; its port in *port.
int tcp_listener(uint16_t* port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    if (bind(fd, reinterpret_cast<sockaddr*>(&sa), len) < 0 || listen(fd, 64) < 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) < 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(sa.sin_port);
    return fd;
}

int unix_listener(const std::string& path) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    path.copy(sa.sun_path, sizeof sa.sun_path - 1);
    unlink(path.c_str());
    if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0 || listen(fd, 16) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

std::string activation_path(const char* tag) {
    return "/tmp/wspush-activated-" + std::string(tag) + "-" + std::to_string(getpid()) + ".sock";
}

// --listen and --control that cannot be served here (a TEST-NET address, a missing
// directory): a server that started anyway took the sockets it was given.
const std::vector<std::string> kUnusable = {"--listen", "192.0.2.1:80", "--control", "/nonexistent/wspushd.sock"};

TEST(Activation, PassedTcpListenerAndControlSocketAreServed) {
    uint16_t port = 0;
    const std::string path = activation_path("both");
    const int tcp = tcp_listener(&port);
    const int ctl = unix_listener(path);
    ASSERT_GE(tcp, 0);
    ASSERT_GE(ctl, 0);
    ServerProcess srv;
    srv.pass_sockets({ctl, tcp}, "control:ws");  // in either order
    ASSERT_TRUE(srv.start(kUnusable)) << srv.log();
    EXPECT_EQ(srv.port(), port);
    EXPECT_NE(srv.log().find("socket activation"), std::string::npos) << srv.log();
    RawClient c;
    ASSERT_TRUE(c.connect(port));
    ASSERT_EQ(c.upgrade("/ws/news"), 101);
    ControlConn cc;
    ASSERT_TRUE(cc.connect(path));
    EXPECT_EQ(cc.command("PUB news hello"), "OK seq=1 delivered=1");
    c.close();
    cc.close();
    EXPECT_EQ(srv.stop(), 0);
    struct stat st;
    EXPECT_EQ(lstat(path.c_str(), &st), 0) << "the manager's socket file was removed";
    close(tcp);
    close(ctl);
    unlink(path.c_str());
}

TEST(Activation, WithoutNamesTheAddressFamilyDecides) {
    uint16_t port = 0;
    const std::string path = activation_path("unnamed");
    const int tcp = tcp_listener(&port);
    const int ctl = unix_listener(path);
    ServerProcess srv;
    srv.pass_sockets({tcp, ctl});
    ASSERT_TRUE(srv.start(kUnusable)) << srv.log();
    EXPECT_EQ(srv.port(), port);
    ControlConn cc;
    ASSERT_TRUE(cc.connect(path));
    EXPECT_EQ(cc.command("PUB news hello"), "OK seq=1 delivered=0");
    cc.close();
    EXPECT_EQ(srv.stop(), 0);
    close(tcp);
    close(ctl);
    unlink(path.c_str());
}

TEST(Activation, SocketsMeantForAnotherProcessAreLeftAlone) {
    ServerProcess srv;
    {
        Env env({{"LISTEN_PID", "1"}, {"LISTEN_FDS", "1"}});
        ASSERT_TRUE(srv.start({})) << srv.log();
    }
    EXPECT_EQ(srv.log().find("socket activation"), std::string::npos) << srv.log();
    RawClient c;
    ASSERT_TRUE(c.connect(srv.port()));
    EXPECT_EQ(c.upgrade("/ws/news"), 101);
    c.close();
    EXPECT_EQ(srv.stop(), 0);
}

TEST(Activation, WhatCannotBeServedStopsStartUpSayingWhich) {
    uint16_t port1 = 0, port2 = 0;
    const int a = tcp_listener(&port1);
    const int b = tcp_listener(&port2);
    const int udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct Case {
        std::vector<int> fds;
        std::string names;
        std::string says;
        std::string count;
    };
    const Case cases[] = {
        {{a, b}, "", "descriptor 4: a second TCP listener; wspushd serves one of each", ""},
        {{udp}, "", "descriptor 3 is not a listening stream socket", ""},
        {{a}, "control", "descriptor 3 (control) is named control but is not an AF_UNIX socket", ""},
        {{a}, "", "socket activation: LISTEN_FDS=1x is not a count", "1x"},
    };
    for (const Case& k : cases) {
        ServerProcess srv;
        srv.pass_sockets(k.fds, k.names, k.count);
        EXPECT_FALSE(srv.start(kUnusable)) << k.says;
        EXPECT_NE(srv.log().find(k.says), std::string::npos) << srv.log();
    }
    close(a);
    close(b);
    close(udp);
}

// Debian's systemd-socket-activate opens the sockets and starts the server on the first
// connection, as systemd does with wspushd.socket.
TEST(Activation, UnderSystemdSocketActivate) {
    if (system("command -v systemd-socket-activate >/dev/null 2>&1") != 0)
        GTEST_SKIP() << "systemd-socket-activate not installed (Debian package systemd)";
    uint16_t port = 0;
    close(tcp_listener(&port));  // a port that was free a moment ago
    const std::string path = activation_path("tool");
    unlink(path.c_str());
    const std::string listen = "127.0.0.1:" + std::to_string(port);
    int err[2];
    ASSERT_EQ(pipe2(err, O_CLOEXEC), 0);
    const pid_t pid = fork();
    if (pid == 0) {
        dup2(err[1], 2);
        execlp("systemd-socket-activate", "systemd-socket-activate", "-l", listen.c_str(), "-l", path.c_str(),
               "--fdname=ws:control", WSPUSHD_BIN, "--listen", "192.0.2.1:80", "--control",
               "/nonexistent/wspushd.sock", static_cast<char*>(nullptr));
        _exit(127);
    }
    close(err[1]);
    // The tool listens before the server runs: connecting succeeds once it is up.
    RawClient c;
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    bool connected = false;
    while (!(connected = c.connect(port)) && Clock::now() < deadline) {
        pollfd p{err[0], POLLIN, 0};
        poll(&p, 1, 20);  // paced by the tool's output (its "Listening on" lines)
        char sink[512];
        if (p.revents & POLLIN) (void)!read(err[0], sink, sizeof sink);
    }
    ASSERT_TRUE(connected);
    EXPECT_EQ(c.upgrade("/ws/news", {}, nullptr), 101);
    ControlConn cc;
    ASSERT_TRUE(cc.connect(path));
    EXPECT_EQ(cc.command("PUB news hi"), "OK seq=1 delivered=1");
    std::optional<wspush::testing::Frame> f = c.read_frame();
    ASSERT_TRUE(f);
    EXPECT_NE(f->payload.find("hi"), std::string::npos);
    c.close();
    cc.close();
    kill(pid, SIGTERM);  // the tool execs the server in its own process
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    close(err[0]);
    unlink(path.c_str());
}

}  // namespace

namespace {

// The units in tools/systemd as systemd itself reads them (Debian's systemd-analyze), with
// ExecStart pointing at this build: no warning at all, not only no error.
TEST(Units, SystemdAnalyzeVerifyAcceptsThemWithoutAWord) {
    char dir[] = "/tmp/wspush-units-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    const std::string d = dir;
    int status = -1;
    std::string out = wspush::testing::run_command(
        "sed 's#/usr/local/bin/wspushd#" + std::string(WSPUSHD_BIN) + "#' " WSPUSH_SOURCE_DIR
        "/tools/systemd/wspushd.service > " + d + "/wspushd.service && cp " WSPUSH_SOURCE_DIR
        "/tools/systemd/wspushd.socket " + d + "/ && grep -q '^ExecStart=" + std::string(WSPUSHD_BIN) + " ' " + d +
            "/wspushd.service && cd " + d + " && systemd-analyze verify --man=no ./wspushd.service ./wspushd.socket 2>&1",
        &status);
    EXPECT_EQ(status, 0) << out;
    EXPECT_EQ(out, "") << "systemd-analyze had something to say";
    wspush::testing::run_command("rm -rf " + d);
}

}  // namespace
