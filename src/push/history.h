// What is kept for resume: each channel's last publications (a ring in the Channel,
// bounded by a per-channel count), under one byte budget for all channels together.
//
// | limit        | what it bounds                 | when it is reached                   |
// | ------------ | ------------------------------ | ------------------------------------ |
// | per_channel  | publications kept per channel  | the channel's oldest is dropped      |
// | budget       | bytes charged, all channels    | the oldest publication of all goes   |
// |              |                                | first (counted in evicted())         |
//
// Kept publications are on one intrusive list in publish order, so the oldest of all is
// found in O(1), and one dropped by its channel's count (from the middle of that list) is
// unlinked in O(1). A channel's ring grows as used (nothing is allocated up front:
// a per-channel count of 1000000 costs nothing until publications come) and is freed
// when its last publication goes.
//
// A publication is charged cost(): its raw frame's cost(), its envelope's once built, its
// struct and its ring slot. Budget evictions happen only where the Hub calls evict_oldest()
// (after a delivery or replay loop, never during one); an envelope built meanwhile is
// charged at once, so usage may exceed the budget until then.
#pragma once
#include <cstddef>
#include <cstdint>

#include "push/channel.h"
#include "push/message.h"

namespace wspush::push {

class History;

// One message published to a channel: its seq, and its frame in each encoding, each built
// on first use and then shared by every recipient.
class Publication {
public:
    Publication(const Publication&) = delete;
    Publication& operator=(const Publication&) = delete;

    [[nodiscard]] uint64_t seq() const noexcept { return seq_; }
    // The payload as published (a text or binary frame).
    [[nodiscard]] Message* raw() const noexcept { return raw_; }
    // The wspush.v1 JSON envelope of it, built on first call and then the same message for
    // every caller (charged to the history budget if the publication is kept). nullptr
    // when out of memory (a later call tries again).
    [[nodiscard]] Message* envelope() noexcept;
    [[nodiscard]] const Channel& channel() const noexcept { return *channel_; }
    // The bytes it is charged while kept (see the header comment).
    [[nodiscard]] size_t cost() const noexcept;

private:
    friend class History;
    Publication(Channel* ch, uint64_t seq, Message* raw) noexcept : channel_(ch), seq_(seq), raw_(raw) {}
    ~Publication();

    Channel* channel_;
    History* history_ = nullptr;  // set while kept: envelope() charges it
    Publication* older_ = nullptr;  // publish order of everything kept
    Publication* newer_ = nullptr;
    uint64_t seq_;
    Message* raw_;
    Message* envelope_ = nullptr;
    size_t charged_ = 0;  // what bytes_ holds for it while kept
};

class History {
public:
    // per_channel: publications kept per channel; budget: bytes for all of them. Either 0:
    // nothing is kept.
    History(uint32_t per_channel, uint64_t budget) noexcept : per_channel_(per_channel), budget_(budget) {}
    // Every channel must have been drop()ped.
    ~History();
    History(const History&) = delete;
    History& operator=(const History&) = delete;

    // A publication of `raw` (whose reference it takes) as seq of ch, not kept yet.
    // nullptr when out of memory (the reference is then still the caller's).
    [[nodiscard]] static Publication* make(Channel& ch, uint64_t seq, Message* raw) noexcept;
    // Frees a publication that is not kept.
    static void destroy(Publication* pub) noexcept;

    [[nodiscard]] bool keeps_any() const noexcept { return per_channel_ != 0 && budget_ != 0; }
    // Makes room in ch's ring for keep() (grows it if full and under the count). False
    // when out of memory.
    [[nodiscard]] bool reserve(Channel& ch) noexcept;
    // Keeps pub (made for ch, its seq next after the kept ones, after reserve()) as ch's
    // newest, dropping ch's oldest if at the count, and charges it. Returns false and
    // keeps nothing more of ch when pub alone costs more than the budget, or nothing is
    // kept at all: ch's kept publications are then dropped too (what is kept is always
    // consecutive), and pub stays the caller's to destroy().
    [[nodiscard]] bool keep(Channel& ch, Publication* pub) noexcept;

    [[nodiscard]] bool over_budget() const noexcept { return bytes_ > budget_; }
    // Drops the oldest kept publication of all (some must be kept); returns its channel.
    Channel& evict_oldest() noexcept;
    // Drops all of ch's kept publications (not counted as evicted).
    void drop(Channel& ch) noexcept;

    // Bytes charged now; publications dropped by the byte budget so far.
    [[nodiscard]] uint64_t bytes() const noexcept { return bytes_; }
    [[nodiscard]] uint64_t evicted() const noexcept { return evicted_; }
    [[nodiscard]] uint64_t budget() const noexcept { return budget_; }
    [[nodiscard]] uint32_t per_channel() const noexcept { return per_channel_; }

private:
    friend class Publication;
    void pop_oldest_of(Channel& ch) noexcept;
    [[nodiscard]] bool resize_ring(Channel& ch, uint32_t cap) noexcept;

    uint32_t per_channel_;
    uint64_t budget_;
    uint64_t bytes_ = 0;
    uint64_t evicted_ = 0;
    Publication* oldest_ = nullptr;
    Publication* newest_ = nullptr;
};

}  // namespace wspush::push
