// Per-robot rate limit and throttle, and the digest that folds throttled messages into one.
// Both take the time as an argument (tests inject it) and hold a fixed amount of memory
// whatever the traffic.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace wspush::robot {

// At most `rate` messages in any `window_ms` (a sliding log of the last `rate` admission
// times: exact, and fixed in size: rate <= kMaxRate). The message that would exceed it
// starts a throttle of `throttle_ms`, during which nothing is admitted; when it ends the
// log starts empty.
class Limiter {
public:
    Limiter(uint32_t rate, uint32_t window_ms, uint32_t throttle_ms);
    // Whether a message arriving at now_ms may pass; a passing message is recorded. A
    // refused one (over the rate, or throttled) is not.
    [[nodiscard]] bool admit(uint64_t now_ms) noexcept;
    // An admission made elsewhere (another worker's, --workers) counted here too: recorded
    // as admit() would, except that a full log means the rate was exceeded together, so the
    // throttle starts (as if this one had been refused). Ignored while throttled.
    void note(uint64_t now_ms) noexcept;
    // A throttle started elsewhere, ending at until_ms: taken when it ends later than this
    // one's (the log starts empty, as with a throttle of its own).
    void throttle_until(uint64_t until_ms) noexcept;
    [[nodiscard]] bool throttled(uint64_t now_ms) const noexcept { return now_ms < until_; }
    // When the current throttle ends (0: never throttled).
    [[nodiscard]] uint64_t throttled_until() const noexcept { return until_; }
    // New parameters (a reload at now_ms), keeping the newest admissions that fit the new
    // rate; a throttle in force at now_ms is measured again with the new length from when it
    // began (it may then be over). One that has ended stays ended.
    void retune(uint32_t rate, uint32_t window_ms, uint32_t throttle_ms, uint64_t now_ms);
    // Whole seconds, rounded up and at least 1, until a message may pass (Retry-After).
    [[nodiscard]] uint32_t retry_after_s(uint64_t now_ms) const noexcept;

private:
    void expire(uint64_t now_ms) noexcept;

    std::unique_ptr<uint64_t[]> log_;  // admission times, a ring of rate_ entries
    uint32_t rate_, window_ms_, throttle_ms_;
    uint32_t head_ = 0, count_ = 0;
    uint64_t until_ = 0;
};

// What arrived while a robot was throttled: a count, the first and last time, and the first
// kMaxLines summary lines (each cut to kMaxLineBytes on a UTF-8 boundary); lines past that
// are counted, not kept.
class Digest {
public:
    static constexpr size_t kMaxLines = 20;
    static constexpr size_t kMaxLineBytes = 120;

    void add(uint64_t now_ms, std::string_view summary);
    [[nodiscard]] bool empty() const noexcept { return count_ == 0; }
    [[nodiscard]] uint64_t count() const noexcept { return count_; }
    [[nodiscard]] uint64_t omitted() const noexcept { return count_ - kept_; }
    // The digest as a markdown title and text: the count, the first and last time (UTC),
    // one list item per kept line (markdown-escaped), and "... and N more" when lines were
    // left out. Bounded: at most about 4 KiB of text.
    void render(std::string_view robot_name, std::string& title, std::string& text) const;
    [[nodiscard]] uint64_t first_ms() const noexcept { return first_ms_; }
    [[nodiscard]] uint64_t last_ms() const noexcept { return last_ms_; }
    void clear() noexcept;

private:
    std::string lines_;  // kept lines, '\n'-terminated; capacity bounded by the limits above
    uint64_t count_ = 0;
    uint64_t first_ms_ = 0, last_ms_ = 0;
    uint32_t kept_ = 0;
};

}  // namespace wspush::robot
