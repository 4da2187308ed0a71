#include "base/log_storm.h"

namespace wspush::base {
namespace {

LogStorm* g_pending = nullptr;  // kinds with events counted but not yet summed up

void summarize(LogStorm& s) noexcept {
    log(s.level, "... and %u more %s in the last %u s", s.more, s.what, kLogWindowMs / 1000);
    s.more = 0;
}

void unlink(LogStorm& s) noexcept {
    for (LogStorm** p = &g_pending; *p != nullptr; p = &(*p)->next) {
        if (*p == &s) {
            *p = s.next;
            break;
        }
    }
    s.next = nullptr;
}

}  // namespace

bool log_admit(LogStorm& s, uint64_t now_ms) noexcept {
    if (s.level < log_level()) return false;
    if (now_ms >= s.window_end) {
        // The window is over: its summary first (the loop's timer may not have run yet).
        if (s.more != 0) {
            unlink(s);
            summarize(s);
        }
        s.window_end = now_ms + kLogWindowMs;
        s.written = 0;
    }
    if (s.written < kLogBurst) {
        ++s.written;
        return true;
    }
    if (s.more == 0) {
        s.next = g_pending;
        g_pending = &s;
    }
    if (s.more != UINT32_MAX) ++s.more;  // saturates: 4 billion events in one window
    return false;
}

uint64_t flush_log_storms(uint64_t now_ms) noexcept {
    for (LogStorm** p = &g_pending; *p != nullptr;) {
        LogStorm& s = **p;
        if (now_ms < s.window_end) {
            p = &s.next;
            continue;
        }
        *p = s.next;
        s.next = nullptr;
        summarize(s);
    }
    return log_storms_due();
}

uint64_t log_storms_due() noexcept {
    uint64_t due = 0;
    for (const LogStorm* s = g_pending; s != nullptr; s = s->next)
        if (due == 0 || s->window_end < due) due = s->window_end;
    return due;
}

}  // namespace wspush::base
