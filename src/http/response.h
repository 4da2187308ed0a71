// Fixed HTTP/1.1 responses written into caller-owned buffers.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace wspush::http {

// Reason phrase for a status code ("Bad Request"); "Unknown" for codes we never send.
[[nodiscard]] std::string_view status_text(uint16_t status) noexcept;

// 101 Switching Protocols with Sec-WebSocket-Accept and, if non-empty,
// Sec-WebSocket-Protocol. Returns bytes written, or 0 if cap is too small.
size_t write_upgrade_response(char* out, size_t cap, const char (&accept)[28],
                              std::string_view protocol) noexcept;

// An error response: status line, Content-Type: text/plain, Content-Length,
// Connection: close, "Sec-WebSocket-Version: 13" when status == 426, "Allow: GET" when
// status == 405, then `reason` + "\n"
// as the body. Returns bytes written, or 0 if cap is too small.
size_t write_error_response(char* out, size_t cap, uint16_t status,
                            std::string_view reason) noexcept;

// The head of any other response (keep-alive webhooks, OPTIONS, HEAD): status line,
// Content-Type (when set), Content-Length, Connection: keep-alive or close, then Allow and
// Retry-After when set. The caller sends the body (none for 204 and for HEAD).
struct ResponseHead {
    uint16_t status = 200;
    std::string_view content_type;  // empty: none (204, 100)
    size_t content_length = 0;
    bool keep_alive = false;
    std::string_view allow;         // RFC 9110 10.2.1: with 405, and for OPTIONS
    uint32_t retry_after_s = 0;     // RFC 9110 10.2.3; 0: none
    std::string_view authenticate;  // WWW-Authenticate (RFC 9110 11.6.1, a 401 must have one)
};
size_t write_head(char* out, size_t cap, const ResponseHead& h) noexcept;
// The usual heads, for brevity at call sites.
[[nodiscard]] inline ResponseHead ok_head(std::string_view content_type) noexcept {
    ResponseHead h;
    h.content_type = content_type;
    return h;
}
[[nodiscard]] inline ResponseHead allow_head(uint16_t status, std::string_view allow) noexcept {
    ResponseHead h;
    h.status = status;
    h.allow = allow;
    return h;
}

// "HTTP/1.1 100 Continue\r\n\r\n": the interim answer to Expect: 100-continue (RFC 9110 10.1.1).
inline constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

}  // namespace wspush::http
