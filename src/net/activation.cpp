#include "net/activation.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <string_view>
#include <sys/socket.h>
#include <unistd.h>

namespace wspush::net {
namespace {

constexpr int kFirstFd = 3;     // SD_LISTEN_FDS_START
constexpr long kMaxFds = 64;    // far more than we take; a bound on a hostile environment

bool number(const char* s, long& out) {
    if (s == nullptr || *s == '\0') return false;
    char* end = nullptr;
    errno = 0;
    out = strtol(s, &end, 10);
    return errno == 0 && *end == '\0';
}

// The i-th name of LISTEN_FDNAMES ("" when absent).
std::string_view name_of(const char* names, long i) {
    std::string_view rest = names != nullptr ? names : "";
    for (; i > 0; --i) {
        const size_t colon = rest.find(':');
        if (colon == std::string_view::npos) return {};
        rest.remove_prefix(colon + 1);
    }
    return rest.substr(0, rest.find(':'));
}

}  // namespace

bool inherited_sockets(Inherited& out, std::string& err) {
    long pid = 0, count = 0;
    const bool for_us = number(getenv("LISTEN_PID"), pid) && pid == static_cast<long>(getpid());
    const char* fds = getenv("LISTEN_FDS");
    const bool ours = for_us && number(fds, count) && count > 0;
    const char* names = getenv("LISTEN_FDNAMES");
    bool ok = true;
    if (for_us && fds != nullptr && !number(fds, count)) {
        err = std::string("socket activation: LISTEN_FDS=") + fds + " is not a count";
        ok = false;
    } else if (ours && count > kMaxFds) {
        err = "socket activation: LISTEN_FDS=" + std::to_string(count) + " is more than " + std::to_string(kMaxFds);
        ok = false;
    }
    for (long i = 0; ok && ours && i < count; ++i) {
        const int fd = kFirstFd + static_cast<int>(i);
        const std::string_view name = name_of(names, i);
        const std::string which = "socket activation: descriptor " + std::to_string(fd) +
                                  (name.empty() ? "" : " (" + std::string(name) + ")");
        int type = 0, listening = 0;
        socklen_t type_len = sizeof type, listening_len = sizeof listening;
        sockaddr_storage ss{};
        socklen_t ss_len = sizeof ss;
        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_len) < 0 || type != SOCK_STREAM ||
            getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &listening_len) < 0 || listening == 0 ||
            getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &ss_len) < 0) {
            err = which + " is not a listening stream socket";
            ok = false;
            break;
        }
        const bool unix_socket = ss.ss_family == AF_UNIX;
        if (name == "control" ? !unix_socket : !(unix_socket || ss.ss_family == AF_INET || ss.ss_family == AF_INET6)) {
            err = which + (name == "control" ? " is named control but is not an AF_UNIX socket"
                                             : " is neither TCP nor AF_UNIX");
            ok = false;
            break;
        }
        int& slot = unix_socket ? out.control : out.tcp;
        if (slot >= 0) {
            err = which + ": a second " + (unix_socket ? "control socket" : "TCP listener") +
                  "; wspushd serves one of each";
            ok = false;
            break;
        }
        slot = fd;
        fcntl(fd, F_SETFD, FD_CLOEXEC);
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    }
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    return ok;
}

}  // namespace wspush::net
