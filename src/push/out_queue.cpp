#include "push/out_queue.h"

#include <cerrno>
#include <cstring>
#include <unistd.h>
#include <sys/uio.h>

#include "push/alloc.h"

namespace wspush::push {

// push() when the frame fits neither the empty struct nor the ring: a second frame (the
// first moves into a new ring) or a full ring (doubled).
bool OutQueue::push_slow(Message* m) noexcept {
    if (!relocate((slot_ & kOne) ? kMinSlots : ring()->cap * 2)) return false;
    Ring* r = ring();
    r->slot[(r->head + r->frames) & (r->cap - 1)] = m;
    ++r->frames;
    r->bytes += m->frame_size();
    return true;
}

// Moves the queued frames into a new ring of `cap` slots (>= frames(), a power of two).
bool OutQueue::relocate(uint64_t cap) noexcept {
    constexpr uint64_t kMaxSlots = (SIZE_MAX - sizeof(Ring)) / sizeof(Message*);
    if (cap > kMaxSlots) return false;
    auto* r = static_cast<Ring*>(mem_alloc(sizeof(Ring) + cap * sizeof(Message*)));
    if (r == nullptr) return false;
    const uint64_t n = frames();
    r->cap = cap;
    r->frames = n;
    r->head = 0;
    r->pong = 0;
    r->bytes = bytes();
    for (uint64_t i = 0; i < n; ++i) r->slot[i] = at(i);
    if (slot_ & kOne) {
        if (slot_ & kOnePong) r->pong = 1;
    } else {
        Ring* old = ring();
        if (old->pong > old->head) r->pong = old->pong - old->head;
        mem_free(old);
    }
    slot_ = reinterpret_cast<uintptr_t>(r);
    return true;
}

bool OutQueue::push_pong(Message* m) noexcept {
    Message** queued = nullptr;  // an unstarted Pong that push_pong() queued
    if (slot_ & kOne) {
        if ((slot_ & kOnePong) && head_off_ == 0) {
            Message* old = one();
            m->ref();
            old->unref();
            slot_ = reinterpret_cast<uintptr_t>(m) | kOne | kOnePong;
            return true;
        }
    } else if (slot_ != 0) {
        Ring* r = ring();
        uint64_t pos = r->pong - 1;  // wraps to UINT64_MAX when none: fails the test below
        // Only the last frame queued (pos + 1 == head + frames), and not while being written.
        if (r->pong > r->head && r->pong == r->head + r->frames && (pos != r->head || head_off_ == 0))
            queued = &r->slot[pos & (r->cap - 1)];
    }
    if (queued) {
        Ring* r = ring();
        r->bytes = r->bytes - (*queued)->frame_size() + m->frame_size();
        m->ref();
        (*queued)->unref();
        *queued = m;
        return true;
    }
    if (!push(m)) return false;
    if (slot_ & kOne) slot_ |= kOnePong;
    else ring()->pong = ring()->head + ring()->frames;  // m's position + 1
    return true;
}

uint64_t OutQueue::cost_behind_head() const noexcept {
    if (frames() == 0) return 0;
    return cost() - (at(0)->frame_size() - head_off_) - kFrameOverhead;
}

void OutQueue::pop_head() noexcept {
    at(0)->unref();
    if (slot_ & kOne) {
        slot_ = 0;
    } else {
        ++ring()->head;
        --ring()->frames;
    }
    head_off_ = 0;
}

// After frames left: free the ring of a drained queue, shrink a mostly empty large one.
void OutQueue::trim() noexcept {
    const uint64_t n = frames();
    if (n == 0) {
        if (slot_ != 0 && !(slot_ & kOne)) mem_free(ring());
        slot_ = 0;
        head_off_ = 0;
        return;
    }
    if ((slot_ & kOne) || ring()->cap < kShrinkSlots || n > ring()->cap / 8) return;
    uint64_t cap = kMinSlots;
    while (cap < n * 2) cap *= 2;
    (void)relocate(cap);  // out of memory: keep the larger ring
}

size_t OutQueue::prepare(Write& out) const noexcept {
    const uint64_t queued = frames();
    const uint64_t n = queued < kMaxIov ? queued : kMaxIov;
    size_t asked = 0;
    for (uint64_t i = 0; i < n; ++i) {
        const Message* m = at(i);
        size_t off = i == 0 ? head_off_ : 0;
        out.iov[i].iov_base = const_cast<uint8_t*>(m->frame()) + off;
        out.iov[i].iov_len = m->frame_size() - off;
        asked += out.iov[i].iov_len;
    }
    out.asked = asked;
    out.count = n;
    if (n > 1 && asked <= kGatherBytes) {
        // Small frames (fan-out envelopes, echoes, Pongs) go out as one contiguous buffer:
        // the kernel copies one segment instead of walking n of them, which measured
        // cheaper than writev for frames of tens of bytes (uWebSockets corks alike). Large
        // frames are never copied.
        size_t at_byte = 0;
        for (uint64_t i = 0; i < n; ++i) {
            memcpy(out.gather + at_byte, out.iov[i].iov_base, out.iov[i].iov_len);
            at_byte += out.iov[i].iov_len;
        }
        out.iov[0].iov_base = out.gather;
        out.iov[0].iov_len = asked;
        out.count = 1;
    }
    return out.count;
}

void OutQueue::advance(size_t w) noexcept {
    if (!(slot_ & kOne)) ring()->bytes -= static_cast<uint64_t>(w);
    while (frames() > 0) {
        size_t rest = at(0)->frame_size() - head_off_;
        if (w < rest) {
            head_off_ += w;
            break;
        }
        w -= rest;
        pop_head();
    }
    trim();
}

long OutQueue::flush(int fd, bool* would_block) noexcept {
    long total = 0;
    *would_block = false;
    Write plan;
    while (prepare(plan) > 0) {
        const ssize_t w = plan.count == 1 ? write(fd, plan.iov[0].iov_base, plan.iov[0].iov_len)
                                          : writev(fd, plan.iov, static_cast<int>(plan.count));
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                *would_block = true;
                break;
            }
            return -errno;
        }
        total += w;
        advance(static_cast<size_t>(w));
        if (static_cast<size_t>(w) < plan.asked) {
            // A short write on a stream socket: its send buffer is full.
            *would_block = true;
            break;
        }
    }
    return total;
}

void OutQueue::drop_unstarted() noexcept {
    const uint64_t n = frames();
    if (n == 0) return;
    const uint64_t keep = head_off_ != 0 ? 1 : 0;
    uint64_t dropped = 0;
    for (uint64_t i = keep; i < n; ++i) {
        Message* m = at(i);
        dropped += m->frame_size();
        m->unref();
    }
    // Only a started head can be left, and that is never replaced.
    if (slot_ & kOne) {
        slot_ = keep ? slot_ & ~kOnePong : 0;
    } else {
        ring()->frames = keep;
        ring()->pong = 0;
        ring()->bytes -= dropped;
    }
    trim();
}

void OutQueue::clear() noexcept {
    const uint64_t n = frames();
    for (uint64_t i = 0; i < n; ++i) at(i)->unref();
    if (slot_ & kOne) {
        slot_ = 0;
    } else if (slot_ != 0) {
        ring()->frames = 0;
        ring()->bytes = 0;
    }
    trim();
}

}  // namespace wspush::push
