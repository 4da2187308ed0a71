// A Redis connection for the server's reactor: non-blocking connect, handshake (AUTH,
// HELLO 3 with a fall back to RESP2, SELECT), pipelined commands completed in order, push
// messages, and reconnecting with backoff (redis/backoff.h). It never blocks and never
// throws; failures come back as return codes and completions.
//
// The owner drives it like the server drives its connections: epoll events for the client's
// tag go to on_event(), and once per loop turn, before the loop sleeps, flush() writes what
// was queued, reads what a capped read left and runs the timers; wait_ms() bounds the sleep.
//
//   state       commands   how it gets there
//   kIdle       refused    construction, stop()
//   kConnecting queued     start(), or the backoff wait is over (TCP connect in progress)
//   kHandshake  queued     connected; AUTH / HELLO / SELECT sent, replies awaited
//   kUp         sent       the handshake's last reply
//   kWaiting    refused    a failed attempt or a lost connection: every request in flight or
//                          queued has completed with a failure; connects again at the
//                          backoff deadline
//
// Limits:
//
//   what                       bound                            when reached
//   unsent command bytes       ClientOptions::max_output 1 MiB  command() refuses (-ENOBUFS),
//                                                               nothing queued
//   requests awaiting a reply  ClientOptions::max_pending 64Ki  command() refuses (-ENOBUFS)
//   one reply                  ClientOptions::limits (resp.h)   connection closed, requests
//                                                               failed, reconnect
//   read per event             kReadBudget 256 KiB              the rest is read by flush()
//
// Lifetimes: callbacks run inside on_event(), flush() and stop(). They may call command()
// and stop(), never destroy the Client (destroy it outside its own callbacks). The
// destructor fails what is pending, as stop() does.
//
// Pub/sub: SUBSCRIBE and its kin (PSUBSCRIBE, SSUBSCRIBE and the UN- forms) are accepted on a
// subscriber client only (ClientOptions::subscriber) and take no completion: their
// confirmations, like the messages, go to the push handler (RESP3 `>` values; under RESP2,
// arrays whose first element is "message", "subscribe" ...). Subscriptions do not survive a
// reconnect: the state handler's `up` is the time to subscribe again. An error reply to a
// subscription command (an ACL refusal) has no request to complete: the connection is
// closed as out of step, and the reason logged.
#pragma once
#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <string_view>

#include "net/reactor.h"
#include "redis/backoff.h"
#include "redis/endpoint.h"
#include "redis/resp.h"

namespace wspush::redis {

// A request's outcome, handed to its completion.
struct Reply {
    uint64_t tag = 0;               // as given to command()
    const Value* value = nullptr;   // the server's reply (an error reply too); null when none came
    std::string_view failure;       // why no reply came ("connection lost: ..."); empty with a value
};

using ReplyFn = void (*)(void* ctx, const Reply& reply) noexcept;
using PushFn = void (*)(void* ctx, const Value& message) noexcept;
// up: the handshake completed (first time or after a reconnect); !up: the connection is gone.
using StateFn = void (*)(void* ctx, bool up) noexcept;

struct ClientOptions {
    std::string address;        // HOST:PORT or unix:PATH (endpoint.h)
    std::string user;           // AUTH user password; empty: AUTH password (when one is set)
    std::string password;       // empty: no AUTH
    uint32_t db = 0;            // SELECT db when not 0
    uint8_t protocol = 3;       // 3: HELLO 3, RESP2 if the server refuses it; 2: no HELLO
    bool subscriber = false;    // pub/sub commands allowed (see above)
    size_t max_output = 1u << 20;
    uint32_t max_pending = 1u << 16;
    RespLimits limits;
    BackoffPolicy backoff;
};

class Client {
public:
    enum class State : uint8_t { kIdle, kConnecting, kHandshake, kUp, kWaiting };
    static constexpr size_t kReadBudget = 256 * 1024;

    // Sockets are registered with reactor under `tag` (IN|OUT|RDHUP|ET).
    Client(net::Reactor& reactor, uint64_t tag, ClientOptions options) noexcept;
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    void set_push_handler(PushFn fn, void* ctx) noexcept { push_fn_ = fn, push_ctx_ = ctx; }
    void set_state_handler(StateFn fn, void* ctx) noexcept { state_fn_ = fn, state_ctx_ = ctx; }

    // Parses the address and connects (kIdle -> kConnecting). False with err set when the
    // address does not parse; a server that cannot be reached is not an error here (the
    // client keeps trying, with backoff). True, doing nothing, when already started.
    [[nodiscard]] bool start(uint64_t now_ms, std::string& err);
    // Closes the connection; every pending request completes with failure "closed". kIdle.
    void stop() noexcept;

    // Queues a command (args: the command and its arguments). fn(ctx, reply) is called once
    // with the reply or a failure, in the order commands were given. Returns 0, or without
    // queueing anything: -ENOTCONN (kIdle, kWaiting), -ENOBUFS (over max_output or
    // max_pending), -EINVAL (no args; a pub/sub command on a client that is not a
    // subscriber, or one given a completion).
    [[nodiscard]] int command(std::span<const std::string_view> args, ReplyFn fn, void* ctx, uint64_t tag) noexcept;
    [[nodiscard]] int command(std::initializer_list<std::string_view> args, ReplyFn fn, void* ctx, uint64_t tag) noexcept {
        return command(std::span<const std::string_view>(args.begin(), args.size()), fn, ctx, tag);
    }

    // An epoll event for this client's tag.
    void on_event(uint32_t events, uint64_t now_ms) noexcept;
    // Once per loop turn, before sleeping: timers, reads left over, queued writes.
    void flush(uint64_t now_ms) noexcept;
    // How long the loop may sleep for this client: 0 (work left), the time to its next
    // deadline, or -1 (none).
    [[nodiscard]] int wait_ms(uint64_t now_ms) const noexcept;

    [[nodiscard]] State state() const noexcept { return state_; }
    // 2 or 3 once kUp (what HELLO settled); 0 before.
    [[nodiscard]] int protocol() const noexcept { return protocol_; }
    [[nodiscard]] size_t pending() const noexcept { return fifo_.size(); }
    [[nodiscard]] size_t output_bytes() const noexcept { return out_.size(); }
    [[nodiscard]] const Endpoint& endpoint() const noexcept { return endpoint_; }
    // Why the last attempt or connection failed ("" when none has).
    [[nodiscard]] const char* failure() const noexcept { return failure_; }

private:
    enum class Kind : uint8_t { kUser, kAuth, kHello, kSelect };
    struct Pending {
        ReplyFn fn;
        void* ctx;
        uint64_t tag;
        Kind kind;
    };

    void set_state(State s) noexcept;
    void connect(uint64_t now) noexcept;
    void connected() noexcept;
    void went_up() noexcept;
    void queue_handshake() noexcept;
    // Appends the encoded command to out_; false (nothing appended) over max_output unless
    // `force` (the handshake's few bytes).
    [[nodiscard]] bool queue(std::span<const std::string_view> args, bool force = false) noexcept;
    // The connection failed or ended: close, fail every request, then kWaiting for the
    // backoff, or kIdle when `stopping`.
    void drop(const char* why, uint64_t now, bool stopping) noexcept;
    void read_input(uint64_t now) noexcept;
    void write_output(uint64_t now) noexcept;
    // A complete reply: to the push handler, the handshake or the oldest request.
    void dispatch(const Value& v, uint64_t now) noexcept;
    [[nodiscard]] bool is_push(const Value& v) const noexcept;

    net::Reactor& reactor_;
    uint64_t tag_;
    ClientOptions options_;
    Endpoint endpoint_;
    Reconnect reconnect_;
    RespParser parser_;
    State state_ = State::kIdle;
    int fd_ = -1;
    int protocol_ = 0;
    bool writable_ = false;
    bool read_more_ = false;   // the read budget ran out with input left
    bool ever_up_ = false;
    bool warned_ = false;      // this outage was logged at warn
    uint32_t handshake_left_ = 0;
    uint32_t generation_ = 0;  // bumped by every close: callbacks that closed are noticed
    std::string out_;
    std::deque<Pending> fifo_;
    char failure_[160] = {};
    PushFn push_fn_ = nullptr;
    void* push_ctx_ = nullptr;
    StateFn state_fn_ = nullptr;
    void* state_ctx_ = nullptr;
};

[[nodiscard]] const char* state_name(Client::State s) noexcept;

}  // namespace wspush::redis
