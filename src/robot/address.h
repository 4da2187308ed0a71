// Source-address allow-lists: IPv4 and IPv6 addresses and CIDR ranges ("10.0.0.0/8",
// "192.168.1.7", "fd00::/8", "::1").
#pragma once
#include <cstdint>
#include <string_view>
#include <sys/socket.h>

namespace wspush::robot {

struct AddressRange {
    uint8_t addr[16] = {};  // IPv4 in the first 4 bytes
    uint8_t prefix = 0;     // bits that must match: 0..32 (IPv4) or 0..128 (IPv6)
    bool v6 = false;
};

// Parses an address or ADDRESS/PREFIX. Bits past the prefix must be zero ("10.1.0.0/8" is
// refused: almost always a typo). False on anything else.
[[nodiscard]] bool parse_range(std::string_view s, AddressRange& out) noexcept;

// Whether `peer` (AF_INET or AF_INET6) is inside the range. An IPv4-mapped IPv6 peer
// (::ffff:a.b.c.d, what a dual-stack listener sees) matches IPv4 ranges as a.b.c.d.
[[nodiscard]] bool range_contains(const AddressRange& r, const sockaddr_storage& peer) noexcept;

// Writes the peer's address as text (no port) into out; "?" for other families.
void format_address(const sockaddr_storage& peer, char (&out)[64]) noexcept;

}  // namespace wspush::robot
