// Channels, their members, their history (resume backlog) and named client ids.
// Bytes in, deliveries out: the hub never touches a socket; the server gives it a
// `deliver` callback that queues a frame on a connection.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "push/message.h"

namespace wspush::push {

struct Channel;

// One message published to a channel: its sequence number and its frame in each encoding,
// each built on first use and then shared by every recipient.
class Publication {
public:
    Publication(const Channel* ch, uint64_t seq, Message* raw) noexcept;
    ~Publication();
    Publication(const Publication&) = delete;
    Publication& operator=(const Publication&) = delete;

    [[nodiscard]] uint64_t seq() const noexcept { return seq_; }
    // The payload as published (a text or binary frame).
    [[nodiscard]] Message* raw() const noexcept { return raw_; }
    // The wspush.v1 JSON envelope of it, built on first call.
    [[nodiscard]] Message* envelope() noexcept;

private:
    const Channel* channel_;
    uint64_t seq_;
    Message* raw_;
    Message* envelope_ = nullptr;
};

// A connection's membership of one channel. Lives inside the connection (stable address);
// the channel's member list points at it, so leaving is O(1) (swap-remove).
struct Subscription {
    Channel* channel = nullptr;
    uint32_t index = 0;  // position in channel->members
    uint32_t owner = 0;  // the server's handle for the connection (its fd)
};

struct Channel {
    std::string name;
    std::vector<Subscription*> members;
    // Ring of the last `history` publications (oldest at ring_head).
    std::vector<Publication*> ring;
    size_t ring_head = 0;
    size_t ring_count = 0;
    uint64_t next_seq = 1;  // seq of the next publication; only grows

    // Oldest seq still kept (next_seq when nothing is kept).
    [[nodiscard]] uint64_t first_kept() const noexcept { return next_seq - ring_count; }
};

// Channel and client-id names: 1..64 of [A-Za-z0-9_.-].
[[nodiscard]] bool valid_name(std::string_view s) noexcept;

// JSON string body escaping (no quotes added): appends s, escaped, to out.
void json_escape(std::string& out, std::string_view s);

class Hub {
public:
    explicit Hub(uint32_t history) noexcept : history_(history) {}
    ~Hub();
    Hub(const Hub&) = delete;
    Hub& operator=(const Hub&) = delete;

    // The channel with this name, created if absent. `name` must be valid_name().
    Channel& channel(std::string_view name);
    [[nodiscard]] Channel* find(std::string_view name) noexcept;

    void join(Channel& ch, Subscription& s);
    void leave(Subscription& s) noexcept;

    // Publishes a frame payload to ch: assigns the next seq, keeps it in history, and calls
    // deliver(Subscription&, Publication&) for every member except `except` (may be null).
    // Returns the publication (owned by the hub's history; valid until the next publish
    // to this channel when history is 0).
    template <class F>
    Publication& publish(Channel& ch, ws::Opcode op, const void* p, size_t n,
                         const Subscription* except, F&& deliver) {
        Publication& pub = record(ch, Message::make(op, p, n));
        // Backwards: a delivery may make the member it is given leave (leave() moves the last
        // member into its place, one already served), and only that member.
        for (size_t i = ch.members.size(); i-- > 0;) {
            Subscription* s = ch.members[i];
            if (s != except) deliver(*s, pub);
        }
        return pub;
    }

    // Calls replay(Publication&) for each kept publication of ch with seq > since, oldest
    // first. Returns false (and replays nothing) when messages after `since` are no longer
    // all kept, or `since` is beyond the last seq (a reset server): the client must resync.
    template <class F>
    bool replay(Channel& ch, uint64_t since, F&& replay) {
        if (since + 1 < ch.first_kept() || since >= ch.next_seq) return false;
        for (size_t i = 0; i < ch.ring_count; ++i) {
            Publication* pub = ch.ring[(ch.ring_head + i) % ch.ring.size()];
            if (pub->seq() > since) replay(*pub);
        }
        return true;
    }

    [[nodiscard]] const std::unordered_map<std::string, Channel*>& channels() const noexcept {
        return channels_;
    }
    [[nodiscard]] uint32_t history() const noexcept { return history_; }

private:
    Publication& record(Channel& ch, Message* raw);

    uint32_t history_;
    std::unordered_map<std::string, Channel*> channels_;
    Publication* unkept_ = nullptr;  // the last publication when history is 0
};

}  // namespace wspush::push
