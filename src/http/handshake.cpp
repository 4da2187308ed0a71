// RFC 6455 section 4.2.1 (reading the client's opening handshake) and 4.2.2 (the answer).
#include "http/handshake.h"

#include <cstring>

#include "codec/base64.h"
#include "codec/sha1.h"

namespace wspush::http {

namespace {

// RFC 6455 section 1.3: the GUID appended to the key before hashing.
constexpr std::string_view kAcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
constexpr size_t kKeyChars = 24;  // base64 of a 16-byte nonce

// Whether any header named `name` holds a list with `token` (the lists of repeated header
// lines combine, RFC 9110 section 5.3).
bool any_list_has(const Request& req, std::string_view name, std::string_view token) noexcept {
    for (size_t i = 0; i < req.num_headers; ++i) {
        const Header& h = req.headers[i];
        if (iequals(h.name, name) && list_has_token(h.value, token)) return true;
    }
    return false;
}

bool key_is_16_bytes(std::string_view key) noexcept {
    uint8_t nonce[16];
    return key.size() == kKeyChars &&
           codec::base64_decode(key, nonce, sizeof nonce) == static_cast<ptrdiff_t>(sizeof nonce);
}

bool origin_allowed(const Request& req, const HandshakeOptions& opt) noexcept {
    if (opt.origins.empty()) return true;
    // A browser sends one serialized origin (RFC 6454 section 6.2); two lines are not one.
    if (req.count_header("Origin") != 1) return false;
    const std::string_view origin = req.header("Origin");
    for (const std::string_view allowed : opt.origins) {
        // Scheme and host compare case-insensitively (RFC 6454 section 5).
        if (iequals(origin, allowed)) return true;
    }
    return false;
}

// The first subprotocol the client offers (in header order, then list order) that we
// support; empty if none. Subprotocol names are case-sensitive tokens (RFC 6455 4.1).
std::string_view choose_protocol(const Request& req, const HandshakeOptions& opt) noexcept {
    for (size_t i = 0; i < req.num_headers; ++i) {
        if (!iequals(req.headers[i].name, "Sec-WebSocket-Protocol")) continue;
        std::string_view rest = req.headers[i].value;
        for (std::string_view offer = next_list_element(rest); !offer.empty();
             offer = next_list_element(rest)) {
            for (const std::string_view ours : opt.protocols) {
                if (offer == ours) return ours;
            }
        }
    }
    return {};
}

using Check = bool (*)(const Request&, const HandshakeOptions&) noexcept;

struct Rule {
    uint16_t status;     // sent when `ok` fails
    const char* reason;  // response body
    Check ok;
};

// Checked in order; the first failing rule answers. The version rules come before the key
// rules so that an older client (hixie-76 sends no Sec-WebSocket-Key, hybi-08 sends
// version 8) learns from the 426 which version we speak (RFC 6455 section 4.4).
constexpr Rule kRules[] = {
    // RFC 6455 4.1 item 2: "The method of the request MUST be GET".
    {.status = 405, .reason = "method not allowed",
     .ok = [](const Request& r, const HandshakeOptions&) noexcept { return r.method == "GET"; }},
    // RFC 6455 4.1 item 2: "the HTTP version MUST be at least 1.1".
    {.status = 400, .reason = "HTTP/1.1 or later required",
     .ok = [](const Request& r, const HandshakeOptions&) noexcept { return r.minor_version >= 1; }},
    // RFC 9112 section 3.2: a request without Host, or with two, is a 400.
    {.status = 400, .reason = "missing Host",
     .ok = [](const Request& r, const HandshakeOptions&) noexcept {
         return !r.header("Host").empty();
     }},
    {.status = 400, .reason = "duplicate Host",
     .ok = [](const Request& r, const HandshakeOptions&) noexcept {
         return r.count_header("Host") == 1;
     }},
    // RFC 6455 4.2.1 item 3: Upgrade contains "websocket", case-insensitively.
    {.status = 400, .reason = "Upgrade must list websocket",
     .ok = [](const Request& r, const HandshakeOptions&) noexcept {
         return any_list_has(r, "Upgrade", "websocket");
     }},
    // RFC 6455 4.2.1 item 4: Connection contains the token "Upgrade" (Firefox sends
    // "keep-alive, Upgrade").
    {.status = 400, .reason = "Connection must list upgrade",
     .ok = [](const Request& r, const HandshakeOptions&) noexcept {
         return any_list_has(r, "Connection", "upgrade");
     }},
    // RFC 6455 4.2.2: an unsupported version is answered 426 with Sec-WebSocket-Version.
    {.status = 426, .reason = "missing Sec-WebSocket-Version",
     .ok = [](const Request& r, const HandshakeOptions&) noexcept {
         return r.has_header("Sec-WebSocket-Version");
     }},
    {.status = 426, .reason = "unsupported Sec-WebSocket-Version",
     .ok = [](const Request& r, const HandshakeOptions&) noexcept {
         return r.count_header("Sec-WebSocket-Version") == 1 &&
                r.header("Sec-WebSocket-Version") == "13";
     }},
    // RFC 6455 4.2.1 item 5 and 11.3.1: exactly one key, base64 of 16 bytes.
    {.status = 400, .reason = "missing Sec-WebSocket-Key",
     .ok = [](const Request& r, const HandshakeOptions&) noexcept {
         return r.has_header("Sec-WebSocket-Key");
     }},
    {.status = 400, .reason = "duplicate Sec-WebSocket-Key",
     .ok = [](const Request& r, const HandshakeOptions&) noexcept {
         return r.count_header("Sec-WebSocket-Key") == 1;
     }},
    {.status = 400, .reason = "Sec-WebSocket-Key must decode to 16 bytes",
     .ok = [](const Request& r, const HandshakeOptions&) noexcept {
         return key_is_16_bytes(r.header("Sec-WebSocket-Key"));
     }},
    // RFC 6455 4.2.2 item 4 / 10.2: a server may refuse origins it does not trust with 403.
    {.status = 403, .reason = "origin not allowed", .ok = origin_allowed},
};

}  // namespace

void accept_key(const char (&key)[24], char (&out)[28]) noexcept {
    codec::Sha1 h;
    h.update(key, sizeof key);
    h.update(kAcceptGuid.data(), kAcceptGuid.size());
    const codec::Sha1Digest digest = h.finish();
    static_assert(codec::base64_encoded_size(sizeof digest) == sizeof out);
    codec::base64_encode(digest.data(), digest.size(), out);
}

bool wants_upgrade(const Request& req) noexcept {
    return req.has_header("Upgrade") || any_list_has(req, "Connection", "upgrade");
}

Handshake check_upgrade(const Request& req, const HandshakeOptions& opt) noexcept {
    Handshake hs;
    const size_t q = req.target.find('?');
    hs.path = req.target.substr(0, q);
    if (q != std::string_view::npos) hs.query = req.target.substr(q + 1);

    for (const Rule& rule : kRules) {
        if (!rule.ok(req, opt)) {
            hs.status = rule.status;
            hs.reason = rule.reason;
            return hs;
        }
    }
    char key[kKeyChars];
    std::memcpy(key, req.header("Sec-WebSocket-Key").data(), sizeof key);
    accept_key(key, hs.accept);
    hs.protocol = choose_protocol(req, opt);
    hs.status = 101;
    return hs;
}

}  // namespace wspush::http
