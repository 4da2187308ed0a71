// When to connect again: exponential backoff with jitter as a pure state machine. It reads no
// clock and touches no socket; the caller passes `now` (milliseconds, any monotonic origin)
// and acts on what it returns, so tests drive it with a fake clock.
//
//   state        entered by                          left by
//   kIdle        construction, stop()                start() -> kConnecting
//   kConnecting  start(), tick() when the wait ends  up() -> kUp; failed() or tick() past the
//                                                    connect deadline -> kWaiting
//   kUp          up()                                failed() -> kWaiting
//   kWaiting     failed(), a connect timing out      tick() at the deadline -> kConnecting
//
// The wait after the k-th failure in a row (k = 1, 2, ...) is drawn uniformly from
// [base/2, base] with base = min(max_ms, initial_ms * 2^(k-1)) ("equal jitter": never less
// than half the base, so a crowd of clients that lost the same server spreads out without
// any of them hammering it). up() starts the count again.
#pragma once
#include <cstdint>

namespace wspush::redis {

struct BackoffPolicy {
    uint32_t initial_ms = 100;
    uint32_t max_ms = 30000;
    uint32_t connect_timeout_ms = 5000;  // connect plus handshake
};

class Reconnect {
public:
    enum class State : uint8_t { kIdle, kConnecting, kUp, kWaiting };
    enum class Action : uint8_t {
        kNone,     // nothing to do
        kConnect,  // the wait is over: connect now
        kTimeout,  // the attempt took too long: abandon it (now kWaiting)
    };

    explicit Reconnect(const BackoffPolicy& policy, uint64_t seed) noexcept;

    // kIdle -> kConnecting (the caller connects now). Ignored in any other state.
    void start(uint64_t now) noexcept;
    // The attempt (or the live connection) failed: kWaiting until the returned deadline.
    uint64_t failed(uint64_t now) noexcept;
    // The connection is usable: kUp, the failure count starts again.
    void up() noexcept;
    // Back to kIdle, the failure count cleared.
    void stop() noexcept;
    // Advances time: kConnect when a wait is over (now kConnecting), kTimeout when an attempt
    // passed its deadline (now kWaiting), else kNone.
    [[nodiscard]] Action tick(uint64_t now) noexcept;

    [[nodiscard]] State state() const noexcept { return state_; }
    // When tick() next has something to do (kConnecting, kWaiting); UINT64_MAX otherwise.
    [[nodiscard]] uint64_t deadline() const noexcept;
    // Failures since the last up().
    [[nodiscard]] uint32_t failures() const noexcept { return failures_; }
    // The wait the next failure would start with, before jitter.
    [[nodiscard]] uint64_t base_ms() const noexcept;

private:
    uint64_t random() noexcept;

    BackoffPolicy policy_;
    uint64_t rng_;
    State state_ = State::kIdle;
    uint32_t failures_ = 0;
    uint64_t deadline_ = 0;
};

[[nodiscard]] const char* state_name(Reconnect::State s) noexcept;

}  // namespace wspush::redis
