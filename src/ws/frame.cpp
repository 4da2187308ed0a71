// RFC 6455 section 5.2 frame headers and section 5.3 masking.
#include "ws/frame.h"

#include <bit>
#include <cstring>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

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
    const size_t ext = len <= 0xFFFF ? 2 : 8;
    out[1] = static_cast<uint8_t>(mask | (ext == 2 ? kLen16 : kLen64));
    for (size_t i = 0; i < ext; ++i) out[2 + i] = static_cast<uint8_t>(len >> (8 * (ext - 1 - i)));
    return 2 + ext;
}

// The first byte of v in memory order.
constexpr uint8_t first_byte(uint32_t v) noexcept {
    return static_cast<uint8_t>(std::endian::native == std::endian::little ? v : v >> 24);
}

// v with its bytes moved `bytes` places towards the front in memory order.
constexpr uint32_t rotate_bytes(uint32_t v, int bytes) noexcept {
    return std::endian::native == std::endian::little ? std::rotr(v, 8 * bytes)
                                                       : std::rotl(v, 8 * bytes);
}

// p[0..8) ^= k, through memcpy: no aliasing or alignment UB, and plain moves once compiled.
inline void xor_word(uint8_t* p, uint64_t k) noexcept {
    uint64_t w;
    std::memcpy(&w, p, 8);
    w ^= k;
    std::memcpy(p, &w, 8);
}

}  // namespace

size_t encode_header(uint8_t (&out)[kMaxServerHeader], Opcode op, uint64_t payload_len,
                     bool fin) noexcept {
    return write_header(out, op, payload_len, fin, 0);
}

size_t encode_client_header(uint8_t (&out)[kMaxClientHeader], Opcode op, uint64_t payload_len,
                            const uint8_t (&key)[4], bool fin) noexcept {
    const size_t n = write_header(out, op, payload_len, fin, kMaskBit);
    std::memcpy(out + n, key, 4);
    return n + 4;
}

namespace {

// The masking loop, inlined into one function per instruction set below.
[[gnu::always_inline]] inline void unmask_body(uint8_t* p, size_t n, const uint8_t (&key)[4],
                                               uint64_t offset) noexcept {
    // Payload byte i is XORed with key[i % 4] (RFC 6455 5.3). k32 holds the key rotated so
    // that its first byte in memory order applies to p[0].
    uint32_t k32;
    std::memcpy(&k32, key, 4);
    k32 = rotate_bytes(k32, static_cast<int>(offset & 3));
    // Unaligned head, a byte at a time until p is 8-aligned.
    for (; n != 0 && (reinterpret_cast<uintptr_t>(p) & 7) != 0; ++p, --n) {
        *p ^= first_byte(k32);
        k32 = rotate_bytes(k32, 1);
    }
    // Body: the key replicated into a word, eight words per round. The rounds are straight
    // line code of independent words, which g++ -O2 pairs into 16-byte vector moves where
    // the target has them: 64-byte rounds measured about 1.4x faster than 32-byte ones on
    // 4 KiB (bench/frame_bench.cpp, x86-64 baseline SSE2).
    const uint64_t k64 = (static_cast<uint64_t>(k32) << 32) | k32;
    for (; n >= 64; n -= 64, p += 64) {
        xor_word(p, k64);
        xor_word(p + 8, k64);
        xor_word(p + 16, k64);
        xor_word(p + 24, k64);
        xor_word(p + 32, k64);
        xor_word(p + 40, k64);
        xor_word(p + 48, k64);
        xor_word(p + 56, k64);
    }
    for (; n >= 8; n -= 8, p += 8) xor_word(p, k64);
    // Tail, fewer than 8 bytes; whole words kept the rotation.
    for (; n != 0; ++p, --n) {
        *p ^= first_byte(k32);
        k32 = rotate_bytes(k32, 1);
    }
}

}  // namespace

#if defined(__x86_64__)
// Built twice, for AVX2 and for the x86-64 baseline; the loader picks one at start-up (an
// ifunc), so one binary uses 32-byte vectors where the CPU has them. The resolver asks CPUID
// itself: target_clones would do the same through libgcc's __cpu_indicator_init, which
// detects every feature of every CPU model (~4.5 KB) to answer this one question.
namespace {

using UnmaskFn = void(uint8_t*, size_t, const uint8_t (&)[4], uint64_t) noexcept;

void unmask_baseline(uint8_t* p, size_t n, const uint8_t (&key)[4], uint64_t offset) noexcept {
    unmask_body(p, n, key, offset);
}

__attribute__((target("avx2"))) void unmask_avx2(uint8_t* p, size_t n, const uint8_t (&key)[4],
                                                 uint64_t offset) noexcept {
    unmask_body(p, n, key, offset);
}

// AVX2 needs the CPU's AVX2 bit (CPUID leaf 7, EBX bit 5) and the OS saving the YMM state
// (CPUID leaf 1: OSXSAVE and AVX; XGETBV: XCR0 bits 1 and 2).
bool has_avx2() noexcept {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
    constexpr unsigned kOsxsave = 1u << 27, kAvx = 1u << 28;
    if ((c & (kOsxsave | kAvx)) != (kOsxsave | kAvx)) return false;
    unsigned xcr0_lo, xcr0_hi;
    __asm__("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
    if ((xcr0_lo & 6) != 6) return false;
    if (__get_cpuid_max(0, nullptr) < 7) return false;
    __cpuid_count(7, 0, a, b, c, d);
    return (b & (1u << 5)) != 0;
}

}  // namespace

// Runs during relocation, before the sanitizers' run time is set up.
extern "C" __attribute__((no_sanitize("address", "undefined"))) UnmaskFn* wspush_resolve_unmask() {
    return has_avx2() ? unmask_avx2 : unmask_baseline;
}

void unmask(uint8_t* p, size_t n, const uint8_t (&key)[4], uint64_t offset) noexcept
    __attribute__((ifunc("wspush_resolve_unmask")));
#else
void unmask(uint8_t* p, size_t n, const uint8_t (&key)[4], uint64_t offset) noexcept {
    unmask_body(p, n, key, offset);
}
#endif

}  // namespace wspush::ws
