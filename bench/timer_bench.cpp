// Timer wheel micro-benchmarks, one phase each (arm, re-arm, cancel, expire) over 100k
// timers embedded in connection-sized records. BM_LinkedListPushBaseline links the same
// records onto one intrusive list in the same order: the least work that touches every
// record once, so the wheel's figures read as ratios to it.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <optional>
#include <random>
#include <vector>

#include "base/timer_wheel.h"

namespace {

using wspush::base::TimerNode;
using wspush::base::TimerWheel;

constexpr int kTimers = 100'000;
constexpr uint64_t kNow = 1'000'000'000;
constexpr uint64_t kSpreadMs = 60'000;  // deadlines within a minute: heartbeats and timeouts

// A timer embedded in a connection; the rest stands for the connection's other state.
struct Conn {
    TimerNode timer;
    char state[104];
};
static_assert(sizeof(Conn) == 128);

// Deadlines in (kNow, kNow + kSpreadMs], fixed seed so runs compare.
std::vector<uint64_t> deadlines(uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<uint64_t> d(kTimers);
    for (auto& x : d) x = kNow + 1 + rng() % kSpreadMs;
    return d;
}

void arm_all(TimerWheel& w, std::vector<Conn>& conns, const std::vector<uint64_t>& d) {
    for (int i = 0; i < kTimers; ++i) w.arm(conns[i].timer, d[i]);
}

void BM_LinkedListPushBaseline(benchmark::State& state) {
    std::vector<Conn> conns(kTimers);
    TimerNode head;
    for (auto _ : state) {
        head.prev = head.next = &head;
        for (auto& c : conns) {
            TimerNode& t = c.timer;
            t.prev = head.prev;
            t.next = &head;
            head.prev->next = &t;
            head.prev = &t;
        }
        benchmark::DoNotOptimize(head.prev);
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(state.iterations() * kTimers);
}
BENCHMARK(BM_LinkedListPushBaseline)->Unit(benchmark::kMicrosecond);

void BM_TimerArm100k(benchmark::State& state) {
    const auto d = deadlines(1);
    std::vector<Conn> conns(kTimers);
    TimerWheel w(kNow);
    for (auto _ : state) {
        arm_all(w, conns, d);
        benchmark::ClobberMemory();
        state.PauseTiming();
        for (auto& c : conns) w.cancel(c.timer);
        state.ResumeTiming();
    }
    state.SetItemsProcessed(state.iterations() * kTimers);
}
BENCHMARK(BM_TimerArm100k)->Unit(benchmark::kMicrosecond);

// The heartbeat pattern: every armed timer moves to a new deadline (activity on its
// connection), alternating between two sets so each pass really moves every timer.
void BM_TimerRearm100k(benchmark::State& state) {
    const auto a = deadlines(1);
    const auto b = deadlines(2);
    std::vector<Conn> conns(kTimers);
    TimerWheel w(kNow);
    arm_all(w, conns, a);
    bool to_b = true;
    for (auto _ : state) {
        arm_all(w, conns, to_b ? b : a);
        to_b = !to_b;
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(state.iterations() * kTimers);
}
BENCHMARK(BM_TimerRearm100k)->Unit(benchmark::kMicrosecond);

void BM_TimerCancel100k(benchmark::State& state) {
    const auto d = deadlines(1);
    std::vector<Conn> conns(kTimers);
    TimerWheel w(kNow);
    for (auto _ : state) {
        state.PauseTiming();
        arm_all(w, conns, d);
        state.ResumeTiming();
        for (auto& c : conns) w.cancel(c.timer);
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(state.iterations() * kTimers);
}
BENCHMARK(BM_TimerCancel100k)->Unit(benchmark::kMicrosecond);

// Advances the clock by step_ms per expire() until all 100k have fired: 100 is the event
// loop waking every tick, 60000 one jump past every deadline.
void BM_TimerExpire100k(benchmark::State& state) {
    const auto d = deadlines(1);
    const auto step = static_cast<uint64_t>(state.range(0));
    std::vector<Conn> conns(kTimers);
    std::optional<TimerWheel> w;
    int64_t fired = 0;
    for (auto _ : state) {
        state.PauseTiming();
        w.reset();  // a fresh wheel at kNow; building it is not part of the phase
        w.emplace(kNow);
        arm_all(*w, conns, d);
        state.ResumeTiming();
        for (uint64_t now = kNow; w->size() != 0;) {
            now += step;
            fired += static_cast<int64_t>(
                w->expire(now, [](TimerNode& t) { benchmark::DoNotOptimize(&t); }));
        }
    }
    if (fired != state.iterations() * kTimers) state.SkipWithError("not every timer fired");
    state.SetItemsProcessed(state.iterations() * kTimers);
}
BENCHMARK(BM_TimerExpire100k)->ArgName("step_ms")->Arg(100)->Arg(60'000)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
