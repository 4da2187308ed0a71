#include "support/browser.h"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <poll.h>
#include <sstream>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "codec/base64.h"
#include "support/push_support.h"

namespace wspush::testing {
namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return left < 0 ? 0 : static_cast<int>(left);
}

constexpr int kPollMs = 25;        // wait_true's interval between evaluations
constexpr int kExitGraceMs = 3000;  // Browser.close -> exit, before SIGKILL

// Reaps pid if it exits within timeout_ms (waits on a pidfd, Linux 5.3+).
bool wait_exit(pid_t pid, int timeout_ms) {
    int pfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
    if (pfd >= 0) {
        pollfd p{pfd, POLLIN, 0};
        int r;
        do r = poll(&p, 1, timeout_ms);
        while (r < 0 && errno == EINTR);
        ::close(pfd);
    }
    return waitpid(pid, nullptr, WNOHANG) == pid;
}

// Follows keys down from j; nullptr if one is missing.
const Json* find(const Json& j, std::initializer_list<std::string_view> path) {
    const Json* at = &j;
    for (std::string_view key : path)
        if ((at = at->get(key)) == nullptr) return nullptr;
    return at;
}

}  // namespace

bool chromium_available() { return access(kChromiumPath, X_OK) == 0; }

std::string js_quote(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char esc[8];
            snprintf(esc, sizeof esc, "\\u%04x", static_cast<unsigned>(c));
            out += esc;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

Browser::~Browser() { close(); }

bool Browser::start(int timeout_ms) {
    char tmpl[] = "/tmp/wspush-chromium-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) {
        error_ = "mkdtemp failed";
        return false;
    }
    dir_ = tmpl;
    std::string log_path = dir_ + "/chromium.log";
    std::vector<std::string> args = {
        kChromiumPath, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        // Containers often have a 64 MB /dev/shm; Chromium then crashes without this.
        "--disable-dev-shm-usage", "--user-data-dir=" + dir_, "--remote-debugging-pipe", "about:blank"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    // One socketpair serves both directions: the browser reads commands from fd 3 and writes
    // replies to fd 4 (both its end); a socket, unlike a pipe, lets us send with MSG_NOSIGNAL.
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        error_ = "socketpair failed";
        return false;
    }
    int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    pid_ = fork();
    if (pid_ == 0) {
        setpgid(0, 0);  // its own group: close() kills renderers and helpers with it
        // Move our end above 4 first, so dup2 to 3 and 4 never hits the fd itself (dup2 onto
        // the same fd would keep its close-on-exec flag).
        int end = fcntl(sv[1], F_DUPFD, 10);
        int null_fd = ::open("/dev/null", O_RDONLY);
        dup2(null_fd, 0);
        if (log_fd >= 0) {
            dup2(log_fd, 1);
            dup2(log_fd, 2);
        }
        dup2(end, 3);
        dup2(end, 4);
        execv(kChromiumPath, argv.data());
        _exit(127);
    }
    ::close(sv[1]);
    if (log_fd >= 0) ::close(log_fd);
    fd_ = sv[0];
    if (pid_ < 0) {
        error_ = "fork failed";
        return false;
    }
    setpgid(pid_, pid_);  // also from here, so close() finds the group whoever runs first
    Json version;
    if (!call("Browser.getVersion", "{}", timeout_ms, &version, false)) {
        error_ = "no answer from Chromium (" + error_ + "): " + log();
        return false;
    }
    return true;
}

bool Browser::open(const std::string& url, int timeout_ms) {
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    Json target, attached;
    if (!call("Target.createTarget", "{\"url\":" + js_quote(url) + "}", remaining_ms(deadline), &target, false))
        return false;
    const Json* id = target.get("targetId");
    if (id == nullptr) {
        error_ = "Target.createTarget: no targetId";
        return false;
    }
    // flatten: the page's messages then travel on this same pipe, tagged with sessionId.
    if (!call("Target.attachToTarget", "{\"targetId\":" + js_quote(id->text) + ",\"flatten\":true}",
              remaining_ms(deadline), &attached, false))
        return false;
    const Json* session = attached.get("sessionId");
    if (session == nullptr) {
        error_ = "Target.attachToTarget: no sessionId";
        return false;
    }
    session_ = session->text;
    return true;
}

std::optional<std::string> Browser::eval(const std::string& expression, int timeout_ms) {
    Json r;
    if (!call("Runtime.evaluate", "{\"expression\":" + js_quote("String(" + expression + ")") + ",\"returnByValue\":true}",
              timeout_ms, &r))
        return std::nullopt;
    if (const Json* ex = find(r, {"exceptionDetails", "exception", "description"})) {
        error_ = "exception: " + ex->text;
        return std::nullopt;
    }
    const Json* value = find(r, {"result", "value"});
    if (value == nullptr || value->kind != Json::Kind::kString) {
        error_ = "Runtime.evaluate: no string value";
        return std::nullopt;
    }
    return value->text;
}

bool Browser::wait_true(const std::string& expression, int timeout_ms) {
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
        auto v = eval(expression, std::max(remaining_ms(deadline), 100));
        if (v && *v == "true") return true;
        if (Clock::now() >= deadline || pid_ < 0) return false;
        // Nothing in the protocol signals "the DOM now satisfies this"; evaluate again soon.
        usleep(kPollMs * 1000);
    }
}

std::string Browser::screenshot(int timeout_ms) {
    Json r;
    if (!call("Page.captureScreenshot", "{\"format\":\"png\"}", timeout_ms, &r)) return {};
    const Json* data = r.get("data");
    if (data == nullptr) return {};
    std::string png(data->text.size() / 4 * 3, '\0');
    ptrdiff_t n = codec::base64_decode(data->text, reinterpret_cast<uint8_t*>(png.data()), png.size());
    if (n < 0) return {};
    png.resize(static_cast<size_t>(n));
    return png;
}

void Browser::close() {
    if (pid_ > 0) {
        // Ask first, so Chromium shuts down cleanly; the group kill reaps whatever is left.
        if (fd_ >= 0) {
            std::string msg = "{\"id\":" + std::to_string(next_id_++) + ",\"method\":\"Browser.close\"}";
            msg += '\0';
            (void)::send(fd_, msg.data(), msg.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        }
        bool exited = wait_exit(pid_, kExitGraceMs);
        kill(-pid_, SIGKILL);
        if (!exited) waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    if (!dir_.empty()) {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
        dir_.clear();
    }
}

std::string Browser::log() const {
    std::ifstream in(dir_ + "/chromium.log");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

bool Browser::read_message(std::string& out, int timeout_ms) {
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
        size_t end = buf_.find('\0');
        if (end != std::string::npos) {
            out.assign(buf_, 0, end);
            buf_.erase(0, end + 1);
            return true;
        }
        pollfd p{fd_, POLLIN, 0};
        int r = poll(&p, 1, remaining_ms(deadline));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            error_ = "timed out";
            return false;
        }
        char tmp[65536];
        ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
        if (n <= 0) {
            error_ = "Chromium closed the DevTools pipe";
            return false;
        }
        buf_.append(tmp, static_cast<size_t>(n));
    }
}

bool Browser::call(const std::string& method, const std::string& params, int timeout_ms, Json* result,
                   bool on_page) {
    if (fd_ < 0) {
        error_ = "browser not running";
        return false;
    }
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    int id = next_id_++;
    std::string msg = "{\"id\":" + std::to_string(id) + ",\"method\":" + js_quote(method) + ",\"params\":" + params;
    if (on_page) msg += ",\"sessionId\":" + js_quote(session_);
    msg += "}";
    msg += '\0';
    for (std::string_view rest = msg; !rest.empty();) {
        pollfd p{fd_, POLLOUT, 0};
        if (poll(&p, 1, remaining_ms(deadline)) <= 0) {
            error_ = method + ": cannot send";
            return false;
        }
        ssize_t n = ::send(fd_, rest.data(), rest.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            error_ = method + ": Chromium closed the DevTools pipe";
            return false;
        }
        if (n > 0) rest.remove_prefix(static_cast<size_t>(n));
    }
    // Replies come in order with events in between; skip everything but our reply.
    std::string text;
    while (read_message(text, remaining_ms(deadline))) {
        auto reply = parse_json(text);
        if (!reply) continue;
        const Json* rid = reply->get("id");
        if (rid == nullptr || rid->uint() != static_cast<uint64_t>(id)) continue;
        if (const Json* err = find(*reply, {"error", "message"})) {
            error_ = method + ": " + err->text;
            return false;
        }
        const Json* r = reply->get("result");
        if (r == nullptr) {
            error_ = method + ": reply without result";
            return false;
        }
        *result = *r;
        return true;
    }
    error_ = method + ": " + error_;
    return false;
}

}  // namespace wspush::testing
