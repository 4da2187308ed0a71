#include "base/log.h"

#include <cstdarg>
#include <cstdio>
#include <ctime>
#include <unistd.h>

namespace wspush::base {
namespace {

LogLevel g_level = LogLevel::kInfo;
bool g_time = false;
char g_tag[32] = "";

constexpr const char* kLevelNames[] = {
    [static_cast<int>(LogLevel::kDebug)] = "debug",
    [static_cast<int>(LogLevel::kInfo)] = "info",
    [static_cast<int>(LogLevel::kWarn)] = "warn",
    [static_cast<int>(LogLevel::kError)] = "error",
};

}  // namespace

void set_log_level(LogLevel level) noexcept { g_level = level; }
void set_log_time(bool on) noexcept { g_time = on; }
void set_log_tag(std::string_view tag) noexcept {
    snprintf(g_tag, sizeof g_tag, "%.*s", static_cast<int>(tag.size()), tag.data());
}
LogLevel log_level() noexcept { return g_level; }

bool parse_log_level(std::string_view s, LogLevel& out) noexcept {
    for (int i = 0; i < 4; ++i) {
        if (s == kLevelNames[i]) {
            out = static_cast<LogLevel>(i);
            return true;
        }
    }
    return false;
}

void log(LogLevel level, const char* fmt, ...) noexcept {
    if (level < g_level) return;
    // One write(2) per line so lines from a forked child or a test reader never interleave.
    char line[1024];
    int n = 0;
    if (g_time) {
        timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        tm t;
        gmtime_r(&ts.tv_sec, &t);
        n = static_cast<int>(strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &t));
        n += snprintf(line + n, sizeof line - static_cast<size_t>(n), ".%03ldZ ", ts.tv_nsec / 1000000);
    }
    n += snprintf(line + n, sizeof line - static_cast<size_t>(n), "wspushd: %s: %s%s", kLevelNames[static_cast<int>(level)],
                  g_tag, *g_tag ? ": " : "");
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
    va_end(ap);
    size_t len = static_cast<size_t>(n) + (m < 0 ? 0 : static_cast<size_t>(m));
    if (len > sizeof line - 2) len = sizeof line - 2;
    // One event, one line: a control character from a peer's text (a reason, a name) cannot
    // end the line early, forge the next one or steer a terminal: C0 and DEL, and in UTF-8
    // the C1 controls (C2 80..C2 9F, e.g. NEL and CSI) and the line and paragraph separators
    // U+2028/U+2029 (E2 80 A8/A9). Each becomes one '?' per byte.
    for (size_t i = static_cast<size_t>(n); i < len; ++i) {
        const auto b = [&](size_t k) { return k < len ? static_cast<unsigned char>(line[k]) : 0u; };
        size_t bad = 0;
        if (b(i) < 0x20 || b(i) == 0x7F) bad = 1;
        else if (b(i) == 0xC2 && b(i + 1) >= 0x80 && b(i + 1) <= 0x9F) bad = 2;
        else if (b(i) == 0xE2 && b(i + 1) == 0x80 && (b(i + 2) == 0xA8 || b(i + 2) == 0xA9)) bad = 3;
        for (size_t k = 0; k < bad; ++k) line[i + k] = '?';
        if (bad) i += bad - 1;
    }
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;  // nothing sensible to do if stderr is gone
}

}  // namespace wspush::base
