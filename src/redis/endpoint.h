// Where a Redis server is: "HOST:PORT" (an IPv4 address, "[IPv6]", "localhost" or a host
// name) or "unix:PATH". A host name is looked up by resolve_endpoint() (getaddrinfo, which
// blocks): once, when the client starts, never in the loop.
#pragma once
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace wspush::redis {

struct Endpoint {
    sockaddr_storage addr{};
    socklen_t len = 0;   // 0 while a host name is not looked up yet
    std::string text;    // as given, for log lines
    std::string name;    // a host name to look up (resolve_endpoint), else empty
    uint16_t port = 0;   // ... and its port
};

// Parses spec into out. False with err set (one readable line) when it is not one of the
// forms above (a host name: 1 to 253 letters, digits, '-' and '.'), the port is not
// 1..65535, or a path does not fit a Unix socket address.
[[nodiscard]] bool parse_endpoint(std::string_view spec, Endpoint& out, std::string& err);

// Looks a host name up (the first address getaddrinfo gives for a stream socket); an
// address needs nothing. False with err set ("cannot look up NAME: <reason>").
[[nodiscard]] bool resolve_endpoint(Endpoint& ep, std::string& err);

// Starts a non-blocking connect to ep: a non-blocking, close-on-exec socket (TCP_NODELAY
// for TCP). Returns the fd, with `done` true when the connection is already established
// (Unix sockets usually are) and false when it is in progress (EINPROGRESS: writability
// then tells the outcome, SO_ERROR which). -errno when it failed at once (ECONNREFUSED;
// EAGAIN from a Unix listener whose backlog is full).
[[nodiscard]] int connect_endpoint(const Endpoint& ep, bool& done) noexcept;

// The outcome of a connect in progress once the socket is writable: 0 or -errno.
[[nodiscard]] int connect_result(int fd) noexcept;

}  // namespace wspush::redis
