// Drives push/'s out-of-memory paths and counts its allocations, through the test seam
// in push/alloc.h. One object at a time; the hook is removed when it goes.
#pragma once
#include <cstddef>

#include "push/alloc.h"

namespace wspush::push::testing {

class AllocHook {
public:
    // Counts every allocation; fails each one after the first `succeed` (never when
    // fail is false).
    explicit AllocHook(bool fail = true, size_t succeed = 0) noexcept {
        fail_ = fail;
        left_ = succeed;
        calls_ = 0;
        bytes_ = 0;
        set_alloc_fail_hook(&hook);
    }
    ~AllocHook() { set_alloc_fail_hook(nullptr); }
    AllocHook(const AllocHook&) = delete;
    AllocHook& operator=(const AllocHook&) = delete;

    // Allocations asked for (failed ones included) and the bytes of those that succeeded.
    [[nodiscard]] size_t calls() const noexcept { return calls_; }
    [[nodiscard]] size_t bytes() const noexcept { return bytes_; }

private:
    static bool hook(size_t n) noexcept {
        ++calls_;
        if (fail_ && left_ == 0) return true;
        if (left_) --left_;
        bytes_ += n;
        return false;
    }
    static inline bool fail_ = false;
    static inline size_t left_ = 0;
    static inline size_t calls_ = 0;
    static inline size_t bytes_ = 0;
};

}  // namespace wspush::push::testing
