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

// The header fields the rules read, gathered in one pass over the request's lines (one
// lookup per rule cost more than the SHA-1 on a 13-line Chromium request).
enum Field : uint8_t {
    kHost,
    kUpgrade,
    kConnection,
    kKey,
    kVersion,
    kOrigin,
    kContentLength,
    kTransferEncoding,
    kFieldCount
};

struct FieldName {
    std::string_view name;
    Field field;
};

constexpr FieldName kFieldNames[] = {
    {.name = "Host", .field = kHost},
    {.name = "Upgrade", .field = kUpgrade},
    {.name = "Connection", .field = kConnection},
    {.name = "Sec-WebSocket-Key", .field = kKey},
    {.name = "Sec-WebSocket-Version", .field = kVersion},
    {.name = "Origin", .field = kOrigin},
    {.name = "Content-Length", .field = kContentLength},
    {.name = "Transfer-Encoding", .field = kTransferEncoding},
};

struct Fields {
    const Request* req = nullptr;
    std::string_view first[kFieldCount];  // value of the first line of each field
    uint8_t lines[kFieldCount] = {};       // how many lines of each field
    bool upgrade_websocket = false;        // some Upgrade line lists "websocket"
    bool upgrade_conflict = false;         // an Upgrade line differs from the first one
    bool connection_upgrade = false;       // some Connection line lists "upgrade"
};

Fields gather(const Request& req) noexcept {
    Fields f;
    f.req = &req;
    for (size_t i = 0; i < req.num_headers; ++i) {
        const Header& h = req.headers[i];
        for (const FieldName& fn : kFieldNames) {
            if (h.name.size() != fn.name.size() || !iequals(h.name, fn.name)) continue;
            if (f.lines[fn.field]++ == 0) f.first[fn.field] = h.value;
            // Repeated lines of a list field combine (RFC 9110 section 5.3).
            if (fn.field == kUpgrade) {
                f.upgrade_websocket |= list_has_token(h.value, "websocket");
                f.upgrade_conflict |= !iequals(h.value, f.first[kUpgrade]);
            }
            if (fn.field == kConnection) {
                f.connection_upgrade |= list_has_token(h.value, "upgrade");
            }
            break;
        }
    }
    return f;
}

bool key_is_16_bytes(std::string_view key) noexcept {
    uint8_t nonce[16];
    return key.size() == kKeyChars &&
           codec::base64_decode(key, nonce, sizeof nonce) == static_cast<ptrdiff_t>(sizeof nonce);
}

// Content-Length = 1*DIGIT (RFC 9110 section 8.6); a list such as "0, 0" is not taken.
bool is_digits(std::string_view s) noexcept {
    if (s.empty()) return false;
    for (const char c : s) {
        if (c < '0' || c > '9') return false;
    }
    return true;
}

bool origin_allowed(const Fields& f, const HandshakeOptions& opt) noexcept {
    if (opt.origins.empty()) return true;
    // A user agent sends at most one Origin line (RFC 6454 section 7.3).
    if (f.lines[kOrigin] != 1) return false;
    for (const std::string_view allowed : opt.origins) {
        // The serialized scheme and host are lowercase (RFC 6454 section 6.2); comparing
        // case-insensitively also forgives a mixed-case allow list.
        if (iequals(f.first[kOrigin], allowed)) return true;
    }
    return false;
}

// The first subprotocol the client offers (in header order, then list order) that we
// support; empty if none. Subprotocol names are case-sensitive tokens (RFC 6455 4.1).
std::string_view choose_protocol(const Request& req, const HandshakeOptions& opt) noexcept {
    if (opt.protocols.empty()) return {};
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

using Check = bool (*)(const Fields&, const HandshakeOptions&) noexcept;

struct Rule {
    uint16_t status;     // sent when `ok` fails
    const char* reason;  // response body
    Check ok;
};

// Checked in order; the first failing rule answers. The version rules come before the key
// rules so that an older client (hixie-76 sends no Sec-WebSocket-Key, hybi-08 sends
// version 8) learns from the 426 which version we speak (RFC 6455 section 4.4).
constexpr Rule kRules[] = {
    // RFC 6455 4.2.1 item 1: "An HTTP/1.1 or higher GET request".
    {.status = 405, .reason = "method not allowed",
     .ok = [](const Fields& f, const HandshakeOptions&) noexcept {
         return f.req->method == "GET";
     }},
    // Same item: an HTTP/1.0 client cannot hold the connection as RFC 6455 needs.
    {.status = 400, .reason = "HTTP/1.1 or later required",
     .ok = [](const Fields& f, const HandshakeOptions&) noexcept {
         return f.req->minor_version >= 1;
     }},
    // RFC 9112 section 3.2: a request without Host, or with two, is a 400.
    {.status = 400, .reason = "missing Host",
     .ok = [](const Fields& f, const HandshakeOptions&) noexcept {
         return !f.first[kHost].empty();
     }},
    {.status = 400, .reason = "duplicate Host",
     .ok = [](const Fields& f, const HandshakeOptions&) noexcept { return f.lines[kHost] == 1; }},
    // The opening handshake has no body (RFC 6455 4.1: a GET), and whatever follows the head
    // is read as WebSocket frames. A head that announces a body is refused rather than
    // having those bytes taken for frames (the request smuggling of RFC 9112 section 11.2).
    // RFC 9112 6.1: a request with Transfer-Encoding has a body; we decode no coding.
    {.status = 400, .reason = "request body not allowed on upgrade",
     .ok = [](const Fields& f, const HandshakeOptions&) noexcept {
         return f.lines[kTransferEncoding] == 0;
     }},
    // RFC 9112 6.3 item 5: an invalid Content-Length is unrecoverable framing; the server
    // MUST answer 400. Two lines are refused even if they agree (RFC 9110 8.6 allows either).
    {.status = 400, .reason = "duplicate Content-Length",
     .ok = [](const Fields& f, const HandshakeOptions&) noexcept {
         return f.lines[kContentLength] <= 1;
     }},
    {.status = 400, .reason = "invalid Content-Length",
     .ok = [](const Fields& f, const HandshakeOptions&) noexcept {
         return f.lines[kContentLength] == 0 || is_digits(f.first[kContentLength]);
     }},
    // RFC 9112 6.3 item 6: the body is that many bytes; only exactly "0" announces none.
    {.status = 400, .reason = "request body not allowed on upgrade",
     .ok = [](const Fields& f, const HandshakeOptions&) noexcept {
         return f.lines[kContentLength] == 0 || f.first[kContentLength] == "0";
     }},
    // Upgrade is a list and may repeat (RFC 9110 sections 7.8 and 5.3), but no client sends
    // two lines that differ; such a request was built or mangled on the way, and a hop that
    // reads only the first line would see another protocol than we do. Stricter than the RFC.
    {.status = 400, .reason = "conflicting Upgrade headers",
     .ok = [](const Fields& f, const HandshakeOptions&) noexcept { return !f.upgrade_conflict; }},
    // RFC 6455 4.2.1 item 3: Upgrade contains "websocket", case-insensitively.
    {.status = 400, .reason = "Upgrade must list websocket",
     .ok = [](const Fields& f, const HandshakeOptions&) noexcept { return f.upgrade_websocket; }},
    // RFC 6455 4.2.1 item 4: Connection contains the token "Upgrade" (Firefox sends
    // "keep-alive, Upgrade").
    {.status = 400, .reason = "Connection must list upgrade",
     .ok = [](const Fields& f, const HandshakeOptions&) noexcept { return f.connection_upgrade; }},
    // RFC 6455 4.2.2 (/version/): an unsupported version is answered 426 with
    // Sec-WebSocket-Version; 11.3.5: the field appears at most once.
    {.status = 426, .reason = "missing Sec-WebSocket-Version",
     .ok = [](const Fields& f, const HandshakeOptions&) noexcept {
         return f.lines[kVersion] != 0;
     }},
    {.status = 426, .reason = "unsupported Sec-WebSocket-Version",
     .ok = [](const Fields& f, const HandshakeOptions&) noexcept {
         return f.lines[kVersion] == 1 && f.first[kVersion] == "13";
     }},
    // RFC 6455 4.2.1 item 5 and 11.3.1: exactly one key, base64 of 16 bytes.
    {.status = 400, .reason = "missing Sec-WebSocket-Key",
     .ok = [](const Fields& f, const HandshakeOptions&) noexcept { return f.lines[kKey] != 0; }},
    {.status = 400, .reason = "duplicate Sec-WebSocket-Key",
     .ok = [](const Fields& f, const HandshakeOptions&) noexcept { return f.lines[kKey] == 1; }},
    {.status = 400, .reason = "Sec-WebSocket-Key must decode to 16 bytes",
     .ok = [](const Fields& f, const HandshakeOptions&) noexcept {
         return key_is_16_bytes(f.first[kKey]);
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

    const Fields fields = gather(req);
    for (const Rule& rule : kRules) {
        if (!rule.ok(fields, opt)) {
            hs.status = rule.status;
            hs.reason = rule.reason;
            return hs;
        }
    }
    char key[kKeyChars];
    std::memcpy(key, fields.first[kKey].data(), sizeof key);
    accept_key(key, hs.accept);
    hs.protocol = choose_protocol(req, opt);
    hs.status = 101;
    return hs;
}

}  // namespace wspush::http
