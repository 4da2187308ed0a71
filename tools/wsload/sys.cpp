#include "wsload/sys.h"

#include <arpa/inet.h>
#include <signal.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace wspush::wsload {

uint64_t mono_ns() noexcept {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

Rng::Rng() : s_(0) {
    if (getrandom(&s_, sizeof s_, 0) != static_cast<ssize_t>(sizeof s_)) s_ = mono_ns();
    s_ |= 1;  // xorshift state must not be zero
}

uint64_t Rng::next() noexcept {
    s_ ^= s_ >> 12;
    s_ ^= s_ << 25;
    s_ ^= s_ >> 27;
    return s_ * 0x2545F4914F6CDD1DULL;
}

void Rng::fill(uint8_t* p, size_t n) noexcept {
    while (n > 0) {
        const uint64_t v = next();
        const size_t k = n < 8 ? n : 8;
        std::memcpy(p, &v, k);
        p += k;
        n -= k;
    }
}

namespace {

volatile sig_atomic_t g_stop = 0;

void on_stop_signal(int) { g_stop = 1; }

}  // namespace

void install_stop_handler() noexcept {
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sa.sa_flags = SA_RESETHAND;  // the second signal takes the default action
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
}

bool stop_requested() noexcept { return g_stop != 0; }

uint64_t raise_nofile_limit() noexcept {
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 1024;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) getrlimit(RLIMIT_NOFILE, &rl);
    }
    return rl.rlim_cur;
}

int start_connect(const Url& url, uint64_t source_index) noexcept {
    const int family = reinterpret_cast<const sockaddr*>(&url.addr)->sa_family;
    const int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (url.loopback_v4) {
        // Without NO_PORT, bind() would reserve a port for any destination and the
        // source addresses would share one ephemeral range.
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        sockaddr_in src{};
        src.sin_family = AF_INET;
        src.sin_addr.s_addr = htonl((127u << 24) | static_cast<uint32_t>(2 + source_index % 253));
        if (bind(fd, reinterpret_cast<const sockaddr*>(&src), sizeof src) != 0) {
            const int e = errno;
            close(fd);
            return -e;
        }
    }
    if (connect(fd, reinterpret_cast<const sockaddr*>(&url.addr), url.addr_len) != 0 && errno != EINPROGRESS) {
        const int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

int connect_unix(const std::string& path) noexcept {
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (path.size() >= sizeof sa.sun_path) return -ENAMETOOLONG;
    std::memcpy(sa.sun_path, path.data(), path.size());
    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    if (connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
        const int e = errno;
        close(fd);
        return -e;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

std::optional<double> process_cpu_s(pid_t pid) {
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
    FILE* f = std::fopen(path, "r");
    if (!f) return std::nullopt;
    char buf[1024];
    const size_t n = std::fread(buf, 1, sizeof buf - 1, f);
    std::fclose(f);
    buf[n] = '\0';
    // proc(5): "pid (comm) state ..."; comm may hold spaces and parens, so fields are
    // counted from the last ')'. utime and stime are fields 14 and 15, in clock ticks.
    const char* p = std::strrchr(buf, ')');
    if (!p) return std::nullopt;
    unsigned long long utime = 0, stime = 0;
    if (std::sscanf(p + 2, "%*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu %llu", &utime, &stime) != 2) {
        return std::nullopt;
    }
    return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

int send_pending(int fd, const std::string& tx, size_t& off) noexcept {
    while (off < tx.size()) {
        const ssize_t n = ::send(fd, tx.data() + off, tx.size() - off, MSG_NOSIGNAL);
        if (n > 0) {
            off += static_cast<size_t>(n);
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            return n < 0 && errno == EWOULDBLOCK ? -EAGAIN : n < 0 ? -errno : -EIO;
        }
    }
    return 0;
}

bool write_all(int fd, const void* p, size_t n) noexcept {
    const char* c = static_cast<const char*>(p);
    while (n > 0) {
        const ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        c += w;
        n -= static_cast<size_t>(w);
    }
    return true;
}

bool read_all(int fd, void* p, size_t n) noexcept {
    char* c = static_cast<char*>(p);
    while (n > 0) {
        const ssize_t r = read(fd, c, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        c += r;
        n -= static_cast<size_t>(r);
    }
    return true;
}

}  // namespace wspush::wsload
