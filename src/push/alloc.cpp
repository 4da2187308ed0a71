#include "push/alloc.h"

namespace wspush::push::detail {

AllocFailHook g_alloc_fail_hook = nullptr;

}  // namespace wspush::push::detail
