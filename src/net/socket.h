// Listening sockets and small fd helpers. Startup errors come back as readable text.
#pragma once
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace wspush::net {

// Binds and listens on host:port (IPv4 dotted quad, IPv6 literal, or "localhost"),
// non-blocking, close-on-exec, SO_REUSEADDR. Returns the fd, or -1 with err set.
[[nodiscard]] int listen_tcp(const std::string& host, uint16_t port, std::string& err);

// "127.0.0.1:8080" or "[::1]:8080" for the socket's local address.
[[nodiscard]] std::string local_address(int fd);

// The peer's address of a connected TCP socket as "127.0.0.1:51234" or "[::1]:51234" (an
// IPv4 client of a dual-stack listener as IPv4), "?" when it cannot be had (the peer is
// gone). For log lines: asked only when one is written. No allocation.
inline constexpr size_t kPeerAddressChars = 56;  // "[" INET6_ADDRSTRLEN "]:65535"
void peer_address(int fd, char (&out)[kPeerAddressChars]) noexcept;

// Creates a Unix stream listening socket at path, non-blocking, close-on-exec, with mode
// 0600 (set through the umask at bind; the umask is restored). A socket file left by a dead
// process is replaced; one a live process listens on, even one whose backlog is full, is
// not (returns -1 with err saying so). Probing never blocks. Anything else at path,
// symlinks included, is left alone and is an error. Returns the fd or -1 with err set.
// Call at start-up, before any thread exists: umask is process-wide.
[[nodiscard]] int listen_unix(const std::string& path, std::string& err);

// The user id the process at the other end of a connected Unix socket had when it connected
// or called socketpair (SO_PEERCRED). False, out untouched, if fd is not a socket.
[[nodiscard]] bool peer_uid(int fd, uid_t& out) noexcept;

// Tunes an accepted TCP socket: TCP_NODELAY (frames are whole when written).
void tune_tcp(int fd) noexcept;

// Bytes written to a TCP socket that its peer has not acknowledged yet (SIOCOUTQ): they
// shrink as the peer reads. -1 on error.
[[nodiscard]] long unsent_bytes(int fd) noexcept;

}  // namespace wspush::net
