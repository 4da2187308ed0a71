// RFC 6455 section 5.2 frame headers and section 5.3 masking.
#include "ws/frame.h"

#include <cstring>

namespace wspush::ws {
namespace {

constexpr uint8_t kFinBit = 0x80;
constexpr uint8_t kMaskBit = 0x80;
constexpr uint8_t kLen16 = 126;  // "the following 2 bytes ... are the payload length"
constexpr uint8_t kLen64 = 127;  // "the following 8 bytes ... are the payload length"

// Writes byte 0, byte 1 (mask bit included) and the extended length in network order
// with the minimal encoding (RFC 6455 5.2). Returns 2, 4 or 10.
size_t write_header(uint8_t* out, Opcode op, uint64_t len, bool fin, uint8_t mask) noexcept {
    out[0] = static_cast<uint8_t>((fin ? kFinBit : 0) | static_cast<uint8_t>(op));
    if (len < kLen16) {
        out[1] = static_cast<uint8_t>(mask | len);
        return 2;
    }
    size_t ext = len <= 0xFFFF ? 2 : 8;
    out[1] = static_cast<uint8_t>(mask | (ext == 2 ? kLen16 : kLen64));
    for (size_t i = 0; i < ext; ++i) out[2 + i] = static_cast<uint8_t>(len >> (8 * (ext - 1 - i)));
    return 2 + ext;
}

}  // namespace

size_t encode_header(uint8_t (&out)[kMaxServerHeader], Opcode op, uint64_t payload_len,
                     bool fin) noexcept {
    return write_header(out, op, payload_len, fin, 0);
}

size_t encode_client_header(uint8_t (&out)[kMaxClientHeader], Opcode op, uint64_t payload_len,
                            const uint8_t (&key)[4], bool fin) noexcept {
    size_t n = write_header(out, op, payload_len, fin, kMaskBit);
    std::memcpy(out + n, key, 4);
    return n + 4;
}

void unmask(uint8_t* p, size_t n, const uint8_t (&key)[4], uint64_t offset) noexcept {
    // Byte i of the payload is XORed with key[i % 4] (RFC 6455 5.3); rotate the key so that
    // k[0] applies to p[0].
    uint8_t k[4];
    for (size_t i = 0; i < 4; ++i) k[i] = key[(offset + i) & 3];
    // Unaligned head, byte by byte until p is 8-aligned, rotating the key as we go.
    while (n != 0 && (reinterpret_cast<uintptr_t>(p) & 7) != 0) {
        *p++ ^= k[0];
        --n;
        uint8_t k0 = k[0];
        k[0] = k[1];
        k[1] = k[2];
        k[2] = k[3];
        k[3] = k0;
    }
    // Body: the 4-byte key replicated into a word; memcpy keeps the loads free of
    // aliasing and alignment UB and compiles to plain moves. Four words per round lets
    // the compiler keep several loads in flight (or pair them into vector moves).
    uint32_t k32;
    std::memcpy(&k32, k, 4);
    const uint64_t k64 = (static_cast<uint64_t>(k32) << 32) | k32;
    for (; n >= 32; n -= 32, p += 32) {
        uint64_t w[4];
        std::memcpy(w, p, 32);
        w[0] ^= k64;
        w[1] ^= k64;
        w[2] ^= k64;
        w[3] ^= k64;
        std::memcpy(p, w, 32);
    }
    for (; n >= 8; n -= 8, p += 8) {
        uint64_t w;
        std::memcpy(&w, p, 8);
        w ^= k64;
        std::memcpy(p, &w, 8);
    }
    // Tail: fewer than 8 bytes; a multiple of 8 was consumed so the rotation is unchanged.
    for (size_t i = 0; i < n; ++i) p[i] ^= k[i & 3];
}

}  // namespace wspush::ws
