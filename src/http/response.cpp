// Fixed HTTP/1.1 responses. Byte layouts (CRLF line ends, headers in this order):
//
//   101: "HTTP/1.1 101 Switching Protocols" / "Upgrade: websocket" / "Connection: Upgrade" /
//        "Sec-WebSocket-Accept: <28 chars>" / ["Sec-WebSocket-Protocol: <p>"] / ""
//   error: "HTTP/1.1 <code> <text>" / "Content-Type: text/plain" / "Content-Length: <n>" /
//        "Connection: close" / ["Sec-WebSocket-Version: 13" for 426] / ["Allow: GET" for 405] /
//        "" / <reason> "\n"
//   other heads: "HTTP/1.1 <code> <text>" / ["Content-Type: <type>"] / ["Content-Length: <n>"
//        (not for 1xx, 204)] / "Connection: keep-alive|close" / ["Allow: ..."] /
//        ["Retry-After: <s>"] / ["WWW-Authenticate: ..."] / ""
#include "http/response.h"

#include <cstring>

namespace wspush::http {

namespace {

constexpr std::string_view kCrlf = "\r\n";

// Appends to out[0, cap). Once a piece does not fit, writes nothing more and reports 0.
class Writer {
public:
    Writer(char* out, size_t cap) noexcept : out_(out), cap_(cap) {}

    Writer& put(std::string_view s) noexcept {
        if (failed_ || s.size() > cap_ - len_) {
            failed_ = true;
        } else if (!s.empty()) {
            std::memcpy(out_ + len_, s.data(), s.size());
            len_ += s.size();
        }
        return *this;
    }

    Writer& put_uint(size_t v) noexcept {
        char digits[20];  // 2^64 - 1 has 20 digits
        size_t n = sizeof digits;
        do {
            digits[--n] = static_cast<char>('0' + v % 10);
            v /= 10;
        } while (v != 0);
        return put({digits + n, sizeof digits - n});
    }

    // "HTTP/1.1 <code> <text>\r\n"
    Writer& status_line(uint16_t status) noexcept {
        return put("HTTP/1.1 ").put_uint(status).put(" ").put(status_text(status)).put(kCrlf);
    }

    Writer& header(std::string_view name, std::string_view value) noexcept {
        return put(name).put(": ").put(value).put(kCrlf);
    }

    // Content-Length and Connection: close, shared by every non-101 response.
    Writer& length_and_close(size_t content_length) noexcept {
        return put("Content-Length: ").put_uint(content_length).put(kCrlf)
            .header("Connection", "close");
    }

    [[nodiscard]] size_t done() const noexcept { return failed_ ? 0 : len_; }

private:
    char* out_;
    size_t cap_;
    size_t len_ = 0;
    bool failed_ = false;
};

}  // namespace

std::string_view status_text(uint16_t status) noexcept {
    switch (status) {
        case 101: return "Switching Protocols";
        case 100: return "Continue";
        case 200: return "OK";
        case 204: return "No Content";
        case 401: return "Unauthorized";
        case 400: return "Bad Request";
        case 403: return "Forbidden";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 410: return "Gone";
        case 411: return "Length Required";
        case 413: return "Content Too Large";
        case 415: return "Unsupported Media Type";
        case 417: return "Expectation Failed";
        case 429: return "Too Many Requests";
        case 408: return "Request Timeout";
        case 426: return "Upgrade Required";
        case 431: return "Request Header Fields Too Large";
        case 500: return "Internal Server Error";
        case 503: return "Service Unavailable";
        case 501: return "Not Implemented";
        case 505: return "HTTP Version Not Supported";
        default: return "Unknown";
    }
}

size_t write_upgrade_response(char* out, size_t cap, const char (&accept)[28],
                              std::string_view protocol) noexcept {
    Writer w(out, cap);
    w.status_line(101)
        .header("Upgrade", "websocket")
        .header("Connection", "Upgrade")
        .header("Sec-WebSocket-Accept", {accept, sizeof accept});
    // RFC 6455 4.2.2 (/subprotocol/): no Sec-WebSocket-Protocol unless the client offered it and
    // we picked one; an empty value would fail the client (section 4.1, item 6).
    if (!protocol.empty()) w.header("Sec-WebSocket-Protocol", protocol);
    return w.put(kCrlf).done();
}

size_t write_error_response(char* out, size_t cap, uint16_t status,
                            std::string_view reason) noexcept {
    Writer w(out, cap);
    w.status_line(status).header("Content-Type", "text/plain").length_and_close(reason.size() + 1);
    // RFC 6455 4.2.2: a 426 names the versions we do speak.
    if (status == 426) w.header("Sec-WebSocket-Version", "13");
    // RFC 9110 15.5.6: a 405 MUST list the methods the resource supports.
    if (status == 405) w.header("Allow", "GET");
    return w.put(kCrlf).put(reason).put("\n").done();
}

size_t write_head(char* out, size_t cap, const ResponseHead& h) noexcept {
    Writer w(out, cap);
    w.status_line(h.status);
    if (!h.content_type.empty()) w.header("Content-Type", h.content_type);
    // RFC 9110 8.6: never in a 1xx or 204.
    if (h.status >= 200 && h.status != 204) w.put("Content-Length: ").put_uint(h.content_length).put(kCrlf);
    w.header("Connection", h.keep_alive ? "keep-alive" : "close");
    if (!h.allow.empty()) w.header("Allow", h.allow);
    if (h.retry_after_s) w.put("Retry-After: ").put_uint(h.retry_after_s).put(kCrlf);
    if (!h.authenticate.empty()) w.header("WWW-Authenticate", h.authenticate);
    return w.put(kCrlf).done();
}

}  // namespace wspush::http
