// Log lines that can come in storms (20,000 clients closed at once, a scanner's refused
// handshakes, a flood of webhooks with a bad token): per kind, the first kLogBurst lines of a
// kLogWindowMs window are written, the rest only counted, and when the window ends one line
// sums them up: "... and 19987 more conn closed: slow consumer (1008) in the last 1 s".
//
// Memory: one LogStorm per kind, a static object of its caller's; nothing is allocated per
// event. Summaries are written by flush_log_storms() from the event loop's timer, or by the
// next line of the same kind, whichever comes first.
#pragma once
#include <cstdint>

#include "base/log.h"

namespace wspush::base {

inline constexpr uint32_t kLogBurst = 5;        // lines written per kind and window
inline constexpr uint32_t kLogWindowMs = 1000;  // a window starts at its kind's first line

// One kind of event. Define one per kind with static storage:
//   base::LogStorm g_slow{"conn closed: slow consumer (1008)", base::LogLevel::kInfo};
struct LogStorm {
    constexpr LogStorm(const char* w, LogLevel l) noexcept : what(w), level(l) {}
    const char* what;          // the summary's words for the events of this kind
    LogStorm* next = nullptr;  // on the pending list while more > 0
    uint64_t window_end = 0;   // monotonic ms; the window is over from then on
    uint32_t more = 0;         // events not written in the current window (saturates)
    uint8_t written = 0;       // lines written in the current window
    LogLevel level;            // the level of its lines and of its summary
};

// Whether a line of kind `s` is to be written at `now_ms` (monotonic): false when its level
// is filtered out, or when kLogBurst lines of the kind went out in the current window (then
// the event is counted for the summary). Cheap: no system call, no allocation.
[[nodiscard]] bool log_admit(LogStorm& s, uint64_t now_ms) noexcept;
// Writes the summary of every kind whose window ended by `now_ms` (all of them with
// UINT64_MAX: at exit). Returns when the next summary is due (monotonic ms), 0 if none is.
uint64_t flush_log_storms(uint64_t now_ms) noexcept;
// When the next summary is due (monotonic ms), 0 if none is.
[[nodiscard]] uint64_t log_storms_due() noexcept;

}  // namespace wspush::base
