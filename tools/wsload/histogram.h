// Latency histogram for wsload: log-linear buckets in the manner of HdrHistogram, so that
// millions of samples cost a fixed 30 KB and merge across worker processes by addition.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>

namespace wspush::wsload {

// Bucket layout (values are unsigned 64-bit, e.g. nanoseconds):
//
//   value range          bucket width   buckets
//   [0, 128)             1              128      exact
//   [2^k, 2^(k+1)), k>=7 2^(k-6)        64 each  relative error < 1/64 (1.6 %); the reported
//                                               value is the bucket midpoint, so < 0.8 %
//
// Percentiles use the nearest-rank definition: the smallest recorded value v such that at
// least p % of the samples are <= v, returned as v's bucket midpoint clamped to [min, max].
class Histogram {
public:
    static constexpr int kSubBits = 7;
    static constexpr uint64_t kSub = uint64_t{1} << kSubBits;  // exact range, 128
    static constexpr uint64_t kHalf = kSub / 2;                 // buckets per octave, 64
    static constexpr size_t kBuckets = kSub + (64 - kSubBits) * kHalf;

    // Adds one sample.
    void record(uint64_t v) noexcept;
    // Adds every sample of `other` (used to aggregate worker processes).
    void merge(const Histogram& other) noexcept;

    [[nodiscard]] uint64_t count() const noexcept { return count_; }
    [[nodiscard]] uint64_t min() const noexcept { return count_ ? min_ : 0; }
    [[nodiscard]] uint64_t max() const noexcept { return max_; }
    [[nodiscard]] double mean() const noexcept;
    // p in [0, 100]; 0 for an empty histogram. percentile(0) == min(), percentile(100) == max().
    [[nodiscard]] uint64_t percentile(double p) const noexcept;

    // Bucket arithmetic, public for the tests.
    [[nodiscard]] static size_t bucket_of(uint64_t v) noexcept;
    [[nodiscard]] static uint64_t bucket_low(size_t b) noexcept;   // smallest value in b
    [[nodiscard]] static uint64_t bucket_high(size_t b) noexcept;  // largest value in b

private:
    uint64_t count_ = 0;
    uint64_t min_ = UINT64_MAX;
    uint64_t max_ = 0;
    long double sum_ = 0;
    std::array<uint64_t, kBuckets> counts_{};
};

}  // namespace wspush::wsload
