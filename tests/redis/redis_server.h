// Test support: a private redis-server process on a free loopback port and a Unix socket in
// its own temporary directory (never the system's redis on 6379), or the test run's shared
// one. Every wait is bounded and waits on an event (the server's log line, its pipe closing,
// a reply), never for a fixed time.
//
// The shared redis-server: tools/run-tests.sh starts one for the whole run (no persistence,
// its own temporary directory) and gives it to the tests as WSPUSH_TEST_REDIS=127.0.0.1:PORT
// and WSPUSH_TEST_REDIS_UNIX=PATH. A test that only needs a Redis (no kill, no restart, no
// password, ACL or other configuration of the server) takes it with start_shared(), and keeps
// its keys and pub/sub channels under key_prefix(), unique to the call, so that tests running
// beside it never see them; nothing flushes it. Without WSPUSH_TEST_REDIS (or with it empty)
// start_shared() starts a private server as start() does.
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
    // The shared redis-server when WSPUSH_TEST_REDIS names one (it must answer PING within
    // 10 s; false with log() telling why otherwise), else start(). A shared one is never
    // killed, stopped or started again: kill(), stop() and start() fail the test.
    bool start_shared();
    [[nodiscard]] bool shared() const { return shared_; }
    // SIGKILL, and waits for the process.
    void kill();
    // SIGTERM, waits up to 10 s (then SIGKILL).
    void stop();

    [[nodiscard]] uint16_t port() const { return port_; }
    [[nodiscard]] std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
    [[nodiscard]] std::string unix_path() const { return shared_ ? shared_unix_ : dir_ + "/redis.sock"; }
    [[nodiscard]] const std::string& log() { drain(0); return log_; }

private:
    bool drain(int timeout_ms);  // false at EOF
    bool answers_ping(int timeout_ms);
    void reap(int timeout_ms);

    bool shared_ = false;
    std::string shared_unix_;  // WSPUSH_TEST_REDIS_UNIX
    pid_t pid_ = -1;
    int out_fd_ = -1;
    uint16_t port_ = 0;
    std::string dir_;
    std::string log_;
};

// A free TCP port on 127.0.0.1 (bound to port 0, read back, closed).
uint16_t free_port();

// A key prefix no other call in any process gives ("t<pid>.<n>.<clock>:"), for a test's keys
// and channels on the shared redis-server.
std::string key_prefix();

// Sends each command (its words) to the Redis at address (127.0.0.1:PORT or unix:PATH), one
// connection, in order, and returns each reply as RESP text without its CRLF: "+OK", ":1",
// "-ERR ...", "$" + the bulk string ("$-1" for null); an aggregate as its header line only.
// Fewer replies than commands when the connection fails or timeout_ms passes.
std::vector<std::string> redis_query(const std::string& address, const std::vector<std::vector<std::string>>& commands,
                                     int timeout_ms = 5000);

}  // namespace wspush::testing
