// Signed robot requests: "...&timestamp=<ms>&sign=<s>", s = URL-encoded
// Base64(HMAC-SHA256(key = secret, message = timestamp + "\n" + secret)).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace wspush::robot {

inline constexpr uint64_t kSignatureWindowMs = 3'600'000;  // timestamp within +-1 hour

enum class SignCheck : uint8_t {
    kOk,
    kMissing,          // no timestamp or no sign parameter
    kDuplicate,        // timestamp or sign given more than once
    kBadTimestamp,     // not 1..19 decimal digits
    kOutOfRange,       // more than an hour from our clock
    kDoubleEncoded,    // sign percent-encoded twice ("%252B")
    kBadEncoding,      // a bad %-escape, or not Base64 of 32 bytes once decoded
    kMismatch,         // a well-formed signature that does not match
};

// The errmsg for a refusal (kOk: "ok").
[[nodiscard]] const char* describe(SignCheck c) noexcept;

// Checks the signature parameters of a request's raw query against `secret` at now_ms
// (Unix ms). `sign` may be percent-encoded once or not at all ('+' stays '+'). The MAC is
// compared in constant time.
[[nodiscard]] SignCheck check_signature(std::string_view query, std::string_view secret,
                                        uint64_t now_ms) noexcept;

// The Base64 signature (not URL-encoded) for timestamp_ms: what a client computes.
[[nodiscard]] std::string make_signature(std::string_view secret, uint64_t timestamp_ms);

}  // namespace wspush::robot
