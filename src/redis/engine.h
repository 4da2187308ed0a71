// A node's share of channels kept in Redis (or Valkey): several wspushd nodes publish to and
// subscribe through one Redis, every push reaches every subscriber on every node once, in
// order per channel, and a resume (since=<epoch>.<seq>) is answered from one shared history
// whichever node a client reconnects to. Two connections per node whatever the number of
// channels (redis/client.h, pipelined): a write connection (publishes, history reads) and a
// subscriber connection (SUBSCRIBE / UNSUBSCRIBE and the messages).
//
// Keys, under the deployment's prefix P ("wspush:"; two prefixes never see each other):
//
//   key                   type     holds
//   P ch:{NAME}:meta      hash     epoch (decimal), seq (the last one given)
//   P ch:{NAME}:hist      list     the last `history` entries, oldest first; consecutive seqs
//   P epoch               string   the highest epoch ever given (a floor for new ones)
//   P pub:NAME            pub/sub  one message per publish
//
// An entry (in the list and on pub/sub alike) is "<seq> <epoch> <t|b>[.<origin>] <payload>"
// (decimal numbers, t text, b binary; origin, when the publisher gave one, a tag without
// spaces that lets it know its own message again; the payload as published, any bytes). A list rather than a
// stream: its seqs are consecutive, so the entry after seq s is at index s + 1 - first, one
// LRANGE, and LTRIM bounds it as XADD MAXLEN would, with less per entry.
//
// Publish is one Lua script (EVALSHA; loaded with SCRIPT LOAD on every connect, and again
// when a reply says NOSCRIPT): when meta is absent (a new channel, or its keys were deleted)
// it makes the epoch max(server TIME in microseconds, P epoch + 1) and stores it in P epoch,
// so a channel made again always gets a higher epoch, even if the clock went back; it then
// HINCRBY's seq, RPUSH + LTRIM the list, PUBLISHes the entry and returns {epoch, seq}.
// Everything a publish does happens at once: no reader sees the seq without the entry.
// A second script reads a channel's history after a seq in one step ({epoch, last, first,
// entries}); the engine decides from it whether the read covers the request (push::Hub's
// covers()): the same epoch (or none named), seq <= last and nothing after seq trimmed.
//
// Joining without a gap or a duplicate. Per channel the engine keeps a cursor, the last
// (epoch, seq) it delivered, and a phase:
//
//   phase         entered by                              messages from pub/sub
//   kSubscribing  subscribe(); the subscriber connection  buffered
//                 lost or restored
//   kReading      SUBSCRIBE confirmed (it is in effect);  buffered
//                 a hole seen in the live stream
//   kLive         the history read's reply handled        delivered when next after the
//                                                         cursor, dropped when at or before
//                                                         it, a hole -> kReading
//
// The history is read only once the subscription is confirmed, so every publish is either
// in that read (executed before it) or arrives on pub/sub afterwards, or both; the read's
// entries after the cursor are delivered first, then the buffered messages, each only if it
// is the next seq: what both hold is delivered once. The same step runs after the
// subscriber connection comes back (everything missed during the outage is read back from
// history: stats().read_back) and whenever the live stream shows a hole. When the history
// no longer holds what follows the cursor (trimmed, or the channel was made again in a new
// epoch) a kGap delivery comes first, then every kept entry.
//
// While the write connection is down, publishes wait in the engine's queue, in order, and
// are sent when it is up again; the queue is bounded (EngineOptions::max_queued messages,
// max_queued_bytes payload bytes): past that a publish completes at once with an error. A
// publish already sent when the connection is lost completes with an error ("outcome
// unknown": the script may or may not have run; it is not sent again, so never twice).
//
// Limits:
//
//   what                              bound                            when reached
//   publishes waiting to be sent      max_queued 10000,                the publish fails at
//                                     max_queued_bytes 16 MiB          once ("queue full")
//   pub/sub messages buffered per     max_buffered 10000               buffer dropped; the
//   channel while reading history                                      history read again
//   history entries per channel       history 100 (in Redis)           oldest trimmed
//   SUBSCRIBEs at once                the subscriber connection's      the rest are sent at
//                                     max_output (1 MiB: ~15000)       the next flush()
//
// Every node of a deployment should use the same `history`: each publish trims the list to
// its publisher's count.
//
// NOSCRIPT (the server's script cache flushed while connected): the publish is sent again
// after a SCRIPT LOAD, in the order the refusals come back. Should another client load the
// script between two of this node's pipelined publishes, the later one may run before the
// first one's second attempt: the only case where one node's publishes to one channel may
// be numbered out of order.
//
// Callbacks (deliveries, completions) run inside on_event(), flush(), publish() (a refused
// publish), read() and stop(); they may call publish(), read(), subscribe() and
// unsubscribe(), never destroy the engine.
//
// Not cluster-safe: a publish touches P epoch besides the channel's two keys (which share a
// hash tag, {NAME}), so all keys of a deployment must live on one Redis (or one slot).
#pragma once
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "net/reactor.h"
#include "redis/client.h"

namespace wspush::redis {

struct EngineOptions {
    ClientOptions client;            // address, AUTH user / password, db, backoff
    std::string prefix = "wspush:";  // every key and pub/sub channel starts with it
    uint32_t history = 100;          // entries kept per channel (0: none)
    size_t max_queued = 10000;       // publishes waiting for the write connection
    size_t max_queued_bytes = 16u << 20;
    size_t max_buffered = 10000;     // per channel, while its history is read
};

// Where a reader or subscriber left off (as push::Since): has_epoch false means the seq is
// in the channel's current epoch; seq 0 with no epoch means "from the beginning".
struct Cursor {
    uint64_t epoch = 0;
    uint64_t seq = 0;
    bool has_epoch = false;
};

struct Entry {
    uint64_t epoch = 0;
    uint64_t seq = 0;
    bool binary = false;
    std::string origin;  // as given to publish() (empty: none)
    std::string payload;
};

struct Delivery {
    enum class Kind : uint8_t {
        kMessage,  // epoch, seq, binary, payload
        kGap,      // what follows `since` is not all kept: epoch is the channel's, seq the
                   // first kept (the next delivery), since the cursor's seq
    };
    Kind kind = Kind::kMessage;
    std::string_view channel;
    uint64_t epoch = 0;
    uint64_t seq = 0;
    uint64_t since = 0;
    bool binary = false;
    std::string_view payload;
    std::string_view origin;  // kMessage: as given to publish()
};

struct Published {
    bool ok = false;
    uint64_t epoch = 0;
    uint64_t seq = 0;
    std::string_view error;  // when !ok
};

struct HistoryRead {
    bool ok = false;         // false: error says why; the rest is empty
    bool covers = false;     // entries are exactly those after the cursor
    bool exists = false;     // the channel has keys (else epoch 0, nothing kept)
    uint64_t epoch = 0;      // the channel's current epoch
    uint64_t last = 0;       // its last seq
    uint64_t first = 0;      // the oldest kept seq (last + 1 when none is kept)
    std::vector<Entry> entries;  // covers: those after the cursor; else all kept
    std::string_view error;
};

struct EngineStats {
    uint64_t queued = 0;        // publishes waiting now
    uint64_t queued_bytes = 0;
    uint64_t sent = 0;          // publishes acknowledged by Redis
    uint64_t errors = 0;        // publishes failed (refused by Redis, lost in flight, queue full)
    uint64_t refused = 0;       // of which: queue full
    uint64_t reconnects = 0;    // the subscriber or write connection came back
    uint64_t reads = 0;         // history reads of subscribed channels (joins, reconnects, holes)
    uint64_t read_back = 0;     // messages delivered from history after a reconnect or a hole
    uint64_t delivered = 0;     // kMessage deliveries
    uint64_t gaps = 0;          // kGap deliveries
};

using DeliverFn = void (*)(void* ctx, const Delivery& d) noexcept;
using PublishedFn = void (*)(void* ctx, const Published& p) noexcept;
using HistoryFn = void (*)(void* ctx, const HistoryRead& h) noexcept;

class Engine {
public:
    // The connections are registered with reactor under tags tag and tag + 1.
    Engine(net::Reactor& reactor, uint64_t tag, EngineOptions options);
    ~Engine();
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    // Where subscribed channels' messages and gap notices go, in order per channel.
    void set_deliver(DeliverFn fn, void* ctx) noexcept { deliver_fn_ = fn, deliver_ctx_ = ctx; }

    // Connects both connections (they keep trying with backoff). False with err set when the
    // address does not parse.
    [[nodiscard]] bool start(uint64_t now_ms, std::string& err);
    // Closes both; queued and in-flight publishes and reads fail ("closed").
    void stop() noexcept;

    // Publishes payload to channel; fn(ctx, result) once with (epoch, seq) or an error, in
    // publish order. When the queue is full fn runs before publish() returns. `origin` (no
    // spaces; may be empty) comes back with the message's deliveries, on every node.
    void publish(std::string_view channel, bool binary, std::string_view payload, PublishedFn fn, void* ctx,
                 std::string_view origin = {});
    // Reads channel's history after `after` (a client's resume). fn runs once; at once with
    // an error when the write connection is not up.
    void read(std::string_view channel, const Cursor& after, HistoryFn fn, void* ctx);
    // Starts delivering channel's messages after `from` (has_epoch false and seq 0 with
    // live_only: only what is published from now on). False when already subscribed.
    bool subscribe(std::string_view channel, const Cursor& from, bool live_only);
    // Stops delivering channel (nothing more is delivered for it). False when not subscribed.
    bool unsubscribe(std::string_view channel);
    // The last (epoch, seq) delivered for a subscribed channel; nullptr when not subscribed.
    [[nodiscard]] const Cursor* cursor(std::string_view channel) const noexcept;
    // Whether a subscribed channel is live (its history read, buffered messages delivered).
    [[nodiscard]] bool live(std::string_view channel) const noexcept;
    // Whether a subscribed channel has been live since subscribe(): what Redis kept when it
    // was subscribed has been delivered (it may be reading again after an outage since).
    [[nodiscard]] bool loaded(std::string_view channel) const noexcept;
    // How many times a subscribed channel became loaded: a change says loaded() may have.
    [[nodiscard]] uint64_t loads() const noexcept { return loads_; }

    // Reactor plumbing, as for redis::Client: events of tag or tag + 1, once per loop turn
    // before sleeping, and the longest sleep.
    void on_event(uint64_t tag, uint32_t events, uint64_t now_ms) noexcept;
    void flush(uint64_t now_ms) noexcept;
    [[nodiscard]] int wait_ms(uint64_t now_ms) const noexcept;

    [[nodiscard]] bool writer_up() const noexcept { return writer_.state() == Client::State::kUp; }
    [[nodiscard]] bool subscriber_up() const noexcept { return subscriber_.state() == Client::State::kUp; }
    [[nodiscard]] const EngineStats& stats() const noexcept { return stats_; }
    // Why the write (or else the subscriber) connection last failed ("" when never).
    [[nodiscard]] const char* failure() const noexcept {
        return *writer_.failure() ? writer_.failure() : subscriber_.failure();
    }
    [[nodiscard]] const char* state_text() const noexcept;  // "up", "degraded" (one down), "down"
    [[nodiscard]] const Client& writer() const noexcept { return writer_; }
    [[nodiscard]] const Client& subscriber() const noexcept { return subscriber_; }

private:
    enum class Phase : uint8_t { kSubscribing, kReading, kLive };
    struct Chan {
        std::string name;
        Phase phase = Phase::kSubscribing;
        Cursor at;              // last delivered
        bool live_only = false;  // no cursor yet: take the read's last seq as it
        bool was_live = false;   // reads count as read back
        bool read_sent = false;  // the read of this round is in flight
        bool overflow = false;   // buffered messages were dropped: read again
        bool sub_sent = false;   // its SUBSCRIBE is out on this subscriber connection
        bool gone = false;       // unsubscribed (freed at the end of flush())
        uint64_t round = 0;      // the current read's number (a reply to an older one is stale)
        std::vector<Entry> buffered;
    };
    struct Pub;
    struct Read;

    static void on_sub_state(void* ctx, bool up) noexcept;
    static void on_writer_state(void* ctx, bool up) noexcept;
    static void on_push(void* ctx, const Value& v) noexcept;
    static void on_pub_reply(void* ctx, const Reply& r) noexcept;
    static void on_read_reply(void* ctx, const Reply& r) noexcept;
    static void on_load_reply(void* ctx, const Reply& r) noexcept;

    void send_queued() noexcept;
    [[nodiscard]] bool send_pub(Pub* p) noexcept;
    void finish_pub(Pub* p, const Published& result) noexcept;
    // SUBSCRIBE or UNSUBSCRIBE c on the subscriber connection; false when its output is full.
    bool send_subscribe(Chan& c, bool sub) noexcept;
    // SUBSCRIBEs every channel still waiting for one.
    void send_subscribes() noexcept;
    // kReading: a new round; its read is sent now if the write connection is up.
    void begin_read(Chan& c) noexcept;
    void send_reads() noexcept;
    [[nodiscard]] bool send_read(Read* r) noexcept;
    void chan_read(Chan& c, const HistoryRead& h) noexcept;
    // A message for c from pub/sub or a buffer, kLive.
    void accept(Chan& c, Entry&& e) noexcept;
    void deliver(Chan& c, const Entry& e) noexcept;
    [[nodiscard]] Chan* find(std::string_view name) noexcept;
    [[nodiscard]] std::string key(std::string_view kind, std::string_view name) const;

    uint64_t tag_;
    EngineOptions options_;
    Client writer_;
    Client subscriber_;
    std::string pub_sha_, read_sha_;
    std::deque<Pub*> queue_;  // not sent yet (the write connection is down or full)
    std::map<std::string, std::unique_ptr<Chan>, std::less<>> chans_;
    std::vector<std::unique_ptr<Chan>> graveyard_;  // unsubscribed, maybe mid-delivery
    // SUBSCRIBEs sent per name and not confirmed yet: a channel's history is read only once
    // all are (an UNSUBSCRIBE + SUBSCRIBE pair confirms the first one too early).
    std::map<std::string, uint32_t, std::less<>> unconfirmed_;
    bool reads_waiting_ = false;  // a channel in kReading has its read still to send
    bool subs_waiting_ = false;   // a channel in kSubscribing has its SUBSCRIBE still to send
    uint64_t rounds_ = 0;
    uint64_t loads_ = 0;
    bool writer_ever_up_ = false;
    bool sub_ever_up_ = false;
    EngineStats stats_;
    DeliverFn deliver_fn_ = nullptr;
    void* deliver_ctx_ = nullptr;
};

// Parses an entry "<seq> <epoch> <t|b> <payload>" (as stored and published). False when
// malformed.
[[nodiscard]] bool parse_entry(std::string_view text, Entry& out);

}  // namespace wspush::redis
