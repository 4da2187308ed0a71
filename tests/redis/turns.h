// Test support: loop turns until a condition holds, with a deadline (never a fixed sleep).
#pragma once
#include <chrono>

namespace wspush::testing {

// Calls turn() (one bounded loop turn) until pred() holds: true, or false after timeout_ms.
template <class Turn, class P>
bool turn_until(Turn&& turn, P&& pred, int timeout_ms) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (!pred()) {
        if (std::chrono::steady_clock::now() > end) return false;
        turn();
    }
    return true;
}

}  // namespace wspush::testing
