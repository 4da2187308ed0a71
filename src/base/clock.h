// Monotonic time for deadlines, wall-clock time for what people and peers read.
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

// Milliseconds since the Unix epoch (CLOCK_REALTIME): signature timestamps and the times a
// message shows. It may jump; never use it for a deadline.
[[nodiscard]] inline uint64_t realtime_ms() noexcept {
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000u + static_cast<uint64_t>(ts.tv_nsec) / 1000000u;
}

}  // namespace wspush::base
