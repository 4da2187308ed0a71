#include "push/names.h"

namespace wspush::push {
namespace {

constexpr char kHex[] = "0123456789abcdef";

// The escape of a byte that needs one ("\\n", "\\u001f"), or 0 chars when it is copied.
size_t escape_of(unsigned char c, char (&out)[6]) noexcept {
    char short_form = 0;
    switch (c) {
        case '"': short_form = '"'; break;
        case '\\': short_form = '\\'; break;
        case '\n': short_form = 'n'; break;
        case '\r': short_form = 'r'; break;
        case '\t': short_form = 't'; break;
        default:
            if (c >= 0x20) return 0;
            out[0] = '\\';
            out[1] = 'u';
            out[2] = '0';
            out[3] = '0';
            out[4] = kHex[c >> 4];
            out[5] = kHex[c & 15];
            return 6;
    }
    out[0] = '\\';
    out[1] = short_form;
    return 2;
}

// Bytes that are copied as they are: printable ASCII but '"' and '\\', and all of UTF-8.
bool plain(unsigned char c) noexcept { return c >= 0x20 && c != '"' && c != '\\'; }

}  // namespace

bool valid_name(std::string_view s) noexcept {
    if (s.empty() || s.size() > kMaxNameLength) return false;
    for (char c : s) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-' || c == '.';
        if (!ok) return false;
    }
    return true;
}

bool is_server_id(std::string_view s) noexcept {
    if (s.size() < 2 || s[0] != 'c') return false;
    for (char c : s.substr(1))
        if (c < '0' || c > '9') return false;
    return true;
}

size_t json_escaped_size(std::string_view s) noexcept {
    size_t n = s.size();
    for (unsigned char c : s) {
        if (plain(c)) continue;
        char esc[6];
        n += escape_of(c, esc) - 1;
    }
    return n;
}

char* json_escape_to(char* out, std::string_view s) noexcept {
    for (unsigned char c : s) {
        if (plain(c)) {
            *out++ = static_cast<char>(c);
            continue;
        }
        char esc[6];
        size_t n = escape_of(c, esc);
        for (size_t i = 0; i < n; ++i) *out++ = esc[i];
    }
    return out;
}

void json_escape(std::string& out, std::string_view s) {
    size_t at = out.size();
    out.resize(at + json_escaped_size(s));
    json_escape_to(out.data() + at, s);
}

void format_epoch(uint64_t epoch, char (&out)[kEpochChars]) noexcept {
    for (size_t i = 0; i < kEpochChars; ++i) out[i] = kHex[(epoch >> (60 - 4 * i)) & 15];
}

bool parse_epoch(std::string_view s, uint64_t& out) noexcept {
    if (s.size() != kEpochChars) return false;
    uint64_t v = 0;
    for (char c : s) {
        uint64_t d;
        if (c >= '0' && c <= '9') d = static_cast<uint64_t>(c - '0');
        else if (c >= 'a' && c <= 'f') d = static_cast<uint64_t>(c - 'a' + 10);
        else return false;
        v = v << 4 | d;
    }
    out = v;
    return true;
}

}  // namespace wspush::push
