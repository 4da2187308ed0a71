#include "net/socket.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace wspush::net {
namespace {

std::string errno_text(const char* what) { return std::string(what) + ": " + strerror(errno); }

enum class Probe : uint8_t {
    kLive,     // a process listens on it: leave it alone
    kStale,    // nobody listens: the file is left over and may be replaced
    kGone,     // no file any more
    kUnknown,  // cannot tell (EACCES: another user's socket); errno says why
};

// Connects to the socket at sa without blocking. A Unix stream connect never returns
// EINPROGRESS: it completes at once, or fails with EAGAIN when the listener's backlog is
// full (a blocking connect would wait there for as long as the listener does not accept,
// so a wedged server would hang our start-up). Both mean a live listener.
Probe probe_unix(const sockaddr_un& sa) noexcept {
    const int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (probe < 0) return Probe::kUnknown;
    const int rc = connect(probe, reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
    const int e = errno;
    ::close(probe);
    errno = e;
    if (rc == 0 || e == EAGAIN || e == EINPROGRESS) return Probe::kLive;
    if (e == ECONNREFUSED) return Probe::kStale;
    if (e == ENOENT) return Probe::kGone;
    return Probe::kUnknown;
}

// Makes room for a new socket at path. lstat does not follow a symlink, so a link (even one
// to a socket) is "not a socket" and is neither probed through nor removed.
bool clear_unix_path(const std::string& path, const sockaddr_un& sa, std::string& err) {
    struct stat st;
    if (lstat(path.c_str(), &st) != 0) return true;
    if (!S_ISSOCK(st.st_mode)) {
        err = "--control: " + path + " exists and is not a socket";
        return false;
    }
    switch (probe_unix(sa)) {
        case Probe::kLive:
            err = "--control: " + path + " is in use by a running server";
            return false;
        case Probe::kUnknown:
            err = errno_text(("--control: cannot tell whether a server uses " + path).c_str());
            return false;
        case Probe::kStale:
            if (unlink(path.c_str()) != 0 && errno != ENOENT) {
                err = errno_text(("--control: removing stale " + path).c_str());
                return false;
            }
            return true;
        case Probe::kGone:
            return true;
    }
    return true;
}

}  // namespace

int listen_tcp(const std::string& host, uint16_t port, std::string& err) {
    sockaddr_storage ss{};
    socklen_t len;
    std::string h = host == "localhost" ? "127.0.0.1" : host;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
    if (inet_pton(AF_INET, h.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        len = sizeof *v4;
    } else if (inet_pton(AF_INET6, h.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        len = sizeof *v6;
    } else {
        err = "--listen: '" + host + "' is not an IPv4 or IPv6 address";
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        err = errno_text("socket");
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) < 0) {
        err = errno_text(("bind " + host + ":" + std::to_string(port)).c_str());
        ::close(fd);
        return -1;
    }
    // The backlog is clamped by net.core.somaxconn; ask for plenty so connection bursts
    // (a gateway rebooting 10k devices' links at once) queue rather than get refused.
    if (listen(fd, 4096) < 0) {
        err = errno_text("listen");
        ::close(fd);
        return -1;
    }
    return fd;
}

std::string local_address(int fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) < 0) return "?";
    if (ss.ss_family == AF_UNIX) {
        const auto* un = reinterpret_cast<const sockaddr_un*>(&ss);
        const size_t n = len > offsetof(sockaddr_un, sun_path) ? len - offsetof(sockaddr_un, sun_path) : 0;
        if (n == 0) return "(unnamed)";
        if (un->sun_path[0] == '\0') return "@" + std::string(un->sun_path + 1, n - 1);  // abstract
        return std::string(un->sun_path, strnlen(un->sun_path, n));
    }
    char buf[INET6_ADDRSTRLEN];
    if (ss.ss_family == AF_INET6) {
        auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
        inet_ntop(AF_INET6, &v6->sin6_addr, buf, sizeof buf);
        return "[" + std::string(buf) + "]:" + std::to_string(ntohs(v6->sin6_port));
    }
    auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &v4->sin_addr, buf, sizeof buf);
    return std::string(buf) + ":" + std::to_string(ntohs(v4->sin_port));
}

void peer_address(int fd, char (&out)[kPeerAddressChars]) noexcept {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    char ip[INET6_ADDRSTRLEN];
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0 && ss.ss_family == AF_INET6) {
        const auto& v6 = reinterpret_cast<const sockaddr_in6&>(ss);
        if (IN6_IS_ADDR_V4MAPPED(&v6.sin6_addr)) {
            inet_ntop(AF_INET, v6.sin6_addr.s6_addr + 12, ip, sizeof ip);
            snprintf(out, sizeof out, "%s:%u", ip, ntohs(v6.sin6_port));
        } else {
            inet_ntop(AF_INET6, &v6.sin6_addr, ip, sizeof ip);
            snprintf(out, sizeof out, "[%s]:%u", ip, ntohs(v6.sin6_port));
        }
    } else if (ss.ss_family == AF_INET) {
        const auto& v4 = reinterpret_cast<const sockaddr_in&>(ss);
        inet_ntop(AF_INET, &v4.sin_addr, ip, sizeof ip);
        snprintf(out, sizeof out, "%s:%u", ip, ntohs(v4.sin_port));
    } else {
        snprintf(out, sizeof out, "?");
    }
}

int listen_unix(const std::string& path, std::string& err) {
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (path.size() >= sizeof sa.sun_path) {
        err = "--control: path too long";
        return -1;
    }
    memcpy(sa.sun_path, path.c_str(), path.size() + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        err = errno_text("socket");
        return -1;
    }
    if (!clear_unix_path(path, sa, err)) {
        ::close(fd);
        return -1;
    }
    // Create it private: umask before bind so there is no window with looser permissions.
    // No chmod afterwards: it follows a symlink that someone may have put at path since.
    mode_t old = umask(0177);
    int rc = bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    umask(old);
    if (rc < 0) {
        err = errno_text(("bind " + path).c_str());
        ::close(fd);
        return -1;
    }
    if (listen(fd, 128) < 0) {
        err = errno_text("listen");
        ::close(fd);
        return -1;
    }
    return fd;
}

bool peer_uid(int fd, uid_t& out) noexcept {
    ucred cred{};
    socklen_t len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof cred) return false;
    out = cred.uid;
    return true;
}

void tune_tcp(int fd) noexcept {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

long unsent_bytes(int fd) noexcept {
    int n = 0;
    return ioctl(fd, SIOCOUTQ, &n) == 0 ? n : -1;
}

}  // namespace wspush::net
