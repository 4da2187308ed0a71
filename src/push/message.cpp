#include "push/message.h"

#include <cassert>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <new>
#include <sys/uio.h>

namespace wspush::push {
namespace {

size_t g_live = 0;

Message* alloc_raw(size_t bytes) noexcept {
    void* p = malloc(bytes);
    if (p == nullptr) abort();  // out of memory: nothing sensible to do on a gateway
    return static_cast<Message*>(p);
}

}  // namespace

Message* Message::make(ws::Opcode op, const void* p, size_t n) noexcept {
    Message* m = make_buffer(n);
    if (n) memcpy(m->payload(), p, n);
    m->end_ = kHeaderRoom + static_cast<uint32_t>(n);
    m->seal(op);
    return m;
}

Message* Message::make_raw(const void* p, size_t n) noexcept {
    Message* m = make_buffer(n);
    if (n) memcpy(m->payload(), p, n);
    m->end_ = kHeaderRoom + static_cast<uint32_t>(n);
    return m;
}

Message* Message::make_buffer(size_t cap) noexcept {
    Message* m = alloc_raw(sizeof(Message) + kHeaderRoom + cap);
    m->refs_ = 1;
    m->start_ = kHeaderRoom;
    m->end_ = kHeaderRoom;
    m->cap_ = static_cast<uint32_t>(cap);
    ++g_live;
    return m;
}

Message* Message::append(Message* m, const void* p, size_t n) noexcept {
    assert(m->refs_ == 1 && m->start_ == kHeaderRoom);
    size_t used = m->payload_size();
    if (used + n > m->cap_) {
        size_t cap = m->cap_ ? m->cap_ : 256;
        while (cap < used + n) cap *= 2;
        void* p2 = realloc(m, sizeof(Message) + kHeaderRoom + cap);
        if (p2 == nullptr) abort();
        m = static_cast<Message*>(p2);
        m->cap_ = static_cast<uint32_t>(cap);
    }
    if (n) memcpy(m->payload() + used, p, n);
    m->end_ += static_cast<uint32_t>(n);
    return m;
}

void Message::seal(ws::Opcode op) noexcept {
    uint8_t hdr[ws::kMaxServerHeader];
    size_t h = ws::encode_header(hdr, op, payload_size());
    start_ = kHeaderRoom - static_cast<uint32_t>(h);
    memcpy(buf_ + start_, hdr, h);
}

void Message::consume(size_t n) noexcept {
    assert(n <= payload_size());
    memmove(payload(), payload() + n, payload_size() - n);
    end_ -= static_cast<uint32_t>(n);
}

void Message::unref() noexcept {
    assert(refs_ > 0);
    if (--refs_ == 0) {
        --g_live;
        free(this);
    }
}

size_t Message::live() noexcept { return g_live; }

// Entries are carved from 4 KiB slabs and recycled through a free list; slabs are never
// returned (the high-water mark of queued entries is bounded by --send-buffer per client).
namespace {
struct FreeEntry {
    FreeEntry* next;
};
FreeEntry* g_free_entries = nullptr;
}  // namespace

OutQueue::Entry* OutQueue::alloc_entry() noexcept {
    if (g_free_entries == nullptr) {
        constexpr size_t kPerSlab = 4096 / sizeof(Entry);
        auto* slab = static_cast<Entry*>(malloc(kPerSlab * sizeof(Entry)));
        if (slab == nullptr) abort();
        for (size_t i = 0; i < kPerSlab; ++i) {
            auto* f = reinterpret_cast<FreeEntry*>(&slab[i]);
            f->next = g_free_entries;
            g_free_entries = f;
        }
    }
    FreeEntry* f = g_free_entries;
    g_free_entries = f->next;
    return reinterpret_cast<Entry*>(f);
}

void OutQueue::free_entry(Entry* e) noexcept {
    auto* f = reinterpret_cast<FreeEntry*>(e);
    f->next = g_free_entries;
    g_free_entries = f;
}

bool OutQueue::push(Message* m) noexcept {
    m->ref();
    Entry* e = alloc_entry();
    e->msg = m;
    e->next = nullptr;
    if (tail_) tail_->next = e;
    else head_ = e;
    tail_ = e;
    bytes_ += m->frame_size();
    return true;
}

long OutQueue::flush(int fd, bool* would_block) noexcept {
    constexpr int kMaxIov = 64;
    long total = 0;
    *would_block = false;
    while (head_) {
        iovec iov[kMaxIov];
        int n = 0;
        for (Entry* e = head_; e && n < kMaxIov; e = e->next, ++n) {
            uint32_t off = n == 0 ? head_off_ : 0;
            iov[n].iov_base = const_cast<uint8_t*>(e->msg->frame()) + off;
            iov[n].iov_len = e->msg->frame_size() - off;
        }
        ssize_t w = writev(fd, iov, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                *would_block = true;
                return total;
            }
            return -errno;
        }
        total += w;
        bytes_ -= static_cast<uint32_t>(w);
        size_t left = static_cast<size_t>(w);
        while (left > 0) {
            uint32_t rest = head_->msg->frame_size() - head_off_;
            if (left < rest) {
                head_off_ += static_cast<uint32_t>(left);
                break;
            }
            left -= rest;
            Entry* e = head_;
            head_ = e->next;
            if (!head_) tail_ = nullptr;
            head_off_ = 0;
            e->msg->unref();
            free_entry(e);
        }
        if (head_ && head_off_ != 0) {
            // Short write: the socket buffer is full.
            *would_block = true;
            return total;
        }
    }
    return total;
}

void OutQueue::drop_unstarted() noexcept {
    Entry* keep = head_off_ != 0 ? head_ : nullptr;
    Entry* e = keep ? head_->next : head_;
    while (e) {
        Entry* next = e->next;
        bytes_ -= e->msg->frame_size();
        e->msg->unref();
        free_entry(e);
        e = next;
    }
    head_ = tail_ = keep;
    if (keep) keep->next = nullptr;
}

void OutQueue::clear() noexcept {
    while (head_) {
        Entry* e = head_;
        head_ = e->next;
        e->msg->unref();
        free_entry(e);
    }
    tail_ = nullptr;
    head_off_ = 0;
    bytes_ = 0;
}

}  // namespace wspush::push
