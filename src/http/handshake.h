// RFC 6455 section 4.2 server handshake: validate an upgrade request, compute the answer.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "http/request_parser.h"

namespace wspush::http {

// Sec-WebSocket-Accept: base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")).
void accept_key(const char (&key)[24], char (&out)[28]) noexcept;

struct HandshakeOptions {
    std::span<const std::string_view> protocols;  // supported subprotocols, in our order
    std::span<const std::string_view> origins;    // allowed Origin values; empty: any
};

struct Handshake {
    uint16_t status = 0;          // 101 on success; else 400, 403, 405 or 426
    const char* reason = "";      // short static text for an error response
    char accept[28] = {};         // valid when status == 101
    std::string_view protocol;    // chosen subprotocol (points into options), or empty
    std::string_view path;        // target before '?'
    std::string_view query;       // target after '?', without it, or empty
};

// Whether the request asks for an upgrade at all (has an Upgrade header or a Connection
// header listing "upgrade"). A request that does not is an ordinary HTTP request.
[[nodiscard]] bool wants_upgrade(const Request& req) noexcept;

// Validates an upgrade request: GET, HTTP/1.1 or later, one Host, no body (no
// Transfer-Encoding; Content-Length absent or exactly "0", on one line), Upgrade listing
// websocket (two Upgrade lines must not differ), Connection containing "Upgrade", Sec-WebSocket-Key decoding to 16 bytes,
// Sec-WebSocket-Version 13 (else 426, and the response must carry
// "Sec-WebSocket-Version: 13"), Origin allowed (else 403). Picks the first protocol the
// client offers (Sec-WebSocket-Protocol, possibly repeated, comma lists) that we support.
// Does not look at the path: routing is the caller's.
[[nodiscard]] Handshake check_upgrade(const Request& req, const HandshakeOptions& opt) noexcept;

}  // namespace wspush::http
