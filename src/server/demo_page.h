// The built-in demo page (src/server/demo_page.html, embedded at build time).
#pragma once
#include <string_view>

namespace wspush::server {

[[nodiscard]] std::string_view demo_page() noexcept;

}  // namespace wspush::server
