// The server: one thread, one edge-triggered epoll loop, every socket non-blocking.
//
// server.cpp    the loop, accept, signals, timers, the close path (condemn/reap), memory trim
// session.cpp   a client's bytes: HTTP head, upgrade, frames, output and closing
// exchange.cpp  plain HTTP: pages, request bodies, keep-alive and pipelining
// webhook.cpp   what POST /robot/send, /push/<channel> and /send/<id> do
// commands.cpp  control commands against channels and connections, STATS and METRICS
// reload.cpp    SIGHUP: the configuration read again and applied where it can change live
// workers.cpp   --workers: a worker's publications numbered by the parent (workers.h)
// worker_rounds.cpp --workers, what is rare: history hand-over, commands on every worker, TAIL
// redis_node.cpp --redis: publications through Redis, its deliveries into the hub, joins
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/sd_notify.h"
#include "base/timer_wheel.h"
#include "ctl/control_channel.h"
#include "http/request_parser.h"
#include "journal/writer.h"
#include "net/reactor.h"
#include "http/response.h"
#include "push/hub.h"
#include "push/names.h"
#include "robot/card.h"
#include "robot/limiter.h"
#include "robot/robot.h"
#include "net/send_ring.h"
#include "push/name_index.h"
#include "redis/engine.h"
#include "server/config.h"
#include "server/conn_log.h"
#include "server/connection.h"
#include "server/http_session.h"
#include "server/route.h"
#include "server/stats.h"
#include "server/status.h"
#include "server/workers.h"

namespace wspush::server {

inline constexpr size_t kReadBufSize = 64 * 1024;                // the loop's one read buffer
// Echoes of the messages that arrived whole in one read, sent as one write. A server frame's
// header is never longer than the client frame's it answers (2/4/10 bytes against 6/8/14
// with the mask), so the replies to one read always fit.
inline constexpr size_t kCorkSize = kReadBufSize;
inline constexpr std::string_view kEnvelopeProtocol = "wspush.v1";  // the JSON envelope

// A webhook request's answer: {"errcode":N,"errmsg":"..."<extra>} with this HTTP status.
struct WebhookReply {
    uint16_t status = 200;
    int32_t errcode = 0;
    std::string errmsg = "ok";
    std::string extra;           // more members, each starting with ','
    uint32_t retry_after_s = 0;  // 0: no Retry-After
    bool challenge = false;      // 401: WWW-Authenticate: Bearer
    bool held = false;           // said only once the journal's commit succeeds, or (request)
                                 // once the --workers parent numbered the publication, or
                                 // (redis_ticket) once Redis took it
    uint64_t request = 0;        // --workers: that publication (PendingPublication::request)
    uint64_t redis_ticket = 0;   // --redis: the publication whose outcome settles it
    bool redis_seq = false;      // ... and its answer names the seq
    // Not a webhook answer but a page (GET /stats, /metrics with --workers: the sums of
    // every worker, held until they are in): its Content-Type and body.
    std::string page_type;
    std::string page_body;
    bool head_only = false;
};

// A webhook answer waiting for the journal's commit (durability.cpp), or for the --workers
// parent's number of its publication (reply.request, workers.cpp).
struct HeldWebhook {
    int32_t fd;
    uint64_t id;    // HttpSession::held
    size_t used;    // the request's bytes in the connection's buffer
    WebhookReply reply;
};

// Appends s as a JSON string (quotes and backslashes escaped, control bytes as '?').
void append_json_text(std::string& out, const char* s);

// A robot's limiter, digest and counters (cfg.robots[i] is robots_[i]'s robot).
struct RobotRuntime {
    RobotRuntime(uint32_t rate, uint32_t window_ms, uint32_t throttle_ms) : limiter(rate, window_ms, throttle_ms) {}
    robot::Limiter limiter;   // on the server's monotonic clock
    robot::Digest digest;
    uint64_t digest_due = 0;  // monotonic ms when a non-empty digest goes out
    std::vector<std::string> mentions;  // ids the digested messages mentioned (<= kMaxMentions)
    bool at_all = false;                // ... and whether one of them was isAtAll
    uint64_t accepted = 0;    // pushed at once
    uint64_t throttled = 0;   // arrived over the rate (then digested or refused)
    uint64_t digested = 0;    // accepted into the digest
    uint64_t refused = 0;     // answered with a non-zero errcode
};

// Connections sharing a client id given with ?id=.
struct NamedId {
    std::string id;
    uint64_t hash;  // ids_'s
    std::vector<int32_t> fds;
    [[nodiscard]] std::string_view name() const noexcept { return id; }
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
    // --workers (workers.cpp), before start(): this process is worker `index`; parent_fd is
    // its end of the socketpair; listen_fd and control_fd (-1 in echo mode) the parent's
    // listening sockets, shared by every worker.
    void become_worker(uint32_t index, int parent_fd, int listen_fd, int control_fd);
    // Runs the loop until SIGTERM/SIGINT, then closes every client with 1001 and returns
    // the exit code (0).
    int run();

private:
    friend struct FrameEvents;

    // A publication: numbered, delivered, kept, journaled.
    struct Published {
        uint64_t seq = 0;
        uint64_t delivered = 0;  // frames queued to members
        int journal = 0;         // journal_append()'s verdict
        uint64_t request = 0;    // --workers: sent to the parent, numbered later (seq 0 now)
        uint64_t redis = 0;      // --redis: its ticket while Redis has not answered (0: refused at once)
    };
    // --redis: who waits for a publication's outcome (redis_node.cpp).
    struct RedisWaiter {
        enum class Kind : uint8_t { kNone, kControl, kWebhook } kind = Kind::kNone;
        uint64_t ref = 0;     // the control reply's held id, or HttpSession::held
        bool want_seq = false;
    };
    // An upgrade waiting for the node's first read of its channels from Redis (its 101 is
    // sent then): what upgrade() is called with again.
    struct RedisParked {
        std::string protocol, path, query;
        char accept[28];
    };

    // --- loop (server.cpp) ---
    void dispatch(const epoll_event& ev);
    void on_accept();
    void refuse_out_of_descriptors();
    void on_signal();
    // SIGHUP (reload.cpp): reads the configuration again and applies what may change live;
    // the rest is logged as needing a restart. A configuration that does not load changes
    // nothing.
    void reload();
    // The robots of `next` take over from cfg_.robots, each keeping the runtime state of the
    // one of its name; returns what changed ("" if nothing), naming robots, never tokens.
    std::string reload_robots(Config& next);
    // protocol_views_ and origin_views_ from cfg_ (views into its strings: built again
    // whenever cfg_ is replaced; the handshake uses them only while it runs).
    void build_views();
    // WebSocket clients allowed at once: --max-connections within the descriptor limit.
    [[nodiscard]] uint32_t client_cap() const noexcept;
    void begin_shutdown();
    // systemd (src/server/notify.cpp): READY/RELOADING/STOPPING, STATUS= and the watchdog,
    // sent from this loop, so a loop that is stuck misses its watchdog.
    void notify_start();
    void notify_tick();
    void notify(const char* state);
    [[nodiscard]] uint64_t notify_figures() const;
    // GET /status (--http-stats, src/server/status.cpp): a sample every StatusRing::kEveryMs.
    void status_tick();
    [[nodiscard]] std::string status_json() const;
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
    // Gives the whole pages of [p, p + n) back to the system (they read as zeros after).
    static void release_pages(void* p, size_t n);
    // Releases the pages of a table (slots of `stride` bytes, by fd) that no live slot up
    // to high_fd_ overlaps.
    void release_unused(void* table, size_t stride) const;
    [[nodiscard]] uint32_t now32() const noexcept { return static_cast<uint32_t>(now_ms_); }

    // --- a connection's two records (connection.h) ---
    // The descriptor is the slot's index.
    [[nodiscard]] int32_t fd_of(const Connection& c) const noexcept { return static_cast<int32_t>(&c - conns_); }
    [[nodiscard]] ConnectionCold& cold(const Connection& c) const noexcept { return colds_[&c - conns_]; }
    [[nodiscard]] Connection& owner_of(const base::TimerNode& t) const noexcept;
    // The subscriber: a first channel's Subscription is found by its place in the table
    // (no load from the cold record), a further one by its owner field.
    [[nodiscard]] Connection& owner_of(const push::Subscription& s) const noexcept;
    [[nodiscard]] size_t channel_count(const Connection& c) const noexcept {
        return (cold(c).sub.channel ? 1 : 0) + c.nmore;
    }
    [[nodiscard]] push::Subscription& subscription(const Connection& c, size_t i) const noexcept {
        return i == 0 ? cold(c).sub : more_[c.more][i - 1];
    }
    // Gives c room for `n` further channels' subscriptions. False when out of memory.
    [[nodiscard]] bool alloc_more(Connection& c, size_t n);
    void free_more(Connection& c) noexcept;
    [[nodiscard]] int loop_timeout() const;

    // --- a client's bytes (session.cpp) ---
    void on_client_event(Connection& c, uint32_t events);
    // Reads until EAGAIN, a short read (unless `drain`: the peer's FIN is pending), or the
    // per-turn cap.
    void read_client(Connection& c, bool drain);
    void on_peer_eof(Connection& c);
    // At the linger's end: true (re-armed) while the peer is still taking the bytes the
    // kernel holds for it.
    bool linger_on(Connection& c);
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

    // --- plain HTTP (exchange.cpp) ---
    // Serves the requests buffered in c.in, in order, until one is incomplete, the
    // connection closes or its unread responses reach their cap. `last`: the buffer's
    // length when its head was last scanned (parse_request's last_len).
    void serve_http(Connection& c, size_t last);
    // A complete head that is not an upgrade: answers it, or starts reading its body.
    void begin_request(Connection& c, const http::Request& req, size_t head_len);
    // Decodes the buffered body bytes; when the body is complete, answers the request.
    // `head`: the request's parsed head when its views still point into c.in, else null
    // (parsed again). True when the next request may be served from c.in.
    bool read_body(Connection& c, const http::Request* head = nullptr);
    // After an answer that kept the connection: drops the request's `used` bytes from c.in
    // and arms the keep-alive or next-head deadline.
    void next_request(Connection& c, size_t used);
    void end_http_session(Connection& c);
    // False when the answer is held (--workers: page_everywhere).
    bool answer_page(Connection& c, const http::Request& req);
    // GET /stats or /metrics in a worker: held until every worker's figures are in. False
    // (nothing held) when the parent cannot be asked.
    bool page_everywhere(Connection& c, bool metrics, bool head_only);
    // A text/plain error on a plain HTTP connection that stays open if the request allows.
    void page_error(Connection& c, uint16_t status, std::string_view reason, bool head_only,
                    std::string_view allow = {});
    // Queues a response with `body` (or only its head); keeps the connection when the request
    // allowed it, else closes after it.
    void reply(Connection& c, http::ResponseHead head, std::string_view body, bool head_only = false);
    // What read_client() lets a client leave unread before it stops reading from it.
    [[nodiscard]] uint64_t input_cap(const Connection& c) const noexcept;

    // --- the webhook (webhook.cpp) ---
    void init_robots();
    // The checks a webhook request's head allows (token, route, source address, signature,
    // Content-Type). False with `out` set when refused.
    bool check_webhook_head(Connection& c, const http::Request& req, WebhookReply& out);
    // Performs a webhook request whose body is complete.
    WebhookReply webhook(Connection& c, const http::Request& req, std::string_view body);
    WebhookReply robot_send(size_t robot, std::string_view body);
    // Folds a card that arrived over its robot's rate into the robot's digest.
    void digest(RobotRuntime& rt, const robot::Card& card);
    // When rt's digest is to go out: when its throttle ends, else when its window lets a
    // message pass (at least a second from now).
    [[nodiscard]] uint64_t digest_due(const RobotRuntime& rt) const noexcept;
    // Robot i's rate: whether a message may pass now (robot::Limiter::admit), told to the
    // other workers (an admission, or a throttle that began).
    bool robot_admit(size_t i);
    WebhookReply send_to_id(size_t robot, RobotRuntime& rt, std::string_view id, std::string_view body);
    // /send/<id> here: the frames queued to clients `id` in a channel r covers; SIZE_MAX when
    // out of memory.
    size_t send_to_id_here(const robot::Robot& r, std::string_view id, std::string_view body);
    WebhookReply too_large(HttpRoute route);
    // Publishes data on ch, and tells the mentioned clients that are not members. False when
    // out of memory.
    bool publish_to(push::Channel& ch, ws::Opcode op, std::string_view data, const std::vector<std::string>* mentions,
                    Published& out);
    void mention(std::string_view channel, uint64_t epoch, uint64_t seq, std::string_view data,
                 const std::vector<std::string>& ids);
    // The answer to a webhook push that was published: ok (held for the journal's commit),
    // or 503001 when the journal did not take it; counted for rt.
    WebhookReply published_reply(RobotRuntime& rt, const Published& p);
    // Pushes the digests that are due (all of them when `force`: at shutdown).
    void flush_digests(bool force = false);
    // Pushes robot i's digest; false (kept, retried in a second) when it cannot.
    bool push_digest(size_t robot);
    void reply_webhook(Connection& c, const WebhookReply& w);
    bool upgrade(Connection& c, std::string_view protocol, std::string_view path,
                 std::string_view query, const char (&accept)[28]);
    // Joins the planned channels, replaying history first where a since= asks. False (and
    // the connection refused) when a channel cannot be created.
    bool join_channels(Connection& c, const JoinPlan& plan);
    // Replays ch's history after `since` to c (or the gap notice and all of it) and joins
    // subscription(c, i) to ch. False when c was closed (out of memory).
    bool join_one(Connection& c, size_t i, push::Channel& ch, const push::Since& since, bool resume);
    // Whether a client without the envelope can be given exactly what it asks (else 410).
    [[nodiscard]] bool resumable_raw(const JoinPlan& plan);
    // Adds c to the connections sharing ?id=`id`. False when out of memory (nothing changed).
    [[nodiscard]] bool bind_id(Connection& c, std::string_view id);
    void unbind_id(Connection& c);
    void leave_channels(Connection& c);
    void on_frames(Connection& c, uint8_t* p, size_t n);
    void on_message(Connection& c, ws::Opcode op, const uint8_t* p, size_t n, push::Message* whole);
    void reply_http(Connection& c, uint16_t status, std::string_view reason);
    // Queues a final HTTP response (takes the reference to `raw`), then closes after it.
    void respond(Connection& c, push::Message* raw);
    // Queues a server-originated frame (push, heartbeat); a client whose backlog is over
    // --send-buffer is closed as a slow consumer instead. True when queued.
    bool send(Connection& c, push::Message* m);
    // Queues a reply to the client's own input (echo, Pong): never a slow-consumer verdict.
    void send_reply(Connection& c, push::Message* m, bool pong = false);
    // Echoes a data message: a frame of opcode op carrying a copy of p[0..n). While c's
    // bytes are parsed (corked_ == &c, or no one) and nothing of c's is queued, the frame
    // goes into the cork: one buffer the replies to a whole read share, written with one
    // send by uncork() when the read is parsed (uWebSockets corks alike). No Message is made
    // for it: an echo costs one copy and no allocation. Otherwise (a frame larger than the
    // cork, output already queued) it is queued like send_reply().
    void reply(Connection& c, ws::Opcode op, const uint8_t* p, size_t n);
    // Sends what the cork holds for corked_ (nothing when corked_ is null). What the socket
    // does not take is queued as one raw Message, from the start of the frame the write
    // cut and marked as started, behind which c's later frames go (a write error is found
    // by the turn's flush). Out of memory for it condemns c. Called after each read is
    // parsed and before anything else is queued to, or closes, the corked connection: the
    // cork's bytes always precede c.out's.
    void uncork();
    // uncork() if the cork holds c's replies. False when that condemned c (out of memory
    // with part of a frame written): callers then leave c alone.
    [[nodiscard]] bool uncork_for(const Connection& c) {
        if (corked_ == &c) [[unlikely]] uncork();
        return c.state != ConnState::kDead;
    }
    // Queues a Close frame and starts the closing handshake (kOpen only).
    void send_close(Connection& c, uint16_t code, std::string_view reason);
    void flush(Connection& c);
    // After a write of c's queue: w bytes went out (or -errno). Counts them, resumes paused
    // input, finishes a closing connection whose output is out, condemns on an error.
    void wrote(Connection& c, long w, bool would_block);
    // flush() for every connection on the flush list, kBatch sends per system call.
    void flush_batched();
    // flush(), one write each, for the connections on the flush list from index `from` on
    // (still on it and writable). The caller clears the list.
    void flush_each(size_t from);
    // Puts c on the list flushed before the loop sleeps (once per turn, however many frames
    // were queued: they go out in one writev).
    void schedule_flush(Connection& c);
    void schedule_read(Connection& c);
    void deliver(push::Subscription& s, push::Publication& pub);
    void deliver_replay(Connection& c, push::Publication& pub);
    // The client's id as CLIENTS/TAIL/SEND name it: its ?id= or c<serial>.
    [[nodiscard]] std::string client_id(const Connection& c) const;

    // --- log lines about connections (conn_log.cpp, README "Logs") ---
    // Writes "conn <id> <peer> <text>" (id "-" before the upgrade and for plain HTTP),
    // at the level of `kind`, unless that level is off or the kind's storm limit holds the
    // line back (then it is only counted, for the kind's summary line). The peer's address
    // is asked for only when the line is written. Cold: off the per-message path.
    [[gnu::cold]] void log_conn(int32_t fd, ConnEvent kind, const char* fmt, ...) noexcept
        __attribute__((format(printf, 4, 5)));
    // log_conn() for the frame error c's parser stopped at (1002, 1007, 1009, 1011).
    [[gnu::cold]] void log_frame_error(const Connection& c) noexcept;
    // log_conn() for a webhook refused with w (never its token or secret: errmsg has neither).
    [[gnu::cold]] void log_webhook_refused(const Connection& c, const WebhookReply& w) noexcept;

    // --- the journal (durability.cpp) ---
    // Rebuilds the channels from --journal and opens it for writing. False with err set.
    [[nodiscard]] bool open_journal(std::string& err);
    // Journals a publication hub_.publish() numbered: 0 when it is as durable as --fsync
    // says (or there is no journal), 1 when that waits for the turn's commit, else -errno
    // (the journal is failing; the publication stands, unjournaled).
    int journal_append(std::string_view channel, uint64_t epoch, uint64_t seq, ws::Opcode op, std::string_view data);
    // Before the turn's output is written: commits, then settles the held replies.
    void journal_commit();
    // Writes the batch (a commit); a failure refuses the turn's held replies. 0 or -errno.
    int journal_write();

    void journal_record_drops();
    void journal_failed();
    void journal_retry();
    // Whether a commit or held replies are owed: the loop must not sleep.
    [[nodiscard]] bool journal_busy() const noexcept;
    void journal_refusal(WebhookReply& w, std::string_view why);
    // Why the journal is failing: "<file>: <call>: <reason>".
    [[nodiscard]] std::string_view journal_reason() const noexcept;
    // Keeps w until the commit (or the parent's number); the connection serves nothing more
    // until then.
    void hold_webhook(Connection& c, WebhookReply&& w, size_t used);
    // Writes a held answer, if its connection still waits for it, and serves the
    // connection's next requests; `refused`: the publication did not stand after all (its
    // robot counts it refused, not accepted).
    void answer_held(HeldWebhook& h, bool refused);
    // held_webhooks_[i], settled on its own (--workers, --redis): taken off the list and
    // answered, refused with `refused`'s status, errcode and errmsg when given, else with
    // `extra` as its extra members (when not empty).
    void settle_held_webhook(size_t i, const WebhookReply* refused, std::string extra);

    [[nodiscard]] std::string journal_json() const;

    // Publishes on ch (not to be used after: the hub may forget it) to every member but
    // `except`. False when out of memory (nothing published).
    bool publish_on(push::Channel& ch, ws::Opcode op, std::string_view data, const push::Subscription* except,
                    Published& out);
    // "ERR journal: <reason>\n" for a publication the journal did not take.
    void journal_error_line(std::string& out) const;

    // --- --workers, the worker's side (workers.cpp) ---
    [[nodiscard]] bool start_worker(std::string& err);
    // After an accept burst: this worker's wait on the shared listener goes to the back of
    // its queue, so that the next connection wakes another idle worker.
    void rotate_listener();
    // publish_on() in a worker: kPublish to the parent; out.request says which.
    bool worker_publish(push::Channel& ch, ws::Opcode op, std::string_view data, const push::Subscription* except,
                        Published& out);
    // The pending publication `request` (the last one sent).
    [[nodiscard]] PendingPublication& pending_publication(uint64_t request);
    void on_parent_event(uint32_t events);
    void parent_frame(const cluster::Frame& f);
    void apply_published(const cluster::Frame& f);
    // The publisher of p is told: seq and delivered, or `refusal` when non-empty.
    void answer_publication(PendingPublication& p, uint64_t seq, uint64_t delivered, std::string_view refusal);
    // Queues a frame for the parent; false when its link is over its cap.
    bool parent_send(const cluster::Frame& f);
    void parent_flush();
    // The parent is gone: this worker stops.
    void parent_lost(const char* why);
    // kReady: history is in, the shared listener and control socket are watched from now.
    void worker_ready();
    // A command on every worker (--workers): run here now, on the others through the
    // parent (kAskAll); the reply is held until their results are in and merged.
    ctl::Reply everywhere(const ctl::Command& cmd, std::string& out);
    // kAskAll with `op`; returns its request (p.request), 0 (nothing sent) when the link to
    // the parent is gone or over its cap.
    uint64_t ask_all(const std::string& op, PendingAll&& p);
    // A robot's mentions (told here already) on every other worker; nothing waits for it.
    void ask_all_mention(std::string_view channel, uint64_t epoch, uint64_t seq, std::string_view data,
                         const std::vector<std::string>& ids);
    // `op` on every other worker, no result wanted (kAskAll of request 0).
    void tell_all(const std::string& op);
    // Once a turn: the parent is told when this worker's TAIL readers come or go.
    void tail_turn();
    // A client's message for the TAIL readers of other workers (kTailOthers said some have).
    void tail_to_others(std::string_view id, ws::Opcode op, std::string_view data);
    void tail_line(const cluster::Frame& f);  // a kTailLine: to this worker's TAIL readers
    // Robot i admitted a message (until 0) or began a throttle ending at `until`: the other
    // workers count it in their limiter too; nothing waits for it.
    void ask_all_rate(size_t i, uint64_t until);
    // A webhook /send/<id> on every other worker (`here` delivered on this one); its request.
    uint64_t ask_all_send_to(size_t robot, std::string_view id, std::string_view body, size_t here);
    // kRun: the operation here; its result for kRan.
    [[nodiscard]] std::string run_here(std::string_view op);
    // kAllRan: the other workers' results, merged with this one's and answered.
    void all_ran(const cluster::Frame& f);
    [[nodiscard]] std::string merge_results(const PendingAll& p, uint32_t missing,
                                            const std::vector<std::string_view>& others);
    // The held page of `request` (page_everywhere) answered with `body`.
    void settle_page(uint64_t request, std::string body);
    // kHistoryAsk: the channels kept now, to be sent as kKept frames by history_pump().
    void history_ask(uint64_t request);
    // Queues kKept frames while the link's outbox is under kHistoryChunk.
    void history_pump();
    // kKept before kReady: a publication kept for resume, added to history (no member yet).
    void apply_kept(const cluster::Frame& f);
    ctl::Reply worker_stats(std::string& out);
    void worker_counters(cluster::Frame& f) const;
    // --- Redis (redis_node.cpp) ---
    // Connects the engine (--redis). False with err set.
    [[nodiscard]] bool open_redis(std::string& err);
    // publish_on() under --redis: the publication goes to Redis; `out.redis` names it.
    bool redis_publish(push::Channel& ch, ws::Opcode op, std::string_view data, const push::Subscription* except,
                       Published& out);
    // The publisher of ticket waits for its outcome (w) until Redis answers.
    void redis_wait(uint64_t ticket, const RedisWaiter& w);
    static void on_redis_published(void* ctx, const redis::Published& p) noexcept;
    static void on_redis_delivery(void* ctx, const redis::Delivery& d) noexcept;
    void redis_settle(uint64_t ticket, const redis::Published& p);
    void redis_deliver(const redis::Delivery& d);
    // Whether c's upgrade must wait for its channels to be read from Redis: then parked
    // (kHttp, nothing answered) until redis_joins() takes it up again.
    [[nodiscard]] bool redis_park(Connection& c, const JoinPlan& plan, std::string_view protocol, std::string_view path,
                                  std::string_view query, const char (&accept)[28]);
    // A parked upgrade's connection goes (closed, timed out, or it sent bytes): true if it
    // was parked. Channels made only for it (nothing kept, no members) go too.
    bool redis_unpark(const Connection& c) { return redis_ && !redis_parked_.empty() && redis_drop_parked(fd_of(c)); }
    bool redis_drop_parked(int32_t fd);
    // Before the turn's output: the engine's flush, waiting joins, state changes logged.
    void redis_turn();
    void redis_joins();
    [[nodiscard]] std::string redis_json() const;
    // "Echo mode has no channels" logged for --flag: true in echo mode (the flag is unused).
    [[nodiscard]] bool unused_in_echo(const char* flag) const;

    // --- control commands (commands.cpp) ---
    ctl::Reply execute(const ctl::Command& cmd, std::string_view payload, std::string& out) noexcept override;
    ctl::Reply publish(const ctl::Command& cmd, std::string_view payload, std::string& out);
    void send_direct(const ctl::Command& cmd, std::string& out);
    void kick(const ctl::Command& cmd, std::string& out);
    void list_clients(const ctl::Command& cmd, std::string& out);
    // CHANNELS: this worker's channels, with `others`' members added and their channels
    // this one lacks listed (--workers; null: one process).
    void list_channels(std::string& out, ChannelFigures* others);
    // SEND, BROADCAST, KICK, METRICS, CLIENTS, CHANNELS here only.
    void command_here(const ctl::Command& cmd, std::string& out);
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

    Connection* conns_ = nullptr;      // indexed by fd; pages touched only as fds are used
    ConnectionCold* colds_ = nullptr;  // the same, for the cold records
    size_t conns_cap_ = 0;
    size_t conns_bytes_ = 0;
    size_t colds_bytes_ = 0;
    int32_t high_fd_ = -1;         // highest descriptor whose slot was touched since the last trim
    uint32_t max_clients_ = 0;
    uint64_t next_serial_ = 1;

    int listen_fd_ = -1;
    int signal_fd_ = -1;
    int spare_fd_ = -1;  // released to accept-and-refuse when out of descriptors

    std::vector<int32_t> live_;        // every connection not kFree/kDead (ConnectionCold::live_index)
    std::vector<int32_t> flush_list_;  // kFlagInFlush
    std::vector<int32_t> ready_list_;  // kFlagReady
    std::vector<int32_t> dead_;        // kDead, reaped after the turn
    std::vector<push::Subscription*> more_{nullptr};  // further channels, by Connection::more
    std::vector<uint32_t> more_free_;  // unused indices of more_
    push::NameIndex<NamedId> ids_;  // by ?id=, seeded: the names are the clients' choice
    std::vector<RobotRuntime> robots_;  // parallel to cfg_.robots
    std::vector<codec::Sha256Digest> token_digests_;  // parallel to cfg_.robots
    uint64_t digest_at_ = 0;            // earliest digest due (monotonic ms); 0: none

    std::unique_ptr<WorkerLink> worker_;  // --workers > 1; null: a single process
    int worker_listen_fd_ = -1;           // ... the parent's sockets, given to start()
    int worker_control_fd_ = -1;
    std::unique_ptr<redis::Engine> redis_;  // --redis; null: none
    std::unordered_map<uint64_t, RedisWaiter> redis_waiters_;  // by ticket; at most max_queued + in flight
    std::unordered_map<int32_t, RedisParked> redis_parked_;  // by fd; kHttp, at most --handshake-timeout
    uint64_t redis_loads_ = 0;         // redis_->loads() when the parked upgrades were last looked at
    bool redis_parked_dirty_ = false;  // one went: a channel of the others may need subscribing again
    uint64_t redis_tickets_ = 0;
    uint64_t redis_publishing_ = 0;     // the ticket publish() is handling (a refusal comes at once)
    std::string redis_refusal_;        // ... and why it was refused
    std::string redis_origin_;         // this node's origin tag: relayed messages skip their sender
    uint8_t redis_state_ = 0;          // 0 never up, 1 up, 2 down (logged on change)
    std::unique_ptr<journal::Writer> journal_;  // --journal; null: none
    std::vector<std::pair<std::string, uint64_t>> journal_drops_;  // forgotten channels to record
    std::vector<std::pair<std::string, uint64_t>> journal_batch_drops_;  // ... recorded in the batch
    std::vector<HeldWebhook> held_webhooks_;
    uint64_t held_ids_ = 0;
    uint64_t journal_retry_at_ = 0;  // the journal is failing: retried then (monotonic ms); 0: ok
    bool journal_marked_ = false;    // DIR/failing exists (durability.cpp)
    bool journal_renumber_ = false;  // ... and stays: drops were lost while failing
    int journal_turn_rc_ = 0;        // a write failed this turn: its held replies are refused

    // One connection's write in a batched flush.
    struct BatchSlot {
        Connection* conn;
        msghdr msg;
        push::OutQueue::Write write;
    };
    net::SendRing send_ring_;
    BatchSlot* batch_ = nullptr;  // SendRing::kBatch slots while send_ring_ is ready

    uint8_t* rbuf_ = nullptr;  // the loop's one read buffer, followed by the cork
    uint8_t* cork_ = nullptr;  // rbuf_ + kReadBufSize: kCorkSize bytes (pages touched on use)
    size_t cork_len_ = 0;
    Connection* corked_ = nullptr;  // whose replies the cork holds; null outside its parse
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
    base::Notifier notify_;
    uint64_t notify_at_ = 0;       // next WATCHDOG=1 / STATUS= check (monotonic ms); 0: none
    uint64_t notified_status_ = 0;  // the figures in the last STATUS= sent (notify.cpp)
    StatusRing status_;             // GET /status's charts; memory taken at the first sample
    uint64_t status_at_ = 0;        // next sample (monotonic ms); 0: no --http-stats
    uint64_t status_published_ = 0;  // stats_.published at the last sample
    uint64_t status_delivered_ = 0;  // stats_.messages_out at the last sample
};

template <class F>
void Server::for_each_with_id(std::string_view id, F&& f) {
    if (push::is_server_id(id)) {
        // Anonymous: c<serial>, unique for the process. Walk the live connections (their
        // number, not the descriptor limit, is the cost); `?id=` can never take this form.
        uint64_t serial = 0;
        for (char ch : id.substr(1)) serial = serial * 10 + static_cast<uint64_t>(ch - '0');
        for (size_t i = live_.size(); i-- > 0;) {
            Connection& c = conns_[live_[i]];
            if (c.state == ConnState::kOpen && !c.has(kFlagNamed) && c.serial == serial) {
                f(c);
                return;
            }
        }
        return;
    }
    const NamedId* nid = ids_.find(id);
    if (nid == nullptr) return;
    // A copy: closing one of them takes it off the list (and the last one frees it).
    std::vector<int32_t> fds = nid->fds;
    for (int32_t fd : fds)
        if (conns_[fd].state == ConnState::kOpen) f(conns_[fd]);
}

}  // namespace wspush::server
