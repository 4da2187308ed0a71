// Server binary only (not linked into the tests or tools, nor into sanitizer builds): the
// server is built without exceptions, but the libstdc++ archive members it uses (std::string,
// std::vector growth, operator new) report errors by throwing, through std::__throw_* and a
// throwing operator new. Linking those would link the exception machinery and libgcc's
// unwinder (~25 KB) for throws that, in a -fno-exceptions program, can only end in terminate.
// These definitions are found before the archive's: each ends the process the way the
// uncaught throw would have (runtime.cpp's terminate handler: one line, then abort).
#include <cstddef>
#include <cstdlib>
#include <new>

namespace __gnu_cxx {
[[noreturn]] void __verbose_terminate_handler();
}  // namespace __gnu_cxx

namespace std {

[[noreturn]] void __throw_bad_alloc() { __gnu_cxx::__verbose_terminate_handler(); }
[[noreturn]] void __throw_bad_array_new_length() { __gnu_cxx::__verbose_terminate_handler(); }
[[noreturn]] void __throw_length_error(const char*) { __gnu_cxx::__verbose_terminate_handler(); }
[[noreturn]] void __throw_logic_error(const char*) { __gnu_cxx::__verbose_terminate_handler(); }
[[noreturn]] void __throw_out_of_range(const char*) { __gnu_cxx::__verbose_terminate_handler(); }
[[noreturn]] void __throw_out_of_range_fmt(const char*, ...) { __gnu_cxx::__verbose_terminate_handler(); }
[[noreturn]] void __throw_invalid_argument(const char*) { __gnu_cxx::__verbose_terminate_handler(); }
[[noreturn]] void __throw_system_error(int) { __gnu_cxx::__verbose_terminate_handler(); }

}  // namespace std

// No new_handler is ever installed, so a failed allocation goes straight to where the
// uncaught std::bad_alloc went.
void* operator new(std::size_t n) {
    void* p = malloc(n != 0 ? n : 1);
    if (p == nullptr) __gnu_cxx::__verbose_terminate_handler();
    return p;
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return malloc(n != 0 ? n : 1); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return malloc(n != 0 ? n : 1); }
void operator delete(void* p) noexcept { free(p); }
void operator delete[](void* p) noexcept { free(p); }
void operator delete(void* p, std::size_t) noexcept { free(p); }
void operator delete[](void* p, std::size_t) noexcept { free(p); }
