#include "wsload/histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace wspush::wsload {
namespace {

// Nearest-rank percentile of sorted samples: the ceil(p/100 * n)-th smallest.
uint64_t exact_percentile(const std::vector<uint64_t>& sorted, double p) {
    if (p <= 0) return sorted.front();
    size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
    rank = std::clamp<size_t>(rank, 1, sorted.size());
    return sorted[rank - 1];
}

constexpr double kPercentiles[] = {0, 1, 10, 25, 50, 75, 90, 99, 99.9, 100};

TEST(WsloadHistogram, EmptyReportsZero) {
    Histogram h;
    EXPECT_EQ(h.count(), 0u);
    EXPECT_EQ(h.percentile(50), 0u);
    EXPECT_EQ(h.min(), 0u);
    EXPECT_EQ(h.max(), 0u);
    EXPECT_EQ(h.mean(), 0.0);
}

TEST(WsloadHistogram, SmallValuesAreExact) {
    Histogram h;
    std::vector<uint64_t> v;
    std::mt19937_64 rng(7);
    for (int i = 0; i < 1001; ++i) v.push_back(rng() % Histogram::kSub);
    for (uint64_t x : v) h.record(x);
    std::sort(v.begin(), v.end());
    for (double p : kPercentiles) EXPECT_EQ(h.percentile(p), exact_percentile(v, p)) << "p" << p;
}

TEST(WsloadHistogram, NearestRankOnAKnownSet) {
    Histogram h;
    for (uint64_t x = 1; x <= 100; ++x) h.record(x);
    EXPECT_EQ(h.percentile(50), 50u);
    EXPECT_EQ(h.percentile(99), 99u);
    EXPECT_EQ(h.percentile(99.5), 100u);
    EXPECT_EQ(h.percentile(0), 1u);
    EXPECT_EQ(h.percentile(100), 100u);
    EXPECT_DOUBLE_EQ(h.mean(), 50.5);
}

TEST(WsloadHistogram, LargeValuesWithinOnePercent) {
    Histogram h;
    std::vector<uint64_t> v;
    std::mt19937_64 rng(99);
    // Log-uniform from 1 ns to ~17 minutes, like latencies of very different scales.
    std::uniform_real_distribution<double> exp(0, 40);
    for (int i = 0; i < 100000; ++i) v.push_back(static_cast<uint64_t>(std::exp2(exp(rng))));
    for (uint64_t x : v) h.record(x);
    std::sort(v.begin(), v.end());
    EXPECT_EQ(h.min(), v.front());
    EXPECT_EQ(h.max(), v.back());
    for (double p : kPercentiles) {
        const double want = static_cast<double>(exact_percentile(v, p));
        const double got = static_cast<double>(h.percentile(p));
        EXPECT_LE(std::abs(got - want), want * 0.01) << "p" << p;
    }
}

TEST(WsloadHistogram, BucketsTileTheRange) {
    for (size_t b = 0; b + 1 < Histogram::kBuckets; ++b) {
        const uint64_t lo = Histogram::bucket_low(b);
        const uint64_t hi = Histogram::bucket_high(b);
        ASSERT_EQ(Histogram::bucket_of(lo), b);
        ASSERT_EQ(Histogram::bucket_of(hi), b);
        ASSERT_EQ(hi + 1, Histogram::bucket_low(b + 1)) << b;
        // Width at most 1/64 of the bucket's values: the error bound in histogram.h.
        ASSERT_LE(hi - lo, lo / 64) << b;
    }
    EXPECT_EQ(Histogram::bucket_of(UINT64_MAX), Histogram::kBuckets - 1);
    EXPECT_EQ(Histogram::bucket_high(Histogram::kBuckets - 1), UINT64_MAX);
}

TEST(WsloadHistogram, MergeEqualsRecordingEverything) {
    Histogram a, b, all;
    std::mt19937_64 rng(3);
    for (int i = 0; i < 5000; ++i) {
        const uint64_t x = rng() % 10'000'000;
        (i % 3 == 0 ? a : b).record(x);
        all.record(x);
    }
    a.merge(b);
    EXPECT_EQ(a.count(), all.count());
    EXPECT_EQ(a.min(), all.min());
    EXPECT_EQ(a.max(), all.max());
    for (double p : kPercentiles) EXPECT_EQ(a.percentile(p), all.percentile(p)) << "p" << p;
}

}  // namespace
}  // namespace wspush::wsload
