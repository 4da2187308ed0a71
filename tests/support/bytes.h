// Test support: hex conversion and exact-size heap copies (ASan reports a read past the end).
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

namespace wspush::testing {

inline std::string to_hex(const uint8_t* p, size_t n) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string s;
    s.reserve(2 * n);
    for (size_t i = 0; i < n; ++i) {
        s += kDigits[p[i] >> 4];
        s += kDigits[p[i] & 15];
    }
    return s;
}

template <class Bytes>
std::string to_hex(const Bytes& b) {
    return to_hex(reinterpret_cast<const uint8_t*>(b.data()), b.size());
}

// A copy of s in a heap block of exactly s.size() bytes (one byte for an empty s, never read).
inline std::unique_ptr<char[]> heap_copy(std::string_view s) {
    auto p = std::make_unique<char[]>(s.empty() ? 1 : s.size());
    if (!s.empty()) std::memcpy(p.get(), s.data(), s.size());
    return p;
}

}  // namespace wspush::testing
