// Test support: a real wspushd process on loopback, and raw clients that speak the wire
// protocol byte for byte. Every wait is bounded; nothing sleeps for a fixed time.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace wspush::testing {

// A wspushd child process. The binary is WSPUSHD_BIN (the build's own, sanitized or not),
// started through the command in the environment variable WSPUSHD_WRAPPER when it is set
// (words split at spaces, e.g. "valgrind --error-exitcode=99": `make memcheck`).
class ServerProcess {
public:
    // The wrapper command's words; empty when WSPUSHD_WRAPPER is unset or empty.
    static const std::vector<std::string>& wrapper();
    // Whether servers run under a wrapper (slower start and exit; resident memory and CPU
    // time are the wrapper's). Heavy tests skip themselves then.
    static bool wrapped() { return !wrapper().empty(); }

    ServerProcess() = default;
    ~ServerProcess();
    ServerProcess(const ServerProcess&) = delete;
    ServerProcess& operator=(const ServerProcess&) = delete;

    // Starts the server with `args`; adds --listen 127.0.0.1:0 unless args has --listen, and
    // a fresh --control path under /tmp unless args has --control (push/relay modes).
    // Waits up to 10 s (60 s under a wrapper) for the "listening on" line. False (with log()
    // telling why) on failure.
    bool start(std::vector<std::string> args);
    // False: start() adds no --listen (a --config file in args says where, port 0 on
    // 127.0.0.1 for port() to find).
    bool default_listen = true;
    // For the next start(): hands `fds` to the server as a service manager does for socket
    // activation (descriptors 3, 4, ... with LISTEN_FDS, LISTEN_PID and, if not empty,
    // LISTEN_FDNAMES=names).
    // `count`, when not empty, is what LISTEN_FDS says instead of the number of fds.
    void pass_sockets(std::vector<int> fds, std::string names = {}, std::string count = {}) {
        pass_fds_ = std::move(fds);
        pass_names_ = std::move(names);
        pass_count_ = std::move(count);
    }
    // For the next start()s: the child's RLIMIT_FSIZE in bytes (0: inherited), set before
    // exec, so that the server's writes past it fail (EFBIG once it ignores SIGXFSZ).
    uint64_t rlimit_fsize = 0;
    // The exit status (as stop() returns it) of a server that exited before listening, as
    // the last start() saw it; -1 when it did not.
    [[nodiscard]] int early_exit() const { return early_exit_; }
    [[nodiscard]] uint16_t port() const { return port_; }
    [[nodiscard]] const std::string& control_path() const { return control_; }
    [[nodiscard]] pid_t pid() const { return pid_; }
    // Everything the server wrote to stderr so far.
    std::string log();
    // Sends sig and waits up to timeout_ms (at least 60 s under a wrapper) for exit. Returns
    // the exit code, 128+signal when killed by a signal, or -1 on timeout (then it is
    // SIGKILLed).
    int stop(int sig = 15, int timeout_ms = 10000);
    // Waits until the log contains `needle` (bounded). True if it appeared.
    bool wait_log(std::string_view needle, int timeout_ms = 5000);

private:
    void drain_stderr(int timeout_ms);
    pid_t pid_ = -1;
    int early_exit_ = -1;
    int err_fd_ = -1;
    uint16_t port_ = 0;
    std::string control_;
    bool own_control_ = false;
    std::vector<int> pass_fds_;
    std::string pass_names_;
    std::string pass_count_;  // control_ is a path start() made up (removed when done)
    std::string log_;
};

struct Frame {
    uint8_t opcode = 0;
    bool fin = false;
    uint8_t rsv = 0;
    bool masked = false;
    std::string payload;
    // Close frames: code (0 if none) and reason.
    [[nodiscard]] uint16_t close_code() const;
    [[nodiscard]] std::string close_reason() const;
};

// A blocking-with-timeouts TCP client speaking raw bytes.
class RawClient {
public:
    RawClient() = default;
    ~RawClient();
    RawClient(const RawClient&) = delete;
    RawClient& operator=(const RawClient&) = delete;

    bool connect(uint16_t port, const char* host = "127.0.0.1");
    // Connects with a receive buffer of `bytes` set before the handshake, so the window the
    // client offers stays that small: what the server sends it backs up in the server.
    // With `mss` > 0 the client also announces that maximum segment size: the server's
    // kernel sizes its send buffer by the peer's segment size (64 KiB on loopback), up to
    // net.ipv4.tcp_wmem's maximum (4 MiB here), so without it several MiB fit in the
    // kernel before anything stays queued in the server; with 1024, about 100 KiB.
    bool connect_small_window(uint16_t port, int bytes = 4096, int mss = 0);
    void close();
    [[nodiscard]] int fd() const { return fd_; }

    bool send_all(std::string_view bytes);
    // Waits (bounded) until everything sent has been acknowledged by the peer's kernel, i.e.
    // sits in the server's receive queue. False on timeout.
    bool wait_acked(int timeout_ms = 5000);
    // Sends one byte per write (TCP_NODELAY), to exercise every split point on the server.
    bool send_bytewise(std::string_view bytes);

    // A standard upgrade request for `path` with a fixed valid key; `extra` is inserted as
    // additional header lines (each ending in \r\n).
    static std::string upgrade_request(std::string_view path, std::string_view extra = {});
    // Sends upgrade_request(path, extra) and reads the response head. Returns the status code
    // (0 on timeout); the whole head is in *head if given. On 101 the Accept key is verified
    // (status -1 if wrong).
    int upgrade(std::string_view path, std::string_view extra = {}, std::string* head = nullptr,
                bool bytewise = false);
    // Reads an HTTP response head (and a Content-Length body). Empty on timeout.
    std::string read_http(int timeout_ms = 5000);

    // A masked client frame, key fixed per call sequence.
    static std::string frame(uint8_t opcode, std::string_view payload, bool fin = true,
                             uint8_t rsv = 0, bool mask = true);
    static std::string close_frame(uint16_t code, std::string_view reason = {});
    bool send_frame(uint8_t opcode, std::string_view payload, bool fin = true);

    // Reads the next frame (bounded). nullopt on timeout or EOF.
    std::optional<Frame> read_frame(int timeout_ms = 5000);
    // Reads frames until a Close arrives (skipping Ping/Pong/data); nullopt if none in time.
    std::optional<Frame> read_close(int timeout_ms = 5000);
    // True once the server closed the TCP connection (EOF or reset) within timeout_ms;
    // any frames that arrive first are discarded.
    bool wait_eof(int timeout_ms = 5000);

private:
    bool connect_to(uint16_t port, const char* host, int rcvbuf, int mss = 0);
    bool fill(int timeout_ms);  // reads more into buf_; false on timeout/EOF
    int fd_ = -1;
    bool eof_ = false;
    std::string buf_;
};

// A control-socket client (line protocol).
class ControlConn {
public:
    ~ControlConn();
    [[nodiscard]] int fd() const { return fd_; }
    bool connect(const std::string& path);
    bool send(std::string_view bytes);
    // Next line without its \n; nullopt on timeout/EOF.
    std::optional<std::string> read_line(int timeout_ms = 5000);
    // send(cmd + "\n") then read_line().
    std::optional<std::string> command(std::string_view cmd, int timeout_ms = 5000);
    bool wait_eof(int timeout_ms = 5000);
    // Whether a read met EOF or a reset (read_line's nullopt then is not a timeout).
    [[nodiscard]] bool eof() const { return eof_; }
    void close();

private:
    int fd_ = -1;
    bool eof_ = false;
    std::string buf_;
};

// Runs a shell command with bounded time; returns its stdout, exit status in *status.
std::string run_command(const std::string& cmd, int* status = nullptr);

}  // namespace wspush::testing
