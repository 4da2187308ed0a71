// Incremental HTTP/1.1 request-head parser (RFC 9112), picohttpparser style: re-parse the
// bounded buffer on each call with no saved state, return views into it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace wspush::http {

constexpr size_t kMaxHeaders = 32;
constexpr size_t kMaxHeadBytes = 8192;  // request line + headers; larger is 431

struct Header {
    std::string_view name;
    std::string_view value;  // leading/trailing whitespace trimmed
};

struct Request {
    std::string_view method;
    std::string_view target;  // request-target as sent (origin-form: path + query)
    int minor_version = -1;   // HTTP/1.<minor>
    Header headers[kMaxHeaders];
    size_t num_headers = 0;

    // First header with this name (case-insensitive), or an empty view.
    [[nodiscard]] std::string_view header(std::string_view name) const noexcept;
    // Whether this header is present at all (case-insensitive name).
    [[nodiscard]] bool has_header(std::string_view name) const noexcept;
    // Number of headers with this name (case-insensitive).
    [[nodiscard]] size_t count_header(std::string_view name) const noexcept;
};

enum class ParseStatus : uint8_t { kDone, kNeedMore, kError };

struct ParseResult {
    ParseStatus status = ParseStatus::kNeedMore;
    uint32_t consumed = 0;      // kDone: bytes of the head, including the final CRLFCRLF
    uint16_t http_status = 0;   // kError: 400 (malformed), 431 (too many/too long), 505
    const char* reason = "";    // kError: short static text for the response body
};

// Parses buf[0..len). last_len is the length at the previous call (0 the first time), so a
// head arriving byte by byte is not rescanned for its end from the start. Views in `out`
// point into buf. Never reads past buf + len. Bytes after the head (a pipelined request or
// early frame data) are left to the caller. A head longer than kMaxHeadBytes is an error.
// Lines may end in CRLF or a bare LF. A byte no head may hold (CTL, DEL, CR without LF) is
// an error as soon as it arrives; other errors are found once the blank line has arrived.
[[nodiscard]] ParseResult parse_request(const char* buf, size_t len, size_t last_len,
                                        Request& out) noexcept;

// Case-insensitive ASCII comparison.
[[nodiscard]] bool iequals(std::string_view a, std::string_view b) noexcept;
// Whether a comma-separated token list (e.g. "keep-alive, Upgrade") contains `token`,
// case-insensitively, ignoring optional whitespace around elements.
[[nodiscard]] bool list_has_token(std::string_view list, std::string_view token) noexcept;
// Splits the next element off the front of a comma-separated list, without its optional
// whitespace; empty elements are skipped. Returns an empty view once `rest` holds no more.
[[nodiscard]] std::string_view next_list_element(std::string_view& rest) noexcept;

}  // namespace wspush::http
