// Heap allocation for push/ (internal to push/ and its tests). Every allocation in push/
// goes through here, so that out-of-memory is a return value and never an abort, and so
// that tests can drive those paths.
//
// Test seam: set_alloc_fail_hook(h) makes every later allocation for which h(bytes)
// returns true fail as if malloc had returned null. Only tests set it (and reset it to
// nullptr when done); the server never does, and then the cost is one load and branch.
#pragma once
#include <cstddef>
#include <cstdlib>

namespace wspush::push {

using AllocFailHook = bool (*)(size_t bytes) noexcept;

namespace detail {
extern AllocFailHook g_alloc_fail_hook;
}  // namespace detail

// Installs (or with nullptr removes) the failure hook. Tests only.
inline void set_alloc_fail_hook(AllocFailHook h) noexcept { detail::g_alloc_fail_hook = h; }

// malloc(n), or nullptr when out of memory (or when the hook says so).
[[nodiscard]] inline void* mem_alloc(size_t n) noexcept {
    if (detail::g_alloc_fail_hook != nullptr && detail::g_alloc_fail_hook(n)) [[unlikely]] return nullptr;
    return malloc(n);
}

// realloc(p, n), or nullptr when out of memory: p is then untouched and still owned.
[[nodiscard]] inline void* mem_resize(void* p, size_t n) noexcept {
    if (detail::g_alloc_fail_hook != nullptr && detail::g_alloc_fail_hook(n)) [[unlikely]] return nullptr;
    return realloc(p, n);
}

inline void mem_free(void* p) noexcept { free(p); }

}  // namespace wspush::push
