// Base64 (RFC 4648 section 4, standard alphabet, with '=' padding).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace wspush::codec {

// Characters base64_encode writes for n input bytes.
constexpr size_t base64_encoded_size(size_t n) { return (n + 2) / 3 * 4; }

// Encodes n bytes of `in` into `out`, which must hold base64_encoded_size(n) chars.
// Writes no terminator. Returns the number of chars written.
size_t base64_encode(const uint8_t* in, size_t n, char* out) noexcept;

// Strict decoder: length a multiple of 4, only alphabet chars, '=' only as final padding,
// non-zero pad bits rejected (RFC 4648 section 3.5). Writes at most out_cap bytes.
// Returns the number of bytes decoded, or -1 if the input is not canonical base64 or
// does not fit in out_cap.
[[nodiscard]] ptrdiff_t base64_decode(std::string_view in, uint8_t* out, size_t out_cap) noexcept;

}  // namespace wspush::codec
