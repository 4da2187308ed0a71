// An encoded server frame (header + payload) that many connections share: framed once,
// reference counted, immutable once sealed (lwan pubsub, redis shared replication blocks).
#pragma once
#include <cstddef>
#include <cstdint>

#include "ws/frame.h"

namespace wspush::push {

class Message {
public:
    // A sealed frame of opcode `op` carrying a copy of p[0..n). Aborts on out-of-memory.
    [[nodiscard]] static Message* make(ws::Opcode op, const void* p, size_t n) noexcept;

    // Raw bytes (an HTTP response) queued like a frame: frame() is exactly p[0..n).
    [[nodiscard]] static Message* make_raw(const void* p, size_t n) noexcept;

    // An unsealed buffer with room for `cap` payload bytes, for assembling a message that
    // arrives in pieces; append() then seal(). The header is written in front of the payload
    // at seal() time, so the assembled bytes are never copied again.
    [[nodiscard]] static Message* make_buffer(size_t cap) noexcept;
    // Appends n bytes, growing (realloc) as needed; `m` may move, hence the return value.
    // Only while unsealed and singly referenced.
    [[nodiscard]] static Message* append(Message* m, const void* p, size_t n) noexcept;
    // Writes the frame header for the bytes appended so far. Returns the sealed message.
    void seal(ws::Opcode op) noexcept;
    // Drops the first n payload bytes of an unsealed buffer (a consumed HTTP head).
    void consume(size_t n) noexcept;

    void ref() noexcept { ++refs_; }
    // Drops a reference; frees the message with the last one.
    void unref() noexcept;

    // The frame bytes (sealed) to put on the wire; unsealed (make_raw, or a buffer never
    // sealed), exactly the bytes appended.
    [[nodiscard]] const uint8_t* frame() const noexcept { return buf_ + start_; }
    [[nodiscard]] uint32_t frame_size() const noexcept { return end_ - start_; }
    // The payload, sealed or not.
    [[nodiscard]] uint8_t* payload() noexcept { return buf_ + kHeaderRoom; }
    [[nodiscard]] const uint8_t* payload() const noexcept { return buf_ + kHeaderRoom; }
    [[nodiscard]] uint32_t payload_size() const noexcept { return end_ - kHeaderRoom; }
    [[nodiscard]] ws::Opcode opcode() const noexcept {
        return static_cast<ws::Opcode>(buf_[start_] & 0x0F);
    }

    // Live Message objects (for tests and STATS): every make* adds one, the last unref
    // removes it.
    [[nodiscard]] static size_t live() noexcept;

private:
    static constexpr uint32_t kHeaderRoom = ws::kMaxServerHeader;
    Message() = default;

    uint32_t refs_;
    uint32_t start_;  // first frame byte in buf_ (kHeaderRoom before seal())
    uint32_t end_;    // one past the last payload byte
    uint32_t cap_;    // payload capacity
    uint8_t buf_[];   // kHeaderRoom bytes for the header, then the payload
};

// A per-connection queue of shared messages waiting to be written, written with writev.
// Entries come from a process-wide free list, so queueing a message allocates nothing in
// the steady state. An empty queue costs three words.
class OutQueue {
public:
    OutQueue() noexcept = default;
    ~OutQueue() { clear(); }
    OutQueue(const OutQueue&) = delete;
    OutQueue& operator=(const OutQueue&) = delete;

    // Queues m, taking a reference.
    bool push(Message* m) noexcept;
    bool push_pong(Message* m) noexcept { return push(m); }
    [[nodiscard]] uint64_t cost() const noexcept { return bytes_; }
    [[nodiscard]] uint64_t cost_behind_head() const noexcept { return bytes_behind_head(); }
    [[nodiscard]] bool empty() const noexcept { return head_ == nullptr; }
    // Bytes queued and not yet written.
    [[nodiscard]] uint32_t bytes() const noexcept { return bytes_; }
    // Bytes queued behind the frame at the head: what --send-buffer judges, so that one
    // large message on its way out does not make the Pong queued behind it "slow".
    [[nodiscard]] uint32_t bytes_behind_head() const noexcept {
        return head_ ? bytes_ - (head_->msg->frame_size() - head_off_) : 0;
    }
    // True once part of the head frame is on the wire (it must then be finished).
    [[nodiscard]] bool head_started() const noexcept { return head_off_ != 0; }

    // Writes as much as the socket takes, gathering up to 64 frames per writev.
    // Returns bytes written (>= 0) when the queue emptied or the socket would block
    // (then *would_block is set), or -errno on a write error.
    [[nodiscard]] long flush(int fd, bool* would_block) noexcept;

    // Drops every queued frame except a partly written head (slow-consumer shutdown).
    void drop_unstarted() noexcept;
    // Drops everything.
    void clear() noexcept;

private:
    struct Entry {
        Message* msg;
        Entry* next;
    };
    static Entry* alloc_entry() noexcept;
    static void free_entry(Entry* e) noexcept;

    Entry* head_ = nullptr;
    Entry* tail_ = nullptr;
    uint32_t head_off_ = 0;  // bytes of the head frame already written
    // Bytes queued: under --send-buffer (<= 2 GiB) plus one message (<= 1 GiB).
    uint32_t bytes_ = 0;
};

}  // namespace wspush::push
