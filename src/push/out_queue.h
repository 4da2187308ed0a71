// A connection's queue of shared frames waiting to be written, written with writev.
//
// No node per frame and nothing shared between queues: a queue of one frame holds the
// message pointer in the struct itself; more frames go contiguously into a ring that the
// queue owns. The ring doubles when full, shrinks when a flush leaves it mostly empty and
// is freed when the queue drains, so an idle connection costs only this struct (16 bytes)
// and the usual fan-out (one frame queued and written per loop turn) allocates nothing.
// The byte count lives where the frames are: one frame's unwritten bytes follow from its
// size and the head offset; a ring keeps its own count.
//
// | parameter        | value                                                       |
// | ---------------- | ----------------------------------------------------------- |
// | one frame        | in the struct (tagged pointer), no allocation               |
// | first ring       | kMinSlots (4) slots + 40-byte header, at the second frame   |
// | growth           | doubling, when a push finds the ring full                   |
// | shrink           | to 2x the frames left, when a flush or drop leaves <= 1/8   |
// |                  | of a ring of at least kShrinkSlots (1024) slots in use      |
// | free             | when the last frame is written or dropped                   |
//
// Measured (bench/push_bench.cpp, BM_FanOut10k): a malloc/free of a ring per recipient
// and turn made fan-out 3.5x slower than the old free-list nodes; the one-frame slot
// makes it as fast as them or faster.
//
// Cost accounting: cost() = wire bytes queued + kFrameOverhead per frame, which is what
// --send-buffer judges: a flood of empty frames (Pongs) is not free just because each
// has 2 wire bytes. Every counter is 64-bit: one 1 MiB message queued 5000 times is 5000
// MiB of bytes() that a 32-bit count would wrap.
#pragma once
#include <cstddef>
#include <cstdint>
#include <sys/uio.h>

#include "push/message.h"

namespace wspush::push {

class OutQueue {
public:
    // Charged per queued frame on top of its wire bytes: the slot, the Message header and
    // the allocator's rounding, as a round figure.
    static constexpr uint64_t kFrameOverhead = 64;

    OutQueue() noexcept = default;
    ~OutQueue() { clear(); }
    OutQueue(const OutQueue&) = delete;
    OutQueue& operator=(const OutQueue&) = delete;

    // Queues m, taking a reference. False when out of memory: nothing queued, no
    // reference taken.
    [[nodiscard]] bool push(Message* m) noexcept {
        if (slot_ == 0) [[likely]] {
            slot_ = reinterpret_cast<uintptr_t>(m) | kOne;
        } else if (!(slot_ & kOne) && ring()->frames < ring()->cap) [[likely]] {
            Ring* r = ring();
            r->slot[(r->head + r->frames) & (r->cap - 1)] = m;
            ++r->frames;
            r->bytes += m->frame_size();
        } else if (!push_slow(m)) {
            return false;
        }
        m->ref();
        return true;
    }

    // Queues m into an empty queue as a head of which `written` bytes are already on the
    // wire (written < m's frame size): the rest of bytes another writer started. A started
    // head is finished, never dropped. False when out of memory.
    [[nodiscard]] bool push_started(Message* m, size_t written) noexcept {
        if (!empty() || !push(m)) return false;
        head_off_ = written;
        return true;
    }

    // Queues a Pong like push(), except that when the last frame queued is a Pong that
    // push_pong() queued and that is not started yet, m replaces it (RFC 6455 5.5.3: an
    // endpoint may answer only the most recent Ping), so a Ping flood holds one queued Pong.
    // Only the last frame is replaced, so a Pong never overtakes a reply queued after an
    // earlier one. A Pong that is the partly written head is started and stays; m is then
    // appended. False when out of memory (nothing changed).
    [[nodiscard]] bool push_pong(Message* m) noexcept;

    [[nodiscard]] bool empty() const noexcept { return frames() == 0; }
    // Frames queued: none, the one in the struct, or the ring's count.
    [[nodiscard]] uint64_t frames() const noexcept {
        return slot_ == 0 ? 0 : (slot_ & kOne) ? 1 : ring()->frames;
    }
    // Wire bytes queued and not yet written.
    [[nodiscard]] uint64_t bytes() const noexcept {
        return slot_ == 0 ? 0 : (slot_ & kOne) ? one()->frame_size() - head_off_ : ring()->bytes;
    }
    // bytes() plus kFrameOverhead per queued frame.
    [[nodiscard]] uint64_t cost() const noexcept { return bytes() + kFrameOverhead * frames(); }
    // cost() without the head frame (the part of it still unwritten and its overhead):
    // what --send-buffer judges, so that one large message on its way out does not make
    // the frames queued behind it "slow".
    [[nodiscard]] uint64_t cost_behind_head() const noexcept;
    // True once part of the head frame is on the wire (it must then be finished).
    [[nodiscard]] bool head_started() const noexcept { return head_off_ != 0; }
    // Slots in the ring (0 when none is allocated). For tests and memory accounting.
    [[nodiscard]] uint64_t ring_capacity() const noexcept { return slot_ && !(slot_ & kOne) ? ring()->cap : 0; }

    // One write's worth of the queue, for a caller that submits the write itself (a batch
    // of sends in one system call): the iovecs and, for small frames, the bytes copied.
    static constexpr uint64_t kMaxIov = 64;       // frames per write at most
    static constexpr size_t kGatherBytes = 4096;  // frames totalling this much are copied
    struct Write {
        iovec iov[kMaxIov];
        size_t count = 0;  // iovecs used: 1 when gathered (or one frame), else one per frame
        size_t asked = 0;  // their total length
        uint8_t gather[kGatherBytes];
    };
    // Describes the next write in `out`: up to kMaxIov frames from the head, copied into
    // out.gather (one iovec) when they total at most kGatherBytes, else one iovec per frame
    // pointing into the frames, valid until the queue changes. Returns out.count, 0 when
    // the queue is empty.
    size_t prepare(Write& out) const noexcept;
    // Counts w bytes (at most the prepared write's `asked`) as written: frames wholly
    // written are released.
    void advance(size_t w) noexcept;

    // Writes as much as the socket takes: prepare(), then write (one iovec) or writev.
    // Returns bytes written (>= 0) when the queue emptied or the socket would block
    // (then *would_block is set), or -errno on a write error.
    [[nodiscard]] long flush(int fd, bool* would_block) noexcept;

    // Drops every queued frame except a partly written head (slow-consumer shutdown).
    void drop_unstarted() noexcept;
    // Drops everything and frees the ring.
    void clear() noexcept;

private:
    static constexpr uint64_t kMinSlots = 4;
    static constexpr uint64_t kShrinkSlots = 1024;
    // Tags in slot_'s low bits (messages and rings are malloc-aligned).
    static constexpr uintptr_t kOne = 1;      // slot_ is the one queued Message*, no ring
    static constexpr uintptr_t kOnePong = 2;  // ... and push_pong() queued it
    static constexpr uintptr_t kTags = kOne | kOnePong;

    struct Ring {
        uint64_t cap;     // slots, a power of two
        uint64_t frames;  // frames queued (kept here, not in the struct: idle queues stay small)
        uint64_t head;    // position of the head frame; slot of position p is p & (cap - 1)
        uint64_t pong;    // position + 1 of the Pong push_pong() queued last; 0: none
        uint64_t bytes;   // wire bytes queued, unwritten (the queue's bytes())
        Message* slot[];
    };

    [[nodiscard]] Ring* ring() const noexcept { return reinterpret_cast<Ring*>(slot_); }
    [[nodiscard]] Message* one() const noexcept { return reinterpret_cast<Message*>(slot_ & ~kTags); }
    // The i-th queued frame (i < frames()), head first.
    [[nodiscard]] Message* at(uint64_t i) const noexcept {
        if (slot_ & kOne) return one();
        return ring()->slot[(ring()->head + i) & (ring()->cap - 1)];
    }
    [[nodiscard]] bool push_slow(Message* m) noexcept;
    [[nodiscard]] bool relocate(uint64_t cap) noexcept;
    void pop_head() noexcept;
    void trim() noexcept;

    uintptr_t slot_ = 0;     // 0: empty; a Message* | kOne: one frame; else the Ring*
    uint64_t head_off_ = 0;  // bytes of the head frame already written (a frame may exceed 4 GiB)
};

static_assert(sizeof(OutQueue) == 16, "an idle connection pays only for this struct");

}  // namespace wspush::push
