// Query strings of request-targets (RFC 3986 section 3.4) and percent-decoding (section
// 2.1), for the webhook's "?access_token=...&timestamp=...&sign=...".
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace wspush::http {

// The query of a request-target: after the first '?', up to a '#' if a client sent one.
// Empty when there is none. A view into target.
[[nodiscard]] std::string_view query_of(std::string_view target) noexcept;
// The path of a request-target: up to the first '?' or '#'. A view into target.
[[nodiscard]] std::string_view path_of(std::string_view target) noexcept;

struct QueryParam {
    std::string_view name;   // raw, still percent-encoded
    std::string_view value;  // raw; empty for "name" and "name="
};

// Splits the next parameter off the front of `rest`: pieces are separated by '&', empty
// pieces are skipped, the name ends at the first '=' (so a Base64 value keeps its '=').
// Returns false, leaving *out alone, once rest holds no more. Views into rest's bytes.
[[nodiscard]] bool next_param(std::string_view& rest, QueryParam* out) noexcept;

// How many parameters of `query` are named `name`, compared raw and byte for byte (the
// names we look up are plain ASCII, which clients do not encode). When there is at least
// one, *value is the first one's raw value. A caller reading a credential should refuse a
// count above one rather than guess which copy counts.
[[nodiscard]] size_t find_param(std::string_view query, std::string_view name, std::string_view* value) noexcept;

// What '+' means: itself (RFC 3986; a Base64 value sent unencoded keeps its '+') or a space
// (HTML form encoding, application/x-www-form-urlencoded).
enum class Plus : uint8_t { kLiteral, kSpace };

enum class DecodeStatus : uint8_t {
    kOk,
    kDoubleEncoded,  // decoded, but the result still holds a %XX escape: the value was very
                     // likely encoded twice ("%252B" decodes to "%2B"); len is valid
    kBadEscape,      // a '%' not followed by two hex digits
    kTooLong,        // the result does not fit in out_cap
};

struct Decoded {
    DecodeStatus status = DecodeStatus::kOk;
    size_t len = 0;  // bytes written to out (kOk, kDoubleEncoded)
};

// Percent-decodes `in` once into out[0..out_cap). The result is never longer than `in`, so
// out_cap = in.size() always suffices. Decoded bytes may be anything, NUL included.
[[nodiscard]] Decoded percent_decode(std::string_view in, char* out, size_t out_cap,
                                     Plus plus = Plus::kLiteral) noexcept;

}  // namespace wspush::http
