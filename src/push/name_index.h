// Objects by name: open addressing with linear probing over a power-of-two array of
// pointers, at most half full; grows by doubling, shrinks when an eighth full, freed when
// empty. The hash is keyed with a per-table seed so that names chosen by clients (channel
// names, ?id= values) cannot be aimed at one probe chain. T provides `uint64_t hash` (set
// by the caller from hash() before insert) and `std::string_view name() const`; names are
// at most kMaxNameLength bytes. The table holds pointers, never the objects.
#pragma once
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "push/alloc.h"

namespace wspush::push {

namespace name_index {
// splitmix64's finaliser: spreads every input bit over the output.
constexpr uint64_t mix(uint64_t x) noexcept {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}
inline constexpr size_t kMinSlots = 16;
}  // namespace name_index

template <class T>
class NameIndex {
public:
    explicit NameIndex(uint64_t seed) noexcept : seed_(seed) {}
    ~NameIndex() { mem_free(slots_); }  // frees the table, not the objects
    NameIndex(const NameIndex&) = delete;
    NameIndex& operator=(const NameIndex&) = delete;

    [[nodiscard]] uint64_t hash(std::string_view name) const noexcept {
        // 8 bytes at a time through mix(): names are short.
        uint64_t h = name_index::mix(seed_ ^ name.size());
        for (size_t i = 0; i < name.size(); i += 8) {
            uint64_t w = 0;
            memcpy(&w, name.data() + i, name.size() - i < 8 ? name.size() - i : 8);
            h = name_index::mix(h ^ w);
        }
        return h;
    }

    [[nodiscard]] T* find(std::string_view name) const noexcept {
        if (size_ == 0) return nullptr;
        const uint64_t h = hash(name);
        const size_t mask = cap_ - 1;
        for (size_t i = h & mask;; i = (i + 1) & mask) {
            T* t = slots_[i];
            if (t == nullptr) return nullptr;
            if (t->hash == h && t->name() == name) return t;
        }
    }

    // Adds t (t->hash set, nothing of that name present). False when out of memory.
    [[nodiscard]] bool insert(T* t) noexcept {
        if ((size_ + 1) * 2 > cap_ && !resize(cap_ ? cap_ * 2 : name_index::kMinSlots)) return false;
        const size_t mask = cap_ - 1;
        size_t i = t->hash & mask;
        while (slots_[i]) i = (i + 1) & mask;
        slots_[i] = t;
        ++size_;
        return true;
    }

    // Removes t (present).
    void erase(const T* t) noexcept {
        const size_t mask = cap_ - 1;
        size_t i = t->hash & mask;
        while (slots_[i] != t) {
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
        else if (cap_ > name_index::kMinSlots && size_ * 8 <= cap_) (void)resize(cap_ / 2);  // out of memory: stay larger
    }

    [[nodiscard]] size_t size() const noexcept { return size_; }

    // Calls f(T&) for every entry, in no particular order; f must not insert or erase.
    template <class F>
    void for_each(F&& f) const {
        for (size_t i = 0; i < cap_; ++i)
            if (slots_[i]) f(*slots_[i]);
    }

private:
    [[nodiscard]] bool resize(size_t cap) noexcept {
        T** slots = nullptr;
        if (cap) {
            slots = static_cast<T**>(mem_alloc(cap * sizeof(T*)));
            if (slots == nullptr) return false;
            memset(slots, 0, cap * sizeof(T*));
            for (size_t i = 0; i < cap_; ++i) {
                T* t = slots_[i];
                if (t == nullptr) continue;
                size_t j = t->hash & (cap - 1);
                while (slots[j]) j = (j + 1) & (cap - 1);
                slots[j] = t;
            }
        }
        mem_free(slots_);
        slots_ = slots;
        cap_ = cap;
        return true;
    }

    T** slots_ = nullptr;
    size_t cap_ = 0;  // 0 or a power of two
    size_t size_ = 0;
    uint64_t seed_;
};

}  // namespace wspush::push
