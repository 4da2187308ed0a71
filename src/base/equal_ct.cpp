#include "base/equal_ct.h"

#include <cstdint>

namespace wspush::base {

bool equal_ct(const void* a, const void* b, size_t n) noexcept {
    const auto* x = static_cast<const uint8_t*>(a);
    const auto* y = static_cast<const uint8_t*>(b);
    uint8_t diff = 0;
    for (size_t i = 0; i < n; ++i) {
        diff |= static_cast<uint8_t>(x[i] ^ y[i]);
        // Opaque to the optimiser: it may not notice that diff can only grow and leave the
        // loop early once it is non-zero (or once every bit is set).
        __asm__("" : "+r"(diff));
    }
    return diff == 0;
}

}  // namespace wspush::base
