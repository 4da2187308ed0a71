// --workers N (N >= 2): N worker processes, each the ordinary single-threaded server, under a
// parent that owns the listening sockets, numbers every publication and sums STATS.
//
// parent.cpp   the parent: opens the port and the control socket, starts the workers
//              (cluster::Supervisor), numbers publications (cluster::Sequencer) and sends
//              each to every worker, answers STATS with every worker's figures summed
// workers.cpp  the worker's side in the Server: publications go to the parent and are
//              applied when it sends them back numbered (built for speed)
// worker_rounds.cpp  the rest of the worker's side, built for size: the history taken over
//              or given at a restart, commands and pages run on every worker and their
//              merged answers, TAIL across workers, STATS through the parent
//
// A publication, whichever worker takes it (control PUB/PUBB, webhook, a relayed client
// message): the worker sends kPublish and holds the publisher's answer; the parent gives it
// the channel's next (epoch, seq) and sends kPublished to every worker, the publishing one
// included; each worker applies that number to its own hub (so every worker keeps the whole
// history, and ?since= resumes exactly on any of them) and delivers to its own members; the
// publishing worker then answers the publisher (ctl::ControlChannel::resolve, the held
// webhook answer) and leaves out the relaying client. One stream per worker, read in order:
// every worker applies a channel's publications in the parent's order.
//
// A restarted worker takes over the history before it takes clients: the parent sends
// kHistoryAsk to a running worker, which answers with its kept publications as kKept frames
// (channel by channel, as the channels stood at the ask) and kKeptEnd; the parent relays
// them to the new worker, holding back the publications it numbers meanwhile (they follow
// the history in the new worker's stream), then sends kReady, and only then does the new
// worker watch the listener and the control socket. The first start has nothing to take
// over: kReady at once.
//
// | limit                      | value                         | when reached                  |
// | -------------------------- | ----------------------------- | ----------------------------- |
// | parent -> worker, unread   | kLinkOutCap + --max-message   | the worker is killed (SIGKILL,|
// |                            |                               | logged) and started again     |
// | worker -> parent, unread   | kLinkOutCap + --max-message   | publications refused as out   |
// |                            |                               | of memory until it drains     |
// | history handed to a        | kHistoryWaitMs (60 s)         | the new worker is killed      |
// | restarted worker           |                               | (logged) and started again    |
// | kept publications queued   | kHistoryChunk (1 MiB) in the  | the rest waits until the      |
// | by the worker handing them | outbox, one channel's refs    | outbox drains                 |
// | STATS wait                 | kStatsWaitMs (1 s)            | missing workers are listed    |
// |                            |                               | with "missing":true           |
// | STATS rounds at once       | kMaxStatsRounds (64)          | "ERR stats: too many STATS at |
// |                            |                               | once, try again"              |
#pragma once
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

#include "cluster/wire.h"
#include "ctl/command.h"
#include "push/message.h"
#include "server/config.h"

namespace wspush::server {

inline constexpr size_t kLinkOutCap = 64u << 20;
inline constexpr uint64_t kHistoryWaitMs = 60'000;
inline constexpr size_t kHistoryChunk = 1u << 20;
inline constexpr uint64_t kStatsWaitMs = 1000;
inline constexpr size_t kMaxStatsRounds = 64;

// A worker's figures as kStats carries them, by position. `group`: the STATS object they
// are nested in ("" at the top); `max`: the total is the largest, not the sum (every worker
// holds every channel).
struct WorkerCounter {
    const char* name;
    const char* group;
    bool max;
};
inline constexpr WorkerCounter kWorkerCounters[] = {
    {"connections", "", false},       {"sockets", "", false},          {"connections_total", "", false},
    {"channels", "", true},           {"control_clients", "", false},  {"messages_in", "", false},
    {"messages_out", "", false},      {"published", "", false},        {"bytes_in", "", false},
    {"bytes_out", "", false},         {"writes", "", false},           {"history_bytes", "", false},
    {"history_evicted", "", false},   {"tail_dropped", "", false},     {"out_of_memory", "", false},
    {"memory_trims", "", false},      {"uptime_s", "", true},          {"rss_bytes", "", false},
    {"slow_consumer", "drops", false}, {"idle_timeout", "drops", false}, {"handshake_timeout", "drops", false},
    {"protocol_error", "drops", false}, {"http_error", "drops", false}, {"server_full", "drops", false},
    {"kicked", "drops", false},       {"requests", "webhook", false},  {"errors", "webhook", false},
};
inline constexpr size_t kWorkerCounterCount = sizeof kWorkerCounters / sizeof kWorkerCounters[0];
static_assert(kWorkerCounterCount <= cluster::kMaxCounters);

// A worker's publication waiting for the parent's number (or refusal).
struct PendingPublication {
    uint64_t request = 0;
    uint64_t control_ticket = 0;  // a control PUB/PUBB: its held reply (0: none)
    bool webhook_seq = false;     // a webhook /push: its answer gives seq and delivered
    int32_t except_fd = -1;       // a relayed message: its sender, left out of the delivery
    uint64_t except_word = 0;     // ... and the sender's serial (or id), so a new connection
                                  // on that descriptor is not taken for it
    std::vector<std::string> mentions;  // a robot's: ids told of it (webhook.cpp mention())
};

// A channel whose kept publications are being handed over (kHistoryAsk): as it was at the ask.
struct KeptChannel {
    uint64_t epoch = 0;
    uint64_t last = 0;  // the last seq applied here when asked: later ones reach the new
                        // worker as ordinary kPublished frames
    uint8_t len = 0;
    char name[cluster::kMaxName];
};

// One kHistoryAsk being answered: channel by channel, each channel's kept messages
// referenced at once (so what is sent of it is consecutive, whatever is evicted meanwhile)
// and sent as the outbox drains.
struct HistoryOut {
    HistoryOut() = default;
    HistoryOut(HistoryOut&& o) noexcept = default;
    HistoryOut& operator=(HistoryOut&&) = delete;
    ~HistoryOut();
    uint64_t request = 0;
    std::vector<KeptChannel> channels;
    size_t next = 0;  // channels[next] is the next to start
    // The channel being sent: its messages from seq `first`, refs[sent..] not sent yet
    // (each holds a reference until it is).
    std::vector<push::Message*> refs;
    size_t sent = 0;
    uint64_t first = 0;
    size_t current = 0;  // its index in channels
};

// A command run on every worker (kAskAll), waiting for the others' results (kAllRan).
struct PendingAll {
    uint64_t request = 0;
    char op = 0;                  // workers.cpp kOp*: what was asked
    ctl::Verb verb = ctl::Verb::kHelp;  // kOpCommand: which command
    uint64_t control_ticket = 0;  // its held control reply (0: none, or a held page)
    std::string local;            // the result here
};

// A CHANNELS figure of other workers, by channel name.
struct ChannelFigure {
    uint64_t members = 0;
    std::string epoch;
    uint64_t last_seq = 0;
    uint64_t first_kept = 0;
    bool shown = false;  // listed with this worker's channel of that name
};
using ChannelFigures = std::unordered_map<std::string, ChannelFigure>;

// kAllRan's payload: how many other workers did not answer (u32; kAllBusy: the parent had
// too many rounds open), then each answer as a u32 length and its bytes.
inline constexpr uint32_t kAllBusy = UINT32_MAX;
// A kStatsAsk for a page (GET /stats), told apart from a control client's by this bit.
inline constexpr uint64_t kPageRequest = uint64_t{1} << 63;
inline cluster::PayloadType payload_type(ws::Opcode op) noexcept {
    return op == ws::Opcode::kBinary ? cluster::PayloadType::kBinary : cluster::PayloadType::kText;
}
void pack_answer(std::string& out, std::string_view answer);
[[nodiscard]] bool unpack_answers(std::string_view payload, uint32_t& missing, std::vector<std::string_view>& out);

// A worker's end of its socketpair with the parent.
struct WorkerLink {
    uint32_t index = 0;
    int fd = -1;
    cluster::WireDecoder decoder;
    std::string out;       // frames not yet written; out_done bytes of it are
    size_t out_done = 0;
    uint64_t out_cap = 0;  // kLinkOutCap + --max-message
    // In the order sent: the parent answers a worker's kPublish frames in that order.
    std::deque<PendingPublication> pending;
    uint64_t requests = 0;
    bool ready = false;  // kReady came: clients are taken
    uint64_t kept_in = 0;  // kKept applied before it
    std::deque<HistoryOut> history_out;  // kHistoryAsks being answered, in order
    std::deque<PendingAll> asked_all;     // kAskAlls waiting for kAllRan
    bool tail_told = false;    // the last kTailWanted sent: this worker has TAIL readers
    bool others_tail = false;  // kTailOthers: another worker has: client messages go there too
};

// A client's message for other workers' TAIL readers is dropped (and counted in
// tail_dropped) while the link to the parent holds more than this unsent.
inline constexpr size_t kTailLinkCap = 1u << 20;

// The parent's life (parent.cpp): returns the process's exit status. Start-up failures are
// printed as "wspushd: <message>" and give 1.
int run_parent(const Config& cfg);

}  // namespace wspush::server
