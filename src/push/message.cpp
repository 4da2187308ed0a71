#include "push/message.h"

#include <cassert>
#include <cstring>

#include "push/alloc.h"

namespace wspush::push {
namespace {

size_t g_live = 0;

// Bytes to allocate for a message with `cap` payload bytes; 0 if that overflows.
size_t alloc_size(size_t cap) noexcept {
    constexpr size_t kFixed = sizeof(Message) + ws::kMaxServerHeader;
    return cap > SIZE_MAX - kFixed ? 0 : kFixed + cap;
}

}  // namespace

Message* Message::make(ws::Opcode op, const void* p, size_t n) noexcept {
    Message* m = make_raw(p, n);
    if (m) m->seal(op);
    return m;
}

Message* Message::make_raw(const void* p, size_t n) noexcept {
    Message* m = make_buffer(n);
    if (m == nullptr) return nullptr;
    if (n) memcpy(m->payload(), p, n);
    m->end_ = kHeaderRoom + n;
    return m;
}

Message* Message::make_buffer(size_t cap) noexcept {
    size_t bytes = alloc_size(cap);
    void* raw = bytes ? mem_alloc(bytes) : nullptr;
    if (raw == nullptr) return nullptr;
    auto* m = static_cast<Message*>(raw);
    m->refs_ = 1;
    m->start_ = kHeaderRoom;
    m->end_ = kHeaderRoom;
    m->cap_ = cap;
    ++g_live;
    return m;
}

Message* Message::append(Message* m, const void* p, size_t n) noexcept {
    assert(m->refs_ == 1 && m->start_ == kHeaderRoom);
    size_t used = m->payload_size();
    if (n > m->room()) {
        if (n > SIZE_MAX - used) return nullptr;
        size_t need = used + n;
        size_t cap = m->cap_ ? m->cap_ : 256;
        while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
        size_t bytes = alloc_size(cap);
        void* grown = bytes ? mem_resize(m, bytes) : nullptr;
        if (grown == nullptr) return nullptr;  // m untouched: realloc keeps it on failure
        m = static_cast<Message*>(grown);
        m->cap_ = cap;
    }
    if (n) memcpy(m->payload() + used, p, n);
    m->end_ += n;
    return m;
}

void Message::extend(size_t n) noexcept {
    assert(start_ == kHeaderRoom && n <= room());
    end_ += n;
}

void Message::seal(ws::Opcode op) noexcept {
    uint8_t hdr[ws::kMaxServerHeader];
    size_t h = ws::encode_header(hdr, op, payload_size());
    start_ = static_cast<uint8_t>(kHeaderRoom - h);
    memcpy(buf_ + start_, hdr, h);
}

void Message::consume(size_t n) noexcept {
    assert(n <= payload_size());
    memmove(payload(), payload() + n, payload_size() - n);
    end_ -= n;
}

void Message::truncate(size_t n) noexcept {
    assert(n <= payload_size());
    end_ = kHeaderRoom + n;
}

void Message::unref() noexcept {
    assert(refs_ > 0);
    if (--refs_ == 0) {
        --g_live;
        mem_free(this);
    }
}

size_t Message::live() noexcept { return g_live; }

}  // namespace wspush::push
