#include "net/reactor.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unistd.h>

namespace wspush::net {

Reactor::~Reactor() {
    if (epfd_ >= 0) ::close(epfd_);
}

int Reactor::open() noexcept {
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    return epfd_ < 0 ? -errno : 0;
}

int Reactor::add(int fd, uint32_t events, uint64_t tag) noexcept {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = tag;
    return epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int Reactor::remove(int fd) noexcept {
    return epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr) < 0 ? -errno : 0;
}

int Reactor::wait(epoll_event* out, int max, int timeout_ms) noexcept {
    int n = epoll_wait(epfd_, out, max, timeout_ms);
    if (n >= 0) return n;
    if (errno == EINTR) return 0;
    fprintf(stderr, "wspushd: error: epoll_wait: %s\n", strerror(errno));
    abort();
}

}  // namespace wspush::net
