#include "base/sd_notify.h"

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <unistd.h>

namespace wspush::base {

Notifier::~Notifier() {
    if (fd_ >= 0) ::close(fd_);
}

bool Notifier::open(const char** err) {
    // The watchdog first: WATCHDOG_PID, when set, names the process it is meant for (a
    // wrapper's environment may be inherited by its child).
    if (const char* usec = getenv("WATCHDOG_USEC"); usec != nullptr && *usec != '\0') {
        const char* pid = getenv("WATCHDOG_PID");
        char* end = nullptr;
        errno = 0;
        const unsigned long long us = strtoull(usec, &end, 10);
        const bool ours = pid == nullptr || strtoll(pid, nullptr, 10) == static_cast<long long>(getpid());
        if (ours && errno == 0 && *end == '\0' && us > 0) {
            const unsigned long long half_ms = us / 2000;
            watchdog_every_ms_ = static_cast<uint32_t>(half_ms == 0 ? 1 : half_ms > 0x7fffffffULL ? 0x7fffffffULL : half_ms);
        }
    }
    const char* path = getenv("NOTIFY_SOCKET");
    bool ok = true;
    if (path != nullptr && *path != '\0') {
        const size_t len = strlen(path);
        addr_.sun_family = AF_UNIX;
        if ((path[0] != '/' && path[0] != '@') || len >= sizeof addr_.sun_path) {
            *err = "NOTIFY_SOCKET is neither an absolute path nor an @abstract name that fits";
            ok = false;
        } else {
            memcpy(addr_.sun_path, path, len);
            if (path[0] == '@') addr_.sun_path[0] = '\0';  // the abstract namespace
            addr_len_ = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len);
            fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
            if (fd_ < 0) {
                *err = "socket(AF_UNIX, SOCK_DGRAM) failed";
                ok = false;
            }
        }
    }
    if (fd_ < 0) watchdog_every_ms_ = 0;  // nobody to tell
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    return ok;
}

bool Notifier::send(std::string_view msg) const {
    if (fd_ < 0) return false;
    return sendto(fd_, msg.data(), msg.size(), MSG_NOSIGNAL | MSG_DONTWAIT,
                  reinterpret_cast<const sockaddr*>(&addr_), addr_len_) == static_cast<ssize_t>(msg.size());
}

}  // namespace wspush::base
