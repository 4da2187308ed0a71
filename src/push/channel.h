// A channel's data (name, epoch, numbering, members, kept history) and the index of
// channels by name. Plain data: the Hub changes members, History changes the ring;
// everyone may read. Nothing here allocates through operator new, so out-of-memory is
// a return value (push/alloc.h).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "push/name_index.h"

#include "push/names.h"

namespace wspush::push {

struct Channel;
class Publication;

// A connection's membership of one channel. Lives inside the connection (stable address);
// the channel's member array points at it, so leaving is O(1) (swap-remove).
struct Subscription {
    Channel* channel = nullptr;
    uint32_t index = 0;  // position in channel->members
    uint32_t owner = 0;  // the server's handle for the connection (its fd)
};

struct Channel {
    uint64_t epoch = 0;     // fixed at creation; differs for every creation in a process
    uint64_t next_seq = 1;  // seq of the next publication; only grows
    uint64_t hash = 0;      // of the name, for the index

    // Members, in no particular order (swap-remove). Freed when the last one leaves.
    Subscription** members = nullptr;
    uint32_t member_count = 0;
    uint32_t member_cap = 0;

    // The kept publications, oldest at ring[ring_head]; always the consecutive seqs
    // first_kept()..next_seq-1. The ring grows as used up to the per-channel count and is
    // freed when emptied (History owns it).
    Publication** ring = nullptr;
    uint32_t ring_cap = 0;
    uint32_t ring_head = 0;
    uint32_t ring_count = 0;

    bool pending = false;            // on the hub's list of channels to look at again
    Channel* next_pending = nullptr;
    uint8_t name_len = 0;
    char name_buf[kMaxNameLength];

    [[nodiscard]] std::string_view name() const noexcept { return {name_buf, name_len}; }
    // Oldest seq still kept (next_seq when nothing is kept).
    [[nodiscard]] uint64_t first_kept() const noexcept { return next_seq - ring_count; }
    // The i-th kept publication, oldest first (i < ring_count).
    [[nodiscard]] Publication* kept(uint32_t i) const noexcept {
        uint32_t at = ring_head + i;
        return ring[at >= ring_cap ? at - ring_cap : at];
    }
    // No members and nothing kept: nothing would be lost by forgetting it.
    [[nodiscard]] bool idle() const noexcept { return member_count == 0 && ring_count == 0; }
};

// Channels by name (push/name_index.h): keyed with a per-table seed.
using ChannelTable = NameIndex<Channel>;

}  // namespace wspush::push
