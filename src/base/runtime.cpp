// Small run-time footprint. The server is built without exceptions; libstdc++'s default
// terminate handler would still link its symbol demangler (~40 KB) just to print the type
// of an exception that cannot occur. This replacement is picked by the linker instead.
#include <cstdlib>
#include <unistd.h>

namespace __gnu_cxx {

[[noreturn]] void __verbose_terminate_handler() {
    static const char msg[] = "wspushd: error: terminate called\n";
    ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)w;
    abort();
}

}  // namespace __gnu_cxx
