#pragma once
// systemd's service notification protocol, spoken directly (sd_notify(3), no libsystemd):
// "KEY=VALUE\n" lines in one datagram to the AF_UNIX socket named by $NOTIFY_SOCKET (a
// path, or "@name" for the abstract namespace), and the watchdog interval from
// $WATCHDOG_USEC, which applies to this process only when $WATCHDOG_PID is unset or names it.
#include <cstdint>
#include <string_view>
#include <sys/socket.h>
#include <sys/un.h>

namespace wspush::base {

class Notifier {
public:
    Notifier() = default;
    ~Notifier();
    Notifier(const Notifier&) = delete;
    Notifier& operator=(const Notifier&) = delete;

    // Reads the environment and opens the socket. False, with err set, when NOTIFY_SOCKET is
    // set but unusable; true otherwise (active() says whether anything will be sent). The
    // variables are removed from the environment, as sd_notify's unset_environment does.
    bool open(const char** err);
    [[nodiscard]] bool active() const { return fd_ >= 0; }
    // One datagram, never blocking. False if it was not sent (the manager's queue is full,
    // or it is gone).
    bool send(std::string_view msg) const;
    // How often to send WATCHDOG=1: half of WATCHDOG_USEC, in ms (0: no watchdog).
    [[nodiscard]] uint32_t watchdog_every_ms() const { return watchdog_every_ms_; }

private:
    int fd_ = -1;
    sockaddr_un addr_{};
    socklen_t addr_len_ = 0;
    uint32_t watchdog_every_ms_ = 0;
};

}  // namespace wspush::base
