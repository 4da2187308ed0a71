#include "wsload/payload.h"

#include <algorithm>
#include <cstring>

namespace wspush::wsload {

namespace {

constexpr size_t kCounterDigits = 16;
constexpr char kHex[] = "0123456789abcdef";

// A cheap mix of the byte position, so that a payload shifted by any offset differs.
uint8_t mix(size_t i) noexcept {
    uint32_t x = static_cast<uint32_t>(i) * 2654435761u;
    x ^= x >> 15;
    return static_cast<uint8_t>(x ^ (x >> 8));
}

void counter_digits(uint64_t counter, char (&out)[kCounterDigits]) noexcept {
    for (size_t i = 0; i < kCounterDigits; ++i) out[i] = kHex[(counter >> (4 * (kCounterDigits - 1 - i))) & 0xF];
}

// Parses decimal digits at s[pos...] up to `stop`; advances pos past the stop char.
bool decimal_until(std::string_view s, size_t& pos, char stop, uint64_t& v) noexcept {
    const size_t start = pos;
    v = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
        if (pos - start >= 19) return false;  // keeps v < 10^19 < 2^64
        v = v * 10 + static_cast<uint64_t>(s[pos] - '0');
        ++pos;
    }
    if (pos == start || pos >= s.size() || s[pos] != stop) return false;
    ++pos;
    return true;
}

}  // namespace

EchoPayload::EchoPayload(size_t size, bool text) : filler_(size, '\0') {
    for (size_t i = 0; i < size; ++i) {
        const uint8_t m = mix(i);
        // Text: '!'..'~' (94 printable characters), always valid UTF-8.
        filler_[i] = static_cast<char>(text ? '!' + m % 94 : m);
    }
}

void EchoPayload::make(uint64_t counter, std::string& out) const {
    out = filler_;
    char digits[kCounterDigits];
    counter_digits(counter, digits);
    // A payload shorter than 16 bytes keeps the low-order digits, which tell neighbours apart.
    const size_t head = std::min(kCounterDigits, out.size());
    std::memcpy(out.data(), digits + kCounterDigits - head, head);
}

ptrdiff_t EchoPayload::check(uint64_t counter, std::string_view got) const noexcept {
    char digits[kCounterDigits];
    counter_digits(counter, digits);
    const size_t head_len = std::min(kCounterDigits, filler_.size());
    const char* want_head = digits + kCounterDigits - head_len;
    const size_t n = std::min(got.size(), filler_.size());
    const size_t head = std::min(head_len, n);
    for (size_t i = 0; i < head; ++i) {
        if (got[i] != want_head[i]) return static_cast<ptrdiff_t>(i);
    }
    if (head < n && std::memcmp(got.data() + head, filler_.data() + head, n - head) != 0) {
        for (size_t i = head; i < n; ++i) {
            if (got[i] != filler_[i]) return static_cast<ptrdiff_t>(i);
        }
    }
    return got.size() == filler_.size() ? -1 : static_cast<ptrdiff_t>(n);
}

std::string make_stamp(uint64_t t_ns, uint64_t index, size_t size) {
    std::string s = "t=" + std::to_string(t_ns) + ";i=" + std::to_string(index) + ";";
    if (s.size() < size) s.append(size - s.size(), 'x');
    return s;
}

bool parse_stamp(std::string_view payload, size_t size, Stamp& out) noexcept {
    if (payload.substr(0, 2) != "t=") return false;
    size_t pos = 2;
    if (!decimal_until(payload, pos, ';', out.t_ns)) return false;
    if (payload.substr(pos, 2) != "i=") return false;
    pos += 2;
    if (!decimal_until(payload, pos, ';', out.index)) return false;
    // Padding: only 'x', and exactly up to `size` (none when the stamp alone is longer).
    if (payload.size() != std::max(size, pos)) return false;
    return std::all_of(payload.begin() + static_cast<ptrdiff_t>(pos), payload.end(), [](char c) { return c == 'x'; });
}

}  // namespace wspush::wsload
