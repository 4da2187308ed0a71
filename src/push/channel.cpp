#include "push/channel.h"

#include <cassert>
#include <cstring>

#include "push/alloc.h"

namespace wspush::push {
namespace {

constexpr size_t kMinSlots = 16;

// splitmix64's finaliser: spreads every input bit over the output.
uint64_t mix(uint64_t x) noexcept {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

}  // namespace

ChannelTable::~ChannelTable() { mem_free(slots_); }

uint64_t ChannelTable::hash(std::string_view name) const noexcept {
    // 8 bytes at a time through mix(): names are at most 64 bytes.
    uint64_t h = mix(seed_ ^ name.size());
    for (size_t i = 0; i < name.size(); i += 8) {
        uint64_t w = 0;
        memcpy(&w, name.data() + i, name.size() - i < 8 ? name.size() - i : 8);
        h = mix(h ^ w);
    }
    return h;
}

Channel* ChannelTable::find(std::string_view name) const noexcept {
    if (size_ == 0) return nullptr;
    const uint64_t h = hash(name);
    const size_t mask = cap_ - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        Channel* ch = slots_[i];
        if (ch == nullptr) return nullptr;
        if (ch->hash == h && ch->name() == name) return ch;
    }
}

bool ChannelTable::resize(size_t cap) noexcept {
    Channel** slots = nullptr;
    if (cap) {
        slots = static_cast<Channel**>(mem_alloc(cap * sizeof(Channel*)));
        if (slots == nullptr) return false;
        memset(slots, 0, cap * sizeof(Channel*));
        for (size_t i = 0; i < cap_; ++i) {
            Channel* ch = slots_[i];
            if (ch == nullptr) continue;
            size_t j = ch->hash & (cap - 1);
            while (slots[j]) j = (j + 1) & (cap - 1);
            slots[j] = ch;
        }
    }
    mem_free(slots_);
    slots_ = slots;
    cap_ = cap;
    return true;
}

bool ChannelTable::insert(Channel* ch) noexcept {
    if ((size_ + 1) * 2 > cap_ && !resize(cap_ ? cap_ * 2 : kMinSlots)) return false;
    const size_t mask = cap_ - 1;
    size_t i = ch->hash & mask;
    while (slots_[i]) i = (i + 1) & mask;
    slots_[i] = ch;
    ++size_;
    return true;
}

void ChannelTable::erase(const Channel* ch) noexcept {
    const size_t mask = cap_ - 1;
    size_t i = ch->hash & mask;
    while (slots_[i] != ch) {
        assert(slots_[i] != nullptr);
        i = (i + 1) & mask;
    }
    // Backward-shift deletion (Knuth 6.4 algorithm R): pull later members of the probe
    // run into the hole so that no tombstones are needed.
    for (size_t j = (i + 1) & mask; slots_[j]; j = (j + 1) & mask) {
        size_t home = slots_[j]->hash & mask;
        // Move slots_[j] into the hole at i unless its home lies cyclically in (i, j].
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (stays) continue;
        slots_[i] = slots_[j];
        i = j;
    }
    slots_[i] = nullptr;
    --size_;
    if (size_ == 0) (void)resize(0);
    else if (cap_ > kMinSlots && size_ * 8 <= cap_) (void)resize(cap_ / 2);  // out of memory: stay larger
}

}  // namespace wspush::push
