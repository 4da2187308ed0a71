#include "redis/endpoint.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <netinet/in.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <sys/un.h>
#include <unistd.h>

namespace wspush::redis {

bool parse_endpoint(std::string_view spec, Endpoint& out, std::string& err) {
    out = Endpoint{};
    out.text.assign(spec);
    if (spec.starts_with("unix:")) {
        const std::string_view path = spec.substr(5);
        auto* un = reinterpret_cast<sockaddr_un*>(&out.addr);
        if (path.empty() || path.size() >= sizeof un->sun_path || path.find('\0') != std::string_view::npos) {
            err = "'" + out.text + "': a Unix socket path of 1 to " + std::to_string(sizeof un->sun_path - 1) + " bytes";
            return false;
        }
        un->sun_family = AF_UNIX;
        memcpy(un->sun_path, path.data(), path.size());
        out.len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
        return true;
    }
    const size_t colon = spec.rfind(':');
    if (colon == std::string_view::npos) {
        err = "'" + out.text + "': not HOST:PORT or unix:PATH";
        return false;
    }
    std::string_view host = spec.substr(0, colon);
    const std::string_view port_text = spec.substr(colon + 1);
    unsigned port = 0;
    for (char c : port_text) {
        if (c < '0' || c > '9' || port > 65535) {
            port = 0;
            break;
        }
        port = port * 10 + static_cast<unsigned>(c - '0');
    }
    if (port == 0 || port > 65535) {
        err = "'" + out.text + "': the port must be 1 to 65535";
        return false;
    }
    const bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
    if (bracketed) host = host.substr(1, host.size() - 2);
    const std::string h = host == "localhost" ? "127.0.0.1" : std::string(host);
    auto* v4 = reinterpret_cast<sockaddr_in*>(&out.addr);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.addr);
    if (!bracketed && inet_pton(AF_INET, h.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(static_cast<uint16_t>(port));
        out.len = sizeof *v4;
        return true;
    }
    if (bracketed && inet_pton(AF_INET6, h.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(static_cast<uint16_t>(port));
        out.len = sizeof *v6;
        return true;
    }
    const bool name_like = !bracketed && !h.empty() && h.size() <= 253 && h.front() != '-' && h.front() != '.' &&
                           h.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") ==
                               std::string::npos;
    if (name_like && h.find_first_not_of("0123456789.") != std::string::npos) {  // not a broken IPv4 address
        out.name = h;
        out.port = static_cast<uint16_t>(port);
        return true;
    }
    err = "'" + out.text + "': the host must be an IPv4 address, [IPv6 address], localhost or a host name";
    return false;
}

bool resolve_endpoint(Endpoint& ep, std::string& err) {
    if (ep.name.empty()) return true;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    addrinfo* found = nullptr;
    const std::string port = std::to_string(ep.port);
    const int rc = getaddrinfo(ep.name.c_str(), port.c_str(), &hints, &found);
    if (rc != 0 || found == nullptr || found->ai_addrlen > sizeof ep.addr) {
        err = "cannot look up " + ep.name + ": " + (rc != 0 ? gai_strerror(rc) : "no address");
        if (found) freeaddrinfo(found);
        return false;
    }
    memcpy(&ep.addr, found->ai_addr, found->ai_addrlen);
    ep.len = found->ai_addrlen;
    freeaddrinfo(found);
    return true;
}

int connect_endpoint(const Endpoint& ep, bool& done) noexcept {
    done = false;
    const int family = ep.addr.ss_family;
    const int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    if (family != AF_UNIX) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // commands are whole when written
    }
    int rc;
    do rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&ep.addr), ep.len);
    while (rc < 0 && errno == EINTR && family == AF_UNIX);
    if (rc == 0) {
        done = true;
        return fd;
    }
    // A TCP connect interrupted by a signal goes on in the background, like EINPROGRESS.
    if (errno == EINPROGRESS || errno == EINTR) return fd;
    const int e = errno;
    ::close(fd);
    return -e;
}

int connect_result(int fd) noexcept {
    int e = 0;
    socklen_t len = sizeof e;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) != 0) return -errno;
    return -e;
}

}  // namespace wspush::redis
