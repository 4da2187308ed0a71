// Constant-time comparison for secrets (robot tokens, HMAC signatures).
#pragma once
#include <cstddef>

namespace wspush::base {

// True when a[0..n) and b[0..n) hold the same bytes. The time taken depends on n only, never
// on where (or whether) the bytes differ, so a remote caller cannot find a secret byte by
// byte by timing refusals. n == 0 is true. Lengths are not hidden: compare fixed-size values
// (digests), or check the public length first.
[[nodiscard]] bool equal_ct(const void* a, const void* b, size_t n) noexcept;

}  // namespace wspush::base
