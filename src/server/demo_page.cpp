#include "server/demo_page.h"

extern "C" const char wspush_demo_page_begin[];
extern "C" const char wspush_demo_page_end[];

namespace wspush::server {

std::string_view demo_page() noexcept {
    return {wspush_demo_page_begin, static_cast<size_t>(wspush_demo_page_end - wspush_demo_page_begin)};
}

}  // namespace wspush::server
