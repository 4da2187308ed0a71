// Address ranges: inet_pton does the parsing (RFC 4291 section 2.2 text forms for IPv6,
// dotted quads for IPv4); we add the prefix, the host-bits check and the matching.
#include "robot/address.h"

#include <arpa/inet.h>
#include <cstring>
#include <netinet/in.h>

namespace wspush::robot {

namespace {

// ::ffff:0:0/96, RFC 4291 section 2.5.5.2: how a dual-stack socket shows an IPv4 peer.
constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

// Whether the first `bits` bits of a and b agree.
bool prefix_equal(const uint8_t* a, const uint8_t* b, unsigned bits) noexcept {
    const unsigned whole = bits / 8;
    if (std::memcmp(a, b, whole) != 0) return false;
    const unsigned rest = bits % 8;
    if (rest == 0) return true;
    const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
    return ((a[whole] ^ b[whole]) & mask) == 0;
}

// Whether every bit of addr[0..len) from bit `bits` on is zero.
bool host_bits_zero(const uint8_t* addr, size_t len, unsigned bits) noexcept {
    for (size_t i = bits / 8; i < len; ++i) {
        const unsigned used = i == bits / 8 ? bits % 8 : 0;  // network bits in this byte
        const uint8_t host = static_cast<uint8_t>(0xff >> used);
        if ((addr[i] & host) != 0) return false;
    }
    return true;
}

// A prefix length: 1..3 decimal digits, at most max. No sign, no blanks.
bool parse_prefix(std::string_view s, unsigned max, uint8_t& out) noexcept {
    if (s.empty() || s.size() > 3) return false;
    unsigned v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + static_cast<unsigned>(c - '0');
    }
    if (v > max) return false;
    out = static_cast<uint8_t>(v);
    return true;
}

// The peer as IPv4 (AF_INET, or IPv4-mapped AF_INET6) and as IPv6 (AF_INET6, or AF_INET
// mapped), so that a range matches the same peers whether the listener is dual-stack or not.
struct PeerForms {
    uint8_t v4[4];
    uint8_t v6[16];
    bool has_v4 = false;
    bool has_v6 = false;
};

PeerForms peer_forms(const sockaddr_storage& peer) noexcept {
    PeerForms f;
    if (peer.ss_family == AF_INET) {
        const auto& sin = reinterpret_cast<const sockaddr_in&>(peer);
        std::memcpy(f.v4, &sin.sin_addr, 4);
        std::memcpy(f.v6, kMappedPrefix, 12);
        std::memcpy(f.v6 + 12, f.v4, 4);
        f.has_v4 = f.has_v6 = true;
    } else if (peer.ss_family == AF_INET6) {
        const auto& sin6 = reinterpret_cast<const sockaddr_in6&>(peer);
        std::memcpy(f.v6, &sin6.sin6_addr, 16);
        f.has_v6 = true;
        if (std::memcmp(f.v6, kMappedPrefix, 12) == 0) {
            std::memcpy(f.v4, f.v6 + 12, 4);
            f.has_v4 = true;
        }
    }
    return f;
}

}  // namespace

bool parse_range(std::string_view s, AddressRange& out) noexcept {
    const size_t slash = s.find('/');
    const std::string_view host = s.substr(0, slash);
    char text[INET6_ADDRSTRLEN];  // inet_pton wants a NUL-terminated string
    if (host.empty() || host.size() >= sizeof text) return false;
    std::memcpy(text, host.data(), host.size());
    text[host.size()] = '\0';

    AddressRange r;
    r.v6 = host.find(':') != std::string_view::npos;
    if (inet_pton(r.v6 ? AF_INET6 : AF_INET, text, r.addr) != 1) return false;
    const unsigned max = r.v6 ? 128 : 32;
    r.prefix = static_cast<uint8_t>(max);
    if (slash != std::string_view::npos && !parse_prefix(s.substr(slash + 1), max, r.prefix)) return false;
    if (!host_bits_zero(r.addr, r.v6 ? 16 : 4, r.prefix)) return false;
    out = r;
    return true;
}

bool range_contains(const AddressRange& r, const sockaddr_storage& peer) noexcept {
    const PeerForms f = peer_forms(peer);
    if (r.v6) return f.has_v6 && prefix_equal(r.addr, f.v6, r.prefix);
    return f.has_v4 && prefix_equal(r.addr, f.v4, r.prefix);
}

void format_address(const sockaddr_storage& peer, char (&out)[64]) noexcept {
    const void* addr = nullptr;
    if (peer.ss_family == AF_INET) addr = &reinterpret_cast<const sockaddr_in&>(peer).sin_addr;
    if (peer.ss_family == AF_INET6) addr = &reinterpret_cast<const sockaddr_in6&>(peer).sin6_addr;
    if (addr == nullptr || inet_ntop(peer.ss_family, addr, out, sizeof out) == nullptr) {
        out[0] = '?';
        out[1] = '\0';
    }
}

}  // namespace wspush::robot
