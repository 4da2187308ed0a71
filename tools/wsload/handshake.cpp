#include "wsload/handshake.h"

#include <cstring>

#include "codec/base64.h"
#include "codec/sha1.h"

namespace wspush::wsload {

namespace {

constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// Whether a comma-separated header value lists `token` (case-insensitive).
bool has_token(std::string_view list, std::string_view token) noexcept {
    while (!list.empty()) {
        const size_t comma = list.find(',');
        if (iequals(trim(list.substr(0, comma)), token)) return true;
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    return false;
}

HandshakeResult fail(const char* why) noexcept {
    HandshakeResult r;
    r.status = HandshakeStatus::kError;
    r.error = why;
    return r;
}

}  // namespace

WsKey make_key(const uint8_t (&nonce)[16]) noexcept {
    WsKey key;
    codec::base64_encode(nonce, sizeof nonce, key.data());
    return key;
}

WsAccept expected_accept(std::string_view key) noexcept {
    codec::Sha1 h;
    h.update(key.data(), key.size());
    h.update(kGuid.data(), kGuid.size());
    const codec::Sha1Digest d = h.finish();
    WsAccept out;
    codec::base64_encode(d.data(), d.size(), out.data());
    return out;
}

std::string build_request(std::string_view host, std::string_view path, std::string_view key,
                          std::string_view protocol) {
    std::string r;
    r.reserve(160 + host.size() + path.size() + protocol.size());
    r.append("GET ").append(path).append(" HTTP/1.1\r\nHost: ").append(host);
    r.append("\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ").append(key);
    r.append("\r\nSec-WebSocket-Version: 13\r\n");
    if (!protocol.empty()) r.append("Sec-WebSocket-Protocol: ").append(protocol).append("\r\n");
    r.append("\r\n");
    return r;
}

HandshakeResult check_response(std::string_view buf, std::string_view key,
                               std::string_view offered) noexcept {
    const size_t end = buf.find("\r\n\r\n");
    if (end == std::string_view::npos) {
        return buf.size() > kMaxResponseHead ? fail("response head too long") : HandshakeResult{};
    }
    if (end + 4 > kMaxResponseHead) return fail("response head too long");
    std::string_view head = buf.substr(0, end + 2);  // every line ends in CRLF

    // Status line: "HTTP/1.1 101 <reason>" (RFC 6455 4.1: anything but 101 is a failure).
    const size_t eol = head.find("\r\n");
    const std::string_view status_line = head.substr(0, eol);
    head.remove_prefix(eol + 2);
    if (status_line.substr(0, 9) != "HTTP/1.1 " || status_line.size() < 12) return fail("bad status line");
    if (status_line.substr(9, 3) != "101") return fail("status is not 101");

    bool upgrade = false;
    bool connection = false;
    bool accept_ok = false;
    bool accept_seen = false;
    HandshakeResult ok;
    const WsAccept want = expected_accept(key);
    while (!head.empty()) {
        const size_t nl = head.find("\r\n");
        const std::string_view line = head.substr(0, nl);
        head.remove_prefix(nl + 2);
        const size_t colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0) return fail("malformed header line");
        const std::string_view name = line.substr(0, colon);
        const std::string_view value = trim(line.substr(colon + 1));
        if (iequals(name, "Upgrade")) {
            upgrade = iequals(value, "websocket");  // 4.1 item 2: case-insensitive
        } else if (iequals(name, "Connection")) {
            connection = connection || has_token(value, "Upgrade");  // item 3
        } else if (iequals(name, "Sec-WebSocket-Accept")) {
            if (accept_seen) return fail("repeated Sec-WebSocket-Accept");
            accept_seen = true;
            // Item 4: compared byte for byte, no case folding (it is base64).
            accept_ok = value.size() == want.size() && std::memcmp(value.data(), want.data(), want.size()) == 0;
        } else if (iequals(name, "Sec-WebSocket-Extensions")) {
            return fail("extension not requested");  // item 5: we offer none
        } else if (iequals(name, "Sec-WebSocket-Protocol")) {
            // Item 6: only a protocol the client offered, and only one.
            if (!ok.protocol.empty() || offered.empty() || value != offered) return fail("subprotocol not offered");
            ok.protocol = value;
        }
    }
    if (!upgrade) return fail("no Upgrade: websocket");
    if (!connection) return fail("no Connection: Upgrade");
    if (!accept_seen) return fail("no Sec-WebSocket-Accept");
    if (!accept_ok) return fail("wrong Sec-WebSocket-Accept");
    ok.status = HandshakeStatus::kOk;
    ok.head_len = end + 4;
    return ok;
}

}  // namespace wspush::wsload
