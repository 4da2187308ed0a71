// Control commands against channels and connections, and the figures STATS reports.
#include <cstdio>
#include <cstring>
#include <unistd.h>

#include "base/log.h"
#include "push/envelope.h"
#include "push/names.h"
#include "server/server.h"

namespace wspush::server {

uint64_t resident_bytes() {
    FILE* f = fopen("/proc/self/statm", "r");
    if (!f) return 0;
    unsigned long size = 0, resident = 0;
    int got = fscanf(f, "%lu %lu", &size, &resident);
    fclose(f);
    return got == 2 ? resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE)) : 0;
}

ctl::Reply Server::execute(const ctl::Command& cmd, std::string_view payload, std::string& out) noexcept {
    switch (cmd.verb) {
        case ctl::Verb::kPub:
        case ctl::Verb::kPubb: return publish(cmd, payload, out);
        case ctl::Verb::kSend:
        case ctl::Verb::kBroadcast:
        case ctl::Verb::kKick:
        case ctl::Verb::kMetrics:
        case ctl::Verb::kClients:
        case ctl::Verb::kChannels:
            if (worker_) return everywhere(cmd, out);  // and on every other worker (workers.cpp)
            command_here(cmd, out);
            break;
        case ctl::Verb::kStats:
            if (worker_) return worker_stats(out);
            out += "OK ";
            out += stats_json();
            out += '\n';
            break;
        default: out += "ERR unknown command (try HELP)\n"; break;  // handled by the channel
    }
    return ctl::Reply::kFinal;
}

void Server::command_here(const ctl::Command& cmd, std::string& out) {
    switch (cmd.verb) {
        case ctl::Verb::kSend:
        case ctl::Verb::kBroadcast: send_direct(cmd, out); break;
        case ctl::Verb::kKick: kick(cmd, out); break;
        case ctl::Verb::kMetrics:
            out += metrics_text();
            out += "OK\n";
            break;
        case ctl::Verb::kClients: list_clients(cmd, out); break;
        case ctl::Verb::kChannels: list_channels(out, nullptr); break;
        default: out += "ERR unknown command (try HELP)\n"; break;
    }
}

ctl::Reply Server::publish(const ctl::Command& cmd, std::string_view payload, std::string& out) {
    const bool text = cmd.verb == ctl::Verb::kPub;
    std::string_view data = text ? cmd.text : payload;
    push::Channel* ch = hub_.channel(cmd.name);
    if (ch == nullptr) {
        out += hub_.at_channel_limit() ? "ERR too many channels\n" : "ERR out of memory\n";
        return ctl::Reply::kFinal;
    }
    Published p;
    if (!publish_on(*ch, text ? ws::Opcode::kText : ws::Opcode::kBinary, data, nullptr, p)) {
        ++stats_.out_of_memory;
        out += "ERR out of memory\n";
        return ctl::Reply::kFinal;
    }
    if (p.journal < 0) {
        journal_error_line(out);
        return ctl::Reply::kFinal;
    }
    if (redis_) {
        // Said when Redis answers: "OK seq=N delivered=0" (members get it through Redis) or
        // "ERR redis: <reason>" (ControlChannel::resolve).
        if (p.redis == 0) {
            out += "ERR redis: " + redis_refusal_ + "\n";
            return ctl::Reply::kFinal;
        }
        redis_wait(p.redis, {RedisWaiter::Kind::kControl, control_->next_ticket(), true});
        return ctl::Reply::kHeld;
    }
    if (p.request) {  // --workers: answered once the parent numbered it (workers.cpp)
        pending_publication(p.request).control_ticket = control_->next_ticket();
        out += "OK\n";
        return ctl::Reply::kHeld;
    }
    char line[96];
    snprintf(line, sizeof line, "OK seq=%llu delivered=%llu\n", static_cast<unsigned long long>(p.seq),
             static_cast<unsigned long long>(p.delivered));
    out += line;
    return p.journal > 0 ? ctl::Reply::kHeld : ctl::Reply::kFinal;
}

bool Server::publish_on(push::Channel& ch, ws::Opcode op, std::string_view data, const push::Subscription* except,
                        Published& out) {
    if (redis_) return redis_publish(ch, op, data, except, out);  // workers too: each is a node
    if (worker_) return worker_publish(ch, op, data, except, out);
    // The hub may forget ch in publish(): what the journal needs is copied first.
    char name[push::kMaxNameLength];
    const size_t name_len = ch.name().size();
    memcpy(name, ch.name().data(), name_len);
    const uint64_t epoch = ch.epoch;
    const uint64_t before = stats_.messages_out;
    push::PublishResult r = hub_.publish(ch, op, data.data(), data.size(), except,
                                         [this](push::Subscription& s, push::Publication& pub) { deliver(s, pub); });
    if (!r.ok) return false;
    ++stats_.published;
    out.seq = r.seq;
    out.delivered = stats_.messages_out - before;
    out.journal = journal_append({name, name_len}, epoch, r.seq, op, data);
    return true;
}

void Server::journal_error_line(std::string& out) const {
    out += "ERR journal: ";
    out += journal_reason();
    out += '\n';
}

void Server::send_direct(const ctl::Command& cmd, std::string& out) {
    const bool to_all = cmd.verb == ctl::Verb::kBroadcast;
    push::Message* raw = push::Message::make(ws::Opcode::kText, cmd.text.data(), cmd.text.size());
    push::Message* env = push::make_direct_envelope(to_all ? "broadcast" : "direct", cmd.text);
    if (raw == nullptr || env == nullptr) {
        if (raw) raw->unref();
        if (env) env->unref();
        ++stats_.out_of_memory;
        out += "ERR out of memory\n";
        return;
    }
    size_t n = 0;
    auto one = [&](Connection& c) { n += send(c, c.has(kFlagEnvelope) ? env : raw); };
    if (to_all) {
        // Backwards: a send may condemn the connection it is given, which moves the last
        // entry of live_ into its place.
        for (size_t i = live_.size(); i-- > 0;) {
            Connection& c = conns_[live_[i]];
            if (c.state == ConnState::kOpen) one(c);
        }
    } else {
        for_each_with_id(cmd.name, one);
    }
    raw->unref();
    env->unref();
    char line[64];
    snprintf(line, sizeof line, "OK delivered=%zu\n", n);
    out += line;
}

void Server::kick(const ctl::Command& cmd, std::string& out) {
    size_t n = 0;
    uint16_t code = cmd.code ? cmd.code : static_cast<uint16_t>(ws::kClosePolicyViolation);
    std::string_view reason = cmd.text.empty() ? std::string_view("kicked") : cmd.text;
    for_each_with_id(cmd.name, [&](Connection& c) {
        log_conn(fd_of(c), ConnEvent::kKicked, "closed: kicked: %.*s (%u)", static_cast<int>(reason.size()), reason.data(), code);
        send_close(c, code, reason);
        ++stats_.drop_kicked;
        ++n;
    });
    char line[64];
    snprintf(line, sizeof line, "OK kicked=%zu\n", n);
    out += line;
}

void Server::list_clients(const ctl::Command& cmd, std::string& out) {
    out += "OK [";
    bool first = true;
    push::Channel* only = cmd.name.empty() ? nullptr : hub_.find(cmd.name);
    if (!cmd.name.empty() && only == nullptr) {
        out += "]\n";
        return;
    }
    for (int32_t fd : live_) {
        Connection& c = conns_[fd];
        if (c.state != ConnState::kOpen) continue;
        bool member = only == nullptr;
        std::string chans;
        for (size_t i = 0; i < channel_count(c); ++i) {
            push::Channel* ch = subscription(c, i).channel;
            if (ch == only) member = true;
            chans += (i ? ",\"" : "\"") + std::string(ch->name()) + "\"";
        }
        if (!member) continue;
        out += first ? "" : ",";
        first = false;
        out += "{\"id\":\"" + client_id(c) + "\",\"channels\":[" + chans + "],\"protocol\":\"" +
               (c.has(kFlagEnvelope) ? "wspush.v1" : "") + "\",\"queued\":" + std::to_string(c.out.bytes()) + "}";
    }
    out += "]\n";
}

void Server::list_channels(std::string& out, ChannelFigures* others) {
    out += "OK [";
    bool first = true;
    auto entry = [&](std::string_view name, uint64_t members, std::string_view epoch, uint64_t last, uint64_t first_kept) {
        out += first ? "" : ",";
        first = false;
        out += "{\"name\":\"";
        out += name;
        out += "\",\"members\":" + std::to_string(members) + ",\"epoch\":\"";
        out += epoch;
        out += "\",\"last_seq\":" + std::to_string(last) + ",\"first_kept\":" + std::to_string(first_kept) + "}";
    };
    hub_.for_each_channel([&](const push::Channel& ch) {
        char epoch[push::kEpochChars];
        push::format_epoch(ch.epoch, epoch);
        uint64_t members = ch.member_count;
        if (others) {
            // Every worker holds every published channel: the others add their members.
            if (auto it = others->find(std::string(ch.name())); it != others->end()) {
                members += it->second.members;
                it->second.shown = true;
            }
        }
        entry(ch.name(), members, std::string_view(epoch, sizeof epoch), ch.next_seq - 1, ch.first_kept());
    });
    if (others)  // channels only other workers have (joined there, nothing published yet)
        for (const auto& [name, f] : *others)
            if (!f.shown) entry(name, f.members, f.epoch, f.last_seq, f.first_kept);
    out += "]\n";
}

std::string Server::stats_json() const {
    using ull = unsigned long long;
    const size_t controls = control_ ? control_->clients() : 0;
    const uint64_t tail_dropped = control_ ? control_->tail_dropped_total() : 0;
    char buf[1536];
    snprintf(buf, sizeof buf,
             "{\"connections\":%u,\"sockets\":%zu,\"connections_total\":%llu,\"channels\":%zu,"
             "\"control_clients\":%zu,"
             "\"messages_in\":%llu,\"messages_out\":%llu,\"published\":%llu,\"bytes_in\":%llu,\"bytes_out\":%llu,"
             "\"writes\":%llu,\"history_bytes\":%llu,\"history_evicted\":%llu,\"tail_dropped\":%llu,\"out_of_memory\":%llu,\"memory_trims\":%llu,"
             "\"drops\":{\"slow_consumer\":%llu,\"idle_timeout\":%llu,\"handshake_timeout\":%llu,"
             "\"protocol_error\":%llu,\"http_error\":%llu,\"server_full\":%llu,\"kicked\":%llu},"
             "\"uptime_s\":%llu,\"rss_bytes\":%llu}",
             stats_.clients, live_.size(), (ull)stats_.connections_total, hub_.channel_count(), controls,
             (ull)stats_.messages_in, (ull)stats_.messages_out, (ull)stats_.published, (ull)stats_.bytes_in,
             (ull)stats_.bytes_out, (ull)stats_.writes, (ull)hub_.history_bytes(), (ull)hub_.history_evicted(),
             (ull)tail_dropped, (ull)stats_.out_of_memory,
             (ull)stats_.memory_trims, (ull)stats_.drop_slow_consumer, (ull)stats_.drop_idle_timeout,
             (ull)stats_.drop_handshake_timeout, (ull)stats_.drop_protocol_error, (ull)stats_.drop_http_error,
             (ull)stats_.drop_server_full, (ull)stats_.drop_kicked, (ull)((now_ms_ - start_ms_) / 1000),
             (ull)resident_bytes());
    std::string out = buf;
    out.pop_back();  // the closing brace: the journal's and the webhook's figures follow
    out += ",\"journal\":" + journal_json();
    out += ",\"redis\":" + redis_json();
    out += ",\"webhook\":{\"requests\":" + std::to_string(stats_.webhook_requests) +
           ",\"errors\":" + std::to_string(stats_.webhook_errors) + ",\"robots\":{";
    for (size_t i = 0; i < robots_.size(); ++i) {
        const RobotRuntime& rt = robots_[i];
        snprintf(buf, sizeof buf,
                 "%s\"%s\":{\"accepted\":%llu,\"throttled\":%llu,\"digested\":%llu,\"refused\":%llu,"
                 "\"digest_pending\":%llu}",
                 i ? "," : "", cfg_.robots[i].name.c_str(), (ull)rt.accepted, (ull)rt.throttled, (ull)rt.digested,
                 (ull)rt.refused, (ull)rt.digest.count());
        out += buf;
    }
    out += "}}}";
    return out;
}

std::string Server::metrics_text() const {
    std::string out;
    char line[320];
    auto gauge = [&](const char* name, const char* type, const char* help, unsigned long long v) {
        snprintf(line, sizeof line, "# HELP wspush_%s %s\n# TYPE wspush_%s %s\nwspush_%s %llu\n", name, help, name,
                 type, name, v);
        out += line;
    };
    gauge("connections", "gauge", "Open WebSocket connections.", stats_.clients);
    gauge("sockets", "gauge", "Client sockets in any state.", live_.size());
    gauge("connections_total", "counter", "TCP connections accepted.", stats_.connections_total);
    gauge("channels", "gauge", "Channels with members or history.", hub_.channel_count());
    gauge("history_bytes", "gauge", "Bytes charged to the history budget.", hub_.history_bytes());
    gauge("history_evicted_total", "counter", "Publications dropped by the history budget.",
          hub_.history_evicted());
    gauge("control_clients", "gauge", "Control socket clients.", control_ ? control_->clients() : 0);
    gauge("messages_in_total", "counter", "Messages received from clients.", stats_.messages_in);
    gauge("messages_out_total", "counter", "Frames queued to clients.", stats_.messages_out);
    gauge("published_total", "counter", "Channel messages published.", stats_.published);
    gauge("bytes_in_total", "counter", "Bytes read from clients.", stats_.bytes_in);
    gauge("bytes_out_total", "counter", "Bytes written to clients.", stats_.bytes_out);
    gauge("writes_total", "counter", "Queue flushes to clients (frames coalesced per writev).", stats_.writes);
    gauge("tail_dropped_total", "counter", "Client messages a TAIL reader missed (its output was full).",
          control_ ? control_->tail_dropped_total() : 0);
    gauge("out_of_memory_total", "counter", "Allocations that failed (the client was closed).",
          stats_.out_of_memory);
    out += "# HELP wspush_drops_total Connections dropped, by reason.\n# TYPE wspush_drops_total counter\n";
    const std::pair<const char*, uint64_t> drops[] = {
        {"slow_consumer", stats_.drop_slow_consumer}, {"idle_timeout", stats_.drop_idle_timeout},
        {"handshake_timeout", stats_.drop_handshake_timeout}, {"protocol_error", stats_.drop_protocol_error},
        {"http_error", stats_.drop_http_error}, {"server_full", stats_.drop_server_full},
        {"kicked", stats_.drop_kicked},
    };
    for (auto& [reason, v] : drops) {
        snprintf(line, sizeof line, "wspush_drops_total{reason=\"%s\"} %llu\n", reason, (unsigned long long)v);
        out += line;
    }
    gauge("webhook_requests_total", "counter", "Webhook requests answered.", stats_.webhook_requests);
    gauge("webhook_errors_total", "counter", "Webhook requests answered with a non-zero errcode.",
          stats_.webhook_errors);
    if (!robots_.empty())
        out += "# HELP wspush_robot_messages_total Webhook messages per robot, by result.\n"
               "# TYPE wspush_robot_messages_total counter\n";
    for (size_t i = 0; i < robots_.size(); ++i) {
        const RobotRuntime& rt = robots_[i];
        const std::pair<const char*, uint64_t> results[] = {
            {"accepted", rt.accepted}, {"throttled", rt.throttled}, {"digested", rt.digested}, {"refused", rt.refused}};
        for (auto& [result, v] : results) {
            snprintf(line, sizeof line, "wspush_robot_messages_total{robot=\"%s\",result=\"%s\"} %llu\n",
                     cfg_.robots[i].name.c_str(), result, (unsigned long long)v);
            out += line;
        }
    }
    if (journal_) {
        const journal::WriterStats& js = journal_->stats();
        gauge("journal_ok", "gauge", "1 while the journal writes, 0 while it is failing (retried every second).",
              journal_retry_at_ ? 0 : 1);
        gauge("journal_bytes", "gauge", "Bytes in the journal's segment files.", journal_->bytes());
        gauge("journal_segments", "gauge", "Journal segment files.", journal_->segments());
        gauge("journal_appended_total", "counter", "Records appended to the journal.", js.appended);
        gauge("journal_commits_total", "counter", "Journal writes (one per loop turn that appended).", js.commits);
        gauge("journal_syncs_total", "counter", "fdatasync calls on journal segments.", js.syncs);
        gauge("journal_errors_total", "counter", "Times the journal failed (a write or sync error).", js.errors);
    }
    if (redis_) {
        const redis::EngineStats& rs = redis_->stats();
        gauge("redis_up", "gauge", "1 while both Redis connections are up.",
              redis_->writer_up() && redis_->subscriber_up());
        gauge("redis_queued", "gauge", "Pushes waiting for Redis.", rs.queued);
        gauge("redis_queued_bytes", "gauge", "Payload bytes of the pushes waiting for Redis.", rs.queued_bytes);
        gauge("redis_sent_total", "counter", "Pushes Redis numbered.", rs.sent);
        gauge("redis_errors_total", "counter", "Pushes Redis did not take (refused, lost in flight, queue full).",
              rs.errors);
        gauge("redis_refused_total", "counter", "Pushes refused at once: the queue was full.", rs.refused);
        gauge("redis_reconnects_total", "counter", "Redis connections restored.", rs.reconnects);
        gauge("redis_reads_total", "counter", "History reads of subscribed channels.", rs.reads);
        gauge("redis_read_back_total", "counter", "Messages read back from history after an outage or a hole.",
              rs.read_back);
        gauge("redis_delivered_total", "counter", "Messages Redis delivered to this node.", rs.delivered);
        gauge("redis_gaps_total", "counter", "Gap notices: Redis no longer kept what followed.", rs.gaps);
        gauge("redis_waiting_joins", "gauge", "Upgrades waiting for their channels' first read from Redis.",
              redis_parked_.size());
    }
    gauge("uptime_seconds", "gauge", "Seconds since start.", (now_ms_ - start_ms_) / 1000);
    gauge("resident_memory_bytes", "gauge", "Resident set size.", resident_bytes());
    return out;
}

}  // namespace wspush::server
