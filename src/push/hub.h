// Channels, their members, their numbering (seq within an epoch) and their history.
// Bytes in, deliveries out: the hub never touches a socket; the server gives it a
// `deliver` callback that queues a frame on a connection.
//
// Lifetimes: a Channel lives while it has members or kept history. Only two calls forget
// channels: leave() (its own channel, when the last member leaves and nothing is kept,
// and channels left idle earlier) and publish() (any channel with no members and nothing
// kept, the one published to included). So a Channel* from channel() or find() may be
// held across join(), covers(), replay() and replay_all(), not across publish() or
// leave(); a member's Subscription::channel stays valid while it is a member.
//
// Out of memory never aborts: channel(), join() and publish() report it, and a
// Publication's envelope() returns nullptr.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "push/channel.h"
#include "push/history.h"
#include "push/message.h"

namespace wspush::push {

struct HubLimits {
    uint32_t history = 100;              // publications kept per channel (0: none)
    uint64_t history_bytes = 8u << 20;   // bytes kept for all channels together (0: none)
    uint32_t max_channels = 4096;        // channels that may exist at once
    uint64_t epoch_base = 0;             // epochs are epoch_base + 1, + 2, ... by creation
};

struct PublishResult {
    bool ok = false;   // false: out of memory; nothing delivered or kept, no seq used
    uint64_t seq = 0;  // the publication's seq when ok
};

// Where a resuming client left off: the last seq it saw, in `epoch` when it named one
// (since=<epoch>.<seq>); without an epoch the seq is taken to be in the current one.
struct Since {
    uint64_t seq = 0;
    uint64_t epoch = 0;
    bool has_epoch = false;
};

class Hub {
public:
    explicit Hub(const HubLimits& limits) noexcept;
    // Frees every channel and publication; members' Subscriptions are left dangling.
    ~Hub();
    Hub(const Hub&) = delete;
    Hub& operator=(const Hub&) = delete;

    // The channel with this name (a valid_name()), created if absent with the next epoch.
    // nullptr when it is absent and max_channels exist already (at_channel_limit()), or
    // when out of memory.
    [[nodiscard]] Channel* channel(std::string_view name) noexcept;
    [[nodiscard]] Channel* find(std::string_view name) const noexcept;
    [[nodiscard]] bool at_channel_limit() const noexcept { return table_.size() >= limits_.max_channels; }

    // Start-up from a journal, before any other call. Channels made from now on get epochs
    // above max_epoch (the highest a journal holds).
    void epochs_above(uint64_t max_epoch) noexcept;
    // A channel as a journal recovered it: `name` in `epoch` (0: a new one, as channel()
    // gives), its next publication numbered first_seq (restore_message() then adds the kept
    // ones from first_seq on). nullptr when it exists already, at the channel limit or out
    // of memory.
    [[nodiscard]] Channel* restore(std::string_view name, uint64_t epoch, uint64_t first_seq) noexcept;
    // Keeps a recovered message as ch's next publication (nobody is a member yet). False
    // when out of memory. Like publish(), it may forget ch (nothing kept: history 0).
    [[nodiscard]] bool restore_message(Channel& ch, ws::Opcode op, const void* p, size_t n) noexcept;
    // A channel numbered elsewhere (--redis) goes on at `epoch`, its next publication
    // numbered next_seq: what it kept is dropped (the one place next_seq may go back, in a
    // new epoch). Members stay. Not during publish().
    void renumber(Channel& ch, uint64_t epoch, uint64_t next_seq) noexcept;
    // Forgets ch if it has no members and keeps nothing (a channel() made only to name a
    // publication that went elsewhere): now, or during publish() at its end. ch is not to be
    // used after.
    void forget_if_idle(Channel& ch) noexcept;
    // Called with each channel as it is forgotten (its epoch's numbering ends there).
    using ForgetHook = void (*)(void* ctx, const Channel& ch);
    void on_forget(ForgetHook f, void* ctx) noexcept {
        forget_hook_ = f;
        forget_ctx_ = ctx;
    }

    // Adds s (not a member of anything) to ch. False when out of memory (s unchanged).
    [[nodiscard]] bool join(Channel& ch, Subscription& s) noexcept;
    // Removes s from its channel (nothing if it is in none); a channel left with no
    // members and nothing kept is forgotten at once.
    void leave(Subscription& s) noexcept;

    // Publishes a frame payload to ch: assigns the next seq and calls
    // deliver(Subscription&, Publication&) for every member except `except` (may be null),
    // then keeps the publication in history and evicts what the limits no longer allow.
    // deliver may make the Subscription it is given leave; it must not join, publish or
    // replay. Budget evictions happen only after the delivery loop. Afterwards ch is
    // forgotten if it has no members and keeps nothing (PUB to a new name with history 0
    // leaves no channel behind), so `ch` must not be used after publish().
    template <class F>
    PublishResult publish(Channel& ch, ws::Opcode op, const void* p, size_t n, const Subscription* except,
                          F&& deliver) {
        Publication* pub = begin_publish(ch, op, p, n);
        if (pub == nullptr) return fail_publish(ch);
        publishing_ = &ch;
        // From the last member down: when the member being served leaves, swap-remove
        // moves one already served into its slot.
        for (uint32_t i = ch.member_count; i-- > 0;) {
            if (i >= ch.member_count) continue;
            Subscription* s = ch.members[i];
            if (s != except) deliver(*s, *pub);
        }
        publishing_ = nullptr;
        return end_publish(ch, pub);
    }

    // Whether every publication after `since` is kept: the epoch is ch's (or none is
    // named), since.seq is not beyond the last seq, and nothing after it was dropped.
    [[nodiscard]] bool covers(const Channel& ch, const Since& since) const noexcept;

    // Calls f(Publication&) for each kept publication of ch after `since`, oldest first,
    // and returns true; when !covers(ch, since), replays nothing and returns false (the
    // client must be told of the gap). f may call envelope(); f must not call the hub.
    // Envelopes built meanwhile are evicted for after the loop, without forgetting any
    // channel. For a client about to join ch: join() it next.
    template <class F>
    bool replay(Channel& ch, const Since& since, F&& f) {
        if (!covers(ch, since)) return false;
        for (uint64_t i = since.seq + 1 - ch.first_kept(); i < ch.ring_count; ++i) f(*ch.kept(static_cast<uint32_t>(i)));
        settle();
        return true;
    }
    // Calls f(Publication&) for every kept publication of ch, oldest first (after a gap
    // notice). As replay() otherwise.
    template <class F>
    void replay_all(Channel& ch, F&& f) {
        for (uint32_t i = 0; i < ch.ring_count; ++i) f(*ch.kept(i));
        settle();
    }
    // The gap notice for a client of ch that saw up to `since` (make_gap_notice() with
    // ch's epoch and first kept seq). nullptr when out of memory.
    [[nodiscard]] Message* gap_notice(const Channel& ch, uint64_t since) const noexcept;

    // Calls f(const Channel&) for every channel, in no particular order.
    template <class F>
    void for_each_channel(F&& f) const {
        table_.for_each([&](Channel& ch) { f(static_cast<const Channel&>(ch)); });
    }

    [[nodiscard]] size_t channel_count() const noexcept { return table_.size(); }
    // Bytes charged to the history budget now; publications dropped by it so far.
    [[nodiscard]] uint64_t history_bytes() const noexcept { return history_.bytes(); }
    [[nodiscard]] uint64_t history_evicted() const noexcept { return history_.evicted(); }
    [[nodiscard]] const HubLimits& limits() const noexcept { return limits_; }
    // A new cap (a reload): channels over it stay; new ones wait until fewer exist.
    void set_max_channels(uint32_t n) noexcept { limits_.max_channels = n; }

private:
    [[nodiscard]] Publication* begin_publish(Channel& ch, ws::Opcode op, const void* p, size_t n) noexcept;
    PublishResult end_publish(Channel& ch, Publication* pub) noexcept;
    PublishResult fail_publish(Channel& ch) noexcept;
    // Evicts oldest-first until within budget; channels left idle wait on the pending list.
    void settle() noexcept;
    void defer(Channel& ch) noexcept;
    // Forgets the idle channels on the pending list (not the one being published to).
    void forget_pending() noexcept;
    void forget(Channel& ch) noexcept;

    HubLimits limits_;
    History history_;
    ChannelTable table_;
    uint64_t created_ = 0;            // channels created so far: the epoch counter
    Channel* publishing_ = nullptr;   // during publish()'s delivery loop
    Channel* pending_ = nullptr;      // idle channels to forget at the next safe point
    ForgetHook forget_hook_ = nullptr;
    void* forget_ctx_ = nullptr;
};

}  // namespace wspush::push
