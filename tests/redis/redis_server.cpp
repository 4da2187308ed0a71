#include "redis/redis_server.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

namespace wspush::testing {
namespace {

using Clock = std::chrono::steady_clock;

int ms_left(Clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return left > 0 ? static_cast<int>(left) : 0;
}

// A connected socket to address (127.0.0.1:PORT or unix:PATH) with timeout_ms on its reads
// and writes; -1 when it cannot connect.
int connect_to(const std::string& address, int timeout_ms) {
    sockaddr_storage ss{};
    socklen_t len = 0;
    if (address.starts_with("unix:")) {
        auto* un = reinterpret_cast<sockaddr_un*>(&ss);
        const std::string path = address.substr(5);
        if (path.empty() || path.size() >= sizeof un->sun_path) return -1;
        un->sun_family = AF_UNIX;
        memcpy(un->sun_path, path.data(), path.size());
        len = sizeof *un;
    } else {
        const size_t colon = address.rfind(':');
        auto* in = reinterpret_cast<sockaddr_in*>(&ss);
        in->sin_family = AF_INET;
        const int port = colon == std::string::npos ? 0 : atoi(address.c_str() + colon + 1);
        if (colon == std::string::npos || port <= 0 || port > 65535 ||
            inet_pton(AF_INET, address.substr(0, colon).c_str(), &in->sin_addr) != 1)
            return -1;
        in->sin_port = htons(static_cast<uint16_t>(port));
        len = sizeof *in;
    }
    const int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// Appends what fd has to in (one read); false on EOF, an error or past the deadline.
bool read_more(int fd, std::string& in, Clock::time_point deadline) {
    if (Clock::now() >= deadline) return false;
    char buf[4096];
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) return false;
    in.append(buf, static_cast<size_t>(n));
    return true;
}

// One reply from in at `at` (reading more as needed): its text as redis_query() gives it, with
// `at` moved past it (an aggregate's elements too). False when it could not be read whole.
bool read_reply(int fd, std::string& in, size_t& at, Clock::time_point deadline, std::string& text, int depth = 0) {
    if (depth > 8) return false;
    size_t end;
    while ((end = in.find("\r\n", at)) == std::string::npos)
        if (!read_more(fd, in, deadline)) return false;
    const std::string line = in.substr(at, end - at);
    at = end + 2;
    if (line.empty()) return false;
    const long long n = atoll(line.c_str() + 1);
    if (line[0] == '$' && n >= 0) {
        while (in.size() < at + size_t(n) + 2)
            if (!read_more(fd, in, deadline)) return false;
        text = "$" + in.substr(at, size_t(n));
        at += size_t(n) + 2;
        return true;
    }
    text = line;
    if (line[0] == '*') {
        std::string element;
        for (long long i = 0; i < n; ++i)
            if (!read_reply(fd, in, at, deadline, element, depth + 1)) return false;
    }
    return true;
}

}  // namespace

std::vector<std::string> redis_query(const std::string& address, const std::vector<std::vector<std::string>>& commands,
                                     int timeout_ms) {
    std::vector<std::string> replies;
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    const int fd = connect_to(address, timeout_ms);
    if (fd < 0) return replies;
    std::string out;
    for (const auto& words : commands) {
        out += "*" + std::to_string(words.size()) + "\r\n";
        for (const auto& w : words) out += "$" + std::to_string(w.size()) + "\r\n" + w + "\r\n";
    }
    if (write(fd, out.data(), out.size()) == static_cast<ssize_t>(out.size())) {
        std::string in;
        size_t at = 0;
        std::string text;
        while (replies.size() < commands.size() && read_reply(fd, in, at, deadline, text)) replies.push_back(text);
    }
    ::close(fd);
    return replies;
}

std::string key_prefix() {
    static int calls = 0;
    return "t" + std::to_string(getpid()) + "." + std::to_string(++calls) + "." + std::to_string(time(nullptr)) + ":";
}

uint16_t free_port() {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    uint16_t port = 0;
    if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0)
        port = ntohs(sa.sin_port);
    ::close(fd);
    return port;
}

bool RedisServer::available() {
    for (const char* dir : {"/usr/bin/", "/usr/local/bin/", "/usr/sbin/"})
        if (access((std::string(dir) + "redis-server").c_str(), X_OK) == 0) return true;
    return false;
}

RedisServer::~RedisServer() {
    if (!shared_) stop();
    if (!dir_.empty()) {
        unlink(unix_path().c_str());
        rmdir(dir_.c_str());
    }
}

bool RedisServer::start_shared() {
    const char* address = getenv("WSPUSH_TEST_REDIS");
    if (address == nullptr || *address == '\0') return start();
    const std::string a = address;
    const size_t colon = a.rfind(':');
    if (!a.starts_with("127.0.0.1:") || colon != 9 || atoi(a.c_str() + 10) <= 0 || atoi(a.c_str() + 10) > 65535) {
        log_ = "(test: WSPUSH_TEST_REDIS=" + a + ": expected 127.0.0.1:PORT)";
        return false;
    }
    shared_ = true;
    port_ = static_cast<uint16_t>(atoi(a.c_str() + 10));
    const char* unix_path = getenv("WSPUSH_TEST_REDIS_UNIX");
    shared_unix_ = unix_path ? unix_path : "";
    log_ = "(test: the shared redis-server at " + a + ")";
    if (!answers_ping(10000)) {
        log_ += "\n(test: it did not answer PING)";
        return false;
    }
    return true;
}

bool RedisServer::start(const std::vector<std::string>& extra, uint16_t port) {
    if (shared_) {
        ADD_FAILURE() << "the shared redis-server is never started again";
        return false;
    }
    if (dir_.empty()) {
        char tmpl[] = "/tmp/wspush-redis-XXXXXX";
        if (!mkdtemp(tmpl)) return false;
        dir_ = tmpl;
    }
    port_ = port ? port : port_ ? port_ : free_port();
    log_.clear();
    std::vector<std::string> words = {"redis-server", "--port", std::to_string(port_), "--bind", "127.0.0.1",
                                      "--save", "", "--appendonly", "no", "--dir", dir_, "--unixsocket",
                                      unix_path(), "--unixsocketperm", "700", "--daemonize", "no",
                                      "--logfile", "", "--databases", "16"};
    words.insert(words.end(), extra.begin(), extra.end());
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) < 0) return false;
    pid_ = fork();
    if (pid_ == 0) {
        dup2(pipefd[1], 1);
        dup2(pipefd[1], 2);
        std::vector<char*> argv;
        for (auto& w : words) argv.push_back(w.data());
        argv.push_back(nullptr);
        execvp(argv[0], argv.data());
        _exit(127);
    }
    ::close(pipefd[1]);
    out_fd_ = pipefd[0];
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (log_.find("Ready to accept connections") == std::string::npos) {
        if (Clock::now() >= deadline || !drain(ms_left(deadline))) {
            log_ += "\n(test: redis-server did not get ready)";
            kill();
            return false;
        }
    }
    if (!answers_ping(ms_left(deadline))) {
        log_ += "\n(test: redis-server did not answer PING)";
        kill();
        return false;
    }
    return true;
}

bool RedisServer::drain(int timeout_ms) {
    if (out_fd_ < 0) return false;
    pollfd p{out_fd_, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return true;
    char buf[4096];
    const ssize_t n = read(out_fd_, buf, sizeof buf);
    if (n <= 0) return false;
    log_.append(buf, static_cast<size_t>(n));
    return true;
}

bool RedisServer::answers_ping(int timeout_ms) {
    const auto replies = redis_query(address(), {{"PING"}}, timeout_ms);
    return !replies.empty() && (replies[0] == "+PONG" || replies[0].starts_with("-NOAUTH"));
}

void RedisServer::reap(int timeout_ms) {
    // The pipe closes when the process is gone: wait for that, not for a time.
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (drain(ms_left(deadline)) && Clock::now() < deadline) {
    }
    int status;
    if (waitpid(pid_, &status, WNOHANG) != pid_) {
        ::kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
    }
    pid_ = -1;
    ::close(out_fd_);
    out_fd_ = -1;
}

void RedisServer::kill() {
    if (shared_) ADD_FAILURE() << "the shared redis-server is never killed";
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    reap(10000);
}

void RedisServer::stop() {
    if (shared_) ADD_FAILURE() << "the shared redis-server is never stopped";
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    reap(10000);
}

}  // namespace wspush::testing
