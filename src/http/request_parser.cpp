// Request-head parser. Two passes over the head:
//  1. find_head_end: looks for the blank line, resuming near last_len, and rejects bytes that
//     can appear nowhere in a head (early, so garbage such as a TLS ClientHello on a plain
//     port fails on its first byte instead of after kMaxHeadBytes).
//  2. parse_head: once the head is complete, splits and validates it line by line.
// Both passes see the bytes in order, so any split of the input gives the same result.
//
// Line endings: CRLF, or a bare LF, as picohttpparser and nginx accept (RFC 9112 section 2.2
// lets a recipient treat a lone LF as a line terminator). A CR not followed by LF is a 400.
#include "http/request_parser.h"

#include <algorithm>
#include <array>
#include <cstring>

namespace wspush::http {

namespace {

enum CharClass : uint8_t {
    kTchar = 1,       // token (RFC 9110 section 5.6.2): methods and field names
    kTargetChar = 2,  // request-target: visible ASCII, no SP (RFC 9112 section 3.2)
    kPlain = 4,       // neither CTL nor DEL: field-value bytes but HTAB (RFC 9110 5.5)
};

constexpr std::string_view kTokenPunct = "!#$%&'*+-.^_`|~";

constexpr std::array<uint8_t, 256> make_classes() {
    std::array<uint8_t, 256> t{};
    for (int c = 0; c < 256; ++c) {
        const bool ctl = c < 0x20 || c == 0x7f;
        const bool visible = c > 0x20 && c < 0x7f;
        const bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                           (c >= 'A' && c <= 'Z');
        uint8_t f = 0;
        if (alnum || kTokenPunct.find(static_cast<char>(c)) != std::string_view::npos) f |= kTchar;
        if (visible) f |= kTargetChar;
        if (!ctl) f |= kPlain;
        t[c] = f;
    }
    return t;
}

constexpr std::array<uint8_t, 256> kClass = make_classes();

bool is(char c, CharClass cls) noexcept { return (kClass[static_cast<uint8_t>(c)] & cls) != 0; }

constexpr uint64_t kEveryByte = 0x0101010101010101;

// Whether any of 8 bytes is a CTL (< 0x20) or DEL. The "has less than" trick (Hacker's
// Delight 6-1): a byte's high bit survives (b - n) & ~b only if b < n (for n <= 0x80); a
// borrow can mark a neighbour only behind a byte that is itself marked, so "any" is exact.
// Bytes >= 0x80 (obs-text) are plain.
bool has_ctl(uint64_t w) noexcept {
    const uint64_t below_space = (w - kEveryByte * 0x20) & ~w;
    const uint64_t del = w ^ (kEveryByte * 0x7f);
    const uint64_t is_del = (del - kEveryByte) & ~del;
    return ((below_space | is_del) & (kEveryByte * 0x80)) != 0;
}

// Advances p over plain bytes, 8 at a time while no CTL is in sight. On the Chromium
// request of bench/http_bench.cpp this cut parse_request from 9.6k to 6.2k instructions
// (callgrind), the byte loops that remain being names, targets and line ends.
size_t skip_plain(const char* buf, size_t p, size_t end) noexcept {
    for (uint64_t w; p + sizeof w <= end; p += sizeof w) {
        std::memcpy(&w, buf + p, sizeof w);
        if (has_ctl(w)) break;
    }
    while (p < end && is(buf[p], kPlain)) ++p;
    return p;
}

constexpr std::string_view kVersionPrefix = "HTTP/";

ParseResult fail(uint16_t http_status, const char* reason) noexcept {
    return {.status = ParseStatus::kError, .consumed = 0, .http_status = http_status,
            .reason = reason};
}

enum class EndScan : uint8_t { kFound, kNotYet, kBadByte, kBareCr };

// Looks for the blank line ("\n" then "\r\n" or "\n") in buf[from, lim). On kFound, *end is
// the offset just past it. Bytes before `from` were scanned by an earlier call.
EndScan find_head_end(const char* buf, size_t from, size_t lim, size_t* end) noexcept {
    for (size_t i = from; i < lim; ++i) {
        i = skip_plain(buf, i, lim);
        if (i == lim) break;
        const char c = buf[i];
        if (c == '\t') continue;
        if (c == '\r') {
            if (i + 1 < lim && buf[i + 1] != '\n') return EndScan::kBareCr;
            continue;
        }
        if (c != '\n') return EndScan::kBadByte;
        if (i + 1 < lim && buf[i + 1] == '\n') {
            *end = i + 2;
            return EndScan::kFound;
        }
        if (i + 2 < lim && buf[i + 1] == '\r' && buf[i + 2] == '\n') {
            *end = i + 3;
            return EndScan::kFound;
        }
    }
    return EndScan::kNotYet;
}

// Length of the line terminator at buf[p] ("\r\n" = 2, "\n" = 1), 0 if there is none.
size_t eol_len(const char* buf, size_t p, size_t end) noexcept {
    if (p < end && buf[p] == '\n') return 1;
    if (p + 1 < end && buf[p] == '\r' && buf[p + 1] == '\n') return 2;
    return 0;
}

size_t skip(const char* buf, size_t p, size_t end, CharClass cls) noexcept {
    while (p < end && is(buf[p], cls)) ++p;
    return p;
}

bool is_ows(char c) noexcept { return c == ' ' || c == '\t'; }

// "HTTP/" DIGIT "." DIGIT (RFC 9112 section 2.3) at buf[p], then the end of the line.
// On success sets *minor, moves *p past the line terminator and returns kDone.
ParseResult parse_version(const char* buf, size_t* p, size_t end, int* minor) noexcept {
    const size_t v = *p;
    const bool shaped = end - v >= kVersionPrefix.size() + 3 &&
                        std::memcmp(buf + v, kVersionPrefix.data(), kVersionPrefix.size()) == 0 &&
                        buf[v + 5] >= '0' && buf[v + 5] <= '9' && buf[v + 6] == '.' &&
                        buf[v + 7] >= '0' && buf[v + 7] <= '9';
    const size_t eol = shaped ? eol_len(buf, v + 8, end) : 0;
    if (eol == 0) return fail(400, "invalid HTTP version");
    // A well-formed version with another major (HTTP/2.0 in an h2 preface, HTTP/3.0) is
    // understood but not served: 505, RFC 9110 section 15.6.6.
    if (buf[v + 5] != '1') return fail(505, "HTTP version not supported");
    *minor = buf[v + 7] - '0';
    *p = v + 8 + eol;
    return {.status = ParseStatus::kDone};
}

// Parses the complete head buf[0, end), which ends with a blank line.
ParseResult parse_head(const char* buf, size_t end, Request& out) noexcept {
    // request-line = method SP request-target SP HTTP-version (exactly one SP each).
    size_t p = skip(buf, 0, end, kTchar);
    if (p == 0 || p == end || buf[p] != ' ') return fail(400, "invalid method");
    out.method = {buf, p};
    const size_t target = ++p;
    p = skip(buf, p, end, kTargetChar);
    if (p == target || p == end || buf[p] != ' ') return fail(400, "invalid request-target");
    out.target = {buf + target, p - target};
    ++p;
    if (ParseResult r = parse_version(buf, &p, end, &out.minor_version);
        r.status == ParseStatus::kError) {
        return r;
    }

    for (;;) {
        if (const size_t eol = eol_len(buf, p, end); eol != 0) {
            p += eol;
            break;
        }
        if (p == end) return fail(400, "malformed head");
        // RFC 9112 section 5.2: a server must reject obs-fold with 400 or unfold it.
        if (is_ows(buf[p])) return fail(400, "obsolete line folding");
        if (out.num_headers == kMaxHeaders) return fail(431, "too many headers");
        const size_t name = p;
        p = skip(buf, p, end, kTchar);
        // RFC 9112 section 5.1: whitespace between name and colon MUST be rejected with 400.
        if (p < end && is_ows(buf[p])) return fail(400, "whitespace before colon");
        if (p == name || p == end || buf[p] != ':') return fail(400, "invalid header name");
        Header& h = out.headers[out.num_headers++];
        h.name = {buf + name, p - name};
        ++p;
        while (p < end && is_ows(buf[p])) ++p;
        const size_t value = p;
        // field-value: plain bytes and HTAB up to the line end.
        p = skip_plain(buf, p, end);
        while (p < end && buf[p] == '\t') p = skip_plain(buf, p + 1, end);
        const size_t eol = eol_len(buf, p, end);
        if (eol == 0) return fail(400, "invalid header value");
        size_t value_end = p;
        while (value_end > value && is_ows(buf[value_end - 1])) --value_end;
        h.value = {buf + value, value_end - value};
        p += eol;
    }
    return {.status = ParseStatus::kDone, .consumed = static_cast<uint32_t>(p)};
}

char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c | 0x20) : c; }

}  // namespace

ParseResult parse_request(const char* buf, size_t len, size_t last_len, Request& out) noexcept {
    out.num_headers = 0;
    // The head may be at most kMaxHeadBytes long, so only that much is ever searched; if the
    // blank line is not within it once that much has arrived, the head is too large.
    const size_t lim = std::min(len, kMaxHeadBytes);
    // A terminator ("\n\r\n" at most) ending at or past last_len starts at last_len - 2 at
    // the earliest; restarting there also re-checks a CR that was the last byte before.
    const size_t from = std::min(last_len, lim) > 2 ? std::min(last_len, lim) - 2 : 0;
    size_t end = 0;
    switch (find_head_end(buf, from, lim, &end)) {
        case EndScan::kFound:
            return parse_head(buf, end, out);
        case EndScan::kNotYet:
            if (len >= kMaxHeadBytes) return fail(431, "request head too large");
            return {.status = ParseStatus::kNeedMore};
        case EndScan::kBadByte:
            return fail(400, "control character in head");
        case EndScan::kBareCr:
            break;
    }
    return fail(400, "CR without LF");
}

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

std::string_view next_list_element(std::string_view& rest) noexcept {
    while (!rest.empty()) {
        const size_t comma = rest.find(',');
        std::string_view e = rest.substr(0, comma);
        rest.remove_prefix(comma == std::string_view::npos ? rest.size() : comma + 1);
        while (!e.empty() && is_ows(e.front())) e.remove_prefix(1);
        while (!e.empty() && is_ows(e.back())) e.remove_suffix(1);
        // RFC 9110 section 5.6.1: empty list elements are ignored.
        if (!e.empty()) return e;
    }
    return {};
}

bool list_has_token(std::string_view list, std::string_view token) noexcept {
    for (std::string_view e = next_list_element(list); !e.empty(); e = next_list_element(list)) {
        if (iequals(e, token)) return true;
    }
    return false;
}

std::string_view Request::header(std::string_view name) const noexcept {
    for (size_t i = 0; i < num_headers; ++i) {
        if (iequals(headers[i].name, name)) return headers[i].value;
    }
    return {};
}

bool Request::has_header(std::string_view name) const noexcept {
    return count_header(name) != 0;
}

size_t Request::count_header(std::string_view name) const noexcept {
    size_t n = 0;
    for (size_t i = 0; i < num_headers; ++i) n += iequals(headers[i].name, name) ? 1 : 0;
    return n;
}

}  // namespace wspush::http
