// RFC 6455 section 5.2 frame encoding and masking.
#pragma once
#include <cstddef>
#include <cstdint>

namespace wspush::ws {

enum class Opcode : uint8_t {
    kContinuation = 0x0,
    kText = 0x1,
    kBinary = 0x2,
    kClose = 0x8,
    kPing = 0x9,
    kPong = 0xA,
};

constexpr bool is_control(Opcode op) noexcept { return (static_cast<uint8_t>(op) & 0x8) != 0; }

constexpr size_t kMaxServerHeader = 10;  // 2 + 8-byte extended length, no mask
constexpr size_t kMaxClientHeader = 14;  // 2 + 8 + 4-byte masking key
constexpr size_t kMaxControlPayload = 125;

// Size of the header encode_header() writes for a payload of len bytes (2, 4 or 10).
constexpr size_t server_header_size(uint64_t len) noexcept {
    return len < 126 ? 2 : (len <= 0xFFFF ? 4 : 10);
}

// Writes an unmasked (server-to-client) frame header with the minimal length encoding.
// Returns the header length (2, 4 or 10).
size_t encode_header(uint8_t (&out)[kMaxServerHeader], Opcode op, uint64_t payload_len,
                     bool fin = true) noexcept;

// Writes a masked (client-to-server) frame header, masking key included; used by the
// tests and tools/wsload. Returns the header length (6, 8 or 14).
size_t encode_client_header(uint8_t (&out)[kMaxClientHeader], Opcode op, uint64_t payload_len,
                            const uint8_t (&key)[4], bool fin = true) noexcept;

// XORs p[0..n) in place with the masking key, starting at key byte (offset % 4): pass the
// payload offset of p so that a payload unmasked in pieces gets the same result as whole.
// Works a machine word at a time. Masking and unmasking are the same operation.
void unmask(uint8_t* p, size_t n, const uint8_t (&key)[4], uint64_t offset) noexcept;

}  // namespace wspush::ws
