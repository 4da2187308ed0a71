// The server: one thread, one edge-triggered epoll loop, every socket non-blocking.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/timer_wheel.h"
#include "http/request_parser.h"
#include "net/reactor.h"
#include "push/hub.h"
#include "server/config.h"
#include "server/connection.h"
#include "server/stats.h"

namespace wspush::ctl {
struct Command;
struct ControlClient;
}

namespace wspush::server {

// Connections sharing a client id given with ?id=.
struct NamedId {
    std::string name;
    std::vector<int32_t> fds;
};

class Server {
public:
    explicit Server(const Config& cfg);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Raises the descriptor limit, opens the listening sockets, the control socket and the
    // epoll instance. Returns false with err set (a readable one-line message).
    [[nodiscard]] bool start(std::string& err);
    // Runs the loop until SIGTERM/SIGINT, then closes every client with 1001 and returns
    // the exit code (0).
    int run();

private:
    friend struct FrameEvents;

    // --- loop ---
    void dispatch(const epoll_event& ev);
    void on_accept();
    void on_signal();
    void begin_shutdown();
    void on_timer(base::TimerNode& t);
    void flush_pending();
    void finish_closes();

    // --- WebSocket/HTTP clients ---
    void on_client_event(Connection& c, uint32_t events);
    // Reads until EAGAIN, a short read (unless `drain`: the peer's FIN is pending), or the
    // per-turn cap.
    void read_client(Connection& c, bool drain);
    void on_bytes(Connection& c, uint8_t* p, size_t n);
    void on_http_bytes(Connection& c, uint8_t* p, size_t n);
    // Handles a complete request head; returns false when the connection is done (error).
    bool on_request(Connection& c, const http::Request& req);
    bool upgrade(Connection& c, const http::Request& req, std::string_view protocol,
                 std::string_view path, std::string_view query, const char (&accept)[28]);
    void on_frames(Connection& c, uint8_t* p, size_t n);
    void on_message(Connection& c, ws::Opcode op, const uint8_t* p, size_t n, push::Message* whole);
    void reply_http(Connection& c, uint16_t status, std::string_view reason);
    void reply_body(Connection& c, std::string_view type, std::string_view body, bool head_only);
    // Queues a final HTTP response (takes the reference to `raw`), then closes after it.
    void respond(Connection& c, push::Message* raw);
    // Queues a server-originated frame (push, heartbeat); a client whose backlog is over
    // --send-buffer is closed as a slow consumer instead.
    void send(Connection& c, push::Message* m);
    // Queues a reply to the client's own input (echo, Pong): never a slow-consumer verdict.
    void send_reply(Connection& c, push::Message* m);
    void send_close(Connection& c, uint16_t code, std::string_view reason);
    void flush(Connection& c);
    // Puts c on the list flushed before the loop sleeps (once per turn, however many frames
    // were queued: they go out in one writev).
    void schedule_flush(Connection& c);
    void heartbeat(Connection& c);
    // Closes and frees now. Only from the top of an event (never inside a publish, a
    // parse or a flush: those call fail()).
    void close_now(Connection& c);
    // The peer is gone (write error): drop its output and close it at this turn's timer
    // pass, so callers up the stack keep a valid connection (and channel member lists
    // being iterated stay intact).
    void fail(Connection& c);
    // Out of memory for c: its unstarted output is dropped and Close 1011 queued (or, if
    // even that fails, it is dropped as by fail()).
    void out_of_memory(Connection& c);
    [[nodiscard]] uint32_t now32() const noexcept { return static_cast<uint32_t>(now_ms_); }
    [[nodiscard]] std::string client_id(const Connection& c) const;

    // --- push ---
    void deliver(push::Subscription& s, push::Publication& pub);
    void deliver_replay(Connection& c, push::Publication& pub);
    size_t send_to_id(std::string_view id, push::Message* raw, push::Message* env);
    void tail(const Connection& c, ws::Opcode op, const uint8_t* p, size_t n);

    // --- control channel ---
    void on_control_accept();
    void on_control_event(ctl::ControlClient& cc, uint32_t events);
    void control_input(ctl::ControlClient& cc);
    void control_process(ctl::ControlClient& cc);
    void control_execute(ctl::ControlClient& cc, const ctl::Command& cmd, std::string_view payload);
    void control_flush(ctl::ControlClient& cc);
    void control_close(ctl::ControlClient& cc);
    [[nodiscard]] std::string stats_json() const;
    [[nodiscard]] std::string metrics_text() const;
    [[nodiscard]] uint64_t resident_bytes() const;

    Config cfg_;
    std::vector<std::string_view> protocol_views_;
    std::vector<std::string_view> origin_views_;
    net::Reactor reactor_;
    base::TimerWheel wheel_;
    push::Hub hub_;
    Stats stats_;

    Connection* conns_ = nullptr;  // indexed by fd; pages touched only as fds are used
    size_t conns_cap_ = 0;
    size_t conns_bytes_ = 0;
    uint32_t max_clients_ = 0;
    uint32_t next_serial_ = 1;

    int listen_fd_ = -1;
    int control_fd_ = -1;
    int signal_fd_ = -1;
    int spare_fd_ = -1;  // released to accept-and-refuse when out of descriptors

    std::vector<int32_t> flush_list_;
    std::vector<int32_t> ready_list_;
    std::vector<int32_t> to_close_;
    std::vector<ctl::ControlClient*> controls_;
    std::vector<ctl::ControlClient*> dead_controls_;
    std::vector<ctl::ControlClient*> control_flush_list_;
    std::unordered_map<std::string, NamedId*> ids_;

    uint8_t* rbuf_ = nullptr;  // the loop's one read buffer
    push::Message* ping_ = nullptr;  // the heartbeat Ping, shared by every connection
    uint64_t now_ms_ = 0;
    uint64_t start_ms_ = 0;
    uint64_t stop_deadline_ = 0;
    bool stopping_ = false;
};

}  // namespace wspush::server
