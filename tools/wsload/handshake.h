// Client side of the RFC 6455 section 4.1 opening handshake: the request, and the checks
// a client must make on the server's response (status 101, Upgrade, Connection,
// Sec-WebSocket-Accept, no unrequested extension or subprotocol).
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace wspush::wsload {

using WsKey = std::array<char, 24>;     // base64 of 16 random bytes
using WsAccept = std::array<char, 28>;  // base64 of a 20-byte SHA-1 digest

// Sec-WebSocket-Key for 16 random bytes (RFC 6455 4.1 item 7).
[[nodiscard]] WsKey make_key(const uint8_t (&nonce)[16]) noexcept;

// The Sec-WebSocket-Accept a server must answer to `key`:
// base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")) (RFC 6455 4.2.2 item 5.4).
[[nodiscard]] WsAccept expected_accept(std::string_view key) noexcept;

// The upgrade request. `protocol` is offered as Sec-WebSocket-Protocol unless empty.
[[nodiscard]] std::string build_request(std::string_view host, std::string_view path,
                                        std::string_view key, std::string_view protocol);

enum class HandshakeStatus : uint8_t { kNeedMore, kOk, kError };

struct HandshakeResult {
    HandshakeStatus status = HandshakeStatus::kNeedMore;
    size_t head_len = 0;         // kOk: bytes of the response head; frames follow it
    const char* error = "";      // kError: static description
    std::string_view protocol;   // kOk: the subprotocol the server chose, or empty
};

// Largest response head accepted; a longer one is an error.
constexpr size_t kMaxResponseHead = 8192;

// Checks the response head at the start of `buf` (re-parsed from scratch on every call;
// returns kNeedMore until the blank line arrives). `key` is the key this client sent and
// `offered` the subprotocol it offered (or empty). The views in the result point into buf.
[[nodiscard]] HandshakeResult check_response(std::string_view buf, std::string_view key,
                                             std::string_view offered) noexcept;

}  // namespace wspush::wsload
