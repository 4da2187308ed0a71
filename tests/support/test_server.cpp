#include "support/test_server.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "http/handshake.h"

namespace wspush::testing {
namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return left < 0 ? 0 : static_cast<int>(left);
}

bool wait_readable(int fd, int timeout_ms) {
    pollfd p{fd, POLLIN, 0};
    int r;
    do r = poll(&p, 1, timeout_ms);
    while (r < 0 && errno == EINTR);
    return r > 0;
}

constexpr char kKey[] = "dGhlIHNhbXBsZSBub25jZQ==";

// Writes all of bytes to a blocking socket (SIGPIPE suppressed). False on an error.
bool send_fully(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
}

}  // namespace

// ---------------------------------------------------------------- ServerProcess

const std::vector<std::string>& ServerProcess::wrapper() {
    static const std::vector<std::string> words = [] {
        std::vector<std::string> out;
        const char* env = getenv("WSPUSHD_WRAPPER");
        std::string_view rest = env ? env : "";
        while (!rest.empty()) {
            size_t sp = rest.find(' ');
            if (sp != 0) out.emplace_back(rest.substr(0, sp));
            rest.remove_prefix(sp == std::string_view::npos ? rest.size() : sp + 1);
        }
        return out;
    }();
    return words;
}

ServerProcess::~ServerProcess() {
    const bool killed = pid_ > 0;
    if (killed) stop(SIGKILL, 5000);
    if (err_fd_ >= 0) ::close(err_fd_);
    // A killed server cannot remove its control socket; a path of our own making is ours to
    // remove whatever happened.
    if (!control_.empty() && (killed || own_control_)) unlink(control_.c_str());
}

bool ServerProcess::start(std::vector<std::string> args) {
    // A second start() on the same object begins afresh: the old log would hold the old port.
    if (pid_ > 0) stop(SIGKILL, 5000);
    if (err_fd_ >= 0) ::close(err_fd_);
    err_fd_ = -1;
    log_.clear();
    port_ = 0;
    early_exit_ = -1;
    if (own_control_) unlink(control_.c_str());  // the previous server's, if it was killed
    bool has_listen = false, has_control = false, echo = false;
    for (size_t i = 0; i < args.size(); ++i) {
        if (args[i].rfind("--listen", 0) == 0) has_listen = true;
        if (args[i].rfind("--control", 0) == 0) {
            has_control = true;
            if (i + 1 < args.size()) control_ = args[i + 1];
        }
        if (args[i] == "echo") echo = true;
    }
    if (!has_listen && default_listen) {
        args.push_back("--listen");
        args.push_back("127.0.0.1:0");
    }
    own_control_ = !has_control && !echo;
    if (own_control_) {
        static int counter = 0;
        control_ = "/tmp/wspush-test-" + std::to_string(getpid()) + "-" + std::to_string(++counter) + ".sock";
        unlink(control_.c_str());
        args.push_back("--control");
        args.push_back(control_);
    }
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) < 0) return false;
    pid_ = fork();
    if (pid_ == 0) {
        dup2(pipefd[1], 2);
        if (rlimit_fsize > 0) {
            const rlimit limit{rlimit_fsize, rlimit_fsize};
            if (setrlimit(RLIMIT_FSIZE, &limit) != 0) _exit(126);
        }
        if (!pass_fds_.empty()) {
            // Out of the way first, so moving one to 3+i cannot overwrite another.
            std::vector<int> high;
            for (int fd : pass_fds_) high.push_back(fcntl(fd, F_DUPFD, 100));
            for (size_t i = 0; i < high.size(); ++i) dup2(high[i], 3 + static_cast<int>(i));
            setenv("LISTEN_FDS", pass_count_.empty() ? std::to_string(high.size()).c_str() : pass_count_.c_str(), 1);
            setenv("LISTEN_PID", std::to_string(getpid()).c_str(), 1);
            if (!pass_names_.empty()) setenv("LISTEN_FDNAMES", pass_names_.c_str(), 1);
        }
        std::vector<std::string> words = wrapper();
        words.push_back(WSPUSHD_BIN);
        words.insert(words.end(), args.begin(), args.end());
        std::vector<char*> argv;
        for (auto& w : words) argv.push_back(w.data());
        argv.push_back(nullptr);
        execvp(argv[0], argv.data());
        _exit(127);
    }
    ::close(pipefd[1]);
    err_fd_ = pipefd[0];
    auto deadline = Clock::now() + std::chrono::seconds(wrapped() ? 60 : 10);
    while (Clock::now() < deadline) {
        size_t at = log_.find("listening on ");
        if (at != std::string::npos) {
            size_t end = log_.find(' ', at + 13);
            if (end == std::string::npos) end = log_.find('\n', at + 13);
            std::string addr = log_.substr(at + 13, end - at - 13);
            port_ = static_cast<uint16_t>(std::stoi(addr.substr(addr.rfind(':') + 1)));
            return true;
        }
        int status;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
            drain_stderr(0);
            pid_ = -1;
            if (WIFEXITED(status)) early_exit_ = WEXITSTATUS(status);
            if (WIFSIGNALED(status)) early_exit_ = 128 + WTERMSIG(status);
            return false;
        }
        drain_stderr(remaining_ms(deadline) < 100 ? remaining_ms(deadline) : 100);
    }
    return false;
}

void ServerProcess::drain_stderr(int timeout_ms) {
    if (err_fd_ < 0) return;
    if (!wait_readable(err_fd_, timeout_ms)) return;
    char buf[4096];
    for (;;) {
        ssize_t n = read(err_fd_, buf, sizeof buf);
        if (n <= 0) return;
        log_.append(buf, static_cast<size_t>(n));
        if (!wait_readable(err_fd_, 0)) return;
    }
}

std::string ServerProcess::log() {
    drain_stderr(0);
    return log_;
}

bool ServerProcess::wait_log(std::string_view needle, int timeout_ms) {
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
        drain_stderr(0);
        if (log_.find(needle) != std::string::npos) return true;
        if (Clock::now() >= deadline) return false;
        drain_stderr(std::min(remaining_ms(deadline), 50));
    }
}

int ServerProcess::stop(int sig, int timeout_ms) {
    if (pid_ <= 0) return -1;
    if (wrapped()) timeout_ms = std::max(timeout_ms, 60000);  // valgrind's leak check at exit
    kill(pid_, sig);
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    int status = 0;
    for (;;) {
        pid_t r = waitpid(pid_, &status, WNOHANG);
        if (r == pid_) break;
        if (Clock::now() >= deadline) {
            kill(pid_, SIGKILL);
            waitpid(pid_, &status, 0);
            pid_ = -1;
            return -1;
        }
        drain_stderr(20);  // also paces the loop: returns early when the server writes
        if (err_fd_ >= 0) {
            pollfd p{err_fd_, POLLIN, 0};
            if (poll(&p, 1, 0) > 0 && (p.revents & POLLHUP) && !(p.revents & POLLIN)) {
                // stderr closed: the process is exiting; block for it (bounded by the kill above).
                waitpid(pid_, &status, 0);
                break;
            }
        }
    }
    drain_stderr(0);
    pid_ = -1;
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
}

// ---------------------------------------------------------------- Frame

uint16_t Frame::close_code() const {
    if (payload.size() < 2) return 0;
    return static_cast<uint16_t>((static_cast<uint8_t>(payload[0]) << 8) | static_cast<uint8_t>(payload[1]));
}

std::string Frame::close_reason() const { return payload.size() > 2 ? payload.substr(2) : std::string(); }

// ---------------------------------------------------------------- RawClient

RawClient::~RawClient() { close(); }

void RawClient::close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

bool RawClient::connect(uint16_t port, const char* host) { return connect_to(port, host, 0); }

bool RawClient::connect_small_window(uint16_t port, int bytes, int mss) {
    return connect_to(port, "127.0.0.1", bytes, mss);
}

bool RawClient::connect_to(uint16_t port, const char* host, int rcvbuf, int mss) {
    close();
    buf_.clear();
    eof_ = false;
    sockaddr_storage ss{};
    socklen_t len;
    if (strchr(host, ':')) {
        auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(port);
        inet_pton(AF_INET6, host, &a->sin6_addr);
        len = sizeof *a;
    } else {
        auto* a = reinterpret_cast<sockaddr_in*>(&ss);
        a->sin_family = AF_INET;
        a->sin_port = htons(port);
        inet_pton(AF_INET, host, &a->sin_addr);
        len = sizeof *a;
    }
    fd_ = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return false;
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval tv{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (rcvbuf > 0) setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    if (mss > 0) setsockopt(fd_, IPPROTO_TCP, TCP_MAXSEG, &mss, sizeof mss);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&ss), len) < 0) {
        close();
        return false;
    }
    return true;
}

bool RawClient::send_all(std::string_view bytes) {
    return send_fully(fd_, bytes);
}

bool RawClient::wait_acked(int timeout_ms) {
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
        int unacked = 0;
        if (ioctl(fd_, SIOCOUTQ, &unacked) != 0) return false;
        if (unacked == 0) return true;
        if (Clock::now() >= deadline) return false;
        poll(nullptr, 0, 1);
    }
}

bool RawClient::send_bytewise(std::string_view bytes) {
    for (char c : bytes)
        if (!send_all(std::string_view(&c, 1))) return false;
    return true;
}

std::string RawClient::upgrade_request(std::string_view path, std::string_view extra) {
    std::string r = "GET ";
    r += path;
    r += " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: ";
    r += kKey;
    r += "\r\nSec-WebSocket-Version: 13\r\n";
    r += extra;
    r += "\r\n";
    return r;
}

int RawClient::upgrade(std::string_view path, std::string_view extra, std::string* head, bool bytewise) {
    std::string req = upgrade_request(path, extra);
    if (!(bytewise ? send_bytewise(req) : send_all(req))) return 0;
    std::string h = read_http();
    if (head) *head = h;
    if (h.size() < 12) return 0;
    int status = std::atoi(h.c_str() + 9);
    if (status == 101) {
        char expect[28];
        char key[24];
        memcpy(key, kKey, 24);
        http::accept_key(key, expect);
        std::string want = "Sec-WebSocket-Accept: " + std::string(expect, 28) + "\r\n";
        if (h.find(want) == std::string::npos) return -1;
    }
    return status;
}

bool RawClient::fill(int timeout_ms) {
    if (eof_ || fd_ < 0) return false;
    if (!wait_readable(fd_, timeout_ms)) return false;
    char tmp[65536];
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) {
        eof_ = true;
        return false;
    }
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
}

std::string RawClient::read_http(int timeout_ms) {
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
        size_t end = buf_.find("\r\n\r\n");
        if (end != std::string::npos) {
            size_t head_len = end + 4;
            size_t body = 0;
            size_t cl = buf_.find("Content-Length: ");
            if (cl != std::string::npos && cl < end) body = std::stoul(buf_.substr(cl + 16));
            // A 101 has no body; everything after the head is frames.
            if (buf_.compare(9, 3, "101") == 0) body = 0;
            while (buf_.size() < head_len + body && fill(remaining_ms(deadline))) {
            }
            std::string out = buf_.substr(0, std::min(buf_.size(), head_len + body));
            buf_.erase(0, out.size());
            return out;
        }
        if (!fill(remaining_ms(deadline))) return {};
    }
}

std::string RawClient::frame(uint8_t opcode, std::string_view payload, bool fin, uint8_t rsv, bool mask) {
    std::string f;
    f += static_cast<char>((fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0x0F));
    uint8_t m = mask ? 0x80 : 0;
    size_t n = payload.size();
    if (n < 126) {
        f += static_cast<char>(m | n);
    } else if (n <= 0xFFFF) {
        f += static_cast<char>(m | 126);
        f += static_cast<char>(n >> 8);
        f += static_cast<char>(n);
    } else {
        f += static_cast<char>(m | 127);
        for (int i = 7; i >= 0; --i) f += static_cast<char>(static_cast<uint64_t>(n) >> (8 * i));
    }
    static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
    if (mask) f.append(reinterpret_cast<const char*>(key), 4);
    size_t at = f.size();
    f += payload;
    if (mask)
        for (size_t i = 0; i < n; ++i) f[at + i] = static_cast<char>(f[at + i] ^ key[i & 3]);
    return f;
}

std::string RawClient::close_frame(uint16_t code, std::string_view reason) {
    std::string p;
    p += static_cast<char>(code >> 8);
    p += static_cast<char>(code);
    p += reason;
    return frame(0x8, p);
}

bool RawClient::send_frame(uint8_t opcode, std::string_view payload, bool fin) {
    return send_all(frame(opcode, payload, fin));
}

std::optional<Frame> RawClient::read_frame(int timeout_ms) {
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
        if (buf_.size() >= 2) {
            auto b = [&](size_t i) { return static_cast<uint8_t>(buf_[i]); };
            size_t hdr = 2;
            uint64_t len = b(1) & 0x7F;
            bool masked = b(1) & 0x80;
            if (len == 126) {
                hdr = 4;
                if (buf_.size() >= 4) len = (uint64_t(b(2)) << 8) | b(3);
            } else if (len == 127) {
                hdr = 10;
                if (buf_.size() >= 10) {
                    len = 0;
                    for (int i = 0; i < 8; ++i) len = (len << 8) | b(2 + i);
                }
            }
            if (masked) hdr += 4;
            if (buf_.size() >= hdr && buf_.size() >= hdr + len) {
                Frame f;
                f.fin = b(0) & 0x80;
                f.rsv = (b(0) >> 4) & 7;
                f.opcode = b(0) & 0x0F;
                f.masked = masked;
                f.payload = buf_.substr(hdr, len);
                buf_.erase(0, hdr + len);
                return f;
            }
        }
        if (!fill(remaining_ms(deadline))) return std::nullopt;
    }
}

std::optional<Frame> RawClient::read_close(int timeout_ms) {
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
        auto f = read_frame(remaining_ms(deadline));
        if (!f) return std::nullopt;
        if (f->opcode == 0x8) return f;
    }
}

bool RawClient::wait_eof(int timeout_ms) {
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (!eof_) {
        buf_.clear();
        if (!fill(remaining_ms(deadline)) && !eof_) return false;
    }
    return true;
}

// ---------------------------------------------------------------- ControlConn

ControlConn::~ControlConn() { close(); }

void ControlConn::close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

bool ControlConn::connect(const std::string& path) {
    close();
    eof_ = false;
    buf_.clear();
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path.c_str());
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) {
        close();
        return false;
    }
    return true;
}

bool ControlConn::send(std::string_view bytes) {
    return send_fully(fd_, bytes);
}

std::optional<std::string> ControlConn::read_line(int timeout_ms) {
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
        size_t lf = buf_.find('\n');
        if (lf != std::string::npos) {
            std::string line = buf_.substr(0, lf);
            buf_.erase(0, lf + 1);
            return line;
        }
        if (fd_ < 0 || eof_ || !wait_readable(fd_, remaining_ms(deadline))) return std::nullopt;
        char tmp[65536];
        ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
        if (n <= 0) {
            eof_ = true;
            return std::nullopt;
        }
        buf_.append(tmp, static_cast<size_t>(n));
    }
}

std::optional<std::string> ControlConn::command(std::string_view cmd, int timeout_ms) {
    if (!send(std::string(cmd) + "\n")) return std::nullopt;
    return read_line(timeout_ms);
}

bool ControlConn::wait_eof(int timeout_ms) {
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
        if (fd_ < 0 || !wait_readable(fd_, remaining_ms(deadline))) return false;
        char tmp[4096];
        ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
        if (n <= 0) {
            eof_ = true;
            return true;
        }
        buf_.append(tmp, static_cast<size_t>(n));
    }
}

std::string run_command(const std::string& cmd, int* status) {
    std::string out;
    FILE* p = popen(("timeout 60 " + cmd).c_str(), "r");
    if (!p) {
        if (status) *status = -1;
        return out;
    }
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    int st = pclose(p);
    if (status) *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return out;
}

}  // namespace wspush::testing
