// Test support: a private redis-server process on a free loopback port and a Unix socket in
// its own temporary directory (never the system's redis on 6379). Every wait is bounded and
// waits on an event (the server's log line, its pipe closing), never for a fixed time.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace wspush::testing {

class RedisServer {
public:
    // Whether redis-server can be run (tests skip themselves when it cannot).
    static bool available();

    RedisServer() = default;
    ~RedisServer();
    RedisServer(const RedisServer&) = delete;
    RedisServer& operator=(const RedisServer&) = delete;

    // Starts redis-server on 127.0.0.1:port (0: a free port, found by binding port 0 and
    // closing it, since redis has no --port 0) and on unix_path(), with no persistence, plus
    // `extra` arguments. Waits up to 10 s until it answers PING (+PONG or -NOAUTH). False
    // with log() telling why on failure. A restart after kill() keeps the port and directory.
    bool start(const std::vector<std::string>& extra = {}, uint16_t port = 0);
    // SIGKILL, and waits for the process.
    void kill();
    // SIGTERM, waits up to 10 s (then SIGKILL).
    void stop();

    [[nodiscard]] uint16_t port() const { return port_; }
    [[nodiscard]] std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
    [[nodiscard]] std::string unix_path() const { return dir_ + "/redis.sock"; }
    [[nodiscard]] const std::string& log() { drain(0); return log_; }

private:
    bool drain(int timeout_ms);  // false at EOF
    bool answers_ping(int timeout_ms);
    void reap(int timeout_ms);

    pid_t pid_ = -1;
    int out_fd_ = -1;
    uint16_t port_ = 0;
    std::string dir_;
    std::string log_;
};

// A free TCP port on 127.0.0.1 (bound to port 0, read back, closed).
uint16_t free_port();

}  // namespace wspush::testing
