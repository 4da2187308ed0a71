// libFuzzer entry point for http::parse_request and check_upgrade (make fuzz). The first
// byte picks the handshake options, the rest is what a client sent. The head is fed as the
// server accumulates it: a growing buffer parsed after each read with last_len = its length
// at the previous call, each buffer an exact-size copy (ASan sees a read past its end).
// Checks that the outcome (status, consumed bytes, error status and reason, the request,
// the handshake verdict) is that of the whole input parsed at once, and of each call made
// without the last_len hint; that a request is well-formed (views inside the head, head
// ends in LF, at most kMaxHeaders); that a request written out again in canonical form
// parses to the same request and verdict; and that a 101 meets RFC 6455 4.2.1.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_util.h"
#include "http/handshake.h"
#include "http/request_parser.h"

namespace {

using namespace wspush;
using fuzz::require;

constexpr std::string_view kProtocols[] = {"wspush.v1", "chat"};
constexpr std::string_view kOrigins[] = {"http://gw.local", "https://gw.local"};

struct Outcome {
    http::ParseStatus status = http::ParseStatus::kNeedMore;
    uint32_t consumed = 0;
    uint16_t http_status = 0;
    std::string reason;
    std::string method, target;
    int minor = -1;
    std::vector<std::pair<std::string, std::string>> headers;
    bool upgrade = false;
    uint16_t hs_status = 0;
    std::string hs_reason, accept, protocol, path, query;

    bool operator==(const Outcome&) const = default;
};

bool inside(std::string_view v, const char* buf, size_t len) {
    return v.empty() || (v.data() >= buf && v.data() + v.size() <= buf + len);
}

Outcome outcome(const http::ParseResult& r, const http::Request& req, const char* buf, size_t len,
                const http::HandshakeOptions& opt) {
    Outcome o;
    o.status = r.status;
    o.consumed = r.consumed;
    o.http_status = r.http_status;
    o.reason = r.reason;
    if (r.status == http::ParseStatus::kError) require(o.http_status == 400 || o.http_status == 431 || o.http_status == 505);
    if (r.status != http::ParseStatus::kDone) return o;
    require(r.consumed <= len && r.consumed <= http::kMaxHeadBytes && buf[r.consumed - 1] == '\n');
    require(req.num_headers <= http::kMaxHeaders && !req.method.empty() && !req.target.empty());
    require(inside(req.method, buf, r.consumed) && inside(req.target, buf, r.consumed));
    o.method = req.method;
    o.target = req.target;
    o.minor = req.minor_version;
    for (size_t i = 0; i < req.num_headers; ++i) {
        const http::Header& h = req.headers[i];
        require(!h.name.empty() && inside(h.name, buf, r.consumed) && inside(h.value, buf, r.consumed));
        o.headers.emplace_back(h.name, h.value);
    }
    o.upgrade = http::wants_upgrade(req);
    const http::Handshake hs = http::check_upgrade(req, opt);
    o.hs_status = hs.status;
    o.hs_reason = hs.reason;
    o.path = hs.path;
    o.query = hs.query;
    require(o.path + (req.target.find('?') != std::string_view::npos ? "?" + o.query : "") == o.target);
    if (hs.status == 101) {
        // RFC 6455 4.2.1: a GET of HTTP/1.1 or later with one key and version 13.
        require(req.method == "GET" && req.minor_version >= 1 && req.count_header("Sec-WebSocket-Key") == 1);
        require(req.header("Sec-WebSocket-Version") == "13" && req.count_header("Host") == 1);
        o.accept.assign(hs.accept, sizeof hs.accept);
        o.protocol = hs.protocol;
        bool listed = hs.protocol.empty();
        for (std::string_view p : opt.protocols) listed |= p == hs.protocol;
        require(listed);
    } else {
        require(hs.status == 400 || hs.status == 403 || hs.status == 405 || hs.status == 426);
    }
    return o;
}

Outcome parse_once(std::string_view wire, size_t len, size_t last_len, const http::HandshakeOptions& opt) {
    auto buf = std::make_unique_for_overwrite<char[]>(len);  // every byte is copied in
    if (len > 0) std::memcpy(buf.get(), wire.data(), len);
    http::Request req;
    const http::ParseResult r = http::parse_request(buf.get(), len, last_len, req);
    return outcome(r, req, buf.get(), len, opt);
}

// The head in canonical form: single spaces, CRLF, "name: value".
std::string canonical(const Outcome& o) {
    std::string s = o.method + " " + o.target + " HTTP/1." + std::to_string(o.minor) + "\r\n";
    for (const auto& [name, value] : o.headers) s += name + ": " + value + "\r\n";
    return s + "\r\n";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    http::HandshakeOptions opt;
    if (data[0] & 1) opt.protocols = kProtocols;
    if (data[0] & 2) opt.origins = kOrigins;
    const std::string_view wire(reinterpret_cast<const char*>(data) + 1, size - 1);
    const Outcome whole = parse_once(wire, wire.size(), 0, opt);

    fuzz::Splitter split(fuzz::tail_seed(data, size));
    Outcome got;
    size_t last = 0;
    for (const size_t end : split.ends(wire.size(), 64)) {
        got = parse_once(wire, end, last, opt);
        require(parse_once(wire, end, 0, opt) == got);
        last = end;
        if (got.status != http::ParseStatus::kNeedMore) break;
    }
    require(got == whole);

    if (whole.status == http::ParseStatus::kDone) {
        const std::string again = canonical(whole);
        if (again.size() <= http::kMaxHeadBytes) {
            Outcome o = parse_once(again, again.size(), 0, opt);
            require(o.consumed == again.size());
            o.consumed = whole.consumed;
            require(o == whole);
        }
    }
    return 0;
}
