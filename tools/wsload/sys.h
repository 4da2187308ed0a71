// Small system helpers for wsload: clock, randomness, file limit, sockets, /proc CPU time.
#pragma once
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "wsload/options.h"

namespace wspush::wsload {

// Nanoseconds on CLOCK_MONOTONIC (the clock fanout payloads carry).
[[nodiscard]] uint64_t mono_ns() noexcept;

// xorshift64* seeded from getrandom(): masking keys and handshake nonces. Not for secrets;
// RFC 6455 10.3 asks only that masks be unpredictable to the (here: our own) application.
class Rng {
public:
    Rng();
    uint64_t next() noexcept;
    void fill(uint8_t* p, size_t n) noexcept;

private:
    uint64_t s_;
};

// SIGINT/SIGTERM handling: the first signal asks the run to stop early (the mode then
// closes its connections, within its timeouts, and still prints its summary); a second one
// ends the process. Installed without SA_RESTART, so a blocked epoll_wait returns at once.
void install_stop_handler() noexcept;
[[nodiscard]] bool stop_requested() noexcept;

// Raises RLIMIT_NOFILE's soft limit to the hard limit. Returns the soft limit now in force.
uint64_t raise_nofile_limit() noexcept;

// Starts a non-blocking TCP connect to url (TCP_NODELAY set). For a 127.0.0.0/8 target the
// source is 127.0.0.(2 + source_index % 253), bound before connect with
// IP_BIND_ADDRESS_NO_PORT so the kernel picks the port at connect() from the full
// 4-tuple: each source address then has its own ephemeral port range.
// Returns the fd, or -errno.
[[nodiscard]] int start_connect(const Url& url, uint64_t source_index) noexcept;

// Connects a blocking Unix stream socket to path, then makes it non-blocking.
// Returns the fd, or -errno.
[[nodiscard]] int connect_unix(const std::string& path) noexcept;

// utime + stime of a process, in seconds, from /proc/PID/stat; nullopt if unreadable.
[[nodiscard]] std::optional<double> process_cpu_s(pid_t pid);

// Sends tx[off..] on a non-blocking socket (MSG_NOSIGNAL) until all is sent or the socket
// is full, advancing off. Returns 0 when all is sent, -EAGAIN when the socket is full
// (EPOLLOUT tells when there is room again), or another -errno.
[[nodiscard]] int send_pending(int fd, const std::string& tx, size_t& off) noexcept;

// Writes all of p[0..n) to a blocking fd. Returns false on error.
bool write_all(int fd, const void* p, size_t n) noexcept;
// Reads exactly n bytes from a blocking fd. Returns false on error or early EOF.
bool read_all(int fd, void* p, size_t n) noexcept;

}  // namespace wspush::wsload
