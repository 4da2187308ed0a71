#include "wsload/seq_tracker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <ostream>
#include <random>
#include <set>
#include <vector>

namespace wspush::wsload {
namespace {

struct SeqCase {
    const char* name;
    uint64_t first;
    uint64_t last;
    std::vector<uint64_t> arrivals;
    SeqCounts want;
};

std::ostream& operator<<(std::ostream& os, const SeqCase& c) { return os << c.name; }

class WsloadSeqTracker : public ::testing::TestWithParam<SeqCase> {};

TEST_P(WsloadSeqTracker, Counts) {
    const SeqCase& c = GetParam();
    SeqTracker t(c.first, c.last);
    for (uint64_t s : c.arrivals) t.record(s);
    const SeqCounts got = t.counts(c.last);
    EXPECT_EQ(got.received, c.want.received);
    EXPECT_EQ(got.missing, c.want.missing);
    EXPECT_EQ(got.duplicated, c.want.duplicated);
    EXPECT_EQ(got.reordered, c.want.reordered);
    EXPECT_EQ(got.unexpected, c.want.unexpected);
}

// SeqCounts fields: received, missing, duplicated, reordered, unexpected.
INSTANTIATE_TEST_SUITE_P(
    Crafted, WsloadSeqTracker,
    ::testing::Values(
        SeqCase{"InOrder", 1, 5, {1, 2, 3, 4, 5}, {5, 0, 0, 0, 0}},
        SeqCase{"NothingArrived", 1, 3, {}, {0, 3, 0, 0, 0}},
        SeqCase{"GapInTheMiddle", 1, 5, {1, 2, 4, 5}, {4, 1, 0, 0, 0}},
        SeqCase{"TailNeverCame", 1, 5, {1, 2, 3}, {3, 2, 0, 0, 0}},
        SeqCase{"HeadNeverCame", 1, 5, {3, 4, 5}, {3, 2, 0, 0, 0}},
        SeqCase{"Duplicate", 1, 3, {1, 2, 2, 3}, {4, 0, 1, 0, 0}},
        SeqCase{"DuplicateOfLast", 1, 3, {1, 2, 3, 3, 3}, {5, 0, 2, 0, 0}},
        SeqCase{"Swapped", 1, 4, {1, 3, 2, 4}, {4, 0, 0, 1, 0}},
        SeqCase{"LateAndRepeated", 1, 3, {1, 3, 2, 2}, {4, 0, 1, 1, 0}},
        SeqCase{"Reversed", 1, 4, {4, 3, 2, 1}, {4, 0, 0, 3, 0}},
        SeqCase{"ReorderedAndMissing", 1, 6, {1, 4, 2, 6}, {4, 2, 0, 1, 0}},
        SeqCase{"OutOfRange", 1, 5, {0, 1, 2, 3, 4, 5, 6}, {5, 0, 0, 0, 2}},
        SeqCase{"OtherBase", 10, 13, {10, 11, 13}, {3, 1, 0, 0, 0}},
        SeqCase{"OtherBaseBelowFirst", 10, 12, {9, 10, 11, 12}, {3, 0, 0, 0, 1}}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(WsloadSeqTrackerState, HighestAndHas) {
    SeqTracker t(1, 10);
    EXPECT_EQ(t.highest(), 0u);
    t.record(1);
    t.record(4);
    EXPECT_EQ(t.highest(), 4u);
    EXPECT_TRUE(t.has(1));
    EXPECT_FALSE(t.has(2));
    EXPECT_FALSE(t.has(3));
    EXPECT_TRUE(t.has(4));
    EXPECT_FALSE(t.has(5));
    t.record(3);
    EXPECT_TRUE(t.has(3));
    EXPECT_EQ(t.highest(), 4u);
}

TEST(WsloadSeqTrackerState, CountsAgainstAnEarlierLast) {
    // Only [first, last] should have arrived: seqs above last are not missing.
    SeqTracker t(1, 100);
    for (uint64_t s : {1, 2, 4}) t.record(s);
    EXPECT_EQ(t.counts(2).missing, 0u);
    EXPECT_EQ(t.counts(4).missing, 1u);
    EXPECT_EQ(t.counts(6).missing, 3u);
}

// Reference model: from the whole arrival list, by definition.
SeqCounts reference(uint64_t first, uint64_t last, const std::vector<uint64_t>& arrivals) {
    SeqCounts c;
    std::set<uint64_t> seen;
    uint64_t highest = 0;
    for (uint64_t s : arrivals) {
        if (s < first || s > last) {
            ++c.unexpected;
            continue;
        }
        ++c.received;
        if (!seen.insert(s).second) {
            ++c.duplicated;
        } else if (s < highest) {
            ++c.reordered;
        }
        highest = std::max(highest, s);
    }
    for (uint64_t s = first; s <= last; ++s) c.missing += seen.count(s) == 0 ? 1 : 0;
    return c;
}

TEST(WsloadSeqTrackerState, MatchesTheReferenceOnRandomStreams) {
    std::mt19937_64 rng(12345);
    for (int round = 0; round < 500; ++round) {
        const uint64_t first = 1 + rng() % 5;
        const uint64_t last = first + rng() % 40;
        std::vector<uint64_t> arrivals;
        for (uint64_t s = first; s <= last; ++s) {
            const unsigned roll = static_cast<unsigned>(rng() % 10);
            if (roll == 0) continue;                       // lost
            arrivals.push_back(s);
            if (roll == 1) arrivals.push_back(s);          // duplicated
            if (roll == 2) arrivals.push_back(last + 1);   // out of range
        }
        // Swap a few neighbours to reorder.
        for (size_t i = 1; i < arrivals.size(); ++i) {
            if (rng() % 6 == 0) std::swap(arrivals[i - 1], arrivals[i]);
        }
        SeqTracker t(first, last);
        for (uint64_t s : arrivals) t.record(s);
        const SeqCounts got = t.counts(last);
        const SeqCounts want = reference(first, last, arrivals);
        ASSERT_EQ(got.received, want.received) << "round " << round;
        ASSERT_EQ(got.missing, want.missing) << "round " << round;
        ASSERT_EQ(got.duplicated, want.duplicated) << "round " << round;
        ASSERT_EQ(got.reordered, want.reordered) << "round " << round;
        ASSERT_EQ(got.unexpected, want.unexpected) << "round " << round;
    }
}

}  // namespace
}  // namespace wspush::wsload
