// What the libFuzzer targets share: the check that aborts (so libFuzzer reports it), the
// pseudo-random split points derived from the input (so a crash file reproduces), and a
// plain UTF-8 decoder to check codec::Utf8Validator and everything that relies on it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

namespace wspush::fuzz {

// A violated invariant: abort, which libFuzzer reports with the input that caused it.
inline void require(bool ok) {
    if (!ok) std::abort();
}

// xorshift32 seeded from input bytes: the same input always gives the same pieces.
class Splitter {
public:
    explicit Splitter(uint32_t seed) noexcept : x_(seed * 2654435761u + 1) {}

    uint32_t next() noexcept {
        x_ ^= x_ << 13;
        x_ ^= x_ >> 17;
        x_ ^= x_ << 5;
        return x_;
    }

    // Increasing end offsets cutting [0, size) into pieces of 0 to max_piece bytes (empty
    // pieces included: a read that brings nothing new must change nothing); the last is
    // always `size`.
    std::vector<size_t> ends(size_t size, uint32_t max_piece = 16) noexcept {
        std::vector<size_t> v;
        for (size_t e = 0; e < size;) {
            e += next() % (max_piece + 1);
            v.push_back(e < size ? e : size);
        }
        v.push_back(size);
        return v;
    }

private:
    uint32_t x_;
};

// A seed from the last four bytes of an input (0 for shorter ones).
inline uint32_t tail_seed(const uint8_t* data, size_t size) noexcept {
    uint32_t s = 0;
    for (size_t i = size >= 4 ? size - 4 : 0; i < size; ++i) s = s << 8 | data[i];
    return s;
}

// Reference UTF-8 (RFC 3629) by decoding: the lead byte's high bits give the length, each
// continuation adds six bits, and the code point decoded must need that length (no
// overlong form), lie outside D800..DFFF and be at most 10FFFF. Independent of the table
// DFA in codec/utf8.cpp.
enum class Utf8Ref : uint8_t {
    kValid,       // complete, well-formed
    kIncomplete,  // well-formed so far; the last sequence may still be completed
    kInvalid,     // no continuation can make it well-formed
};

// The sequence starting at s[0], as far as s goes; *len is its full length.
inline Utf8Ref utf8_sequence(std::string_view s, size_t* len) noexcept {
    constexpr uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
    const uint8_t b = static_cast<uint8_t>(s[0]);
    uint32_t cp;
    if (b < 0x80) {
        *len = 1;
        return Utf8Ref::kValid;
    } else if ((b & 0xE0) == 0xC0) {
        *len = 2, cp = b & 0x1F;
    } else if ((b & 0xF0) == 0xE0) {
        *len = 3, cp = b & 0x0F;
    } else if ((b & 0xF8) == 0xF0) {
        *len = 4, cp = b & 0x07;
    } else {
        return Utf8Ref::kInvalid;
    }
    size_t have = 1;
    for (; have < *len && have < s.size(); ++have) {
        const uint8_t c = static_cast<uint8_t>(s[have]);
        if ((c & 0xC0) != 0x80) return Utf8Ref::kInvalid;
        cp = cp << 6 | (c & 0x3F);
    }
    // The code points the sequence can still become: cp followed by any missing bits.
    const unsigned missing = 6 * static_cast<unsigned>(*len - have);
    const uint32_t lo = cp << missing;
    const uint32_t hi = lo | ((1u << missing) - 1);
    if (hi < kMin[*len] || lo > 0x10FFFF || (lo >= 0xD800 && hi <= 0xDFFF)) return Utf8Ref::kInvalid;
    return have < *len ? Utf8Ref::kIncomplete : Utf8Ref::kValid;
}

inline Utf8Ref utf8_reference(std::string_view s) noexcept {
    for (size_t i = 0, len = 0; i < s.size(); i += len) {
        const Utf8Ref r = utf8_sequence(s.substr(i), &len);
        if (r != Utf8Ref::kValid) return r;
    }
    return Utf8Ref::kValid;
}

// utf8_reference() of every prefix of s at once: at(k) is the verdict on s[0, k).
class Utf8Prefixes {
public:
    explicit Utf8Prefixes(std::string_view s) : bad_from_(s.size() + 1), boundary_(s.size() + 1, false) {
        boundary_[0] = true;
        for (size_t i = 0, len = 0; i < s.size(); i += len) {
            // The shortest prefix of the sequence no continuation can save, if any.
            for (size_t k = 1; k <= 4 && i + k <= s.size(); ++k) {
                if (utf8_sequence(s.substr(i, k), &len) == Utf8Ref::kInvalid) {
                    bad_from_ = i + k;
                    return;
                }
                if (k == len) break;
            }
            if (i + len <= s.size()) boundary_[i + len] = true;
        }
    }

    Utf8Ref at(size_t k) const noexcept {
        if (k >= bad_from_) return Utf8Ref::kInvalid;
        return boundary_[k] ? Utf8Ref::kValid : Utf8Ref::kIncomplete;
    }

private:
    size_t bad_from_;
    std::vector<bool> boundary_;
};

}  // namespace wspush::fuzz
