// The framing SHA-1 and SHA-256 share (FIPS 180-4 sections 5.1.1 and 5.2.1): input cut into
// 64-byte blocks, buffered across update() calls, then padded with 0x80, zeros up to 56 mod
// 64, and the message length in bits as a 64-bit big-endian integer. Each hash keeps its own
// state words and compression function and hands this class a callable for one block.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace wspush::codec::detail {

[[nodiscard]] inline uint32_t load_be32(const uint8_t* p) noexcept {
    return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

inline void store_be32(uint32_t v, uint8_t* p) noexcept {
    p[0] = static_cast<uint8_t>(v >> 24);
    p[1] = static_cast<uint8_t>(v >> 16);
    p[2] = static_cast<uint8_t>(v >> 8);
    p[3] = static_cast<uint8_t>(v);
}

class BlockBuffer {
public:
    static constexpr size_t kBlock = 64;

    // Feeds len bytes; calls compress(const uint8_t* block) for each completed 64-byte block,
    // straight from `p` when nothing is buffered, so long inputs are not copied.
    template <class Compress>
    void update(const uint8_t* p, size_t len, Compress&& compress) noexcept {
        total_ += len;
        if (len_ > 0) {
            const size_t take = len < kBlock - len_ ? len : kBlock - len_;
            std::memcpy(buf_ + len_, p, take);
            len_ += take;
            p += take;
            len -= take;
            if (len_ < kBlock) return;
            compress(static_cast<const uint8_t*>(buf_));
            len_ = 0;
        }
        for (; len >= kBlock; p += kBlock, len -= kBlock) compress(p);
        if (len > 0) std::memcpy(buf_, p, len);
        len_ = len;
    }

    // Appends the padding and compresses the last one or two blocks. Call once, last.
    template <class Compress>
    void pad(Compress&& compress) noexcept {
        const uint64_t bits = total_ * 8;
        buf_[len_++] = 0x80;
        if (len_ > kBlock - 8) {  // no room for the length: it goes in one more block
            std::memset(buf_ + len_, 0, kBlock - len_);
            compress(static_cast<const uint8_t*>(buf_));
            len_ = 0;
        }
        std::memset(buf_ + len_, 0, kBlock - 8 - len_);
        store_be32(static_cast<uint32_t>(bits >> 32), buf_ + 56);
        store_be32(static_cast<uint32_t>(bits), buf_ + 60);
        compress(static_cast<const uint8_t*>(buf_));
    }

private:
    uint64_t total_ = 0;  // bytes hashed so far
    uint8_t buf_[kBlock];
    size_t len_ = 0;      // bytes of an incomplete block held in buf_
};

}  // namespace wspush::codec::detail
