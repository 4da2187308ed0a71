#include "http/query.h"

#include "codec/hex.h"

namespace wspush::http {

namespace {

using codec::hex_value;

// Whether s holds a '%' followed by two hex digits.
bool has_escape(std::string_view s) noexcept {
    for (size_t i = 0; i + 2 < s.size(); ++i) {
        if (s[i] == '%' && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) return true;
    }
    return false;
}

}  // namespace

std::string_view query_of(std::string_view target) noexcept {
    const size_t q = target.find('?');
    if (q == std::string_view::npos) return {};
    const std::string_view rest = target.substr(q + 1);
    return rest.substr(0, rest.find('#'));
}

std::string_view path_of(std::string_view target) noexcept { return target.substr(0, target.find_first_of("?#")); }

bool next_param(std::string_view& rest, QueryParam* out) noexcept {
    while (!rest.empty()) {
        const size_t amp = rest.find('&');
        const std::string_view piece = rest.substr(0, amp);
        rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
        if (piece.empty()) continue;
        const size_t eq = piece.find('=');
        out->name = piece.substr(0, eq);
        out->value = eq == std::string_view::npos ? std::string_view() : piece.substr(eq + 1);
        return true;
    }
    return false;
}

size_t find_param(std::string_view query, std::string_view name, std::string_view* value) noexcept {
    size_t count = 0;
    QueryParam p;
    while (next_param(query, &p)) {
        if (p.name != name) continue;
        if (count++ == 0) *value = p.value;
    }
    return count;
}

Decoded percent_decode(std::string_view in, char* out, size_t out_cap, Plus plus) noexcept {
    size_t n = 0;
    for (size_t i = 0; i < in.size(); ++i, ++n) {
        char c = in[i];
        if (c == '%') {
            if (in.size() - i < 3) return {DecodeStatus::kBadEscape, 0};
            const int h = hex_value(in[i + 1]);
            const int l = hex_value(in[i + 2]);
            if (h < 0 || l < 0) return {DecodeStatus::kBadEscape, 0};
            c = static_cast<char>(h << 4 | l);
            i += 2;
        } else if (c == '+' && plus == Plus::kSpace) {
            c = ' ';
        }
        if (n == out_cap) return {DecodeStatus::kTooLong, 0};
        out[n] = c;
    }
    const DecodeStatus s = has_escape(std::string_view(out, n)) ? DecodeStatus::kDoubleEncoded : DecodeStatus::kOk;
    return {s, n};
}

}  // namespace wspush::http
