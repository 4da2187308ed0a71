// Signed robot requests, as the group robots define them: the client sends its clock in ms
// and Base64(HMAC-SHA256(secret, timestamp + "\n" + secret)), URL-encoded.
#include "robot/signature.h"

#include <charconv>

#include "base/equal_ct.h"
#include "codec/base64.h"
#include "codec/hmac.h"
#include "http/query.h"

namespace wspush::robot {

namespace {

constexpr size_t kMaxTimestampDigits = 19;  // every 19-digit number fits in a uint64_t
constexpr size_t kSignChars = codec::base64_encoded_size(32);  // 44
constexpr size_t kMaxSignRaw = 3 * kSignChars;                 // every char sent as %XX

// The MAC over the timestamp's text exactly as the client sent it.
codec::Sha256Digest mac_of(std::string_view secret, std::string_view timestamp) noexcept {
    codec::HmacSha256 h(secret.data(), secret.size());
    h.update(timestamp.data(), timestamp.size());
    h.update("\n", 1);
    h.update(secret.data(), secret.size());
    return h.finish();
}

// 1..19 decimal digits.
bool parse_timestamp(std::string_view s, uint64_t& out) noexcept {
    if (s.empty() || s.size() > kMaxTimestampDigits) return false;
    out = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        out = out * 10 + static_cast<uint64_t>(c - '0');
    }
    return true;
}

}  // namespace

const char* describe(SignCheck c) noexcept {
    switch (c) {
        case SignCheck::kOk: return "ok";
        case SignCheck::kMissing: return "timestamp and sign are required";
        case SignCheck::kDuplicate: return "timestamp or sign given more than once";
        case SignCheck::kBadTimestamp: return "timestamp is not a number of milliseconds";
        case SignCheck::kOutOfRange: return "timestamp is more than an hour from the server's clock";
        case SignCheck::kDoubleEncoded: return "sign is URL-encoded twice";
        case SignCheck::kBadEncoding: return "sign is not a URL-encoded Base64 HMAC-SHA256";
        case SignCheck::kMismatch: return "sign does not match";
    }
    return "bad signature";
}

SignCheck check_signature(std::string_view query, std::string_view secret, uint64_t now_ms) noexcept {
    std::string_view timestamp, sign;
    const size_t timestamps = http::find_param(query, "timestamp", &timestamp);
    const size_t signs = http::find_param(query, "sign", &sign);
    if (timestamps == 0 || signs == 0) return SignCheck::kMissing;
    if (timestamps > 1 || signs > 1) return SignCheck::kDuplicate;

    uint64_t ts;
    if (!parse_timestamp(timestamp, ts)) return SignCheck::kBadTimestamp;
    const uint64_t skew = ts > now_ms ? ts - now_ms : now_ms - ts;
    if (skew > kSignatureWindowMs) return SignCheck::kOutOfRange;

    // '+' stays '+': an unencoded Base64 value is as good as "%2B".
    if (sign.size() > kMaxSignRaw) return SignCheck::kBadEncoding;
    char text[kMaxSignRaw];
    const http::Decoded d = http::percent_decode(sign, text, sizeof text, http::Plus::kLiteral);
    if (d.status == http::DecodeStatus::kDoubleEncoded) return SignCheck::kDoubleEncoded;
    if (d.status != http::DecodeStatus::kOk) return SignCheck::kBadEncoding;
    uint8_t got[32];
    if (codec::base64_decode(std::string_view(text, d.len), got, sizeof got) != static_cast<ptrdiff_t>(sizeof got))
        return SignCheck::kBadEncoding;

    const codec::Sha256Digest want = mac_of(secret, timestamp);
    return base::equal_ct(got, want.data(), want.size()) ? SignCheck::kOk : SignCheck::kMismatch;
}

std::string make_signature(std::string_view secret, uint64_t timestamp_ms) {
    char digits[24];
    const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, timestamp_ms);
    (void)ec;  // 20 digits at most: cannot fail
    const codec::Sha256Digest mac = mac_of(secret, std::string_view(digits, static_cast<size_t>(end - digits)));
    std::string out(kSignChars, '\0');
    codec::base64_encode(mac.data(), mac.size(), out.data());
    return out;
}

}  // namespace wspush::robot
