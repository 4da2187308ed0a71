#include "push/hub.h"

#include <cassert>
#include <cstring>
#include <new>

#include "push/alloc.h"
#include "push/envelope.h"

namespace wspush::push {
namespace {

constexpr uint32_t kMinMembers = 4;
constexpr uint32_t kShrinkMembers = 64;  // member arrays this large halve when a quarter full

// A per-hub seed for the channel index: the epoch base and where the hub lives (ASLR).
uint64_t table_seed(const Hub* hub, uint64_t epoch_base) noexcept {
    return epoch_base ^ (reinterpret_cast<uintptr_t>(hub) * 0x9e3779b97f4a7c15ULL);
}

}  // namespace

Hub::Hub(const HubLimits& limits) noexcept
    : limits_(limits), history_(limits.history, limits.history_bytes), table_(table_seed(this, limits.epoch_base)) {}

Hub::~Hub() {
    table_.for_each([this](Channel& ch) {
        history_.drop(ch);
        mem_free(ch.members);
        ch.~Channel();
        mem_free(&ch);
    });
}

void Hub::epochs_above(uint64_t max_epoch) noexcept {
    // Keep the random start id in the high half unless it is not above the journal's; past
    // the highest start id, number on from the journal's highest epoch (no wrap to 0).
    if (limits_.epoch_base + created_ >= max_epoch) return;
    limits_.epoch_base = (max_epoch >> 32) < UINT32_MAX ? ((max_epoch >> 32) + 1) << 32 : max_epoch - created_;
}

Channel* Hub::restore(std::string_view name, uint64_t epoch, uint64_t first_seq) noexcept {
    if (table_.find(name) != nullptr) return nullptr;
    Channel* ch = channel(name);
    if (ch == nullptr) return nullptr;
    if (epoch != 0) ch->epoch = epoch;
    ch->next_seq = first_seq;
    return ch;
}

bool Hub::restore_message(Channel& ch, ws::Opcode op, const void* p, size_t n) noexcept {
    assert(ch.member_count == 0);  // nobody to deliver to: publish() without its loop
    Publication* pub = begin_publish(ch, op, p, n);
    if (pub == nullptr) return fail_publish(ch).ok;
    return end_publish(ch, pub).ok;
}

void Hub::renumber(Channel& ch, uint64_t epoch, uint64_t next_seq) noexcept {
    assert(publishing_ == nullptr);
    history_.drop(ch);
    ch.epoch = epoch;
    ch.next_seq = next_seq;
}

void Hub::forget_if_idle(Channel& ch) noexcept {
    if (!ch.idle()) return;
    if (publishing_ != nullptr || ch.pending) defer(ch);  // forgotten at the next safe point
    else forget(ch);
}

Channel* Hub::channel(std::string_view name) noexcept {
    assert(valid_name(name));
    if (Channel* ch = table_.find(name)) return ch;
    if (at_channel_limit()) return nullptr;
    void* mem = mem_alloc(sizeof(Channel));
    if (mem == nullptr) return nullptr;
    auto* ch = new (mem) Channel;
    memcpy(ch->name_buf, name.data(), name.size());
    ch->name_len = static_cast<uint8_t>(name.size());
    ch->hash = table_.hash(name);
    if (!table_.insert(ch)) {
        mem_free(mem);
        return nullptr;
    }
    ch->epoch = limits_.epoch_base + ++created_;
    return ch;
}

Channel* Hub::find(std::string_view name) const noexcept { return table_.find(name); }

bool Hub::join(Channel& ch, Subscription& s) noexcept {
    assert(s.channel == nullptr);
    if (ch.member_count == ch.member_cap) {
        uint64_t cap = ch.member_cap ? uint64_t{ch.member_cap} * 2 : kMinMembers;
        if (cap > UINT32_MAX) return false;
        void* grown = mem_resize(ch.members, cap * sizeof(Subscription*));
        if (grown == nullptr) return false;
        ch.members = static_cast<Subscription**>(grown);
        ch.member_cap = static_cast<uint32_t>(cap);
    }
    s.channel = &ch;
    s.index = ch.member_count;
    ch.members[ch.member_count++] = &s;
    return true;
}

void Hub::leave(Subscription& s) noexcept {
    Channel* ch = s.channel;
    if (ch == nullptr) return;
    Subscription* last = ch->members[ch->member_count - 1];
    ch->members[s.index] = last;
    last->index = s.index;
    --ch->member_count;
    s.channel = nullptr;
    if (ch->member_count == 0) {
        // An idle channel keeps only its history (for resume), not its member array.
        mem_free(ch->members);
        ch->members = nullptr;
        ch->member_cap = 0;
    } else if (ch->member_cap >= kShrinkMembers && ch->member_count <= ch->member_cap / 4) {
        void* smaller = mem_resize(ch->members, size_t{ch->member_cap / 2} * sizeof(Subscription*));
        if (smaller) {  // out of memory: keep the larger array
            ch->members = static_cast<Subscription**>(smaller);
            ch->member_cap /= 2;
        }
    }
    if (ch->idle()) defer(*ch);  // nobody in it and nothing kept: forget it now
    forget_pending();
}

Publication* Hub::begin_publish(Channel& ch, ws::Opcode op, const void* p, size_t n) noexcept {
    if (!history_.reserve(ch)) return nullptr;
    Message* raw = Message::make(op, p, n);
    if (raw == nullptr) return nullptr;
    Publication* pub = History::make(ch, ch.next_seq, raw);
    if (pub == nullptr) {
        raw->unref();
        return nullptr;
    }
    ++ch.next_seq;
    return pub;
}

PublishResult Hub::end_publish(Channel& ch, Publication* pub) noexcept {
    const uint64_t seq = pub->seq();
    if (!history_.keep(ch, pub)) History::destroy(pub);  // delivered; not kept
    settle();
    if (ch.idle()) defer(ch);
    forget_pending();
    return {true, seq};
}

PublishResult Hub::fail_publish(Channel& ch) noexcept {
    if (ch.idle()) defer(ch);  // a channel created for this publication goes again
    forget_pending();
    return {};
}

void Hub::settle() noexcept {
    while (history_.over_budget()) {
        Channel& c = history_.evict_oldest();
        if (c.idle()) defer(c);
    }
}

bool Hub::covers(const Channel& ch, const Since& since) const noexcept {
    if (since.has_epoch && since.epoch != ch.epoch) return false;
    return since.seq < ch.next_seq && since.seq + 1 >= ch.first_kept();
}

Message* Hub::gap_notice(const Channel& ch, uint64_t since) const noexcept {
    return make_gap_notice(ch.name(), ch.epoch, since, ch.first_kept());
}

void Hub::defer(Channel& ch) noexcept {
    if (ch.pending) return;
    ch.pending = true;
    ch.next_pending = pending_;
    pending_ = &ch;
}

void Hub::forget_pending() noexcept {
    Channel* stay = nullptr;
    while (pending_) {
        Channel* ch = pending_;
        pending_ = ch->next_pending;
        if (ch == publishing_) {  // its publish() looks at it when the loop is done
            ch->next_pending = stay;
            stay = ch;
            continue;
        }
        ch->pending = false;
        ch->next_pending = nullptr;
        if (ch->idle()) forget(*ch);
    }
    pending_ = stay;
}

void Hub::forget(Channel& ch) noexcept {
    assert(ch.idle() && !ch.pending);
    if (forget_hook_) forget_hook_(forget_ctx_, ch);
    table_.erase(&ch);
    history_.drop(ch);  // frees a ring reserved for a publication that failed
    mem_free(ch.members);
    ch.~Channel();
    mem_free(&ch);
}

}  // namespace wspush::push
