// --workers, a worker's side of what is rare: taking over the history when it starts
// (worker_ready, apply_kept) and giving it to a worker that starts (history_ask,
// history_pump); commands, pages and direct messages run on every worker (kAskAll, kRun,
// kAllRan) and their merged answers; TAIL across workers; the figures for STATS. Built for
// size (-Os): none of it is on the per-message path, which is workers.cpp (built for speed).
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unordered_map>

#include "base/log.h"
#include "net/socket.h"
#include "robot/errcode.h"
#include "server/loop_tags.h"
#include "server/server.h"

namespace wspush::server {

using namespace loop;

namespace {

// Operations run on every worker (kAskAll, kRun), by their first byte. Integers in host
// order: both ends are this binary on this machine.
//   kOpCommand  verb u8, KICK code u16, name length u8, name, text
//   kOpSendTo   robot index u32, id length u8, id, body        (webhook /send/<id>)
//   kOpMention  epoch u64, seq u64, channel length u8, channel, id count u8,
//               (id length u8, id) each, data                  (a robot's mentions)
constexpr char kOpCommand = 'C';
constexpr char kOpSendTo = 'S';
constexpr char kOpMention = 'M';
constexpr char kOpRate = 'R';  // throttle end u64 (0: an admission), robot index u32, name
                               // length u8, name (the index is taken only where the name matches)

template <class T>
void put_int(std::string& out, T v) {
    out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

void put_short(std::string& out, std::string_view s) {
    out += static_cast<char>(static_cast<uint8_t>(s.size()));
    out += s;
}

// Reads an operation's fields in order; any short read makes ok() false.
class OpReader {
public:
    explicit OpReader(std::string_view op) : rest_(op) {}
    template <class T>
    T get_int() {
        T v{};
        if (rest_.size() < sizeof v) {
            ok_ = false;
            return v;
        }
        memcpy(&v, rest_.data(), sizeof v);
        rest_.remove_prefix(sizeof v);
        return v;
    }
    std::string_view get_short() { return get_bytes(get_int<uint8_t>()); }
    std::string_view get_bytes(size_t n) {
        if (!ok_ || rest_.size() < n) {
            ok_ = false;
            return {};
        }
        std::string_view s = rest_.substr(0, n);
        rest_.remove_prefix(n);
        return s;
    }
    [[nodiscard]] std::string_view rest() const { return rest_; }
    [[nodiscard]] bool ok() const { return ok_; }

private:
    std::string_view rest_;
    bool ok_ = true;
};

// The number after `key` ("delivered=") in a reply line; 0 when absent.
uint64_t figure(std::string_view reply, std::string_view key) {
    const size_t at = reply.find(key);
    if (at == std::string_view::npos) return 0;
    return strtoull(std::string(reply.substr(at + key.size(), 20)).c_str(), nullptr, 10);
}

// "OK [a,b]\n" -> "a,b".
std::string_view list_items(std::string_view reply) {
    if (reply.rfind("OK [", 0) != 0) return {};
    reply.remove_prefix(4);
    const size_t end = reply.rfind(']');
    return end == std::string_view::npos ? std::string_view() : reply.substr(0, end);
}

// Sums the Prometheus lines `series value` of `others` into `local`'s (the largest for the
// figures every worker holds alike), in local's order; a series only others have goes at
// the end. Then the workers' own two gauges and "OK".
std::string merge_metrics(std::string_view local, const std::vector<std::string_view>& others, uint32_t answered,
                          uint32_t total) {
    struct Line {
        std::string series;
        uint64_t value;
        bool comment;
    };
    std::vector<Line> lines;
    std::unordered_map<std::string, size_t> at;
    auto take = [&](std::string_view text, bool first) {
        while (!text.empty()) {
            const size_t nl = text.find('\n');
            std::string_view line = text.substr(0, nl);
            text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
            if (line.empty() || line == "OK") continue;
            if (line[0] == '#') {
                if (first) lines.push_back({std::string(line), 0, true});
                continue;
            }
            const size_t sp = line.rfind(' ');
            if (sp == std::string_view::npos) continue;
            std::string series(line.substr(0, sp));
            const uint64_t v = strtoull(std::string(line.substr(sp + 1)).c_str(), nullptr, 10);
            auto it = at.find(series);
            if (it == at.end()) {
                at.emplace(series, lines.size());
                lines.push_back({std::move(series), v, false});
                continue;
            }
            Line& l = lines[it->second];
            const bool alike = l.series == "wspush_channels" || l.series == "wspush_uptime_seconds";
            l.value = alike ? std::max(l.value, v) : l.value + v;
        }
    };
    take(local, true);
    for (std::string_view o : others) take(o, false);
    std::string out;
    for (const Line& l : lines) {
        out += l.series;
        if (!l.comment) out += ' ' + std::to_string(l.value);
        out += '\n';
    }
    out += "# HELP wspush_workers_answered Workers whose figures are in these sums.\n"
           "# TYPE wspush_workers_answered gauge\nwspush_workers_answered " +
           std::to_string(answered) + "\n";
    out += "# HELP wspush_workers Worker processes (--workers).\n# TYPE wspush_workers gauge\nwspush_workers " +
           std::to_string(total) + "\nOK\n";
    return out;
}

}  // namespace

void pack_answer(std::string& out, std::string_view answer) {
    put_int<uint32_t>(out, static_cast<uint32_t>(answer.size()));
    out += answer;
}

bool unpack_answers(std::string_view payload, uint32_t& missing, std::vector<std::string_view>& out) {
    OpReader r(payload);
    missing = r.get_int<uint32_t>();
    while (r.ok() && !r.rest().empty()) {
        const uint32_t n = r.get_int<uint32_t>();
        const std::string_view answer = r.get_bytes(n);
        if (r.ok()) out.push_back(answer);
    }
    return r.ok();
}

HistoryOut::~HistoryOut() {
    for (size_t i = sent; i < refs.size(); ++i) refs[i]->unref();
}

void Server::worker_ready() {
    WorkerLink& w = *worker_;
    w.ready = true;
    std::string err;
    if (reactor_.add(listen_fd_, EPOLLIN | EPOLLET | EPOLLEXCLUSIVE, kTagListen) < 0) {
        LOG_ERROR("cannot watch the listening socket (%s): stopping", strerror(errno));
        if (!stopping_) begin_shutdown();
        return;
    }
    if (control_ && !control_->adopt(worker_control_fd_, kTagControlListen, err)) {
        LOG_ERROR("%s: stopping", err.c_str());
        if (!stopping_) begin_shutdown();
        return;
    }
    if (w.kept_in)
        LOG_INFO("%llu kept publication(s) on %zu channel(s) taken over for resume",
                 static_cast<unsigned long long>(w.kept_in), hub_.channel_count());
    LOG_INFO("serving %s (%s mode, up to %u connections)", net::local_address(listen_fd_).c_str(), mode_name(cfg_.mode),
             max_clients_);
}

void Server::apply_kept(const cluster::Frame& f) {
    if (!push::valid_name(f.channel)) return;
    push::Channel* ch = hub_.find(f.channel);
    if (ch == nullptr) ch = hub_.restore(f.channel, f.epoch, f.seq);
    else if (ch->epoch != f.epoch || ch->next_seq != f.seq) hub_.renumber(*ch, f.epoch, f.seq);
    const ws::Opcode op = f.type == cluster::PayloadType::kBinary ? ws::Opcode::kBinary : ws::Opcode::kText;
    if (ch == nullptr || !hub_.restore_message(*ch, op, f.payload.data(), f.payload.size())) {
        // A resume here past what is missing gets the gap notice.
        ++stats_.out_of_memory;
        LOG_WARN("kept publication %llu on %.*s not taken over: %s", static_cast<unsigned long long>(f.seq),
                 static_cast<int>(f.channel.size()), f.channel.data(),
                 hub_.at_channel_limit() ? "too many channels" : "out of memory");
        return;
    }
    ++worker_->kept_in;
}

void Server::history_ask(uint64_t request) {
    WorkerLink& w = *worker_;
    HistoryOut h;
    h.request = request;
    hub_.for_each_channel([&](const push::Channel& ch) {
        if (ch.ring_count == 0) return;
        KeptChannel k;
        k.epoch = ch.epoch;
        k.last = ch.next_seq - 1;
        k.len = static_cast<uint8_t>(ch.name().size());
        memcpy(k.name, ch.name().data(), k.len);
        h.channels.push_back(k);
    });
    h.next = 0;
    w.history_out.push_back(std::move(h));
    history_pump();
}

void Server::history_pump() {
    WorkerLink& w = *worker_;
    while (!w.history_out.empty() && w.fd >= 0 && w.out.size() - w.out_done < kHistoryChunk) {
        HistoryOut& h = w.history_out.front();
        if (h.sent < h.refs.size()) {
            push::Message* m = h.refs[h.sent];
            const KeptChannel& k = h.channels[h.current];
            cluster::Frame f;
            f.kind = cluster::Kind::kKept;
            f.request = h.request;
            f.epoch = k.epoch;
            f.seq = h.first + h.sent;
            f.origin = cluster::kNoOrigin;
            f.type = payload_type(m->opcode());
            f.channel = std::string_view(k.name, k.len);
            f.payload = std::string_view(reinterpret_cast<const char*>(m->payload()), m->payload_size());
            (void)parent_send(f);
            m->unref();
            ++h.sent;
            continue;
        }
        h.refs.clear();
        h.sent = 0;
        if (h.next == h.channels.size()) {
            cluster::Frame end;
            end.kind = cluster::Kind::kKeptEnd;
            end.request = h.request;
            (void)parent_send(end);
            w.history_out.pop_front();
            continue;
        }
        // The next channel: what it keeps of the seqs applied by the ask, all referenced now.
        h.current = h.next++;
        const KeptChannel& k = h.channels[h.current];
        const push::Channel* ch = hub_.find(std::string_view(k.name, k.len));
        if (ch == nullptr || ch->epoch != k.epoch || ch->ring_count == 0) continue;
        const uint64_t first = ch->first_kept();
        const uint64_t last = std::min(k.last, ch->next_seq - 1);
        if (first > last) continue;
        h.first = first;
        h.refs.reserve(last - first + 1);
        for (uint64_t seq = first; seq <= last; ++seq) {
            push::Message* m = ch->kept(static_cast<uint32_t>(seq - first))->raw();
            m->ref();
            h.refs.push_back(m);
        }
    }
}

ctl::Reply Server::everywhere(const ctl::Command& cmd, std::string& out) {
    PendingAll p;
    p.op = kOpCommand;
    p.verb = cmd.verb;
    command_here(cmd, p.local);
    std::string op(1, kOpCommand);
    put_int<uint8_t>(op, static_cast<uint8_t>(cmd.verb));
    put_int<uint16_t>(op, cmd.code);
    put_short(op, cmd.name);
    op += cmd.text;
    p.control_ticket = control_->next_ticket();
    std::string local = p.local;
    if (ask_all(op, std::move(p)) == 0) {  // the parent is not reading: what was done here
        out += local;
        return ctl::Reply::kFinal;
    }
    out += "OK\n";  // replaced by the merged results (resolve)
    return ctl::Reply::kHeld;
}

uint64_t Server::ask_all(const std::string& op, PendingAll&& p) {
    WorkerLink& w = *worker_;
    if (w.fd < 0 || w.out.size() - w.out_done > w.out_cap) return 0;
    cluster::Frame f;
    f.kind = cluster::Kind::kAskAll;
    f.request = w.requests + 1;
    f.payload = op;
    if (!parent_send(f)) return 0;
    ++w.requests;
    p.request = f.request;
    w.asked_all.push_back(std::move(p));
    return f.request;
}

std::string Server::run_here(std::string_view op) {
    if (op.empty()) return {};
    OpReader r(op.substr(1));
    std::string out;
    switch (op[0]) {
        case kOpCommand: {
            ctl::Command cmd;
            cmd.verb = static_cast<ctl::Verb>(r.get_int<uint8_t>());
            cmd.code = r.get_int<uint16_t>();
            cmd.name = r.get_short();
            cmd.text = r.rest();
            if (!r.ok()) return {};
            if (cmd.verb != ctl::Verb::kChannels) {
                command_here(cmd, out);
                return out;
            }
            // Figures to be merged, one channel a line: name members epoch last_seq first_kept.
            hub_.for_each_channel([&](const push::Channel& ch) {
                char epoch[push::kEpochChars];
                push::format_epoch(ch.epoch, epoch);
                out += ch.name();
                out += ' ' + std::to_string(ch.member_count) + ' ' + std::string(epoch, sizeof epoch) + ' ' +
                       std::to_string(ch.next_seq - 1) + ' ' + std::to_string(ch.first_kept()) + '\n';
            });
            return out;
        }
        case kOpSendTo: {
            const uint32_t robot = r.get_int<uint32_t>();
            const std::string_view id = r.get_short();
            if (!r.ok() || robot >= cfg_.robots.size()) return {};
            const size_t n = send_to_id_here(cfg_.robots[robot], id, r.rest());
            return n == SIZE_MAX ? std::string() : std::to_string(n);
        }
        case kOpMention: {
            const uint64_t epoch = r.get_int<uint64_t>();
            const uint64_t seq = r.get_int<uint64_t>();
            const std::string_view channel = r.get_short();
            std::vector<std::string> ids(r.get_int<uint8_t>());
            for (std::string& id : ids) id = r.get_short();
            if (r.ok() && push::valid_name(channel)) mention(channel, epoch, seq, r.rest(), ids);
            return {};
        }
        case kOpRate: {
            const uint64_t until = r.get_int<uint64_t>();
            const uint32_t i = r.get_int<uint32_t>();
            const std::string_view name = r.get_short();
            // A reload may have changed the robots here meanwhile: only the same robot counts.
            if (!r.ok() || i >= cfg_.robots.size() || i >= robots_.size() || cfg_.robots[i].name != name) return {};
            if (until == 0) robots_[i].limiter.note(now_ms_);
            else robots_[i].limiter.throttle_until(until);  // CLOCK_MONOTONIC: one clock for every worker
            return {};
        }
        default: return {};
    }
}

void Server::ask_all_rate(size_t i, uint64_t until) {
    std::string op(1, kOpRate);
    put_int<uint64_t>(op, until);
    put_int<uint32_t>(op, static_cast<uint32_t>(i));
    put_short(op, cfg_.robots[i].name);
    tell_all(op);
}

void Server::tell_all(const std::string& op) {
    WorkerLink& w = *worker_;
    if (w.fd < 0 || w.out.size() - w.out_done > w.out_cap) return;
    cluster::Frame f;
    f.kind = cluster::Kind::kAskAll;
    f.request = 0;  // no result wanted
    f.payload = op;
    (void)parent_send(f);
}

void Server::tail_turn() {
    WorkerLink& w = *worker_;
    const bool tailing = control_ && control_->has_tail_readers();
    if (tailing == w.tail_told) return;
    cluster::Frame f;
    f.kind = cluster::Kind::kTailWanted;
    f.request = tailing;
    if (parent_send(f)) w.tail_told = tailing;
}

void Server::tail_to_others(std::string_view id, ws::Opcode op, std::string_view data) {
    WorkerLink& w = *worker_;
    if (w.fd < 0) return;
    if (w.out.size() - w.out_done > kTailLinkCap) {  // the parent is behind: a TAIL line is not worth waiting for
        if (control_) control_->count_tail_dropped();
        return;
    }
    std::string payload;
    put_short(payload, id);
    payload += data;
    cluster::Frame f;
    f.kind = cluster::Kind::kTailLine;
    f.request = op == ws::Opcode::kBinary ? 2 : 1;
    f.payload = payload;
    (void)parent_send(f);
}

void Server::ask_all_mention(std::string_view channel, uint64_t epoch, uint64_t seq, std::string_view data,
                             const std::vector<std::string>& ids) {
    std::string op(1, kOpMention);
    put_int<uint64_t>(op, epoch);
    put_int<uint64_t>(op, seq);
    put_short(op, channel);
    const size_t n = std::min<size_t>(ids.size(), UINT8_MAX);
    put_int<uint8_t>(op, static_cast<uint8_t>(n));
    for (size_t i = 0; i < n; ++i) put_short(op, ids[i]);
    op += data;
    tell_all(op);
}

uint64_t Server::ask_all_send_to(size_t robot, std::string_view id, std::string_view body, size_t here) {
    std::string op(1, kOpSendTo);
    put_int<uint32_t>(op, static_cast<uint32_t>(robot));
    put_short(op, id);
    op += body;
    PendingAll p;
    p.op = kOpSendTo;
    p.local = std::to_string(here);
    return ask_all(op, std::move(p));
}

void Server::all_ran(const cluster::Frame& f) {
    WorkerLink& w = *worker_;
    size_t k = 0;
    while (k < w.asked_all.size() && w.asked_all[k].request != f.request) ++k;
    if (k == w.asked_all.size()) {
        LOG_ERROR("results of an unknown request %llu from the parent", static_cast<unsigned long long>(f.request));
        return;
    }
    PendingAll p = std::move(w.asked_all[k]);
    w.asked_all.erase(w.asked_all.begin() + static_cast<std::ptrdiff_t>(k));
    uint32_t missing = 0;
    std::vector<std::string_view> others;
    if (!unpack_answers(f.payload, missing, others)) {
        LOG_ERROR("malformed results from the parent (request %llu)", static_cast<unsigned long long>(f.request));
        others.clear();
        missing = cfg_.workers - 1;
    }
    switch (p.op) {
        case kOpCommand:
            if (p.control_ticket == 0) {  // a page: the metrics less their "OK" line
                std::string text = missing == kAllBusy ? p.local : merge_results(p, missing, others);
                if (text.ends_with("OK\n")) text.resize(text.size() - 3);
                settle_page(p.request, std::move(text));
                return;
            }
            if (!control_) return;
            control_->resolve(p.control_ticket,
                              missing == kAllBusy
                                  ? std::string("ERR workers: too many commands for every worker at once, try again\n")
                                  : merge_results(p, missing, others));
            return;
        case kOpSendTo: {
            uint64_t n = strtoull(p.local.c_str(), nullptr, 10);
            for (std::string_view o : others) n += strtoull(std::string(o).c_str(), nullptr, 10);
            for (size_t i = 0; i < held_webhooks_.size(); ++i) {
                if (held_webhooks_[i].reply.request != p.request) continue;
                settle_held_webhook(i, nullptr, ",\"delivered\":" + std::to_string(n));
                return;
            }
            return;
        }
        default: return;
    }
}

std::string Server::merge_results(const PendingAll& p, uint32_t missing, const std::vector<std::string_view>& others) {
    switch (p.verb) {
        case ctl::Verb::kSend:
        case ctl::Verb::kBroadcast:
        case ctl::Verb::kKick: {
            if (p.local.rfind("OK ", 0) != 0) return p.local;  // refused here (out of memory)
            const std::string_view key = p.verb == ctl::Verb::kKick ? "kicked=" : "delivered=";
            uint64_t n = figure(p.local, key);
            for (std::string_view o : others) n += figure(o, key);
            std::string out = "OK " + std::string(key) + std::to_string(n);
            if (missing) out += " missing_workers=" + std::to_string(missing);
            return out + "\n";
        }
        case ctl::Verb::kClients: {
            std::string out = "OK [";
            out += list_items(p.local);
            for (std::string_view o : others) {
                const std::string_view items = list_items(o);
                if (items.empty()) continue;
                if (out.back() != '[') out += ',';
                out += items;
            }
            out += "]\n";
            return out;
        }
        case ctl::Verb::kChannels: {
            ChannelFigures figures;
            for (std::string_view o : others) {
                while (!o.empty()) {
                    const size_t nl = o.find('\n');
                    const std::string line(o.substr(0, nl));
                    o.remove_prefix(nl == std::string_view::npos ? o.size() : nl + 1);
                    char name[cluster::kMaxName + 1], epoch[push::kEpochChars + 1];
                    unsigned long long members = 0, last = 0, first = 0;
                    if (sscanf(line.c_str(), "%64s %llu %16s %llu %llu", name, &members, epoch, &last, &first) != 5)
                        continue;
                    ChannelFigure& f = figures[name];
                    if (f.epoch.empty()) {
                        f.epoch = epoch;
                        f.last_seq = last;
                        f.first_kept = first;
                    }
                    f.members += members;
                }
            }
            std::string out;
            list_channels(out, &figures);
            return out;
        }
        case ctl::Verb::kMetrics:
            return merge_metrics(p.local, others, static_cast<uint32_t>(others.size() + 1), cfg_.workers);
        default: return p.local;
    }
}

bool Server::page_everywhere(Connection& c, bool metrics, bool head_only) {
    WorkerLink& w = *worker_;
    WebhookReply page;
    page.held = true;
    page.head_only = head_only;
    if (metrics) {
        PendingAll p;
        p.op = kOpCommand;
        p.verb = ctl::Verb::kMetrics;
        p.local = metrics_text();
        std::string op(1, kOpCommand);
        put_int<uint8_t>(op, static_cast<uint8_t>(ctl::Verb::kMetrics));
        put_int<uint16_t>(op, 0);
        put_short(op, {});
        page.request = ask_all(op, std::move(p));
        if (page.request == 0) return false;
        page.page_type = "text/plain; version=0.0.4";
    } else {
        if (w.fd < 0 || w.out.size() - w.out_done > w.out_cap) return false;
        cluster::Frame f;
        f.kind = cluster::Kind::kStatsAsk;
        f.request = kPageRequest | ++w.requests;
        if (!parent_send(f)) return false;
        page.request = f.request;
        page.page_type = "application/json";
    }
    hold_webhook(c, std::move(page), c.http->head_len);
    return true;
}

void Server::settle_page(uint64_t request, std::string body) {
    for (size_t i = 0; i < held_webhooks_.size(); ++i) {
        if (held_webhooks_[i].reply.request != request || held_webhooks_[i].reply.page_type.empty()) continue;
        held_webhooks_[i].reply.page_body = std::move(body);
        settle_held_webhook(i, nullptr, {});
        return;
    }
}

ctl::Reply Server::worker_stats(std::string& out) {
    cluster::Frame f;
    f.kind = cluster::Kind::kStatsAsk;
    f.request = control_->next_ticket();
    if (!parent_send(f)) {
        out += "ERR stats: the parent is gone\n";
        return ctl::Reply::kFinal;
    }
    out += "OK\n";  // replaced by the parent's sums (resolve)
    return ctl::Reply::kHeld;
}

void Server::worker_counters(cluster::Frame& f) const {
    const uint64_t v[] = {
        stats_.clients, live_.size(), stats_.connections_total, hub_.channel_count(),
        control_ ? control_->clients() : 0, stats_.messages_in, stats_.messages_out, stats_.published,
        stats_.bytes_in, stats_.bytes_out, stats_.writes, hub_.history_bytes(), hub_.history_evicted(),
        control_ ? control_->tail_dropped_total() : 0, stats_.out_of_memory, stats_.memory_trims,
        (now_ms_ - start_ms_) / 1000, resident_bytes(), stats_.drop_slow_consumer, stats_.drop_idle_timeout,
        stats_.drop_handshake_timeout, stats_.drop_protocol_error, stats_.drop_http_error, stats_.drop_server_full,
        stats_.drop_kicked, stats_.webhook_requests, stats_.webhook_errors,
    };
    static_assert(sizeof v / sizeof v[0] == kWorkerCounterCount, "kWorkerCounters and this list, by position");
    f.counter_count = static_cast<uint8_t>(kWorkerCounterCount);
    for (size_t i = 0; i < kWorkerCounterCount; ++i) f.counters[i] = v[i];
}

void Server::tail_line(const cluster::Frame& f) {
    OpReader r(f.payload);
    const std::string_view id = r.get_short();
    if (r.ok() && control_) control_->tail(id, f.request == 2 ? ws::Opcode::kBinary : ws::Opcode::kText, r.rest());
}

}  // namespace wspush::server
