// HMAC-SHA256 (RFC 2104 with FIPS 180-4 SHA-256), for the webhook's signed requests:
// sign = Base64(HMAC-SHA256(key = secret, message = timestamp + "\n" + secret)).
#pragma once
#include <cstddef>
#include <string_view>

#include "codec/sha256.h"

namespace wspush::codec {

// Incremental HMAC-SHA256. Construct with the key, update() any number of times, finish()
// once. Copyable: keep one keyed object per secret and copy it per message to skip the two
// key-block compressions.
class HmacSha256 {
public:
    // key[0..len) is not retained. Keys longer than the 64-byte block are hashed first
    // (RFC 2104 section 2); an empty key is allowed.
    HmacSha256(const void* key, size_t len) noexcept;
    // Authenticates data[0..len); any split gives the same MAC.
    void update(const void* data, size_t len) noexcept;
    // Returns the 32-byte MAC; the object must not be updated afterwards.
    [[nodiscard]] Sha256Digest finish() noexcept;

private:
    Sha256 inner_;  // H(K ^ ipad || ...), after the key block
    Sha256 outer_;  // H(K ^ opad || ...), after the key block
};

// One-shot helper.
[[nodiscard]] Sha256Digest hmac_sha256(std::string_view key, std::string_view message) noexcept;

}  // namespace wspush::codec
