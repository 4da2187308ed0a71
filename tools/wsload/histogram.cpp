#include "wsload/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace wspush::wsload {

size_t Histogram::bucket_of(uint64_t v) noexcept {
    if (v < kSub) return static_cast<size_t>(v);
    // v in [2^k, 2^(k+1)), k >= 7: keep the top 7 bits, i.e. v >> (k - 6) in [64, 128).
    const int shift = std::bit_width(v) - kSubBits;  // k - 6, >= 1
    return static_cast<size_t>(kSub + static_cast<uint64_t>(shift - 1) * kHalf + ((v >> shift) - kHalf));
}

uint64_t Histogram::bucket_low(size_t b) noexcept {
    if (b < kSub) return b;
    const size_t j = b - kSub;
    const int shift = static_cast<int>(j / kHalf) + 1;
    return (j % kHalf + kHalf) << shift;
}

uint64_t Histogram::bucket_high(size_t b) noexcept {
    if (b < kSub) return b;
    const int shift = static_cast<int>((b - kSub) / kHalf) + 1;
    return bucket_low(b) + ((uint64_t{1} << shift) - 1);
}

void Histogram::record(uint64_t v) noexcept {
    ++counts_[bucket_of(v)];
    ++count_;
    min_ = std::min(min_, v);
    max_ = std::max(max_, v);
    sum_ += static_cast<long double>(v);
}

void Histogram::merge(const Histogram& other) noexcept {
    for (size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
    count_ += other.count_;
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
    sum_ += other.sum_;
}

double Histogram::mean() const noexcept {
    return count_ ? static_cast<double>(sum_ / static_cast<long double>(count_)) : 0.0;
}

uint64_t Histogram::percentile(double p) const noexcept {
    if (count_ == 0) return 0;
    if (p <= 0) return min_;
    if (p >= 100) return max_;
    // Nearest rank: the ceil(p/100 * n)-th smallest sample (1-based).
    uint64_t rank = static_cast<uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
    rank = std::clamp<uint64_t>(rank, 1, count_);
    uint64_t seen = 0;
    for (size_t b = 0; b < kBuckets; ++b) {
        seen += counts_[b];
        if (seen >= rank) {
            const uint64_t lo = bucket_low(b);
            const uint64_t mid = lo + (bucket_high(b) - lo) / 2;
            return std::clamp(mid, min_, max_);
        }
    }
    return max_;
}

}  // namespace wspush::wsload
