// Channel fan-out micro-benchmark: publishing one 64-byte message to a channel of 10k
// members, framed once and queued (by reference) on each member's out queue, then the
// queues emptied as a flush would. BM_FanOutBaseline stores the same pointer into 10k
// slots: the least work that touches every recipient once, so the figure reads as a ratio.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "push/hub.h"
#include "push/message.h"

namespace {

using wspush::push::Channel;
using wspush::push::Hub;
using wspush::push::Message;
using wspush::push::OutQueue;
using wspush::push::Publication;
using wspush::push::Subscription;

constexpr int kMembers = 10'000;
const std::string kPayload(64, 'x');

struct Fixture {
    explicit Fixture(bool envelope_every_other) : hub(100), subs(kMembers), queues(kMembers) {
        Channel& ch = hub.channel("bench");
        for (int i = 0; i < kMembers; ++i) {
            subs[i].owner = static_cast<uint32_t>(i);
            hub.join(ch, subs[i]);
        }
        channel = &ch;
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
        Publication& pub = f.hub.publish(*f.channel, wspush::ws::Opcode::kText, kPayload.data(), kPayload.size(),
                                         nullptr, [&](Subscription& s, Publication& p) {
                                             Message* m = (f.mixed && (s.owner & 1)) ? p.envelope() : p.raw();
                                             f.queues[s.owner].push(m);
                                         });
        benchmark::DoNotOptimize(&pub);
        // What a flush does once the bytes are written: drop each queued reference.
        for (auto& q : f.queues) q.clear();
    }
    state.SetItemsProcessed(state.iterations() * kMembers);
}
BENCHMARK(BM_FanOut10k)->Arg(0)->ArgName("envelope_half");
BENCHMARK(BM_FanOut10k)->Arg(1)->ArgName("envelope_half");

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
