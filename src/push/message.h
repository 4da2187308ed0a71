// An encoded server frame (header + payload) that many connections share: framed once,
// reference counted, immutable once sealed (lwan pubsub, redis shared replication blocks).
// Every size is a size_t: an envelope escapes a 1 GiB message to up to 6 GiB.
#pragma once
#include <cstddef>
#include <cstdint>

#include "ws/frame.h"

namespace wspush::push {

class Message {
public:
    // A sealed frame of opcode `op` carrying a copy of p[0..n). nullptr when out of memory.
    [[nodiscard]] static Message* make(ws::Opcode op, const void* p, size_t n) noexcept;

    // Raw bytes (an HTTP response) queued like a frame: frame() is exactly p[0..n).
    // nullptr when out of memory.
    [[nodiscard]] static Message* make_raw(const void* p, size_t n) noexcept;

    // An unsealed buffer with room for `cap` payload bytes, for assembling a message that
    // arrives in pieces; append() (or writing at payload() and extend()) then seal(). The
    // header is written in front of the payload at seal() time, so the assembled bytes are
    // never copied again. nullptr when out of memory.
    [[nodiscard]] static Message* make_buffer(size_t cap) noexcept;
    // Appends n bytes, growing (realloc) as needed; `m` may move, hence the return value.
    // Only while unsealed and singly referenced. On out-of-memory returns nullptr and `m`
    // is unchanged, still valid and still owned by the caller.
    [[nodiscard]] static Message* append(Message* m, const void* p, size_t n) noexcept;
    // Counts n bytes the caller wrote in place after the payload (n <= room()); unsealed.
    void extend(size_t n) noexcept;
    // Writes the frame header for the bytes appended so far.
    void seal(ws::Opcode op) noexcept;
    // Drops the first n payload bytes of an unsealed buffer (a consumed HTTP head).
    void consume(size_t n) noexcept;
    // Keeps only the first n payload bytes of an unsealed buffer (n <= payload_size()).
    void truncate(size_t n) noexcept;

    void ref() noexcept { ++refs_; }
    // Drops a reference; frees the message with the last one.
    void unref() noexcept;

    // The frame bytes (sealed) to put on the wire; unsealed (make_raw, or a buffer never
    // sealed), exactly the bytes appended.
    [[nodiscard]] const uint8_t* frame() const noexcept { return buf_ + start_; }
    [[nodiscard]] size_t frame_size() const noexcept { return end_ - start_; }
    // The payload, sealed or not.
    [[nodiscard]] uint8_t* payload() noexcept { return buf_ + kHeaderRoom; }
    [[nodiscard]] const uint8_t* payload() const noexcept { return buf_ + kHeaderRoom; }
    [[nodiscard]] size_t payload_size() const noexcept { return end_ - kHeaderRoom; }
    // Payload bytes that still fit without growing.
    [[nodiscard]] size_t room() const noexcept { return cap_ - payload_size(); }
    [[nodiscard]] ws::Opcode opcode() const noexcept {
        return static_cast<ws::Opcode>(buf_[start_] & 0x0F);
    }
    // Heap bytes this message holds (its one allocation, malloc's own header excluded).
    [[nodiscard]] size_t cost() const noexcept { return sizeof(Message) + kHeaderRoom + cap_; }

    // Live Message objects (for tests and STATS): every make* adds one, the last unref
    // removes it.
    [[nodiscard]] static size_t live() noexcept;

private:
    static constexpr size_t kHeaderRoom = ws::kMaxServerHeader;
    Message() = default;

    size_t refs_;     // one per holder: a queue slot, a publication, a caller
    size_t end_;      // one past the last payload byte, from buf_
    size_t cap_;      // payload capacity
    uint8_t start_;   // first frame byte in buf_ (kHeaderRoom before seal())
    uint8_t buf_[];   // kHeaderRoom bytes for the header, then the payload
};

}  // namespace wspush::push
