// History: rings that grow as used, the per-channel count, one byte budget across
// channels with oldest-first eviction, what a publication is charged.
#include "push/history.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "push/alloc_hook.h"
#include "push/test_util.h"

namespace wspush::push {
namespace {

using testing::AllocHook;

class HistoryTest : public testing::LeakCheckedTest {
protected:
    // Publishes `bytes` bytes as ch's next seq and keeps it if the history takes it, the
    // way the Hub does (reserve, make, keep). Returns whether it is kept.
    static bool add(History& h, Channel& ch, size_t bytes) {
        EXPECT_TRUE(h.reserve(ch));
        std::string data(bytes, 'd');
        Message* raw = Message::make(ws::Opcode::kText, data.data(), data.size());
        Publication* pub = History::make(ch, ch.next_seq++, raw);
        if (h.keep(ch, pub)) return true;
        History::destroy(pub);
        return false;
    }
    // The kept seqs of ch, oldest first.
    static std::vector<uint64_t> seqs(const Channel& ch) {
        std::vector<uint64_t> out;
        for (uint32_t i = 0; i < ch.ring_count; ++i) out.push_back(ch.kept(i)->seq());
        return out;
    }
    static uint64_t charged(const Channel& ch) {
        uint64_t sum = 0;
        for (uint32_t i = 0; i < ch.ring_count; ++i) sum += ch.kept(i)->cost();
        return sum;
    }
};

// A count of 1000000 costs nothing until publications come, then grows by doubling.
TEST_F(HistoryTest, RingGrowsAsUsed) {
    History h(1'000'000, 1 << 30);
    Channel ch;
    EXPECT_EQ(ch.ring_cap, 0u);
    AllocHook count(false);
    ASSERT_TRUE(add(h, ch, 1));
    EXPECT_EQ(ch.ring_cap, 4u);
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(add(h, ch, 1));
    EXPECT_EQ(ch.ring_cap, 8u);
    EXPECT_LT(count.bytes(), 2048u) << "5 tiny publications, not 8 MB of ring";
    EXPECT_EQ(seqs(ch), (std::vector<uint64_t>{1, 2, 3, 4, 5}));
    h.drop(ch);
    EXPECT_EQ(ch.ring, nullptr);
    EXPECT_EQ(h.bytes(), 0u);
}

TEST_F(HistoryTest, CountKeepsTheLastNAndStopsGrowingThere) {
    History h(5, 1 << 30);
    Channel ch;
    for (int i = 0; i < 12; ++i) ASSERT_TRUE(add(h, ch, 3));
    EXPECT_EQ(seqs(ch), (std::vector<uint64_t>{8, 9, 10, 11, 12}));
    EXPECT_EQ(ch.ring_cap, 5u) << "4, then 8 capped at the count";
    EXPECT_EQ(ch.first_kept(), 8u);
    EXPECT_EQ(h.evicted(), 0u) << "the count's turnover is not a budget eviction";
    EXPECT_EQ(h.bytes(), charged(ch));
    h.drop(ch);
}

// The per-channel count drops a publication from the middle of the publish order; the
// order of the rest stays intact, so budget evictions still go oldest first.
TEST_F(HistoryTest, CountDropFromTheMiddleKeepsTheGlobalOrder) {
    History h(2, 1 << 30);
    Channel a, b;
    ASSERT_TRUE(add(h, b, 1));  // b1
    ASSERT_TRUE(add(h, a, 1));  // a1
    ASSERT_TRUE(add(h, b, 1));  // b2
    ASSERT_TRUE(add(h, a, 1));  // a2
    ASSERT_TRUE(add(h, a, 1));  // a3 drops a1, between b1 and b2
    EXPECT_EQ(seqs(a), (std::vector<uint64_t>{2, 3}));
    std::vector<std::pair<char, uint64_t>> order;
    while (a.ring_count + b.ring_count) {
        Channel& from = h.evict_oldest();
        order.emplace_back(&from == &a ? 'a' : 'b', from.first_kept() - 1);
    }
    EXPECT_EQ(order, (std::vector<std::pair<char, uint64_t>>{{'b', 1}, {'b', 2}, {'a', 2}, {'a', 3}}));
    EXPECT_EQ(h.evicted(), 4u);
    EXPECT_EQ(h.bytes(), 0u);
    EXPECT_EQ(a.ring, nullptr) << "an emptied ring is freed";
}

TEST_F(HistoryTest, ChargesRawEnvelopeStructAndSlot) {
    History h(10, 1 << 30);
    Channel ch;
    ch.name_len = 1;
    ch.name_buf[0] = 'c';
    ASSERT_TRUE(add(h, ch, 100));
    Publication& pub = *ch.kept(0);
    EXPECT_EQ(pub.cost(), sizeof(Publication) + sizeof(Publication*) + pub.raw()->cost());
    EXPECT_EQ(h.bytes(), pub.cost());
    Message* env = pub.envelope();
    ASSERT_NE(env, nullptr);
    EXPECT_EQ(pub.cost(), sizeof(Publication) + sizeof(Publication*) + pub.raw()->cost() + env->cost());
    EXPECT_EQ(h.bytes(), pub.cost()) << "the envelope is charged when built";
    h.drop(ch);
    EXPECT_EQ(h.bytes(), 0u);
}

TEST_F(HistoryTest, OverBudgetUntilTheOldestGo) {
    History h(100, 10'000);
    Channel a, b;
    while (!h.over_budget()) {
        ASSERT_TRUE(add(h, a, 500));
        ASSERT_TRUE(add(h, b, 500));
    }
    while (h.over_budget()) h.evict_oldest();
    EXPECT_LE(h.bytes(), 10'000u);
    EXPECT_EQ(h.bytes(), charged(a) + charged(b));
    EXPECT_GT(h.evicted(), 0u);
    EXPECT_EQ(a.next_seq - a.first_kept(), a.ring_count) << "what is kept is consecutive";
    h.drop(a);
    h.drop(b);
}

// A publication larger than the whole budget is not kept, and the channel's older ones
// go with it: a resuming client must see a gap, not a hole.
TEST_F(HistoryTest, PublicationOverTheBudgetDropsTheChannelsHistory) {
    History h(100, 4096);
    Channel ch, other;
    ASSERT_TRUE(add(h, other, 10));
    ASSERT_TRUE(add(h, ch, 10));
    ASSERT_TRUE(add(h, ch, 10));
    EXPECT_FALSE(add(h, ch, 5000));
    EXPECT_EQ(ch.ring_count, 0u);
    EXPECT_EQ(ch.first_kept(), 4u) << "nothing kept: first_kept is next_seq";
    EXPECT_EQ(h.evicted(), 2u);
    EXPECT_EQ(other.ring_count, 1u) << "other channels keep theirs";
    EXPECT_TRUE(add(h, ch, 10));
    EXPECT_EQ(seqs(ch), (std::vector<uint64_t>{4}));
    h.drop(ch);
    h.drop(other);
}

TEST_F(HistoryTest, ZeroLimitsKeepNothing) {
    for (auto [count, budget] : {std::pair<uint32_t, uint64_t>{0, 1 << 20}, {100, 0}}) {
        History h(count, budget);
        Channel ch;
        EXPECT_FALSE(h.keeps_any());
        EXPECT_FALSE(add(h, ch, 1));
        EXPECT_EQ(ch.ring_cap, 0u);
        EXPECT_EQ(h.bytes(), 0u);
    }
}

// Budget evictions leave a large ring mostly empty: it shrinks.
TEST_F(HistoryTest, RingShrinksWhenEvictionsEmptyIt) {
    History h(1000, 1 << 30);
    Channel ch;
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(add(h, ch, 1));
    EXPECT_EQ(ch.ring_cap, 128u);
    for (int i = 0; i < 95; ++i) h.evict_oldest();
    EXPECT_LE(ch.ring_cap, 16u);
    EXPECT_EQ(seqs(ch), (std::vector<uint64_t>{96, 97, 98, 99, 100}));
    h.drop(ch);
}

TEST_F(HistoryTest, ReserveOutOfMemoryLeavesTheRing) {
    History h(100, 1 << 30);
    Channel ch;
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(add(h, ch, 1));
    {
        AllocHook fail;
        EXPECT_FALSE(h.reserve(ch)) << "full at 4: must grow";
        EXPECT_EQ(History::make(ch, 99, nullptr), nullptr);
    }
    EXPECT_EQ(seqs(ch), (std::vector<uint64_t>{1, 2, 3, 4}));
    h.drop(ch);
}

}  // namespace
}  // namespace wspush::push
