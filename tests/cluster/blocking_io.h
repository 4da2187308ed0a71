// Test support for the cluster tests: writing all of a string to a non-blocking socket,
// waiting for POLLOUT when it is full (worker bodies and the test's parent loop).
#pragma once
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <string_view>

namespace wspush::cluster::test_support {

// False when the peer is gone or the write fails otherwise.
inline bool write_all(int fd, std::string_view s) {
    while (!s.empty()) {
        const ssize_t n = write(fd, s.data(), s.size());
        if (n > 0) {
            s.remove_prefix(static_cast<size_t>(n));
        } else if (n < 0 && errno == EAGAIN) {
            pollfd p{.fd = fd, .events = POLLOUT, .revents = 0};
            poll(&p, 1, -1);
        } else if (n < 0 && errno != EINTR) {
            return false;
        }
    }
    return true;
}

}  // namespace wspush::cluster::test_support
