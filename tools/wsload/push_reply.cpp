#include "wsload/push_reply.h"

#include <charconv>

namespace wspush::wsload {

namespace {

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        const char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] + 32) : a[i];
        const char y = b[i] >= 'A' && b[i] <= 'Z' ? static_cast<char>(b[i] + 32) : b[i];
        if (x != y) return false;
    }
    return true;
}

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

bool parse_whole(std::string_view s, uint64_t& v) noexcept {
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return !s.empty() && ec == std::errc() && end == s.data() + s.size();
}

ptrdiff_t bad(const char** why, const char* text) noexcept {
    *why = text;
    return -1;
}

}  // namespace

bool parse_pub_reply(std::string_view line, uint64_t& seq, uint64_t& delivered) noexcept {
    constexpr std::string_view kSeq = "OK seq=";
    constexpr std::string_view kDelivered = " delivered=";
    if (!line.starts_with(kSeq)) return false;
    line.remove_prefix(kSeq.size());
    const size_t sp = line.find(' ');
    if (sp == std::string_view::npos || !line.substr(sp).starts_with(kDelivered)) return false;
    return parse_whole(line.substr(0, sp), seq) && parse_whole(line.substr(sp + kDelivered.size()), delivered);
}

ptrdiff_t parse_http_reply(std::string_view buf, HttpReply& out, const char** why) noexcept {
    const size_t head_end = buf.find("\r\n\r\n");
    if (head_end == std::string_view::npos) {
        return buf.size() > kMaxReplyHead ? bad(why, "reply head too large") : 0;
    }
    std::string_view head = buf.substr(0, head_end + 2);  // every line CRLF-terminated
    size_t eol = head.find("\r\n");
    // "HTTP/1.1 200 OK": version, a three-digit code, a reason (possibly empty).
    const std::string_view status_line = head.substr(0, eol);
    uint64_t code = 0;
    if (!status_line.starts_with("HTTP/1.") || status_line.size() < 12 || status_line[8] != ' ' ||
        !parse_whole(status_line.substr(9, 3), code) || (status_line.size() > 12 && status_line[12] != ' ')) {
        return bad(why, "bad status line");
    }
    out = HttpReply{};
    out.status = static_cast<uint16_t>(code);
    bool have_length = false;
    uint64_t length = 0;
    for (head.remove_prefix(eol + 2); !head.empty(); head.remove_prefix(eol + 2)) {
        eol = head.find("\r\n");
        const std::string_view line = head.substr(0, eol);
        const size_t colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0) return bad(why, "bad header line");
        const std::string_view name = line.substr(0, colon);
        const std::string_view value = trim(line.substr(colon + 1));
        if (iequals(name, "Content-Length")) {
            if (have_length || !parse_whole(value, length)) return bad(why, "bad or repeated Content-Length");
            have_length = true;
        } else if (iequals(name, "Transfer-Encoding")) {
            return bad(why, "Transfer-Encoding in a reply");
        } else if (iequals(name, "Connection")) {
            out.close = out.close || iequals(value, "close");
        }
    }
    if (!have_length) return bad(why, "no Content-Length");
    const size_t body_at = head_end + 4;
    if (buf.size() - body_at < length) return 0;
    out.body = buf.substr(body_at, length);
    return static_cast<ptrdiff_t>(body_at + length);
}

}  // namespace wspush::wsload
