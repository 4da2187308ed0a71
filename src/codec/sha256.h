// SHA-256 (FIPS 180-4), for the webhook's HMAC-SHA256 request signatures.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "codec/md_block.h"

namespace wspush::codec {

using Sha256Digest = std::array<uint8_t, 32>;

// Incremental SHA-256. update() any number of times, then finish() once. Copyable: a copy
// continues from the same point (HMAC keeps its keyed states this way).
class Sha256 {
public:
    Sha256() noexcept;
    // Hashes data[0..len); len may be 0. Any split of the input gives the same digest.
    void update(const void* data, size_t len) noexcept;
    // Returns the digest; the object must not be updated afterwards.
    [[nodiscard]] Sha256Digest finish() noexcept;

private:
    void block(const uint8_t* p) noexcept;
    uint32_t h_[8];
    detail::BlockBuffer buf_;
};

// One-shot helper.
[[nodiscard]] Sha256Digest sha256(std::string_view data) noexcept;

}  // namespace wspush::codec
