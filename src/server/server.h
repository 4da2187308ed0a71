// The server: one thread, one edge-triggered epoll loop, every socket non-blocking.
//
// server.cpp    the loop, accept, signals, timers, the close path (condemn/reap), memory trim
// session.cpp   a client's bytes: HTTP head, upgrade, frames, output and closing
// commands.cpp  control commands against channels and connections, STATS and METRICS
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/timer_wheel.h"
#include "ctl/control_channel.h"
#include "http/request_parser.h"
#include "net/reactor.h"
#include "push/hub.h"
#include "server/config.h"
#include "server/connection.h"
#include "server/route.h"
#include "server/stats.h"

namespace wspush::server {

inline constexpr size_t kReadBufSize = 64 * 1024;                // the loop's one read buffer
inline constexpr std::string_view kEnvelopeProtocol = "wspush.v1";  // the JSON envelope

// Connections sharing a client id given with ?id=.
struct NamedId {
    std::string name;
    std::vector<int32_t> fds;
};

class Server final : public ctl::CommandHandler {
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

    // --- loop (server.cpp) ---
    void dispatch(const epoll_event& ev);
    void on_accept();
    void refuse_out_of_descriptors();
    void on_signal();
    void begin_shutdown();
    void on_timer(base::TimerNode& t);
    void heartbeat(Connection& c);
    void flush_pending();
    void read_ready();
    // The only way a connection ends: off every list now (live_, channels, ids, timer,
    // flush/ready), output dropped, state kDead; the slot and descriptor go in reap().
    void condemn(Connection& c);
    // After the loop turn's flush: closes condemned descriptors and frees their slots.
    void reap();
    // Gives memory an idle server does not need back to the system (at most once a second).
    void trim_memory();
    [[nodiscard]] uint32_t now32() const noexcept { return static_cast<uint32_t>(now_ms_); }
    [[nodiscard]] int loop_timeout() const;

    // --- a client's bytes (session.cpp) ---
    void on_client_event(Connection& c, uint32_t events);
    // Reads until EAGAIN, a short read (unless `drain`: the peer's FIN is pending), or the
    // per-turn cap.
    void read_client(Connection& c, bool drain);
    void on_peer_eof(Connection& c);
    // kOpen/kHttp -> kClosing: leaves channels and ids, arms the linger.
    void enter_closing(Connection& c);
    // An allocation for c failed: Close 1011 if it is open, else condemn it. The server goes on.
    void out_of_memory(Connection& c);
    // Queues m (taking a reference), counts it if it is data and schedules the flush; with
    // coalesce_pong, a Pong replaces an unsent one at the tail. False, with c handled by
    // out_of_memory(), when the queue cannot grow.
    [[nodiscard]] bool enqueue(Connection& c, push::Message* m, bool coalesce_pong);
    // Appends p[0..n) to c.in (a partial head or message), creating it with room for at least
    // `room` bytes. False, with c handled by out_of_memory(), when memory runs out.
    [[nodiscard]] bool append_in(Connection& c, const uint8_t* p, size_t n, size_t room);
    // Queues m on c, taking over the caller's reference (m may be null: a failed allocation).
    // False, with c handled by out_of_memory(), when m is null or the queue cannot grow.
    [[nodiscard]] bool queue_owned(Connection& c, push::Message* m);
    void relay(Connection& c, ws::Opcode op, const uint8_t* p, size_t n);
    void on_bytes(Connection& c, uint8_t* p, size_t n);
    void on_http_bytes(Connection& c, uint8_t* p, size_t n);
    // Handles a complete request head; returns false when the connection is done (error).
    bool on_request(Connection& c, const http::Request& req);
    bool upgrade(Connection& c, std::string_view protocol, std::string_view path,
                 std::string_view query, const char (&accept)[28]);
    // Joins the planned channels, replaying history first where a since= asks. False (and
    // the connection refused) when a channel cannot be created.
    bool join_channels(Connection& c, const JoinPlan& plan);
    // Whether a client without the envelope can be given exactly what it asks (else 410).
    [[nodiscard]] bool resumable_raw(const JoinPlan& plan);
    void bind_id(Connection& c, std::string_view id);
    void unbind_id(Connection& c);
    void leave_channels(Connection& c);
    void on_frames(Connection& c, uint8_t* p, size_t n);
    void on_message(Connection& c, ws::Opcode op, const uint8_t* p, size_t n, push::Message* whole);
    void reply_http(Connection& c, uint16_t status, std::string_view reason);
    void reply_body(Connection& c, std::string_view type, std::string_view body, bool head_only);
    // Queues a final HTTP response (takes the reference to `raw`), then closes after it.
    void respond(Connection& c, push::Message* raw);
    // Queues a server-originated frame (push, heartbeat); a client whose backlog is over
    // --send-buffer is closed as a slow consumer instead. True when queued.
    bool send(Connection& c, push::Message* m);
    // Queues a reply to the client's own input (echo, Pong): never a slow-consumer verdict.
    void send_reply(Connection& c, push::Message* m, bool pong = false);
    // Queues a Close frame and starts the closing handshake (kOpen only).
    void send_close(Connection& c, uint16_t code, std::string_view reason);
    void flush(Connection& c);
    // Puts c on the list flushed before the loop sleeps (once per turn, however many frames
    // were queued: they go out in one writev).
    void schedule_flush(Connection& c);
    void schedule_read(Connection& c);
    void deliver(push::Subscription& s, push::Publication& pub);
    void deliver_replay(Connection& c, push::Publication& pub);
    // The client's id as CLIENTS/TAIL/SEND name it: its ?id= or c<serial>.
    [[nodiscard]] std::string client_id(const Connection& c) const;

    // --- control commands (commands.cpp) ---
    void execute(const ctl::Command& cmd, std::string_view payload, std::string& out) noexcept override;
    void publish(const ctl::Command& cmd, std::string_view payload, std::string& out);
    void send_direct(const ctl::Command& cmd, std::string& out);
    void kick(const ctl::Command& cmd, std::string& out);
    void list_clients(const ctl::Command& cmd, std::string& out);
    void list_channels(std::string& out);
    // Calls f(Connection&) for each open connection whose id is `id`. f may close or
    // condemn the connection it is given.
    template <class F>
    void for_each_with_id(std::string_view id, F&& f);
    [[nodiscard]] std::string stats_json() const;
    [[nodiscard]] std::string metrics_text() const;

    Config cfg_;
    std::vector<std::string_view> protocol_views_;
    std::vector<std::string_view> origin_views_;
    net::Reactor reactor_;
    base::TimerWheel wheel_;
    push::Hub hub_;
    std::unique_ptr<ctl::ControlChannel> control_;
    Stats stats_;

    Connection* conns_ = nullptr;  // indexed by fd; pages touched only as fds are used
    size_t conns_cap_ = 0;
    size_t conns_bytes_ = 0;
    int32_t high_fd_ = -1;         // highest descriptor whose slot was touched since the last trim
    uint32_t max_clients_ = 0;
    uint64_t next_serial_ = 1;

    int listen_fd_ = -1;
    int signal_fd_ = -1;
    int spare_fd_ = -1;  // released to accept-and-refuse when out of descriptors

    std::vector<int32_t> live_;        // every connection not kFree/kDead (Connection::live_index)
    std::vector<int32_t> flush_list_;  // kFlagInFlush
    std::vector<int32_t> ready_list_;  // kFlagReady
    std::vector<int32_t> dead_;        // kDead, reaped after the turn
    std::unordered_map<std::string, NamedId*> ids_;

    uint8_t* rbuf_ = nullptr;  // the loop's one read buffer
    push::Message* ping_ = nullptr;  // the heartbeat Ping, shared by every connection
    uint64_t now_ms_ = 0;
    uint64_t start_ms_ = 0;
    uint64_t stop_deadline_ = 0;
    uint64_t trim_at_ = 0;           // 0: no trim pending
    uint64_t refused_log_at_ = 0;    // next time a refused-connection summary may be logged
    uint64_t refused_unlogged_ = 0;  // refused connections not yet in a log line
    uint64_t accept_retry_at_ = 0;   // 0: the listener needs no retry
    size_t trim_sockets_ = 0;        // sockets at the last trim (or the high-water since)
    bool stopping_ = false;
};

}  // namespace wspush::server
