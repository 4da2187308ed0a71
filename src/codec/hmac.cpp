// HMAC per RFC 2104 section 2: H(K ^ opad || H(K ^ ipad || text)), B = 64, L = 32.
#include "codec/hmac.h"

#include <cstdint>
#include <cstring>
#include <string.h>  // explicit_bzero (glibc)

namespace wspush::codec {

namespace {

constexpr uint8_t kIpad = 0x36;
constexpr uint8_t kOpad = 0x5c;
constexpr size_t kBlock = detail::BlockBuffer::kBlock;

}  // namespace

HmacSha256::HmacSha256(const void* key, size_t len) noexcept {
    // K padded with zeros to B bytes; a longer key is replaced by its hash.
    uint8_t k[kBlock] = {};
    if (len > kBlock) {
        Sha256 h;
        h.update(key, len);
        const Sha256Digest d = h.finish();
        std::memcpy(k, d.data(), d.size());
    } else if (len > 0) {
        std::memcpy(k, key, len);
    }
    uint8_t pad[kBlock];
    for (size_t i = 0; i < kBlock; ++i) pad[i] = k[i] ^ kIpad;
    inner_.update(pad, kBlock);
    for (size_t i = 0; i < kBlock; ++i) pad[i] = k[i] ^ kOpad;
    outer_.update(pad, kBlock);
    // The key and its pads are secrets: do not leave them in dead stack memory.
    explicit_bzero(k, sizeof k);
    explicit_bzero(pad, sizeof pad);
}

void HmacSha256::update(const void* data, size_t len) noexcept { inner_.update(data, len); }

Sha256Digest HmacSha256::finish() noexcept {
    const Sha256Digest inner = inner_.finish();
    outer_.update(inner.data(), inner.size());
    return outer_.finish();
}

Sha256Digest hmac_sha256(std::string_view key, std::string_view message) noexcept {
    HmacSha256 h(key.data(), key.size());
    h.update(message.data(), message.size());
    return h.finish();
}

}  // namespace wspush::codec
