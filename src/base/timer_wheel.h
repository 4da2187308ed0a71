// Hashed timer wheel (Varghese & Lauck, scheme 6): O(1) arm, re-arm and cancel.
#pragma once
#include <cstddef>
#include <cstdint>

namespace wspush::base {

// Embedded in its owner (intrusive); the owner is found with a container_of-style cast.
// 20 bytes of data: an owner that embeds it [[no_unique_address]] may put a 4-byte field in
// its tail padding.
struct TimerNode {
    TimerNode* prev = nullptr;
    TimerNode* next = nullptr;
    uint32_t deadline = 0;  // ms, the wheel's clock modulo 2^32 (see kMaxHorizonMs)
};

class TimerWheel {
public:
    // The wheel starts at now_ms. tick_ms is its resolution; slots (a power of two) times
    // tick_ms is one revolution. Timers further out than a revolution stay in their slot
    // and are skipped until their round comes.
    explicit TimerWheel(uint64_t now_ms, uint32_t tick_ms = 100, uint32_t slots = 1024);
    ~TimerWheel();
    TimerWheel(const TimerWheel&) = delete;
    TimerWheel& operator=(const TimerWheel&) = delete;

    // Deadlines are kept as 32-bit ms (that clock wraps every 49.7 days) and compared with
    // the `now` of expire() modulo 2^32, which is exact while a deadline is at most this
    // far ahead of that `now` and at most this far behind it (expire() runs that often).
    static constexpr uint64_t kMaxHorizonMs = uint64_t{1} << 31;  // 24.8 days

    // Arms t to fire at deadline_ms, at most kMaxHorizonMs after the caller's current time
    // (the same clock as expire()'s `now`, never behind the last one); a past deadline
    // fires at the next expire(). If t is already armed it is moved. O(1).
    void arm(TimerNode& t, uint64_t deadline_ms) noexcept;
    // Disarms t; a no-op when it is not armed. O(1).
    void cancel(TimerNode& t) noexcept;
    [[nodiscard]] static bool armed(const TimerNode& t) noexcept { return t.prev != nullptr; }

    // Fires every timer whose deadline <= now_ms: first unlinks all of them, then calls
    // fire(TimerNode&) for each, so callbacks may arm or cancel any timer, the fired one
    // included. A collected timer that a callback cancels or re-arms is not fired; one armed
    // from a callback with a past deadline fires at the next expire(), not this one.
    // Returns how many fired.
    template <class F>
    size_t expire(uint64_t now_ms, F&& fire) {
        TimerNode due;
        due.prev = due.next = &due;
        collect(now_ms, due);
        size_t n = 0;
        while (due.next != &due) {
            TimerNode* t = due.next;
            due.next = t->next;
            t->next->prev = &due;
            t->prev = t->next = nullptr;
            --size_;  // collected timers stay counted until fired, so cancel() can uncount them
            ++n;
            fire(*t);
        }
        return n;
    }

    // Milliseconds until the next slot that holds a timer, clamped to [0, cap_ms] (a negative
    // cap_ms means no cap); -1 when no timer is armed (epoll_wait may block indefinitely).
    // Sleeping that long then calling expire() fires a timer less than tick_ms late.
    [[nodiscard]] int timeout_ms(uint64_t now_ms, int cap_ms) const noexcept;

    [[nodiscard]] size_t size() const noexcept { return size_; }

private:
    // Moves every due timer onto the circular list headed by `due`.
    void collect(uint64_t now_ms, TimerNode& due) noexcept;
    // Distance from slot `from` to the first occupied slot among the next `count` (circular),
    // or `count` when all of them are empty.
    [[nodiscard]] uint32_t find_occupied(uint32_t from, uint32_t count) const noexcept;
    // Whether now_ms has reached a deadline stored modulo 2^32 (within the horizon).
    [[nodiscard]] static bool reached(uint32_t deadline, uint64_t now_ms) noexcept {
        return static_cast<uint32_t>(static_cast<uint32_t>(now_ms) - deadline) < (uint32_t{1} << 31);
    }

    TimerNode* slots_;         // circular sentinel per slot
    uint64_t* occupied_;       // bitmap of non-empty slots
    TimerNode overdue_;        // sentinel: armed with deadline <= last_now_, due at next expire
    uint64_t last_now_;        // now_ms of the last collect (or of the constructor)
    uint64_t current_tick_;    // first tick that may still hold a timer not yet due
    uint32_t tick_ms_;
    uint32_t mask_;            // slots - 1
    size_t size_ = 0;          // armed timers, including collected ones not yet fired
};

}  // namespace wspush::base
