#include "support/crowd.h"

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <linux/close_range.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "support/process_info.h"
#include "support/test_server.h"

namespace wspush::testing {
namespace {

using Clock = std::chrono::steady_clock;

uint64_t ms_since(Clock::time_point t) {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count());
}

constexpr int kNeverReadsBuffer = 2048;
constexpr int kNeverReadsSegment = 1024;
constexpr size_t kAnswerPrefix = 12;  // "HTTP/1.1 408"

// Connections per source address. From one address, tens of thousands of connections to
// one port use up most of the ephemeral ports (net.ipv4.ip_local_port_range, about 28,000
// here), and each connect() then searches long for a free one: opening 20,000 took seconds.
// Any 127.x.y.z is loopback; the port search is per address.
constexpr size_t kPerSource = 500;

// A blocking connect (bounded by SO_SNDTIMEO) of the i-th connection, from a source
// address of its own every kPerSource connections, with the receive buffer set first when
// rcvbuf > 0. The descriptor, or -1.
int dial(uint16_t port, size_t i, int rcvbuf) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (rcvbuf > 0) {
        // The server's kernel sizes its send buffer by our segment size (64 KiB on
        // loopback, then up to 4 MiB of buffer): small segments keep it about 100 KiB.
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
        setsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &kNeverReadsSegment, sizeof kNeverReadsSegment);
    }
    int one = 1;
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);  // the port: at connect
    sockaddr_in a{};
    a.sin_family = AF_INET;
    const uint32_t crowd = static_cast<uint32_t>(getpid()) & 0xFF;  // crowds apart
    a.sin_addr.s_addr = htonl(0x7F000000u | crowd << 16 | static_cast<uint32_t>(1 + i / kPerSource) << 8 | 1u);
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) {
        ::close(fd);
        return -1;
    }
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

bool write_all(int fd, const void* p, size_t n) {
    const char* b = static_cast<const char*>(p);
    while (n > 0) {
        ssize_t w = write(fd, b, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        b += w;
        n -= static_cast<size_t>(w);
    }
    return true;
}

// One silent connection as the child sees it.
struct Held {
    int fd = -1;
    char answer[kAnswerPrefix] = {};
    size_t seen = 0;
};

// Reads what the server sent on h until EAGAIN; true once the server closed it.
bool drain(Held& h) {
    char buf[4096];
    for (;;) {
        ssize_t n = recv(h.fd, buf, sizeof buf, 0);
        if (n > 0) {
            for (ssize_t i = 0; i < n && h.seen < kAnswerPrefix; ++i) h.answer[h.seen++] = buf[i];
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        return !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
    }
}

void count_answer(const Held& h, Crowd::Report& r, uint64_t now_ms) {
    std::string_view a(h.answer, h.seen);
    if (a == "HTTP/1.1 408") {
        if (r.got_408++ == 0) r.first_408_ms = now_ms;
    } else if (a == "HTTP/1.1 503") {
        ++r.got_503;
    } else {
        ++r.got_other;
    }
}

// The child: opens, reports, holds (kSilent: until the server closed them all), reports
// again when that is done or the parent closes `in`, closes everything and exits.
[[noreturn]] void run_child(int in, int out, uint16_t port, size_t count, Crowd::Kind kind, const std::string& target) {
    signal(SIGPIPE, SIG_IGN);
    Crowd::Report r;
    std::vector<Held> held;
    held.reserve(count);
    const bool silent = kind == Crowd::Kind::kSilent;
    const std::string request = silent ? std::string() : RawClient::upgrade_request(target);
    const auto t0 = Clock::now();
    if (!raise_nofile(count + 64)) {
        r.failed = count;
    } else {
        for (size_t i = 0; i < count; ++i) {
            int fd = dial(port, i, silent ? 0 : kNeverReadsBuffer);
            if (fd >= 0 && !request.empty() && send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
                                                   static_cast<ssize_t>(request.size())) {
                ::close(fd);
                fd = -1;
            }
            if (fd < 0) {
                ++r.failed;
                continue;
            }
            fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
            held.push_back(Held{fd});
            ++r.opened;
        }
    }
    bool ok = write_all(out, &r, sizeof r);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    epoll_event ev{EPOLLIN, {.u64 = UINT64_MAX}};
    ok = ok && ep >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, in, &ev) == 0;
    for (size_t i = 0; ok && silent && i < held.size(); ++i) {
        ev = epoll_event{EPOLLIN | EPOLLRDHUP, {.u64 = i}};
        ok = epoll_ctl(ep, EPOLL_CTL_ADD, held[i].fd, &ev) == 0;
    }
    bool reported = false;
    while (ok) {
        epoll_event evs[256];
        int n = epoll_wait(ep, evs, 256, -1);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) break;
        bool parent_done = false;
        for (int k = 0; k < n; ++k) {
            if (evs[k].data.u64 == UINT64_MAX) {
                parent_done = true;
                continue;
            }
            Held& h = held[evs[k].data.u64];
            if (h.fd < 0 || !drain(h)) continue;
            r.last_end_ms = ms_since(t0);
            count_answer(h, r, r.last_end_ms);
            ::close(h.fd);
            h.fd = -1;
            ++r.ended;
        }
        if (parent_done) break;
        if (silent && !reported && r.ended == r.opened) {
            reported = true;
            ok = write_all(out, &r, sizeof r);
        }
    }
    if (!reported) write_all(out, &r, sizeof r);
    for (Held& h : held)
        if (h.fd >= 0) ::close(h.fd);
    _exit(0);
}

// Waits up to timeout_ms for the child to exit, then kills it.
void reap(pid_t pid, int timeout_ms) {
    for (int waited = 0; waited < timeout_ms; waited += 10) {
        if (waitpid(pid, nullptr, WNOHANG) != 0) return;
        poll(nullptr, 0, 10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
}

}  // namespace

Crowd::~Crowd() {
    if (to_child_ >= 0) ::close(to_child_);  // tells the child to finish
    if (from_child_ >= 0) ::close(from_child_);
    if (pid_ > 0) reap(pid_, 10000);
}

bool Crowd::start(uint16_t port, size_t count, Kind kind, const std::string& target) {
    int down[2], up[2];
    if (pipe2(down, O_CLOEXEC) < 0) return false;
    if (pipe2(up, O_CLOEXEC) < 0) {
        ::close(down[0]);
        ::close(down[1]);
        return false;
    }
    pid_ = fork();
    if (pid_ == 0) {
        // Only the two pipe ends stay open here: a copy of another descriptor of the test
        // (a client, another crowd's pipe) would keep it open after the test closes it.
        const int in = fcntl(down[0], F_DUPFD, 10), out = fcntl(up[1], F_DUPFD, 10);
        if (in < 0 || out < 0 || dup2(in, 3) < 0 || dup2(out, 4) < 0) _exit(1);
        close_range(5, ~0U, 0);
        run_child(3, 4, port, count, kind, target);
    }
    ::close(down[0]);
    ::close(up[1]);
    to_child_ = down[1];
    from_child_ = up[0];
    kind_ = kind;
    return pid_ > 0;
}

bool Crowd::read_report(Report& r, int timeout_ms) {
    auto* p = reinterpret_cast<char*>(&r);
    size_t got = 0;
    const auto t0 = Clock::now();
    while (got < sizeof r) {
        const long left = timeout_ms - static_cast<long>(ms_since(t0));
        pollfd pfd{from_child_, POLLIN, 0};
        if (left <= 0 || poll(&pfd, 1, static_cast<int>(left)) <= 0) return false;
        ssize_t n = read(from_child_, p + got, sizeof r - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        got += static_cast<size_t>(n);
    }
    return true;
}

Crowd::Report Crowd::wait_opened(int timeout_ms) {
    Report r;
    if (pid_ <= 0 || !read_report(r, timeout_ms)) return Report{};
    return r;
}

Crowd::Report Crowd::finish(int timeout_ms) {
    Report r;
    if (pid_ <= 0) return r;
    if (kind_ != Kind::kSilent || !read_report(r, timeout_ms)) {
        // kNeverReads reports only now; kSilent has run out of time: its counts so far.
        ::close(to_child_);
        to_child_ = -1;
        if (!read_report(r, 5000)) r = Report{};
    }
    if (to_child_ >= 0) ::close(to_child_);
    to_child_ = -1;
    reap(pid_, 30000);
    pid_ = -1;
    return r;
}

}  // namespace wspush::testing
