// The event-loop backend: a thin, edge-triggered epoll wrapper (redis ae_epoll.c's role).
// It knows nothing of connections; the server owns dispatch.
#pragma once
#include <cstdint>
#include <sys/epoll.h>

namespace wspush::net {

class Reactor {
public:
    Reactor() noexcept = default;
    ~Reactor();
    Reactor(const Reactor&) = delete;
    Reactor& operator=(const Reactor&) = delete;

    // Creates the epoll instance. Returns 0 or -errno.
    [[nodiscard]] int open() noexcept;

    // Registers fd once for the events it will ever need (connections: IN|OUT|RDHUP|ET, so
    // no epoll_ctl is ever needed per message). `tag` comes back with each event.
    // Returns 0 or -errno.
    [[nodiscard]] int add(int fd, uint32_t events, uint64_t tag) noexcept;
    // Unregisters fd (closing it does too; this is for fds that stay open). 0 or -errno.
    int remove(int fd) noexcept;

    // Waits up to timeout_ms (-1: forever) for events. Returns how many were written to
    // out (0 on timeout or EINTR). Any other epoll_wait failure is a broken invariant and
    // aborts, as redis does.
    [[nodiscard]] int wait(epoll_event* out, int max, int timeout_ms) noexcept;

private:
    int epfd_ = -1;
};

}  // namespace wspush::net
