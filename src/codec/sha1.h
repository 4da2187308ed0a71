// SHA-1 (FIPS 180-4), used only for the RFC 6455 handshake's Sec-WebSocket-Accept.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "codec/md_block.h"

namespace wspush::codec {

using Sha1Digest = std::array<uint8_t, 20>;

// Incremental SHA-1. update() any number of times, then finish() once.
class Sha1 {
public:
    Sha1() noexcept;
    void update(const void* data, size_t len) noexcept;
    // Returns the digest; the object must not be updated afterwards.
    [[nodiscard]] Sha1Digest finish() noexcept;

private:
    void block(const uint8_t* p) noexcept;
    uint32_t h_[5];
    detail::BlockBuffer buf_;
};

// One-shot helper.
[[nodiscard]] Sha1Digest sha1(std::string_view data) noexcept;

}  // namespace wspush::codec
