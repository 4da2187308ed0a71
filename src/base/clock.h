// Monotonic time.
#pragma once
#include <cstdint>
#include <ctime>

namespace wspush::base {

// Milliseconds on CLOCK_MONOTONIC.
[[nodiscard]] inline uint64_t monotonic_ms() noexcept {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000u + static_cast<uint64_t>(ts.tv_nsec) / 1000000u;
}

}  // namespace wspush::base
