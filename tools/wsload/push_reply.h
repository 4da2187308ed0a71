// What the server answers a push with: the control socket's "OK seq=<n> delivered=<k>"
// line, and the webhook's HTTP/1.1 response (its JSON body goes through
// parse_webhook_body, envelope.h).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace wspush::wsload {

// Parses "OK seq=<n> delivered=<k>" (no line end). Returns false for anything else.
[[nodiscard]] bool parse_pub_reply(std::string_view line, uint64_t& seq, uint64_t& delivered) noexcept;

struct HttpReply {
    uint16_t status = 0;
    bool close = false;     // "Connection: close"
    std::string_view body;  // into the parsed buffer
};

// Reply heads larger than this are an error (the server's are under 200 bytes).
inline constexpr size_t kMaxReplyHead = 8192;

// Parses one response at the start of buf: status line, headers, and a body of exactly
// Content-Length bytes (required: the server sends no other framing). Re-parses from the
// start each call, so the caller keeps the bytes until a whole reply is in.
// Returns the reply's size in bytes, 0 when more bytes are needed, or -1 when it is not a
// response we take (then *why names the problem).
[[nodiscard]] ptrdiff_t parse_http_reply(std::string_view buf, HttpReply& out, const char** why) noexcept;

}  // namespace wspush::wsload
