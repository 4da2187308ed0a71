// Incremental UTF-8 validation (Unicode 15 table 3-7: no overlongs, no surrogates, <= U+10FFFF).
// Byte-level DFA after Bjoern Hoehrmann; state survives across reads and continuation frames.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace wspush::codec {

class Utf8Validator {
public:
    static constexpr uint8_t kAccept = 0;
    static constexpr uint8_t kReject = 1;   // sticky

    // Feeds the next n bytes. Returns false as soon as the bytes seen so far cannot be
    // the prefix of valid UTF-8 (fail fast: a bad byte is reported even mid-sequence).
    // ASCII runs are checked a machine word at a time.
    [[nodiscard]] bool feed(const uint8_t* p, size_t n) noexcept;
    // True when every sequence fed so far is complete (a message may end here).
    [[nodiscard]] bool complete() const noexcept { return state_ == kAccept; }
    void reset() noexcept { state_ = kAccept; }
    [[nodiscard]] uint8_t state() const noexcept { return state_; }

private:
    uint8_t state_ = kAccept;
};

// Whole-buffer check: valid and complete.
[[nodiscard]] bool utf8_valid(std::string_view s) noexcept;

}  // namespace wspush::codec
