#include "redis/redis_server.h"

#include <arpa/inet.h>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace wspush::testing {
namespace {

using Clock = std::chrono::steady_clock;

int ms_left(Clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return left > 0 ? static_cast<int>(left) : 0;
}

}  // namespace

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
    stop();
    if (!dir_.empty()) {
        unlink(unix_path().c_str());
        rmdir(dir_.c_str());
    }
}

bool RedisServer::start(const std::vector<std::string>& extra, uint16_t port) {
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
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port_);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::string got;
    if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0 && write(fd, "PING\r\n", 6) == 6) {
        char buf[256];
        while (got.find("\r\n") == std::string::npos) {
            const ssize_t n = read(fd, buf, sizeof buf);
            if (n <= 0) break;
            got.append(buf, static_cast<size_t>(n));
        }
    }
    ::close(fd);
    return got.starts_with("+PONG") || got.starts_with("-NOAUTH");
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
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    reap(10000);
}

void RedisServer::stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    reap(10000);
}

}  // namespace wspush::testing
