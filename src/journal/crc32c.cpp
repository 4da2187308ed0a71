#include "journal/crc32c.h"


namespace wspush::journal {
namespace {

constexpr uint32_t kPoly = 0x82F63B78u;  // 0x1EDC6F41 bit-reversed

// Tables[0] is the classic byte table; Tables[k][b] is the CRC of byte b followed by k
// zero bytes, so eight bytes are folded with eight lookups (Intel's slice-by-8). Built on
// first use into .bss rather than stored in the binary: 8 KiB of a server that runs without
// a journal need not be in its file, and are resident only where one is used.
using Tables = uint32_t[8][256];
Tables g_tables;
bool g_built = false;

[[gnu::cold]] void build_tables() noexcept {
    for (uint32_t b = 0; b < 256; ++b) {
        uint32_t c = b;
        for (int i = 0; i < 8; ++i) c = (c >> 1) ^ ((c & 1) ? kPoly : 0);
        g_tables[0][b] = c;
    }
    for (uint32_t b = 0; b < 256; ++b)
        for (int k = 1; k < 8; ++k) g_tables[k][b] = (g_tables[k - 1][b] >> 8) ^ g_tables[0][g_tables[k - 1][b] & 0xff];
    g_built = true;
}

}  // namespace

uint32_t crc32c(const void* data, size_t len, uint32_t crc) noexcept {
    if (!g_built) [[unlikely]] build_tables();
    const Tables& kTables = g_tables;
    const auto* p = static_cast<const uint8_t*>(data);
    uint32_t c = ~crc;
    while (len >= 8) {
        // Little-endian loads, byte order independent (one load each on little-endian).
        uint32_t lo = (p[0] | p[1] << 8 | p[2] << 16 | uint32_t{p[3]} << 24) ^ c;
        uint32_t hi = p[4] | p[5] << 8 | p[6] << 16 | uint32_t{p[7]} << 24;
        c = kTables[7][lo & 0xff] ^ kTables[6][(lo >> 8) & 0xff] ^ kTables[5][(lo >> 16) & 0xff] ^
            kTables[4][lo >> 24] ^ kTables[3][hi & 0xff] ^ kTables[2][(hi >> 8) & 0xff] ^
            kTables[1][(hi >> 16) & 0xff] ^ kTables[0][hi >> 24];
        p += 8;
        len -= 8;
    }
    while (len--) c = (c >> 8) ^ kTables[0][(c ^ *p++) & 0xff];
    return ~c;
}

}  // namespace wspush::journal
