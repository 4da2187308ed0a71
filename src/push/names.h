// Names and their text forms: channel and client-id names, server-assigned ids, JSON
// string escaping, channel epochs.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace wspush::push {

inline constexpr size_t kMaxNameLength = 64;

// Channel and client-id names: 1..64 of [A-Za-z0-9_.-].
[[nodiscard]] bool valid_name(std::string_view s) noexcept;

// The form of a server-assigned client id: "c" followed by one or more decimal digits
// and nothing else ("c1", "c0042"). `?id=` must refuse it so that no client can take
// the id the server gave another.
[[nodiscard]] bool is_server_id(std::string_view s) noexcept;

// Exact length of s as a JSON string body (no quotes): at most 6 * s.size() (a control
// byte becomes \u00XX), which cannot overflow a size_t for any string in memory.
[[nodiscard]] size_t json_escaped_size(std::string_view s) noexcept;
// Writes s escaped (json_escaped_size(s) chars, no quotes, no terminator) at out.
// Returns one past the last char written. UTF-8 passes through unchanged.
char* json_escape_to(char* out, std::string_view s) noexcept;
// Appends s, escaped, to out (no quotes added).
void json_escape(std::string& out, std::string_view s);

// A channel epoch as text: exactly 16 lowercase hex digits, most significant first.
inline constexpr size_t kEpochChars = 16;
void format_epoch(uint64_t epoch, char (&out)[kEpochChars]) noexcept;
// Parses exactly 16 lowercase hex digits (what format_epoch writes). False on anything
// else: other lengths, upper case, signs, spaces.
[[nodiscard]] bool parse_epoch(std::string_view s, uint64_t& out) noexcept;

}  // namespace wspush::push
