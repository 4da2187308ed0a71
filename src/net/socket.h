// Listening sockets and small fd helpers. Startup errors come back as readable text.
#pragma once
#include <cstdint>
#include <string>
#include <sys/types.h>

namespace wspush::net {

// Binds and listens on host:port (IPv4 dotted quad, IPv6 literal, or "localhost"),
// non-blocking, close-on-exec, SO_REUSEADDR. Returns the fd, or -1 with err set.
[[nodiscard]] int listen_tcp(const std::string& host, uint16_t port, std::string& err);

// "127.0.0.1:8080" or "[::1]:8080" for the socket's local address.
[[nodiscard]] std::string local_address(int fd);

// Creates a Unix stream listening socket at path with mode 0600. A socket file left by a
// dead process is replaced; one a live process still accepts on is not (returns -1 with
// err saying so). Returns the fd or -1 with err set.
[[nodiscard]] int listen_unix(const std::string& path, std::string& err);

// The user id of the process at the other end of a Unix socket (SO_PEERCRED). False when
// the kernel cannot say.
[[nodiscard]] bool peer_uid(int fd, uid_t& out) noexcept;

// Tunes an accepted TCP socket: TCP_NODELAY (frames are whole when written).
void tune_tcp(int fd) noexcept;

}  // namespace wspush::net
