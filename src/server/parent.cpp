// --workers N (N >= 2), the parent (workers.h has the design). It serves no client: it
// opens the listening sockets (the port and the control socket, or the ones socket
// activation passed), forks the workers through cluster::Supervisor (which restarts a dead
// one with backoff and forwards SIGTERM, SIGINT and SIGHUP), and runs one poll loop over
// the signalfd and every worker's socketpair:
//
//   kPublish from worker w   numbered by the cluster::Sequencer; kPublished to every
//                            running worker (w included), or kRefused to w when
//                            --max-channels channels are known
//   kIdle from worker w      the Sequencer forgets the channel once no worker holds it
//   kStatsAsk from worker w  kStatsQuery to every running worker; once all answered (or
//                            kStatsWaitMs passed) kStatsReply to w with the sums and a
//                            per-worker list, a worker that did not answer "missing"
//   a worker's exit          logged with its pid and status; the Sequencer drops its
//                            holdings (Sequencer::worker_gone): it comes back empty
//   a worker (re)started     kHistoryAsk to a running worker; its kKept frames are relayed
//                            to the new one (which then holds their channels), publications
//                            numbered meanwhile held back until kKeptEnd, then kReady; on
//                            the first start (nothing numbered) kReady at once
//
// Each worker's outbox is bounded (kLinkOutCap + --max-message, workers.h): a worker that
// falls that far behind is killed with SIGKILL (logged) and restarted. A frame from a
// worker that does not decode gets it killed too: the stream is the server's own.
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/log.h"
#include "base/sd_notify.h"
#include "cluster/sequencer.h"
#include "cluster/supervisor.h"
#include "net/activation.h"
#include "net/socket.h"
#include "server/server.h"
#include "server/workers.h"

namespace wspush::server {
namespace {

constexpr uint64_t kTagSignals = UINT64_MAX;  // epoll tag of the supervisor's signalfd
constexpr int kMaxEvents = 64;
constexpr size_t kReadChunk = 64 * 1024;

uint64_t random_u64() {
    uint64_t v = 0;
    FILE* f = fopen("/dev/urandom", "re");
    if (f) {
        if (fread(&v, sizeof v, 1, f) != 1) v = 0;
        fclose(f);
    }
    return v ^ (static_cast<uint64_t>(getpid()) << 32) ^ base::monotonic_ms();
}

// The counters by name: `"a":1,"b":2,"drops":{...},"webhook":{...}` (no braces).
void render_counters(std::string& out, const uint64_t* v) {
    for (const char* group : {"", "drops", "webhook"}) {
        bool first = true;
        if (*group) {
            out += ",\"";
            out += group;
            out += "\":{";
        }
        for (size_t i = 0; i < kWorkerCounterCount; ++i) {
            if (strcmp(kWorkerCounters[i].group, group) != 0) continue;
            if (!first || (!*group && out.back() != '{' && out.back() != ',')) out += ',';
            first = false;
            out += '"';
            out += kWorkerCounters[i].name;
            out += "\":";
            out += std::to_string(v[i]);
        }
        if (*group) out += '}';
    }
}

class Parent {
public:
    Parent(const Config& cfg, int listen_fd, int control_fd)
        : cfg_(cfg),
          listen_fd_(listen_fd),
          control_fd_(control_fd),
          sequencer_(cluster::SequencerLimits{.workers = cfg.workers,
                                              .max_channels = cfg.max_channels,
                                              .epoch_base = (random_u64() & 0xffffffffull) << 32,
                                              .hash_seed = random_u64()}),
          supervisor_(cluster::SupervisorOptions{.workers = cfg.workers},
                      cluster::SupervisorHooks{.body = &Parent::body, .up = &Parent::up, .down = &Parent::down,
                                               .ctx = this}),
          workers_(cfg.workers) {}

    ~Parent() {
        if (epoll_fd_ >= 0) ::close(epoll_fd_);
    }

    int run(std::string& err);

private:
    struct Worker {
        pid_t pid = -1;
        int fd = -1;
        bool reading = false;  // in the epoll set for input
        bool killed = false;   // SIGKILLed (fell behind, or sent garbage): no more frames to it
        bool want_out = false; // EPOLLOUT asked for
        bool dirty = false;    // frames appended this loop turn: flushed at its end
        bool ready = false;    // kReady sent: it takes clients
        bool tailing = false;      // it has TAIL readers (kTailWanted)
        bool others_told = false;  // the last kTailOthers sent to it
        // Its history is coming from worker `donor` (kHistoryAsk `fill`); publications
        // numbered meanwhile wait in `deferred`, to follow the history in its stream.
        bool filling = false;
        uint32_t donor = 0;
        uint64_t fill = 0;
        uint64_t fill_deadline = 0;
        std::unique_ptr<cluster::WireDecoder> decoder;
        std::string out;
        size_t out_done = 0;
        std::string deferred;
    };
    // A question to every worker for one of them: STATS (counters, pids) or a kAskAll
    // (results), answered once all are in or kStatsWaitMs passed.
    struct Round {
        uint64_t id = 0;
        uint32_t asker = 0;
        pid_t asker_pid = -1;
        uint64_t request = 0;
        uint64_t deadline = 0;
        uint64_t asked = 0;  // bit w: worker w was sent the query and has not exited since
        uint64_t got = 0;    // bit w: its figures are in
        std::vector<uint64_t> counters;  // STATS: kWorkerCounterCount per worker
        std::vector<pid_t> pids;
        std::vector<std::string> results;  // kAskAll: by worker
    };

    static int body(void* ctx, uint32_t index, int fd);
    static void up(void* ctx, uint32_t index, int fd, pid_t pid);
    static void down(void* ctx, uint32_t index, int status);

    void on_worker(uint32_t i, uint32_t events);
    void frame(uint32_t i, const cluster::Frame& f);
    void publish(uint32_t i, const cluster::Frame& f);
    void send(uint32_t i, const cluster::Frame& f);
    void append(uint32_t i, std::string_view bytes);
    void flush(uint32_t i);
    void kill_worker(uint32_t i, const char* why);
    [[nodiscard]] Round new_round(uint32_t asker, uint64_t request);
    void ask_stats(uint32_t i, uint64_t request);
    void ask_all(uint32_t i, const cluster::Frame& f);
    void answer_run(const Round& r);
    void settle(std::vector<Round>& rounds, bool expire, void (Parent::*answer)(const Round&));
    void settle_rounds(bool expire) { settle(rounds_, expire, &Parent::answer); }
    void settle_runs(bool expire) { settle(runs_, expire, &Parent::answer_run); }
    void answer(const Round& r);
    void watch(uint32_t i, bool out);
    // A (re)started worker: the history for resume from a running worker, or kReady at once.
    void start_fill(uint32_t i);
    void end_fill(uint32_t i);
    // The worker filling from `donor` with kHistoryAsk `request`; workers_.size() if none.
    [[nodiscard]] uint32_t filling_from(uint32_t donor, uint64_t request) const;
    void relay_kept(uint32_t donor, const cluster::Frame& f);
    void ready(uint32_t i);
    // Tells every worker whether another one has TAIL readers, when that changed for it.
    void tell_tailing();

    Config cfg_;
    int listen_fd_;
    int control_fd_;
    int epoll_fd_ = -1;
    cluster::Sequencer sequencer_;
    cluster::Supervisor supervisor_;
    std::vector<Worker> workers_;
    std::vector<Round> rounds_;
    std::vector<Round> runs_;  // kAskAll: the operation to every other ready worker as kRun
    uint64_t rounds_made_ = 0;
    uint64_t fills_made_ = 0;
    uint64_t out_cap_ = 0;
    base::Notifier notify_;
    uint64_t start_ms_ = 0;
    std::vector<char> rbuf_;
};

int Parent::body(void* ctx, uint32_t index, int fd) {
    Parent& p = *static_cast<Parent*>(ctx);
    // The parent's poll set is shared with this copy of its descriptor: not to be touched.
    ::close(p.epoll_fd_);
    p.epoll_fd_ = -1;
    for (Worker& w : p.workers_) std::string().swap(w.out);
    signal(SIGUSR1, SIG_DFL);  // the server takes them from its signalfd
    signal(SIGUSR2, SIG_DFL);
    char tag[32];
    snprintf(tag, sizeof tag, "worker %u", index);
    base::set_log_tag(tag);  // its lines say which worker wrote them
    Server server(p.cfg_);
    server.become_worker(index, fd, p.listen_fd_, p.control_fd_);
    std::string err;
    if (!server.start(err)) {
        LOG_ERROR("%s", err.c_str());
        return 1;
    }
    return server.run();
}

void Parent::up(void* ctx, uint32_t index, int fd, pid_t pid) {
    Parent& p = *static_cast<Parent*>(ctx);
    Worker& w = p.workers_[index];
    w = Worker{};
    w.pid = pid;
    w.fd = fd;
    w.decoder = std::make_unique<cluster::WireDecoder>();
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.u64 = index;
    w.reading = epoll_ctl(p.epoll_fd_, EPOLL_CTL_ADD, fd, &ev) == 0;
    if (!w.reading) LOG_ERROR("worker %u: epoll_ctl: %s", index, strerror(errno));
    LOG_INFO("worker %u started (pid %d)", index, static_cast<int>(pid));
    p.start_fill(index);
}

void Parent::start_fill(uint32_t i) {
    Worker& w = workers_[i];
    uint32_t donor = 0;
    while (donor < workers_.size()) {
        const Worker& d = workers_[donor];
        if (donor != i && d.fd >= 0 && !d.killed && d.ready && !d.filling) break;
        ++donor;
    }
    // Nothing numbered yet (the first start, or everything forgotten), or no worker to ask.
    if (sequencer_.channels() == 0 || donor == workers_.size()) {
        ready(i);
        return;
    }
    w.filling = true;
    w.donor = donor;
    w.fill = ++fills_made_;
    w.fill_deadline = base::monotonic_ms() + kHistoryWaitMs;
    cluster::Frame ask;
    ask.kind = cluster::Kind::kHistoryAsk;
    ask.request = w.fill;
    send(donor, ask);
    LOG_INFO("worker %u: taking over the history for resume from worker %u", i, donor);
}

uint32_t Parent::filling_from(uint32_t donor, uint64_t request) const {
    for (uint32_t t = 0; t < workers_.size(); ++t) {
        const Worker& w = workers_[t];
        if (w.filling && w.donor == donor && w.fill == request && w.fd >= 0 && !w.killed) return t;
    }
    return static_cast<uint32_t>(workers_.size());
}

void Parent::relay_kept(uint32_t donor, const cluster::Frame& f) {
    const uint32_t t = filling_from(donor, f.request);
    if (t == workers_.size()) return;  // the worker it was for is gone
    // It keeps the channel from now on: not forgotten when the others go idle.
    (void)sequencer_.hold(t, f.channel, f.epoch);
    send(t, f);
}

void Parent::end_fill(uint32_t i) {
    Worker& w = workers_[i];
    w.filling = false;
    // Behind the history, whatever its size: the deferred part was bounded on its own.
    w.out.append(w.deferred);
    std::string().swap(w.deferred);
    w.dirty = true;
    ready(i);
}

void Parent::ready(uint32_t i) {
    cluster::Frame r;
    r.kind = cluster::Kind::kReady;
    send(i, r);
    workers_[i].ready = true;
    tell_tailing();
}

void Parent::tell_tailing() {
    uint32_t tailing = 0;
    for (const Worker& w : workers_) tailing += w.tailing && w.ready;
    for (uint32_t i = 0; i < workers_.size(); ++i) {
        Worker& w = workers_[i];
        if (!w.ready || w.fd < 0 || w.killed) continue;
        const bool others = tailing > (w.tailing ? 1u : 0u);
        if (others == w.others_told) continue;
        w.others_told = others;
        cluster::Frame t;
        t.kind = cluster::Kind::kTailOthers;
        t.request = others;
        send(i, t);
    }
}

void Parent::down(void* ctx, uint32_t index, int status) {
    Parent& p = *static_cast<Parent*>(ctx);
    Worker& w = p.workers_[index];
    char how[96];
    if (WIFEXITED(status)) snprintf(how, sizeof how, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status)) snprintf(how, sizeof how, "was killed by signal %d", WTERMSIG(status));
    else snprintf(how, sizeof how, "ended (wait status %d)", status);
    const bool expected = p.supervisor_.state() != cluster::Supervisor::State::kRunning;
    if (expected) LOG_INFO("worker %u (pid %d) %s", index, static_cast<int>(w.pid), how);
    else LOG_WARN("worker %u (pid %d) %s", index, static_cast<int>(w.pid), how);
    if (w.fd >= 0) (void)epoll_ctl(p.epoll_fd_, EPOLL_CTL_DEL, w.fd, nullptr);  // the supervisor closes it
    // A worker whose history was coming from this one: what it has is cut short, so it goes
    // too and starts again (from another worker, or empty if none is left).
    for (uint32_t t = 0; t < p.workers_.size(); ++t)
        if (t != index && p.workers_[t].filling && p.workers_[t].donor == index)
            p.kill_worker(t, "lost the worker its history was coming from");
    const size_t forgotten = p.sequencer_.worker_gone(index);
    if (forgotten) LOG_INFO("worker %u: %zu channel(s) no running worker holds are forgotten", index, forgotten);
    // Its STATS figures will not come; a round it asked for has no one to answer.
    const uint64_t bit = uint64_t{1} << index;
    for (Round& r : p.rounds_) {
        r.asked &= ~bit;
        if (r.asker == index) r.asker_pid = -1;
    }
    for (Round& r : p.runs_) {
        r.asked &= ~bit;
        if (r.asker == index) r.asker_pid = -1;
    }
    w = Worker{};
    p.settle_rounds(false);
    p.settle_runs(false);
    p.tell_tailing();
}

void Parent::watch(uint32_t i, bool out) {
    Worker& w = workers_[i];
    if (w.want_out == out || !w.reading) return;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | (out ? EPOLLOUT : 0u);
    ev.data.u64 = i;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, w.fd, &ev) == 0) w.want_out = out;
}

void Parent::kill_worker(uint32_t i, const char* why) {
    Worker& w = workers_[i];
    if (w.killed || w.pid < 0) return;
    LOG_ERROR("worker %u (pid %d) %s: killing it (it is started again)", i, static_cast<int>(w.pid), why);
    kill(w.pid, SIGKILL);
    w.killed = true;
    std::string().swap(w.out);
    std::string().swap(w.deferred);
    w.out_done = 0;
    // Its SIGCHLD brings down(): the Sequencer drops its holdings then.
}

void Parent::append(uint32_t i, std::string_view bytes) {
    Worker& w = workers_[i];
    if (w.fd < 0 || w.killed) return;
    if (w.out.size() - w.out_done + bytes.size() > out_cap_) {
        char why[96];
        snprintf(why, sizeof why, "fell %zu bytes behind (the bound is %llu)", w.out.size() - w.out_done,
                 static_cast<unsigned long long>(out_cap_));
        kill_worker(i, why);
        return;
    }
    w.out.append(bytes);
    w.dirty = true;
}

void Parent::send(uint32_t i, const cluster::Frame& f) {
    std::string bytes;
    if (cluster::encode(f, bytes)) append(i, bytes);
}

void Parent::flush(uint32_t i) {
    Worker& w = workers_[i];
    while (w.fd >= 0 && !w.killed && w.out_done < w.out.size()) {
        const ssize_t n = ::send(w.fd, w.out.data() + w.out_done, w.out.size() - w.out_done, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                // The worker is going: its exit is reaped as usual.
                std::string().swap(w.out);
                w.out_done = 0;
            }
            break;
        }
        w.out_done += static_cast<size_t>(n);
    }
    if (w.out_done == w.out.size()) {
        if (w.out.capacity() > (1u << 20)) std::string().swap(w.out);
        w.out.clear();
        w.out_done = 0;
    } else if (w.out_done >= (1u << 20)) {
        w.out.erase(0, w.out_done);
        w.out_done = 0;
    }
    watch(i, w.out_done < w.out.size());
}

void Parent::on_worker(uint32_t i, uint32_t events) {
    Worker& w = workers_[i];
    if (w.fd < 0) return;
    if (events & EPOLLOUT) flush(i);
    if (!(events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) return;
    // Level-triggered: one read per wake, so one busy worker does not starve the others.
    const ssize_t n = ::recv(w.fd, rbuf_.data(), rbuf_.size(), MSG_DONTWAIT);
    if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
        // The worker closed its end: it is exiting, and its SIGCHLD follows.
        (void)epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, w.fd, nullptr);
        w.reading = false;
        return;
    }
    size_t pos = 0;
    while (pos < static_cast<size_t>(n) && w.fd >= 0 && !w.killed) {
        size_t used = 0;
        const cluster::WireDecoder::Result r = w.decoder->feed(rbuf_.data() + pos, static_cast<size_t>(n) - pos, used);
        pos += used;
        if (r == cluster::WireDecoder::Result::kError) {
            char why[96];
            snprintf(why, sizeof why, "sent a bad frame (%s)", w.decoder->error());
            kill_worker(i, why);
            return;
        }
        if (r == cluster::WireDecoder::Result::kNeedMore) break;
        frame(i, w.decoder->frame());
    }
}

void Parent::frame(uint32_t i, const cluster::Frame& f) {
    switch (f.kind) {
        case cluster::Kind::kPublish: publish(i, f); return;
        case cluster::Kind::kIdle: (void)sequencer_.idle(i, f.channel, f.epoch, f.seq); return;
        case cluster::Kind::kStatsAsk: ask_stats(i, f.request); return;
        case cluster::Kind::kKept: relay_kept(i, f); return;
        case cluster::Kind::kAskAll: ask_all(i, f); return;
        case cluster::Kind::kTailWanted:
            workers_[i].tailing = f.request != 0;
            tell_tailing();
            return;
        case cluster::Kind::kTailLine: {
            std::string bytes;
            if (!cluster::encode(f, bytes)) return;
            for (uint32_t w = 0; w < workers_.size(); ++w)
                if (w != i && workers_[w].tailing && workers_[w].ready) append(w, bytes);
            return;
        }
        case cluster::Kind::kRan:
            for (Round& r : runs_) {
                const uint64_t bit = uint64_t{1} << i;
                if (r.id != f.request || !(r.asked & bit) || (r.got & bit)) continue;
                r.results[i] = f.payload;
                r.got |= bit;
            }
            settle_runs(false);
            return;
        case cluster::Kind::kKeptEnd:
            if (const uint32_t t = filling_from(i, f.request); t < workers_.size()) end_fill(t);
            return;
        case cluster::Kind::kStats:
            for (Round& r : rounds_) {
                const uint64_t bit = uint64_t{1} << i;
                if (r.id != f.request || !(r.asked & bit) || (r.got & bit)) continue;
                for (size_t k = 0; k < kWorkerCounterCount && k < f.counter_count; ++k)
                    r.counters[i * kWorkerCounterCount + k] = f.counters[k];
                r.got |= bit;
            }
            settle_rounds(false);
            return;
        default: kill_worker(i, "sent a frame only the parent sends"); return;
    }
}

void Parent::publish(uint32_t i, const cluster::Frame& f) {
    cluster::Number n;
    if (!sequencer_.next(f.channel, n)) {
        cluster::Frame r;
        r.kind = cluster::Kind::kRefused;
        r.request = f.request;
        send(i, r);
        return;
    }
    cluster::Frame p;
    p.kind = cluster::Kind::kPublished;
    p.epoch = n.epoch;
    p.seq = n.seq;
    p.request = f.request;
    p.origin = i;
    p.type = f.type;
    p.channel = f.channel;
    p.payload = f.payload;
    std::string bytes;
    if (!cluster::encode(p, bytes)) return;  // fields as decoded: cannot fail
    // Written at the loop turn's end: one send per worker for all the turn's publications.
    // A worker taking over history gets them after it.
    for (uint32_t w = 0; w < workers_.size(); ++w) {
        Worker& to = workers_[w];
        if (!to.filling) {
            append(w, bytes);
        } else if (to.deferred.size() + bytes.size() > out_cap_) {
            char why[96];
            snprintf(why, sizeof why, "had %zu bytes of publications waiting behind its history (the bound is %llu)",
                     to.deferred.size(), static_cast<unsigned long long>(out_cap_));
            kill_worker(w, why);
        } else if (to.fd >= 0 && !to.killed) {
            to.deferred.append(bytes);
        }
    }
}

Parent::Round Parent::new_round(uint32_t asker, uint64_t request) {
    Round r;
    r.id = ++rounds_made_;
    r.asker = asker;
    r.asker_pid = workers_[asker].pid;
    r.request = request;
    r.deadline = base::monotonic_ms() + kStatsWaitMs;
    return r;
}

void Parent::ask_stats(uint32_t i, uint64_t request) {
    if (rounds_.size() >= kMaxStatsRounds) {
        cluster::Frame r;
        r.kind = cluster::Kind::kStatsReply;
        r.request = request;  // an empty payload: "too many at once"
        send(i, r);
        return;
    }
    Round r = new_round(i, request);
    r.counters.assign(workers_.size() * kWorkerCounterCount, 0);
    r.pids.assign(workers_.size(), -1);
    cluster::Frame q;
    q.kind = cluster::Kind::kStatsQuery;
    q.request = r.id;
    for (uint32_t w = 0; w < workers_.size(); ++w) {
        r.pids[w] = workers_[w].pid;
        if (workers_[w].fd < 0 || workers_[w].killed) continue;
        r.asked |= uint64_t{1} << w;
        send(w, q);
    }
    rounds_.push_back(std::move(r));
}

void Parent::ask_all(uint32_t i, const cluster::Frame& f) {
    if (f.request == 0) {  // no result wanted: relayed, no round
        cluster::Frame q;
        q.kind = cluster::Kind::kRun;
        q.payload = f.payload;
        std::string bytes;
        if (!cluster::encode(q, bytes)) return;
        for (uint32_t w = 0; w < workers_.size(); ++w)
            if (w != i && workers_[w].ready && workers_[w].fd >= 0 && !workers_[w].killed) append(w, bytes);
        return;
    }
    if (runs_.size() >= kMaxStatsRounds) {
        cluster::Frame busy;
        busy.kind = cluster::Kind::kAllRan;
        busy.request = f.request;
        std::string payload;
        payload.append(reinterpret_cast<const char*>(&kAllBusy), sizeof kAllBusy);
        busy.payload = payload;
        send(i, busy);
        return;
    }
    Round r = new_round(i, f.request);
    r.results.resize(workers_.size());
    cluster::Frame q;
    q.kind = cluster::Kind::kRun;
    q.request = r.id;
    q.payload = f.payload;
    std::string bytes;
    if (cluster::encode(q, bytes)) {
        for (uint32_t w = 0; w < workers_.size(); ++w) {
            if (w == i || !workers_[w].ready || workers_[w].fd < 0 || workers_[w].killed) continue;
            r.asked |= uint64_t{1} << w;
            append(w, bytes);
        }
    }
    runs_.push_back(std::move(r));
    settle_runs(false);
}

void Parent::answer_run(const Round& r) {
    if (r.asker_pid < 0 || workers_[r.asker].pid != r.asker_pid) return;  // the asker is gone
    uint32_t missing = 0;
    std::string payload(sizeof missing, '\0');
    for (uint32_t w = 0; w < workers_.size(); ++w) {
        if (w == r.asker) continue;
        if (r.got & (uint64_t{1} << w)) pack_answer(payload, r.results[w]);
        else ++missing;  // did not answer in time, or was not running (restarting, taking over history)
    }
    if (payload.size() > cluster::kMaxPayloadLimit) {  // past what a frame carries: none of them
        payload.resize(sizeof missing);
        missing = static_cast<uint32_t>(workers_.size() - 1);
    }
    memcpy(payload.data(), &missing, sizeof missing);
    cluster::Frame a;
    a.kind = cluster::Kind::kAllRan;
    a.request = r.request;
    a.payload = payload;
    send(r.asker, a);
}

void Parent::settle(std::vector<Round>& rounds, bool expire, void (Parent::*answer)(const Round&)) {
    const uint64_t now = base::monotonic_ms();
    for (size_t k = 0; k < rounds.size();) {
        const Round& r = rounds[k];
        if ((r.got & r.asked) != r.asked && !(expire && now >= r.deadline)) {
            ++k;
            continue;
        }
        (this->*answer)(r);
        rounds.erase(rounds.begin() + static_cast<long>(k));
    }
}

void Parent::answer(const Round& r) {
    if (r.asker_pid < 0 || workers_[r.asker].pid != r.asker_pid) return;  // the asker is gone
    std::vector<uint64_t> total(kWorkerCounterCount, 0);
    uint32_t answered = 0;
    for (uint32_t w = 0; w < workers_.size(); ++w) {
        if (!(r.got & (uint64_t{1} << w))) continue;
        ++answered;
        for (size_t k = 0; k < kWorkerCounterCount; ++k) {
            const uint64_t v = r.counters[w * kWorkerCounterCount + k];
            total[k] = kWorkerCounters[k].max ? std::max(total[k], v) : total[k] + v;
        }
    }
    std::string json = "{";
    render_counters(json, total.data());
    json += ",\"journal\":{\"state\":\"off\"},\"workers_total\":" + std::to_string(workers_.size()) +
            ",\"workers_answered\":" + std::to_string(answered) +
            ",\"worker_restarts\":" + std::to_string(supervisor_.restarts()) +
            ",\"parent_uptime_s\":" + std::to_string((base::monotonic_ms() - start_ms_) / 1000) + ",\"workers\":[";
    for (uint32_t w = 0; w < workers_.size(); ++w) {
        json += w ? ",{" : "{";
        json += "\"worker\":" + std::to_string(w) + ",\"pid\":" + std::to_string(r.pids[w] > 0 ? r.pids[w] : 0);
        if (r.got & (uint64_t{1} << w)) {
            json += ',';
            render_counters(json, &r.counters[w * kWorkerCounterCount]);
        } else {
            json += ",\"missing\":true";
        }
        json += '}';
    }
    json += "]}";
    cluster::Frame a;
    a.kind = cluster::Kind::kStatsReply;
    a.request = r.request;
    a.payload = json;
    send(r.asker, a);
}

int Parent::run(std::string& err) {
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) {
        err = std::string("epoll_create1: ") + strerror(errno);
        return 1;
    }
    rbuf_.resize(kReadChunk);
    out_cap_ = kLinkOutCap + cfg_.max_message;
    signal(SIGPIPE, SIG_IGN);
    // SIGUSR1 (the stats line) is each worker's: sent to the parent it would end it.
    signal(SIGUSR1, SIG_IGN);
    signal(SIGUSR2, SIG_IGN);
    const char* nerr = nullptr;
    if (!notify_.open(&nerr)) LOG_WARN("systemd notification off: %s", nerr);
    start_ms_ = base::monotonic_ms();
    if (!supervisor_.start(start_ms_)) {
        err = supervisor_.error();
        return 1;
    }
    epoll_event sev{};
    sev.events = EPOLLIN;
    sev.data.u64 = kTagSignals;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, supervisor_.signal_fd(), &sev) != 0) {
        err = std::string("epoll_ctl: ") + strerror(errno);
        return 1;
    }
    LOG_INFO("listening on %s (%s mode, %u workers under this parent, pid %d)", net::local_address(listen_fd_).c_str(),
             mode_name(cfg_.mode), cfg_.workers, static_cast<int>(getpid()));
    notify_.send("READY=1\n");
    const uint32_t watchdog = notify_.watchdog_every_ms();
    uint64_t watchdog_at = watchdog ? start_ms_ + watchdog : UINT64_MAX;
    bool stopping = false;
    epoll_event evs[kMaxEvents];
    while (!supervisor_.finished()) {
        uint64_t now = base::monotonic_ms();
        uint64_t due = std::min(supervisor_.deadline(), watchdog_at);
        for (const Round& r : rounds_) due = std::min(due, r.deadline);
        for (const Round& r : runs_) due = std::min(due, r.deadline);
        for (const Worker& w : workers_)
            if (w.filling && !w.killed) due = std::min(due, w.fill_deadline);
        const int wait = due == UINT64_MAX ? 1000 : static_cast<int>(std::min<uint64_t>(due > now ? due - now : 0, 1000));
        const int n = epoll_wait(epoll_fd_, evs, kMaxEvents, wait);
        now = base::monotonic_ms();
        for (int k = 0; k < n; ++k) {
            if (evs[k].data.u64 == kTagSignals) supervisor_.on_signals(now);
            else if (evs[k].data.u64 < workers_.size()) on_worker(static_cast<uint32_t>(evs[k].data.u64), evs[k].events);
        }
        supervisor_.tick(now);
        settle_rounds(true);
        settle_runs(true);
        for (uint32_t i = 0; i < workers_.size(); ++i)
            if (workers_[i].filling && !workers_[i].killed && now >= workers_[i].fill_deadline)
                kill_worker(i, "had no history for resume within the wait");
        for (uint32_t i = 0; i < workers_.size(); ++i) {
            if (!workers_[i].dirty) continue;
            workers_[i].dirty = false;
            flush(i);
        }
        if (!stopping && supervisor_.state() != cluster::Supervisor::State::kRunning) {
            stopping = true;
            notify_.send("STOPPING=1\n");
        }
        if (now >= watchdog_at) {
            notify_.send("WATCHDOG=1\n");
            watchdog_at = now + watchdog;
        }
    }
    if (supervisor_.state() == cluster::Supervisor::State::kGaveUp) {
        LOG_ERROR("%s", supervisor_.error());
        return 1;
    }
    LOG_INFO("stopped");
    return 0;
}

}  // namespace

int run_parent(const Config& cfg) {
    base::set_log_level(cfg.log_level);
    base::set_log_time(cfg.log_time);
    std::string err;
    net::Inherited inherited;
    if (!net::inherited_sockets(inherited, err)) {
        fprintf(stderr, "wspushd: %s\n", err.c_str());
        return 1;
    }
    const int listen_fd =
        inherited.tcp >= 0 ? inherited.tcp : net::listen_tcp(cfg.listen_host, cfg.listen_port, err);
    if (listen_fd < 0) {
        fprintf(stderr, "wspushd: %s\n", err.c_str());
        return 1;
    }
    int control_fd = -1;
    bool made_control = false;
    if (cfg.mode != Mode::kEcho) {
        if (inherited.control >= 0) {
            control_fd = inherited.control;
        } else {
            control_fd = net::listen_unix(cfg.control_path, err);
            if (control_fd < 0) {
                fprintf(stderr, "wspushd: %s\n", err.c_str());
                ::close(listen_fd);
                return 1;
            }
            made_control = true;
        }
        LOG_INFO("control socket %s%s", made_control ? cfg.control_path.c_str() : net::local_address(control_fd).c_str(),
                 made_control ? "" : " (socket activation)");
    } else if (inherited.control >= 0) {
        ::close(inherited.control);
    }
    int rc;
    {
        Parent parent(cfg, listen_fd, control_fd);
        rc = parent.run(err);
        if (!err.empty()) fprintf(stderr, "wspushd: %s\n", err.c_str());
    }
    if (made_control) unlink(cfg.control_path.c_str());
    if (control_fd >= 0) ::close(control_fd);
    ::close(listen_fd);
    return rc;
}

}  // namespace wspush::server
