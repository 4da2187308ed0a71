// Channel fan-out micro-benchmark: publishing one 64-byte message to a channel of 10k
// members, framed once and queued (by reference) on each member's out queue, then the
// queues emptied as a flush would. BM_FanOutBaseline stores the same pointer into 10k
// slots: the least work that touches every recipient once, so the figure reads as a ratio.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "push/hub.h"
#include "push/message.h"
#include "push/out_queue.h"

namespace {

using wspush::push::Channel;
using wspush::push::Hub;
using wspush::push::HubLimits;
using wspush::push::Message;
using wspush::push::OutQueue;
using wspush::push::Publication;
using wspush::push::Subscription;

constexpr int kMembers = 10'000;
const std::string kPayload(64, 'x');

struct Fixture {
    explicit Fixture(bool envelope_every_other) : hub(HubLimits{}), subs(kMembers), queues(kMembers) {
        channel = hub.channel("bench");
        for (int i = 0; i < kMembers; ++i) {
            subs[i].owner = static_cast<uint32_t>(i);
            if (!hub.join(*channel, subs[i])) abort();
        }
        mixed = envelope_every_other;
    }
    Hub hub;
    std::vector<Subscription> subs;
    std::vector<OutQueue> queues;
    Channel* channel = nullptr;
    bool mixed = false;
};

void BM_FanOut10k(benchmark::State& state) {
    Fixture f(state.range(0) != 0);
    for (auto _ : state) {
        auto r = f.hub.publish(*f.channel, wspush::ws::Opcode::kText, kPayload.data(), kPayload.size(), nullptr,
                               [&](Subscription& s, Publication& p) {
                                   Message* m = (f.mixed && (s.owner & 1)) ? p.envelope() : p.raw();
                                   if (!f.queues[s.owner].push(m)) abort();
                               });
        benchmark::DoNotOptimize(r);
        // What a flush does once the bytes are written: drop each queued reference.
        for (auto& q : f.queues) q.clear();
    }
    state.SetItemsProcessed(state.iterations() * kMembers);
}
BENCHMARK(BM_FanOut10k)->Arg(0)->ArgName("envelope_half");
BENCHMARK(BM_FanOut10k)->Arg(1)->ArgName("envelope_half");

// Eight publications per loop turn before the flush: every queue holds eight frames (the
// out-queue's ring, not its one-frame slot).
void BM_FanOutBurst10k(benchmark::State& state) {
    Fixture f(false);
    for (auto _ : state) {
        for (int k = 0; k < 8; ++k) {
            auto r = f.hub.publish(*f.channel, wspush::ws::Opcode::kText, kPayload.data(), kPayload.size(), nullptr,
                                   [&](Subscription& s, Publication& p) {
                                       if (!f.queues[s.owner].push(p.raw())) abort();
                                   });
            benchmark::DoNotOptimize(r);
        }
        for (auto& q : f.queues) q.clear();
    }
    state.SetItemsProcessed(state.iterations() * kMembers * 8);
}
BENCHMARK(BM_FanOutBurst10k);

void BM_FanOutBaseline(benchmark::State& state) {
    std::vector<const void*> slots(kMembers);
    Message* m = Message::make(wspush::ws::Opcode::kText, kPayload.data(), kPayload.size());
    for (auto _ : state) {
        for (auto& s : slots) s = m;
        benchmark::DoNotOptimize(slots.data());
        benchmark::ClobberMemory();
    }
    m->unref();
    state.SetItemsProcessed(state.iterations() * kMembers);
}
BENCHMARK(BM_FanOutBaseline);

}  // namespace

BENCHMARK_MAIN();
