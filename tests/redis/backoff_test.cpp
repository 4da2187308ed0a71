// The reconnect state machine on a fake clock: waits grow from initial_ms by doubling up to
// max_ms, each drawn from [base/2, base]; a connection that comes up starts the count again;
// an attempt that takes too long times out; different seeds spread a crowd out.
#include "redis/backoff.h"

#include <gtest/gtest.h>

#include <set>

namespace wspush::redis {
namespace {

BackoffPolicy policy(uint32_t initial, uint32_t max, uint32_t timeout = 1000) {
    BackoffPolicy p;
    p.initial_ms = initial;
    p.max_ms = max;
    p.connect_timeout_ms = timeout;
    return p;
}

TEST(RedisBackoff, StartsIdleAndConnectsOnStart) {
    Reconnect r(policy(100, 1000), 1);
    EXPECT_EQ(r.state(), Reconnect::State::kIdle);
    EXPECT_EQ(r.deadline(), UINT64_MAX);
    EXPECT_EQ(r.tick(1'000'000), Reconnect::Action::kNone);
    r.start(5000);
    EXPECT_EQ(r.state(), Reconnect::State::kConnecting);
    EXPECT_EQ(r.deadline(), 6000u);  // the connect timeout
    r.start(5500);                   // ignored: already started
    EXPECT_EQ(r.deadline(), 6000u);
    r.up();
    EXPECT_EQ(r.state(), Reconnect::State::kUp);
    EXPECT_EQ(r.deadline(), UINT64_MAX);
    EXPECT_EQ(r.tick(1'000'000), Reconnect::Action::kNone);
}

TEST(RedisBackoff, WaitsGrowByDoublingWithinJitterUpToTheCap) {
    Reconnect r(policy(100, 1000, 50), 42);
    uint64_t now = 0;
    r.start(now);
    const uint64_t bases[] = {100, 200, 400, 800, 1000, 1000, 1000, 1000};
    for (uint64_t base : bases) {
        EXPECT_EQ(r.base_ms(), base);
        const uint64_t deadline = r.failed(now);
        EXPECT_EQ(r.state(), Reconnect::State::kWaiting);
        EXPECT_GE(deadline - now, base / 2) << "base " << base;
        EXPECT_LE(deadline - now, base) << "base " << base;
        EXPECT_EQ(r.tick(deadline - 1), Reconnect::Action::kNone);
        EXPECT_EQ(r.tick(deadline), Reconnect::Action::kConnect);
        EXPECT_EQ(r.state(), Reconnect::State::kConnecting);
        now = deadline + 10;  // the attempt fails 10 ms later
    }
    EXPECT_EQ(r.failures(), 8u);
}

TEST(RedisBackoff, UpStartsTheCountAgain) {
    Reconnect r(policy(100, 10000), 3);
    r.start(0);
    for (int i = 0; i < 5; ++i) {
        const uint64_t d = r.failed(0);
        ASSERT_EQ(r.tick(d), Reconnect::Action::kConnect);
    }
    EXPECT_EQ(r.base_ms(), 3200u);
    r.up();
    EXPECT_EQ(r.failures(), 0u);
    EXPECT_EQ(r.base_ms(), 100u);
    // The connection is lost: the first wait is short again.
    const uint64_t d = r.failed(50'000);
    EXPECT_GE(d, 50'050u);
    EXPECT_LE(d, 50'100u);
}

TEST(RedisBackoff, SlowAttemptTimesOut) {
    Reconnect r(policy(100, 1000, 500), 5);
    r.start(1000);
    EXPECT_EQ(r.tick(1499), Reconnect::Action::kNone);
    EXPECT_EQ(r.tick(1500), Reconnect::Action::kTimeout);
    EXPECT_EQ(r.state(), Reconnect::State::kWaiting);
    EXPECT_EQ(r.failures(), 1u);
    EXPECT_GE(r.deadline(), 1550u);
    EXPECT_LE(r.deadline(), 1600u);
    EXPECT_EQ(r.tick(r.deadline()), Reconnect::Action::kConnect);
}

TEST(RedisBackoff, StopForgetsEverything) {
    Reconnect r(policy(100, 1000), 9);
    r.start(0);
    (void)r.failed(0);
    r.stop();
    EXPECT_EQ(r.state(), Reconnect::State::kIdle);
    EXPECT_EQ(r.failures(), 0u);
    EXPECT_EQ(r.deadline(), UINT64_MAX);
    EXPECT_EQ(r.tick(UINT64_MAX - 1), Reconnect::Action::kNone);
    r.start(10);
    EXPECT_EQ(r.state(), Reconnect::State::kConnecting);
}

TEST(RedisBackoff, SameSeedSameWaitsOtherSeedsSpread) {
    auto first_waits = [](uint64_t seed) {
        Reconnect r(policy(1000, 60000), seed);
        r.start(0);
        std::vector<uint64_t> v;
        for (int i = 0; i < 6; ++i) {
            const uint64_t d = r.failed(0);
            v.push_back(d);
            (void)r.tick(d);
        }
        return v;
    };
    EXPECT_EQ(first_waits(77), first_waits(77));
    std::set<uint64_t> firsts;
    for (uint64_t seed = 0; seed < 100; ++seed) firsts.insert(first_waits(seed)[0]);
    EXPECT_GT(firsts.size(), 50u) << "a crowd that lost the same server must not come back at once";
    for (uint64_t w : firsts) {
        EXPECT_GE(w, 500u);
        EXPECT_LE(w, 1000u);
    }
}

TEST(RedisBackoff, DegeneratePoliciesStillWait) {
    Reconnect r(policy(0, 0), 1);
    r.start(0);
    const uint64_t d = r.failed(100);
    EXPECT_GE(d, 100u);
    EXPECT_LE(d, 101u);
    EXPECT_STREQ(state_name(r.state()), "waiting");
}

}  // namespace
}  // namespace wspush::redis
