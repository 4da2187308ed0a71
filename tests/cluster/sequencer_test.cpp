// The parent's numbering: seq per channel from 1 in the channel's epoch; a new epoch per
// creation, above any floor; a channel forgotten only when every worker reported it idle at
// its last publication; stale reports ignored; the channel count bounded.
#include "cluster/sequencer.h"

#include <gtest/gtest.h>

#include <string>

namespace wspush::cluster {
namespace {

constexpr uint64_t kBase = uint64_t{0x9e3779b9} << 32;

SequencerLimits limits(uint32_t workers, size_t max_channels = 100) {
    return SequencerLimits{.workers = workers, .max_channels = max_channels, .epoch_base = kBase, .hash_seed = 7};
}

Number next(Sequencer& s, std::string_view channel) {
    Number n;
    EXPECT_TRUE(s.next(channel, n)) << channel;
    return n;
}

TEST(ClusterSequencer, NumbersEachChannelFromOneInItsEpoch) {
    Sequencer s(limits(2));
    EXPECT_EQ(s.next_epoch(), kBase + 1);
    Number a1 = next(s, "a");
    Number a2 = next(s, "a");
    Number b1 = next(s, "b");
    Number a3 = next(s, "a");
    EXPECT_EQ(a1.epoch, kBase + 1);
    EXPECT_EQ(a1.seq, 1u);
    EXPECT_EQ(a2.epoch, kBase + 1);
    EXPECT_EQ(a2.seq, 2u);
    EXPECT_EQ(b1.epoch, kBase + 2);
    EXPECT_EQ(b1.seq, 1u);
    EXPECT_EQ(a3.seq, 3u);
    EXPECT_EQ(s.channels(), 2u);
    Number last;
    ASSERT_TRUE(s.last("a", last));
    EXPECT_EQ(last.seq, 3u);
    EXPECT_FALSE(s.last("c", last));
}

TEST(ClusterSequencer, EpochsStayAboveTheFloor) {
    Sequencer s(limits(1));
    s.epochs_above(kBase + 100);
    EXPECT_EQ(next(s, "a").epoch, kBase + 101);
    s.epochs_above(kBase + 5);  // lower: no effect
    EXPECT_EQ(next(s, "b").epoch, kBase + 102);
    s.epochs_above(kBase + 102);  // equal to the last given: the next is still above it
    EXPECT_EQ(next(s, "c").epoch, kBase + 103);
}

TEST(ClusterSequencer, ForgottenOnlyWhenEveryWorkerIsIdle) {
    Sequencer s(limits(3));
    const Number n = next(s, "news");
    EXPECT_FALSE(s.idle(0, "news", n.epoch, n.seq));
    EXPECT_FALSE(s.idle(2, "news", n.epoch, n.seq));
    EXPECT_FALSE(s.idle(2, "news", n.epoch, n.seq));  // twice from one worker counts once
    EXPECT_EQ(s.channels(), 1u);
    EXPECT_TRUE(s.idle(1, "news", n.epoch, n.seq));
    EXPECT_EQ(s.channels(), 0u);
    // Made again: a new epoch, seq from 1, so an old cursor cannot match.
    const Number again = next(s, "news");
    EXPECT_EQ(again.epoch, n.epoch + 1);
    EXPECT_EQ(again.seq, 1u);
}

TEST(ClusterSequencer, AStaleIdleReportChangesNothing) {
    Sequencer s(limits(2));
    const Number first = next(s, "news");
    const Number second = next(s, "news");
    // Both workers went idle after the first, before the second reached them.
    EXPECT_FALSE(s.idle(0, "news", first.epoch, first.seq));
    EXPECT_FALSE(s.idle(1, "news", first.epoch, first.seq));
    EXPECT_EQ(s.channels(), 1u);
    EXPECT_FALSE(s.idle(1, "news", second.epoch + 1, second.seq));  // another epoch
    EXPECT_FALSE(s.idle(1, "other", second.epoch, second.seq));     // unknown channel
    EXPECT_FALSE(s.idle(2, "news", second.epoch, second.seq));      // no such worker
    EXPECT_FALSE(s.idle(0, "news", second.epoch, second.seq));
    EXPECT_TRUE(s.idle(1, "news", second.epoch, second.seq));
}

TEST(ClusterSequencer, APublicationMakesEveryWorkerHoldAgain) {
    Sequencer s(limits(2));
    const Number first = next(s, "news");
    EXPECT_FALSE(s.idle(0, "news", first.epoch, first.seq));
    const Number second = next(s, "news");
    EXPECT_FALSE(s.idle(1, "news", second.epoch, second.seq));
    EXPECT_EQ(s.channels(), 1u);  // worker 0 holds it again since the second
    EXPECT_TRUE(s.idle(0, "news", second.epoch, second.seq));
}

TEST(ClusterSequencer, ChannelCountIsBounded) {
    Sequencer s(limits(1, 2));
    const Number a = next(s, "a");
    next(s, "b");
    Number n;
    EXPECT_FALSE(s.next("c", n));
    EXPECT_EQ(s.next_epoch(), kBase + 3);  // a refusal takes no epoch
    next(s, "a");                          // a known one is still numbered
    const Number a2{.epoch = a.epoch, .seq = 2};
    EXPECT_TRUE(s.idle(0, "a", a2.epoch, a2.seq));
    EXPECT_EQ(next(s, "c").epoch, kBase + 3);
}

TEST(ClusterSequencer, RefusesNamesOutOfRange) {
    Sequencer s(limits(1));
    Number n;
    EXPECT_FALSE(s.next("", n));
    EXPECT_FALSE(s.next(std::string(push::kMaxNameLength + 1, 'c'), n));
    EXPECT_TRUE(s.next(std::string(push::kMaxNameLength, 'c'), n));
}

TEST(ClusterSequencer, AGoneWorkerHoldsNothing) {
    Sequencer s(limits(2));
    const Number a = next(s, "a");
    next(s, "b");
    next(s, "c");
    EXPECT_FALSE(s.idle(1, "a", a.epoch, a.seq));
    // Worker 1 still held b and c; worker 0 held all three.
    EXPECT_EQ(s.worker_gone(1), 0u);
    EXPECT_EQ(s.worker_gone(0), 3u);
    EXPECT_EQ(s.channels(), 0u);
    EXPECT_EQ(s.worker_gone(5), 0u);
}

TEST(ClusterSequencer, AWorkerGivenHistoryHoldsTheChannel) {
    Sequencer s(limits(2));
    const Number n = next(s, "news");
    EXPECT_EQ(s.worker_gone(1), 0u);  // restarted: worker 0 still holds news
    EXPECT_FALSE(s.hold(1, "news", n.epoch + 1));  // another epoch
    EXPECT_FALSE(s.hold(1, "other", n.epoch));     // unknown
    EXPECT_FALSE(s.hold(2, "news", n.epoch));      // no such worker
    EXPECT_TRUE(s.hold(1, "news", n.epoch));       // the history it was handed
    EXPECT_FALSE(s.idle(0, "news", n.epoch, n.seq));
    EXPECT_EQ(s.channels(), 1u) << "worker 1 keeps it now";
    EXPECT_TRUE(s.idle(1, "news", n.epoch, n.seq));
}

TEST(ClusterSequencer, SixtyFourWorkers) {
    Sequencer s(limits(kMaxWorkers));
    const Number n = next(s, "news");
    for (uint32_t w = 0; w + 1 < kMaxWorkers; ++w) EXPECT_FALSE(s.idle(w, "news", n.epoch, n.seq)) << w;
    EXPECT_TRUE(s.idle(kMaxWorkers - 1, "news", n.epoch, n.seq));
}

TEST(ClusterSequencer, ManyChannelsComeAndGo) {
    constexpr size_t kCount = 5000;
    Sequencer s(limits(2, kCount));
    for (int round = 0; round < 2; ++round) {
        for (size_t i = 0; i < kCount; ++i) next(s, "ch" + std::to_string(i));
        EXPECT_EQ(s.channels(), kCount);
        for (size_t i = 0; i < kCount; i += 2) EXPECT_EQ(next(s, "ch" + std::to_string(i)).seq, 2u);
        EXPECT_EQ(s.worker_gone(0), 0u);
        for (size_t i = 0; i < kCount; ++i) {
            Number last;
            ASSERT_TRUE(s.last("ch" + std::to_string(i), last));
            ASSERT_TRUE(s.idle(1, "ch" + std::to_string(i), last.epoch, last.seq));
        }
        EXPECT_EQ(s.channels(), 0u);
    }
    EXPECT_EQ(s.next_epoch(), kBase + 2 * kCount + 1);
}

}  // namespace
}  // namespace wspush::cluster
