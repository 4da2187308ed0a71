// Per-subscriber check of a channel's sequence numbers: every seq in [first, last] must
// arrive exactly once and in increasing order.
#pragma once
#include <cstdint>
#include <set>

namespace wspush::wsload {

struct SeqCounts {
    uint64_t received = 0;    // in-range arrivals, duplicates included
    uint64_t missing = 0;     // seqs in [first, last] that never arrived
    uint64_t duplicated = 0;  // arrivals of a seq that had already arrived
    uint64_t reordered = 0;   // first arrivals of a seq after a higher seq had arrived
    uint64_t unexpected = 0;  // arrivals outside [first, limit]
};

// Keeps the next expected seq plus the set of skipped ("hole") seqs, so an in-order stream
// costs no memory; a hole that fills later is a reordering, any other repeat a duplicate.
// Seqs above `limit` are not tracked (they count as unexpected), which bounds the hole set.
class SeqTracker {
public:
    SeqTracker(uint64_t first, uint64_t limit) noexcept : first_(first), limit_(limit), next_(first) {}

    // Records one arrival.
    void record(uint64_t seq);
    // Whether seq has arrived (at least once).
    [[nodiscard]] bool has(uint64_t seq) const;
    // Highest seq that has arrived, or first - 1 when none has.
    [[nodiscard]] uint64_t highest() const noexcept { return next_ - 1; }
    // Counts as of now, taking [first, last] as the seqs that should have arrived
    // (last <= limit; last == first - 1 means none was expected).
    [[nodiscard]] SeqCounts counts(uint64_t last) const;

private:
    uint64_t first_;
    uint64_t limit_;
    uint64_t next_;  // one past the highest seq seen
    uint64_t received_ = 0;
    uint64_t duplicated_ = 0;
    uint64_t reordered_ = 0;
    uint64_t unexpected_ = 0;
    std::set<uint64_t> holes_;  // seqs < next_ not (yet) seen
};

}  // namespace wspush::wsload
