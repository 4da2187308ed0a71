// Leveled logging to stderr: "wspushd: <level>: <message>".
#pragma once
#include <cstdint>
#include <string_view>

namespace wspush::base {

enum class LogLevel : uint8_t { kDebug, kInfo, kWarn, kError };

// Sets the lowest level written. Default kInfo.
void set_log_level(LogLevel level) noexcept;
// Whether each line starts with the UTC time, e.g. "2026-12-02T10:47:03.125Z " (for logs
// that nothing else stamps; the journal adds its own). Default false.
void set_log_time(bool on) noexcept;
[[nodiscard]] LogLevel log_level() noexcept;
// A tag after the level on every line ("wspushd: info: worker 1: ..."), up to 31 bytes;
// empty (the default): none. A --workers worker sets "worker N".
void set_log_tag(std::string_view tag) noexcept;
// Parses "debug", "info", "warn", "error". Returns false for anything else.
[[nodiscard]] bool parse_log_level(std::string_view s, LogLevel& out) noexcept;

// printf-style; one line, newline added. Cheap when the level is filtered out.
void log(LogLevel level, const char* fmt, ...) noexcept __attribute__((format(printf, 2, 3)));

}  // namespace wspush::base

#define WSPUSH_LOG(level, ...)                                              \
    do {                                                                    \
        if ((level) >= ::wspush::base::log_level()) ::wspush::base::log((level), __VA_ARGS__); \
    } while (0)
#define LOG_DEBUG(...) WSPUSH_LOG(::wspush::base::LogLevel::kDebug, __VA_ARGS__)
#define LOG_INFO(...) WSPUSH_LOG(::wspush::base::LogLevel::kInfo, __VA_ARGS__)
#define LOG_WARN(...) WSPUSH_LOG(::wspush::base::LogLevel::kWarn, __VA_ARGS__)
#define LOG_ERROR(...) WSPUSH_LOG(::wspush::base::LogLevel::kError, __VA_ARGS__)
