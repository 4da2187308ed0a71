// SHA-1 per FIPS 180-4 section 6.1. Only the handshake uses it, on ~60-byte inputs, so the
// code favours clarity over unrolling.
#include "codec/sha1.h"

#include <cstring>

namespace wspush::codec {

namespace {

constexpr uint32_t kInit[5] = {0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u, 0xC3D2E1F0u};

using detail::load_be32;
using detail::store_be32;

constexpr uint32_t rotl(uint32_t x, int n) noexcept { return (x << n) | (x >> (32 - n)); }

}  // namespace

Sha1::Sha1() noexcept { std::memcpy(h_, kInit, sizeof h_); }

// One 512-bit block (FIPS 180-4 6.1.2). The schedule is kept as a 16-word ring
// instead of the 80-word array; W[t] = ROTL1(W[t-3] ^ W[t-8] ^ W[t-14] ^ W[t-16]).
void Sha1::block(const uint8_t* p) noexcept {
    uint32_t w[16];
    for (int i = 0; i < 16; ++i) w[i] = load_be32(p + 4 * i);
    uint32_t a = h_[0], b = h_[1], c = h_[2], d = h_[3], e = h_[4];
    for (int t = 0; t < 80; ++t) {
        if (t >= 16) {
            w[t & 15] = rotl(w[(t - 3) & 15] ^ w[(t - 8) & 15] ^ w[(t - 14) & 15] ^ w[t & 15], 1);
        }
        uint32_t f, k;
        if (t < 20) {
            f = (b & c) | (~b & d);  // Ch
            k = 0x5A827999u;
        } else if (t < 40) {
            f = b ^ c ^ d;  // Parity
            k = 0x6ED9EBA1u;
        } else if (t < 60) {
            f = (b & c) | (b & d) | (c & d);  // Maj
            k = 0x8F1BBCDCu;
        } else {
            f = b ^ c ^ d;  // Parity
            k = 0xCA62C1D6u;
        }
        const uint32_t tmp = rotl(a, 5) + f + e + k + w[t & 15];
        e = d;
        d = c;
        c = rotl(b, 30);
        b = a;
        a = tmp;
    }
    h_[0] += a;
    h_[1] += b;
    h_[2] += c;
    h_[3] += d;
    h_[4] += e;
}

void Sha1::update(const void* data, size_t len) noexcept {
    buf_.update(static_cast<const uint8_t*>(data), len, [this](const uint8_t* b) { block(b); });
}

Sha1Digest Sha1::finish() noexcept {
    buf_.pad([this](const uint8_t* b) { block(b); });
    Sha1Digest out;
    for (int i = 0; i < 5; ++i) store_be32(h_[i], out.data() + 4 * i);
    return out;
}

Sha1Digest sha1(std::string_view data) noexcept {
    Sha1 s;
    s.update(data.data(), data.size());
    return s.finish();
}

}  // namespace wspush::codec
