#include "redis/backoff.h"

namespace wspush::redis {

Reconnect::Reconnect(const BackoffPolicy& policy, uint64_t seed) noexcept
    : policy_(policy), rng_(seed * 0x9E3779B97F4A7C15ull + 1) {
    if (policy_.initial_ms == 0) policy_.initial_ms = 1;
    if (policy_.max_ms < policy_.initial_ms) policy_.max_ms = policy_.initial_ms;
}

uint64_t Reconnect::random() noexcept {
    // xorshift64: jitter needs spread, not secrecy.
    rng_ ^= rng_ << 13;
    rng_ ^= rng_ >> 7;
    rng_ ^= rng_ << 17;
    return rng_;
}

uint64_t Reconnect::base_ms() const noexcept {
    uint64_t base = policy_.initial_ms;
    for (uint32_t k = 0; k < failures_ && base < policy_.max_ms; ++k) base *= 2;
    return base < policy_.max_ms ? base : policy_.max_ms;
}

void Reconnect::start(uint64_t now) noexcept {
    if (state_ != State::kIdle) return;
    state_ = State::kConnecting;
    deadline_ = now + policy_.connect_timeout_ms;
}

uint64_t Reconnect::failed(uint64_t now) noexcept {
    const uint64_t base = base_ms();
    const uint64_t half = base / 2;
    ++failures_;
    state_ = State::kWaiting;
    deadline_ = now + (base - half) + random() % (half + 1);
    return deadline_;
}

void Reconnect::up() noexcept {
    state_ = State::kUp;
    failures_ = 0;
}

void Reconnect::stop() noexcept {
    state_ = State::kIdle;
    failures_ = 0;
}

Reconnect::Action Reconnect::tick(uint64_t now) noexcept {
    if (now < deadline_) return Action::kNone;
    if (state_ == State::kWaiting) {
        state_ = State::kConnecting;
        deadline_ = now + policy_.connect_timeout_ms;
        return Action::kConnect;
    }
    if (state_ == State::kConnecting) {
        failed(now);
        return Action::kTimeout;
    }
    return Action::kNone;
}

uint64_t Reconnect::deadline() const noexcept {
    return state_ == State::kConnecting || state_ == State::kWaiting ? deadline_ : UINT64_MAX;
}

const char* state_name(Reconnect::State s) noexcept {
    switch (s) {
        case Reconnect::State::kIdle: return "idle";
        case Reconnect::State::kConnecting: return "connecting";
        case Reconnect::State::kUp: return "up";
        case Reconnect::State::kWaiting: return "waiting";
    }
    return "?";
}

}  // namespace wspush::redis
