// Base64, RFC 4648 section 4 (standard alphabet, '=' padding).
#include "codec/base64.h"

#include <array>

namespace wspush::codec {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr uint8_t kInvalid = 0xFF;

// Reverse alphabet: char -> 6-bit value, kInvalid for anything else (including '=',
// which the decoder handles only in the final quantum).
constexpr std::array<uint8_t, 256> make_decode_table() {
    std::array<uint8_t, 256> t{};
    for (auto& v : t) v = kInvalid;
    for (uint8_t i = 0; i < 64; ++i) t[static_cast<uint8_t>(kAlphabet[i])] = i;
    return t;
}
constexpr std::array<uint8_t, 256> kDecode = make_decode_table();

}  // namespace

size_t base64_encode(const uint8_t* in, size_t n, char* out) noexcept {
    char* o = out;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        const uint32_t v = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8) | in[i + 2];
        *o++ = kAlphabet[v >> 18];
        *o++ = kAlphabet[(v >> 12) & 63];
        *o++ = kAlphabet[(v >> 6) & 63];
        *o++ = kAlphabet[v & 63];
    }
    // Final quantum of 1 or 2 bytes: pad with "==" or "=" (RFC 4648 section 4, cases 2 and 3).
    const size_t rest = n - i;
    if (rest > 0) {
        uint32_t v = uint32_t{in[i]} << 16;
        if (rest == 2) v |= uint32_t{in[i + 1]} << 8;
        *o++ = kAlphabet[v >> 18];
        *o++ = kAlphabet[(v >> 12) & 63];
        *o++ = rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
        *o++ = '=';
    }
    return static_cast<size_t>(o - out);
}

ptrdiff_t base64_decode(std::string_view in, uint8_t* out, size_t out_cap) noexcept {
    const size_t n = in.size();
    if (n % 4 != 0) return -1;
    if (n == 0) return 0;
    const auto* s = reinterpret_cast<const uint8_t*>(in.data());
    size_t pad = 0;
    if (s[n - 1] == '=') pad = s[n - 2] == '=' ? 2 : 1;
    const size_t decoded = n / 4 * 3 - pad;
    if (decoded > out_cap) return -1;

    uint8_t* o = out;
    const size_t full = pad > 0 ? n - 4 : n;  // quanta without padding
    for (size_t i = 0; i < full; i += 4) {
        const uint8_t a = kDecode[s[i]], b = kDecode[s[i + 1]];
        const uint8_t c = kDecode[s[i + 2]], d = kDecode[s[i + 3]];
        if (((a | b | c | d) & 0xC0) != 0) return -1;  // kInvalid has the top bits set
        const uint32_t v = (uint32_t{a} << 18) | (uint32_t{b} << 12) | (uint32_t{c} << 6) | d;
        *o++ = static_cast<uint8_t>(v >> 16);
        *o++ = static_cast<uint8_t>(v >> 8);
        *o++ = static_cast<uint8_t>(v);
    }
    if (pad > 0) {
        const uint8_t* q = s + n - 4;
        const uint8_t a = kDecode[q[0]], b = kDecode[q[1]];
        const uint8_t c = pad == 1 ? kDecode[q[2]] : 0;
        if (((a | b | c) & 0xC0) != 0) return -1;
        // Pad bits must be zero (RFC 4648 section 3.5): the low 4 bits of b for "xx==",
        // the low 2 bits of c for "xxx=". Otherwise two encodings would decode alike.
        if (pad == 2 && (b & 0x0F) != 0) return -1;
        if (pad == 1 && (c & 0x03) != 0) return -1;
        const uint32_t v = (uint32_t{a} << 18) | (uint32_t{b} << 12) | (uint32_t{c} << 6);
        *o++ = static_cast<uint8_t>(v >> 16);
        if (pad == 1) *o++ = static_cast<uint8_t>(v >> 8);
    }
    return o - out;
}

}  // namespace wspush::codec
