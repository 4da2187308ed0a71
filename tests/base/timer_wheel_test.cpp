// TimerWheel: time is injected through `now`, nothing sleeps. Timer owners are declared
// before the wheel, as in the server: the wheel's destructor disarms what is still armed.
#include "base/timer_wheel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <climits>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

namespace wspush::base {
namespace {

constexpr uint64_t kStart = 1'000'000;  // not 0, so tick arithmetic is not trivially aligned
constexpr uint64_t kHour = 3'600'000;

// Owner of a timer, found from its node as the server finds a connection: the node is the
// first member of a standard-layout base.
struct Record {
    TimerNode node;
    int id = 0;
    int fired = 0;
    uint64_t fired_at = 0;
};
static_assert(std::is_standard_layout_v<Record>);
static_assert(offsetof(Record, node) == 0);

struct Entry : Record {
    std::function<void(Entry&)> on_fire;
};

Entry& owner(TimerNode& n) { return static_cast<Entry&>(*reinterpret_cast<Record*>(&n)); }

// Runs expire() and records, for each fired entry, when and how often it fired.
size_t expire_at(TimerWheel& w, uint64_t now) {
    return w.expire(now, [now](TimerNode& n) {
        Entry& e = owner(n);
        ++e.fired;
        e.fired_at = now;
        if (e.on_fire) e.on_fire(e);
    });
}

TEST(TimerWheel, FiresAtDeadlineAndNeverBefore) {
    // Polled every ms, a timer fires exactly at its deadline whatever its place in a tick.
    for (uint64_t offset : {1u, 37u, 99u, 100u, 101u, 250u, 1023u}) {
        Entry e;
        TimerWheel w(kStart);
        w.arm(e.node, kStart + offset);
        for (uint64_t now = kStart; now < kStart + offset; ++now) {
            ASSERT_EQ(expire_at(w, now), 0u) << "offset " << offset << " fired early at " << now;
        }
        EXPECT_EQ(expire_at(w, kStart + offset), 1u) << "offset " << offset;
        EXPECT_EQ(e.fired_at, kStart + offset);
        EXPECT_FALSE(TimerWheel::armed(e.node));
        EXPECT_EQ(expire_at(w, kStart + offset + 1000), 0u);
        EXPECT_EQ(e.fired, 1);
    }
}

// Deadlines are kept modulo 2^32 ms (49.7 days): a server that has run that long (or whose
// monotonic clock started high) sees the stored deadline wrap. Around each wrap point, a
// timer still fires exactly at its deadline, never before.
TEST(TimerWheel, FiresAtDeadlineAcrossThe32BitWrap) {
    for (uint64_t wrap : {uint64_t{1} << 32, uint64_t{5} << 32, (uint64_t{1} << 44) + (uint64_t{1} << 32)}) {
        for (int64_t start_off : {-1, -100, -1'000, -70'000}) {
            for (int64_t off : {-1, 0, 1, 99, 100, 101, 250, 5'000}) {
                const uint64_t start = wrap + start_off;
                const uint64_t deadline = wrap + off;
                if (deadline <= start) continue;
                Entry e;
                TimerWheel w(start);
                w.arm(e.node, deadline);
                for (uint64_t now = start; now < deadline; now += (deadline - now > 2'000 ? 997 : 1))
                    ASSERT_EQ(expire_at(w, now), 0u) << "wrap " << wrap << " deadline " << deadline << " now " << now;
                EXPECT_EQ(expire_at(w, deadline), 1u) << "wrap " << wrap << " deadline " << deadline;
                EXPECT_EQ(e.fired_at, deadline);
                EXPECT_EQ(w.size(), 0u);
            }
        }
    }
}

// The longest deadline allowed (kMaxHorizonMs, 24.8 days) armed just before a wrap, with
// the loop waking once a minute as the server's does: it neither fires early (a compare
// that mistook it for a past deadline) nor a wrap late.
TEST(TimerWheel, LongestDeadlineAcrossWrapFiresOnTime) {
    const uint64_t start = (uint64_t{3} << 32) - 30'000;
    Entry longest, days, hour;
    TimerWheel w(start);
    w.arm(longest.node, start + TimerWheel::kMaxHorizonMs);
    w.arm(days.node, start + 20 * 24 * kHour);
    w.arm(hour.node, start + kHour);
    uint64_t now = start;
    while (longest.fired == 0) {
        now += 60'000;
        expire_at(w, now);
        if (hour.fired == 0) {
            ASSERT_LT(now, start + kHour);
        }
        if (days.fired == 0) {
            ASSERT_LT(now, start + 20 * 24 * kHour);
        }
        ASSERT_LE(now, start + TimerWheel::kMaxHorizonMs + 60'000);
    }
    EXPECT_GE(hour.fired_at, start + kHour);
    EXPECT_LT(hour.fired_at, start + kHour + 60'000);
    EXPECT_GE(days.fired_at, start + 20 * 24 * kHour);
    EXPECT_LT(days.fired_at, start + 20 * 24 * kHour + 60'000);
    EXPECT_GE(longest.fired_at, start + TimerWheel::kMaxHorizonMs);
    EXPECT_EQ(hour.fired + days.fired + longest.fired, 3);
    EXPECT_EQ(w.size(), 0u);
}

// cancel() finds the slot to mark empty from the list, not from the (32-bit) deadline:
// across a wrap the slot of the truncated deadline is not the timer's slot.
TEST(TimerWheel, CancelAcrossWrapKeepsTimeoutExact) {
    const uint64_t start = (uint64_t{1} << 32) - 1'000;
    Entry a, b, c;
    TimerWheel w(start);  // 100 ms ticks
    w.arm(a.node, start + 2'950);  // past the wrap
    w.arm(b.node, start + 3'000);  // same 100 ms tick as a
    w.arm(c.node, start + 9'000);
    const int to_a = w.timeout_ms(start, 60'000);
    w.cancel(a.node);
    EXPECT_EQ(w.timeout_ms(start, 60'000), to_a);  // b still holds the slot
    w.cancel(b.node);
    EXPECT_GT(w.timeout_ms(start, 60'000), to_a + 5'000);  // now c's, not a spurious wake
    EXPECT_EQ(expire_at(w, start + 8'999), 0u);
    EXPECT_EQ(expire_at(w, start + 9'000), 1u);
    EXPECT_EQ(c.fired, 1);
    EXPECT_EQ(a.fired + b.fired, 0);
}

TEST(TimerWheel, FiresWhenPolledLate) {
    Entry e;
    TimerWheel w(kStart);
    w.arm(e.node, kStart + 150);
    EXPECT_EQ(expire_at(w, kStart + 149), 0u);
    EXPECT_EQ(expire_at(w, kStart + 420), 1u);
    EXPECT_EQ(e.fired, 1);
}

TEST(TimerWheel, PastDeadlineFiresAtNextExpire) {
    Entry past, now_exact, later;
    TimerWheel w(kStart);
    ASSERT_EQ(expire_at(w, kStart + 500), 0u);
    w.arm(later.node, kStart + 5000);
    EXPECT_GT(w.timeout_ms(kStart + 500, 1000), 0);
    w.arm(past.node, kStart - 10'000);
    w.arm(now_exact.node, kStart + 500);
    EXPECT_EQ(w.timeout_ms(kStart + 500, 1000), 0);
    EXPECT_EQ(expire_at(w, kStart + 500), 2u);
    EXPECT_EQ(past.fired, 1);
    EXPECT_EQ(now_exact.fired, 1);
    EXPECT_EQ(later.fired, 0);
}

TEST(TimerWheel, CancelPreventsFiring) {
    Entry a, b;
    TimerWheel w(kStart);
    w.arm(a.node, kStart + 300);
    w.arm(b.node, kStart + 300);
    w.cancel(a.node);
    EXPECT_FALSE(TimerWheel::armed(a.node));
    w.cancel(a.node);  // no-op when not armed
    EXPECT_EQ(w.size(), 1u);
    EXPECT_EQ(expire_at(w, kStart + 10'000), 1u);
    EXPECT_EQ(a.fired, 0);
    EXPECT_EQ(b.fired, 1);
    EXPECT_EQ(w.timeout_ms(kStart + 10'000, 1000), -1);
}

TEST(TimerWheel, CancelOfOverdueTimer) {
    Entry e;
    TimerWheel w(kStart);
    w.arm(e.node, kStart - 1);
    w.cancel(e.node);
    EXPECT_EQ(w.size(), 0u);
    EXPECT_EQ(w.timeout_ms(kStart, 1000), -1);
    EXPECT_EQ(expire_at(w, kStart + 1), 0u);
}

TEST(TimerWheel, RearmMovesLaterAndEarlier) {
    Entry later, earlier;
    TimerWheel w(kStart);
    w.arm(later.node, kStart + 500);
    w.arm(later.node, kStart + 2000);
    w.arm(earlier.node, kStart + 5000);
    w.arm(earlier.node, kStart + 700);
    EXPECT_EQ(w.size(), 2u);
    EXPECT_EQ(expire_at(w, kStart + 1000), 1u);
    EXPECT_EQ(earlier.fired, 1);
    EXPECT_EQ(later.fired, 0);
    EXPECT_EQ(expire_at(w, kStart + 1999), 0u);
    EXPECT_EQ(expire_at(w, kStart + 2000), 1u);
    EXPECT_EQ(later.fired, 1);
    EXPECT_EQ(expire_at(w, kStart + 6000), 0u);
    EXPECT_EQ(earlier.fired, 1);
}

TEST(TimerWheel, RearmWithinSameSlotKeepsNewDeadline) {
    Entry e;
    TimerWheel w(kStart, 100, 8);
    w.arm(e.node, kStart + 810);
    w.arm(e.node, kStart + 890);  // same slot
    EXPECT_EQ(expire_at(w, kStart + 889), 0u);
    EXPECT_EQ(expire_at(w, kStart + 890), 1u);
}

TEST(TimerWheel, BeyondOneRevolution) {
    // 8 slots of 100 ms: a revolution is 800 ms; the deadline is several revolutions away and
    // shares its slot with a timer of the current revolution.
    Entry far, near;
    TimerWheel w(kStart, 100, 8);
    const uint64_t far_deadline = kStart + 5 * 800 + 237;
    w.arm(far.node, far_deadline);
    w.arm(near.node, kStart + 237);
    for (uint64_t now = kStart; now < far_deadline; now += 7) {
        expire_at(w, now);
        ASSERT_EQ(far.fired, 0) << "fired early at " << now;
    }
    EXPECT_EQ(near.fired, 1);
    EXPECT_EQ(expire_at(w, far_deadline), 1u);
    EXPECT_EQ(far.fired, 1);
    EXPECT_EQ(w.size(), 0u);
}

TEST(TimerWheel, LongPauseFiresEachDueTimerOnce) {
    Entry beyond, after;
    std::vector<Entry> entries(3000);
    TimerWheel w(kStart);
    std::mt19937_64 rng(7);
    for (auto& e : entries) w.arm(e.node, kStart + rng() % (2 * kHour));
    w.arm(beyond.node, kStart + 3 * kHour + 1);
    // The clock jumps by hours: every slot is walked once, not every elapsed tick.
    EXPECT_EQ(expire_at(w, kStart + 3 * kHour), entries.size());
    for (const auto& e : entries) ASSERT_EQ(e.fired, 1);
    EXPECT_EQ(beyond.fired, 0);
    EXPECT_EQ(w.size(), 1u);
    // The wheel keeps working after the jump.
    w.arm(after.node, kStart + 3 * kHour + 250);
    EXPECT_EQ(expire_at(w, kStart + 3 * kHour), 0u);
    EXPECT_EQ(expire_at(w, kStart + 3 * kHour + 1), 1u);
    EXPECT_EQ(beyond.fired, 1);
    EXPECT_EQ(expire_at(w, kStart + 3 * kHour + 249), 0u);
    EXPECT_EQ(expire_at(w, kStart + 3 * kHour + 250), 1u);
    EXPECT_EQ(after.fired, 1);
}

TEST(TimerWheel, LongPauseWalksEverySlotFromAnyPosition) {
    // Every slot occupied, the wheel stopped at each of its positions in turn, then a jump
    // of many revolutions: no slot may be left out of the single walk.
    constexpr uint32_t kSlots = 8;
    constexpr uint32_t kTick = 10;
    for (uint64_t pos = 0; pos < kSlots; ++pos) {
        const uint64_t t0 = kStart + pos * kTick;
        std::vector<Entry> entries(2 * kSlots);
        TimerWheel w(t0, kTick, kSlots);
        for (size_t i = 0; i < entries.size(); ++i) w.arm(entries[i].node, t0 + 1 + i * kTick);
        EXPECT_EQ(expire_at(w, t0 + 100 * kSlots * kTick), entries.size()) << "position " << pos;
        EXPECT_EQ(w.size(), 0u);
    }
}

TEST(TimerWheel, ClockGoingBackwardsNeverFiresEarly) {
    Entry e, between;
    TimerWheel w(kStart);
    w.arm(e.node, kStart + 300);
    EXPECT_EQ(expire_at(w, kStart + 200), 0u);
    EXPECT_EQ(expire_at(w, kStart + 50), 0u);
    // Between the clock's new and old readings: not yet due by the clock now in use.
    w.arm(between.node, kStart + 150);
    EXPECT_EQ(expire_at(w, kStart + 60), 0u);
    EXPECT_EQ(expire_at(w, kStart + 150), 1u);
    EXPECT_EQ(between.fired, 1);
    EXPECT_EQ(expire_at(w, kStart + 300), 1u);
    EXPECT_EQ(e.fired, 1);
}

TEST(TimerWheel, RearmFromOwnCallbackIsPeriodic) {
    Entry e;
    TimerWheel w(kStart);
    e.on_fire = [&w](Entry& self) { w.arm(self.node, self.fired_at + 250); };
    w.arm(e.node, kStart + 250);
    for (uint64_t now = kStart; now <= kStart + 2500; now += 10) {
        const int before = e.fired;
        expire_at(w, now);
        ASSERT_LE(e.fired - before, 1) << "fired twice in one expire at " << now;
    }
    EXPECT_EQ(e.fired, 10);
    EXPECT_EQ(w.size(), 1u);
}

TEST(TimerWheel, RearmInPastFromCallbackWaitsForNextExpire) {
    Entry e;
    TimerWheel w(kStart);
    e.on_fire = [&w](Entry& self) {
        if (self.fired < 3) w.arm(self.node, self.fired_at - 1);
    };
    w.arm(e.node, kStart + 100);
    EXPECT_EQ(expire_at(w, kStart + 100), 1u);
    EXPECT_EQ(w.timeout_ms(kStart + 100, 1000), 0);
    EXPECT_EQ(expire_at(w, kStart + 100), 1u);
    EXPECT_EQ(expire_at(w, kStart + 100), 1u);
    EXPECT_EQ(expire_at(w, kStart + 100), 0u);
    EXPECT_EQ(e.fired, 3);
    EXPECT_EQ(w.size(), 0u);
}

TEST(TimerWheel, CallbackCancelsAnotherCollectedTimer) {
    // Both timers are due in the same expire(): whichever fires first cancels the other,
    // which already sits on expire()'s local list.
    Entry a, b, bystander;
    TimerWheel w(kStart);
    a.on_fire = [&](Entry&) {
        EXPECT_EQ(w.size(), 2u);  // b and bystander, collected and not fired yet
        w.cancel(b.node);
        EXPECT_EQ(w.size(), 1u);
    };
    b.on_fire = [&](Entry&) { w.cancel(a.node); };
    w.arm(a.node, kStart + 100);
    w.arm(b.node, kStart + 150);
    w.arm(bystander.node, kStart + 120);
    EXPECT_EQ(expire_at(w, kStart + 200), 2u);
    EXPECT_EQ(a.fired + b.fired, 1);
    EXPECT_EQ(bystander.fired, 1);
    EXPECT_FALSE(TimerWheel::armed(a.node));
    EXPECT_FALSE(TimerWheel::armed(b.node));
    EXPECT_EQ(w.size(), 0u);
    EXPECT_EQ(w.timeout_ms(kStart + 200, 1000), -1);
    EXPECT_EQ(expire_at(w, kStart + 10'000), 0u);
    EXPECT_EQ(a.fired + b.fired, 1);
}

TEST(TimerWheel, CallbackRearmsAnotherCollectedTimer) {
    Entry a, b;
    TimerWheel w(kStart);
    a.on_fire = [&](Entry&) { w.arm(b.node, kStart + 900); };
    b.on_fire = [&](Entry&) { w.arm(a.node, kStart + 900); };
    w.arm(a.node, kStart + 100);
    w.arm(b.node, kStart + 100);
    EXPECT_EQ(expire_at(w, kStart + 100), 1u);
    EXPECT_EQ(a.fired + b.fired, 1);
    EXPECT_EQ(w.size(), 1u);
    EXPECT_EQ(expire_at(w, kStart + 899), 0u);
    EXPECT_EQ(expire_at(w, kStart + 900), 1u);
    EXPECT_EQ(a.fired, 1);
    EXPECT_EQ(b.fired, 1);
}

TEST(TimerWheel, CallbackCancelsEveryOtherTimer) {
    std::vector<Entry> entries(50);
    TimerWheel w(kStart, 10, 16);
    for (auto& e : entries) {
        e.on_fire = [&](Entry&) {
            for (auto& other : entries) w.cancel(other.node);
        };
        w.arm(e.node, kStart + 5);
    }
    EXPECT_EQ(expire_at(w, kStart + 5), 1u);
    EXPECT_EQ(w.size(), 0u);
}

TEST(TimerWheel, TimeoutMs) {
    Entry e, sooner;
    TimerWheel w(kStart);  // 100 ms ticks
    EXPECT_EQ(w.timeout_ms(kStart, 5000), -1);
    w.arm(e.node, kStart + 1000);
    // Wakes at the last ms of the deadline's tick: every timer of that tick is due then.
    EXPECT_EQ(w.timeout_ms(kStart, 5000), 1099);
    EXPECT_EQ(w.timeout_ms(kStart, 300), 300);
    EXPECT_EQ(w.timeout_ms(kStart, 0), 0);
    EXPECT_EQ(w.timeout_ms(kStart, -1), 1099);
    EXPECT_EQ(w.timeout_ms(kStart + 600, 5000), 499);
    EXPECT_EQ(w.timeout_ms(kStart + 5000, 5000), 0);
    w.arm(sooner.node, kStart + 420);
    EXPECT_EQ(w.timeout_ms(kStart, 5000), 499);
    w.cancel(sooner.node);
    EXPECT_EQ(w.timeout_ms(kStart, 5000), 1099);
    w.cancel(e.node);
    EXPECT_EQ(w.timeout_ms(kStart, 5000), -1);
}

TEST(TimerWheel, TimeoutMsNegativeCapMeansNoCap) {
    // 2^16 slots of 2^16 ms: a wait of about 2^32 ms does not fit an int.
    Entry e;
    TimerWheel w(0, 1u << 16, 1u << 16);
    w.arm(e.node, TimerWheel::kMaxHorizonMs);  // as far ahead as a deadline may be
    EXPECT_EQ(w.timeout_ms(0, -1), INT_MAX);
    EXPECT_EQ(w.timeout_ms(0, 1234), 1234);
    w.arm(e.node, 500'000);
    EXPECT_EQ(w.timeout_ms(0, -1), (500'000 / 65536 + 1) * 65536 - 1);
}

TEST(TimerWheel, TimeoutMsWithinCurrentTickDoesNotSpin) {
    Entry e;
    TimerWheel w(kStart);
    w.arm(e.node, kStart + 60);
    ASSERT_EQ(expire_at(w, kStart + 10), 0u);
    const int t = w.timeout_ms(kStart + 10, 5000);
    EXPECT_GT(t, 0);
    EXPECT_EQ(expire_at(w, kStart + 10 + static_cast<uint64_t>(t)), 1u);
}

// A slot that holds only a timer of a later revolution costs at most one wake-up per
// revolution, and the loop never sleeps past a due timer.
TEST(TimerWheel, TimeoutMsAcrossRevolutions) {
    Entry e;
    TimerWheel w(kStart, 100, 8);
    const uint64_t deadline = kStart + 10 * 800 + 50;
    w.arm(e.node, deadline);
    uint64_t now = kStart;
    int wakeups = 0;
    while (e.fired == 0 && wakeups < 100) {
        const int t = w.timeout_ms(now, 60'000);
        ASSERT_GE(t, 0);
        now += static_cast<uint64_t>(t);
        expire_at(w, now);
        ++wakeups;
    }
    EXPECT_EQ(e.fired, 1);
    EXPECT_GE(e.fired_at, deadline);
    EXPECT_LT(e.fired_at, deadline + 100);
    EXPECT_LE(wakeups, 12);
}

TEST(TimerWheel, Size) {
    Entry a, b, c;
    TimerWheel w(kStart);
    EXPECT_EQ(w.size(), 0u);
    w.arm(a.node, kStart + 100);
    w.arm(b.node, kStart + 200'000);
    w.arm(c.node, kStart - 5);
    EXPECT_EQ(w.size(), 3u);
    w.arm(a.node, kStart + 300);  // re-arm does not count twice
    EXPECT_EQ(w.size(), 3u);
    w.cancel(b.node);
    w.cancel(b.node);
    EXPECT_EQ(w.size(), 2u);
    EXPECT_EQ(expire_at(w, kStart + 300), 2u);
    EXPECT_EQ(w.size(), 0u);
}

TEST(TimerWheel, DestructorDisarmsRemainingTimers) {
    Entry a, b;
    {
        TimerWheel w(kStart);
        w.arm(a.node, kStart + 100);
        w.arm(b.node, kStart - 100);
    }
    EXPECT_FALSE(TimerWheel::armed(a.node));
    EXPECT_FALSE(TimerWheel::armed(b.node));
}

// Random deadlines, some cancelled and re-armed, on wheels of several shapes (fewer slots
// than one bitmap word, exactly one, several), against a sorted reference.
struct Geometry {
    const char* name;
    uint32_t tick_ms;
    uint32_t slots;
    uint64_t start = kStart;
};

class TimerWheelRandom : public testing::TestWithParam<Geometry> {};

TEST_P(TimerWheelRandom, FiresInRightTickExactlyOnce) {
    const Geometry g = GetParam();
    constexpr int kTimers = 5000;
    const uint64_t revolution = uint64_t{g.tick_ms} * g.slots;
    const uint64_t horizon = 3 * revolution + 5000;  // beyond one revolution
    std::mt19937_64 rng(g.slots * 131 + g.tick_ms);
    auto entries = std::make_unique<Entry[]>(kTimers);
    TimerWheel w(g.start, g.tick_ms, g.slots);
    // Reference: deadline of every armed timer, or none.
    std::multimap<uint64_t, int> reference;
    std::vector<std::multimap<uint64_t, int>::iterator> where(kTimers, reference.end());
    auto ref_arm = [&](int id, uint64_t deadline) {
        if (where[id] != reference.end()) reference.erase(where[id]);
        where[id] = reference.emplace(deadline, id);
    };
    uint64_t now = g.start;
    for (int id = 0; id < kTimers; ++id) {
        entries[id].id = id;
        const uint64_t d = now + rng() % horizon;
        w.arm(entries[id].node, d);
        ref_arm(id, d);
    }
    std::vector<int> fired;
    while (!reference.empty()) {
        now += 1 + rng() % (3 * uint64_t{g.tick_ms});
        // Churn: a few cancels and re-arms (some into the past) between expires.
        for (int k = 0; k < 5; ++k) {
            const int id = static_cast<int>(rng() % kTimers);
            if (rng() % 3 == 0) {
                w.cancel(entries[id].node);
                if (where[id] != reference.end()) reference.erase(where[id]);
                where[id] = reference.end();
            } else if (where[id] != reference.end()) {
                const uint64_t d = now - 50 + rng() % horizon;
                w.arm(entries[id].node, d);
                ref_arm(id, d);
            }
        }
        std::vector<int> expected;
        while (!reference.empty() && reference.begin()->first <= now) {
            expected.push_back(reference.begin()->second);
            where[reference.begin()->second] = reference.end();
            reference.erase(reference.begin());
        }
        fired.clear();
        w.expire(now, [&](TimerNode& n) { fired.push_back(owner(n).id); });
        std::sort(expected.begin(), expected.end());
        std::sort(fired.begin(), fired.end());
        ASSERT_EQ(fired, expected) << "at now = " << now;
        ASSERT_EQ(w.size(), reference.size());
    }
    EXPECT_EQ(w.timeout_ms(now, 1000), -1);
}

INSTANTIATE_TEST_SUITE_P(
    Geometries, TimerWheelRandom,
    testing::Values(Geometry{"Default", 100, 1024}, Geometry{"OneSlot", 10, 1},
                    Geometry{"EightSlots", 10, 8}, Geometry{"OneWord", 5, 64},
                    Geometry{"TwoWords", 1, 128}, Geometry{"CoarseTicks", 4000, 16},
                    // Deadlines are 32-bit: these runs cross the wrap of that clock.
                    Geometry{"AcrossWrap", 100, 1024, (uint64_t{1} << 32) - 100'000},
                    Geometry{"AcrossThirdWrap", 10, 8, 3 * (uint64_t{1} << 32) - 700},
                    Geometry{"AcrossWrapLate", 7, 64, (uint64_t{1} << 40) - 3'000}),
    [](const testing::TestParamInfo<Geometry>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace wspush::base
