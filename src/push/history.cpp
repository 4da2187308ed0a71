#include "push/history.h"

#include <cassert>
#include <new>

#include "push/alloc.h"
#include "push/envelope.h"

namespace wspush::push {
namespace {

constexpr uint32_t kMinRing = 4;
constexpr uint32_t kShrinkRing = 16;  // rings this large shrink when a quarter full

}  // namespace

Publication::~Publication() {
    raw_->unref();
    if (envelope_) envelope_->unref();
}

size_t Publication::cost() const noexcept {
    return sizeof(Publication) + sizeof(Publication*) + raw_->cost() + (envelope_ ? envelope_->cost() : 0);
}

Message* Publication::envelope() noexcept {
    if (envelope_) return envelope_;
    envelope_ = make_envelope(channel_->name(), channel_->epoch, seq_, *raw_);
    if (envelope_ && history_) {
        // Charged at once; the Hub evicts for it after the loop that asked for it.
        charged_ += envelope_->cost();
        history_->bytes_ += envelope_->cost();
    }
    return envelope_;
}

History::~History() { assert(oldest_ == nullptr && bytes_ == 0); }

Publication* History::make(Channel& ch, uint64_t seq, Message* raw) noexcept {
    void* p = mem_alloc(sizeof(Publication));
    return p ? new (p) Publication(&ch, seq, raw) : nullptr;
}

void History::destroy(Publication* pub) noexcept {
    pub->~Publication();
    mem_free(pub);
}

bool History::resize_ring(Channel& ch, uint32_t cap) noexcept {
    assert(cap >= ch.ring_count);
    Publication** ring = nullptr;
    if (cap) {
        ring = static_cast<Publication**>(mem_alloc(size_t{cap} * sizeof(Publication*)));
        if (ring == nullptr) return false;
        for (uint32_t i = 0; i < ch.ring_count; ++i) ring[i] = ch.kept(i);
    }
    mem_free(ch.ring);
    ch.ring = ring;
    ch.ring_cap = cap;
    ch.ring_head = 0;
    return true;
}

bool History::reserve(Channel& ch) noexcept {
    if (!keeps_any() || ch.ring_count < ch.ring_cap || ch.ring_count >= per_channel_) return true;
    uint64_t cap = ch.ring_cap ? uint64_t{ch.ring_cap} * 2 : kMinRing;
    return resize_ring(ch, static_cast<uint32_t>(cap < per_channel_ ? cap : per_channel_));
}

bool History::keep(Channel& ch, Publication* pub) noexcept {
    assert(pub->channel_ == &ch && pub->seq_ == ch.next_seq - 1);
    const size_t cost = pub->cost();
    if (!keeps_any() || cost > budget_) {
        // Keeping older ones without this one would hand a resuming client a hole.
        evicted_ += ch.ring_count;
        drop(ch);
        return false;
    }
    if (ch.ring_count == per_channel_) pop_oldest_of(ch);  // the count's turnover
    assert(ch.ring_count < ch.ring_cap);
    uint32_t at = ch.ring_head + ch.ring_count;
    ch.ring[at >= ch.ring_cap ? at - ch.ring_cap : at] = pub;
    ++ch.ring_count;
    pub->history_ = this;
    pub->charged_ = cost;
    bytes_ += cost;
    pub->older_ = newest_;
    if (newest_) newest_->newer_ = pub;
    else oldest_ = pub;
    newest_ = pub;
    return true;
}

void History::pop_oldest_of(Channel& ch) noexcept {
    Publication* pub = ch.ring[ch.ring_head];
    ch.ring_head = ch.ring_head + 1 == ch.ring_cap ? 0 : ch.ring_head + 1;
    --ch.ring_count;
    // Unlinked in O(1) wherever it is in the publish order.
    if (pub->older_) pub->older_->newer_ = pub->newer_;
    else oldest_ = pub->newer_;
    if (pub->newer_) pub->newer_->older_ = pub->older_;
    else newest_ = pub->older_;
    bytes_ -= pub->charged_;
    destroy(pub);
}

Channel& History::evict_oldest() noexcept {
    assert(oldest_ != nullptr);
    Channel& ch = *oldest_->channel_;
    assert(ch.kept(0) == oldest_);  // the oldest of all is the oldest of its channel
    pop_oldest_of(ch);
    ++evicted_;
    if (ch.ring_count == 0) (void)resize_ring(ch, 0);
    else if (ch.ring_cap >= kShrinkRing && ch.ring_count <= ch.ring_cap / 4)
        (void)resize_ring(ch, ch.ring_count * 2);  // out of memory: keep the larger ring
    return ch;
}

void History::drop(Channel& ch) noexcept {
    while (ch.ring_count) pop_oldest_of(ch);
    (void)resize_ring(ch, 0);
}

}  // namespace wspush::push
