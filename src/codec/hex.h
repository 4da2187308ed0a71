// Hexadecimal digits, shared by the parsers that read them (JSON \u escapes, chunk sizes,
// percent-encoding).
#pragma once

namespace wspush::codec {

// The value of one hex digit (either case), or -1 for any other byte.
[[nodiscard]] constexpr int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace wspush::codec
