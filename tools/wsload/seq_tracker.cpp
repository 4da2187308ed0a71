#include "wsload/seq_tracker.h"

namespace wspush::wsload {

void SeqTracker::record(uint64_t seq) {
    if (seq < first_ || seq > limit_) {
        ++unexpected_;
        return;
    }
    ++received_;
    if (seq == next_) {
        ++next_;
    } else if (seq > next_) {
        // Skipped next_ .. seq-1: each is missing unless it shows up later (reordered).
        for (uint64_t s = next_; s < seq; ++s) holes_.insert(holes_.end(), s);
        next_ = seq + 1;
    } else if (holes_.erase(seq) != 0) {
        ++reordered_;
    } else {
        ++duplicated_;
    }
}

bool SeqTracker::has(uint64_t seq) const {
    return seq >= first_ && seq < next_ && holes_.count(seq) == 0;
}

SeqCounts SeqTracker::counts(uint64_t last) const {
    SeqCounts c;
    c.received = received_;
    c.duplicated = duplicated_;
    c.reordered = reordered_;
    c.unexpected = unexpected_;
    // Holes at or below `last`, plus everything in (highest, last] that never came.
    for (const uint64_t h : holes_) {
        if (h > last) break;
        ++c.missing;
    }
    if (last + 1 > next_) c.missing += last + 1 - next_;
    return c;
}

}  // namespace wspush::wsload
