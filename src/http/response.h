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

// Head of a 200 response with the given content type and length; the caller sends the body.
// Connection: close. Returns bytes written, or 0 if cap is too small.
size_t write_ok_head(char* out, size_t cap, std::string_view content_type,
                     size_t content_length) noexcept;

}  // namespace wspush::http
