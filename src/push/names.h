// Provisional: replaced by the names module of the push layer split.
#pragma once
#include <cstdint>
#include <string_view>

#include "push/hub.h"

namespace wspush::push {

inline bool is_server_id(std::string_view s) noexcept {
    if (s.size() < 2 || s[0] != 'c') return false;
    for (char c : s.substr(1))
        if (c < '0' || c > '9') return false;
    return true;
}

inline bool parse_epoch(std::string_view s, uint64_t& out) noexcept {
    if (s.size() != 16) return false;
    uint64_t v = 0;
    for (char c : s) {
        int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
        if (d < 0) return false;
        v = v << 4 | static_cast<uint64_t>(d);
    }
    out = v;
    return true;
}

}  // namespace wspush::push
