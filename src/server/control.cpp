// The server's side of the control channel: accepting control clients, reading their
// commands, executing them against the hub and the connections, TAIL output, STATS.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"
#include "ctl/command.h"
#include "ctl/control_client.h"
#include "server/server.h"

namespace wspush::server {
namespace {

constexpr uint64_t kTagControl = 5;
constexpr size_t kControlOutCap = 1u << 20;  // unread replies before a control client pauses
constexpr size_t kTailOutCap = 4u << 20;     // unread TAIL output before it is disconnected
constexpr size_t kLineSlack = 256;           // a command line may be max-message plus this

push::Message* direct_envelope(std::string_view kind, std::string_view data) {
    std::string json = "{\"type\":\"";
    json += kind;
    json += "\",\"data\":\"";
    push::json_escape(json, data);
    json += "\"}";
    return push::Message::make(ws::Opcode::kText, json.data(), json.size());
}

}  // namespace

void Server::on_control_accept() {
    for (;;) {
        int fd = accept4(control_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) LOG_WARN("control accept: %s", strerror(errno));
            return;
        }
        auto* cc = new ctl::ControlClient;
        cc->fd = fd;
        if (reactor_.add(fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, reinterpret_cast<uint64_t>(cc) | kTagControl) < 0) {
            ::close(fd);
            delete cc;
            continue;
        }
        controls_.push_back(cc);
    }
}

void Server::on_control_event(ctl::ControlClient& cc, uint32_t events) {
    if (events & EPOLLOUT) control_flush(cc);
    if (!cc.dead && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) control_input(cc);
}

void Server::control_input(ctl::ControlClient& cc) {
    for (;;) {
        bool got = false;
        if (!cc.eof && !cc.paused && !cc.quitting) {
            ssize_t n = ::read(cc.fd, rbuf_, 64 * 1024);
            if (n > 0) {
                cc.in.append(reinterpret_cast<const char*>(rbuf_), static_cast<size_t>(n));
                got = true;
            } else if (n == 0) {
                cc.eof = true;  // half-close: answer what was sent, then close (control_flush)
            } else if (errno == EINTR) {
                continue;
            } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
                control_close(cc);  // ECONNRESET: nobody is left to answer
                return;
            }
        }
        control_process(cc);
        if (!got) break;
    }
    control_flush(cc);
}

void Server::control_process(ctl::ControlClient& cc) {
    const size_t max_line = cfg_.max_message + kLineSlack;
    size_t pos = 0;
    // An empty PUBB payload is complete as soon as its line is.
    while ((pos < cc.in.size() || (cc.in_pubb && cc.pubb_need == 0)) && !cc.quitting && !cc.paused) {
        if (cc.in_pubb) {
            if (cc.in.size() - pos < cc.pubb_need) break;
            ctl::Command cmd;
            cmd.verb = ctl::Verb::kPubb;
            cmd.name = cc.pubb_channel;
            control_execute(cc, cmd, std::string_view(cc.in).substr(pos, cc.pubb_need));
            pos += cc.pubb_need;
            cc.in_pubb = false;
            continue;
        }
        size_t lf = cc.in.find('\n', pos);
        if (lf == std::string::npos) {
            if (cc.in.size() - pos > max_line) {
                // A runaway line: refuse it once, skip to its end, keep the connection.
                if (!cc.discarding) cc.out += "ERR line too long\n";
                cc.discarding = true;
                pos = cc.in.size();
            }
            break;
        }
        std::string_view line(cc.in.data() + pos, lf - pos);
        pos = lf + 1;
        if (cc.discarding) {
            cc.discarding = false;
            continue;
        }
        if (line.size() > max_line) {
            cc.out += "ERR line too long\n";
            continue;
        }
        ctl::ParseResult r = ctl::parse_command(line, cfg_.max_message);
        if (!r.ok) {
            cc.out += "ERR ";
            cc.out += r.error;
            cc.out += '\n';
            continue;
        }
        if (r.cmd.verb == ctl::Verb::kPubb) {
            cc.in_pubb = true;
            cc.pubb_need = r.cmd.nbytes;
            cc.pubb_channel.assign(r.cmd.name);
            continue;
        }
        control_execute(cc, r.cmd, {});
        if (cc.out.size() > kControlOutCap) cc.paused = true;  // resumes once replies drain
    }
    cc.in.erase(0, pos);
}

void Server::control_execute(ctl::ControlClient& cc, const ctl::Command& cmd, std::string_view payload) {
    auto deliver_fn = [this](push::Subscription& s, push::Publication& pub) { deliver(s, pub); };
    char line[128];
    switch (cmd.verb) {
        case ctl::Verb::kPub:
        case ctl::Verb::kPubb: {
            bool text = cmd.verb == ctl::Verb::kPub;
            std::string_view data = text ? cmd.text : payload;
            push::Channel* ch = hub_.channel(cmd.name);
            if (ch == nullptr) {
                cc.out += hub_.at_channel_limit() ? "ERR too many channels\n" : "ERR out of memory\n";
                break;
            }
            size_t before = stats_.messages_out;
            push::PublishResult r = hub_.publish(*ch, text ? ws::Opcode::kText : ws::Opcode::kBinary, data.data(),
                                                 data.size(), nullptr, deliver_fn);
            if (!r.ok) {
                cc.out += "ERR out of memory\n";
                break;
            }
            ++stats_.published;
            snprintf(line, sizeof line, "OK seq=%llu delivered=%zu\n", static_cast<unsigned long long>(r.seq),
                     static_cast<size_t>(stats_.messages_out - before));
            cc.out += line;
            break;
        }
        case ctl::Verb::kSend:
        case ctl::Verb::kBroadcast: {
            bool to_all = cmd.verb == ctl::Verb::kBroadcast;
            push::Message* raw = push::Message::make(ws::Opcode::kText, cmd.text.data(), cmd.text.size());
            push::Message* env = direct_envelope(to_all ? "broadcast" : "direct", cmd.text);
            if (raw == nullptr || env == nullptr) {
                if (raw) raw->unref();
                if (env) env->unref();
                cc.out += "ERR out of memory\n";
                break;
            }
            size_t n = 0;
            if (to_all) {
                for (size_t fd = 0; fd < conns_cap_; ++fd) {
                    Connection& c = conns_[fd];
                    if (c.state != ConnState::kOpen) continue;
                    send(c, (c.flags & kFlagEnvelope) ? env : raw);
                    if (c.state == ConnState::kOpen) ++n;  // not if it was closed as slow
                }
            } else {
                n = send_to_id(cmd.name, raw, env);
            }
            raw->unref();
            env->unref();
            snprintf(line, sizeof line, "OK delivered=%zu\n", n);
            cc.out += line;
            break;
        }
        case ctl::Verb::kKick: {
            size_t n = 0;
            uint16_t code = cmd.code ? cmd.code : static_cast<uint16_t>(ws::kClosePolicyViolation);
            std::string_view reason = cmd.text.empty() ? std::string_view("kicked") : cmd.text;
            for (size_t fd = 0; fd < conns_cap_; ++fd) {
                Connection& c = conns_[fd];
                if (c.state != ConnState::kOpen || client_id(c) != cmd.name) continue;
                send_close(c, code, reason);
                ++stats_.drop_kicked;
                ++n;
            }
            snprintf(line, sizeof line, "OK kicked=%zu\n", n);
            cc.out += line;
            break;
        }
        case ctl::Verb::kStats:
            cc.out += "OK ";
            cc.out += stats_json();
            cc.out += '\n';
            break;
        case ctl::Verb::kMetrics:
            cc.out += metrics_text();
            cc.out += "OK\n";
            break;
        case ctl::Verb::kClients: {
            std::string out = "OK [";
            bool first = true;
            push::Channel* only = cmd.name.empty() ? nullptr : hub_.find(cmd.name);
            if (cmd.name.empty() || only) {
                for (size_t fd = 0; fd < conns_cap_; ++fd) {
                    Connection& c = conns_[fd];
                    if (c.state != ConnState::kOpen) continue;
                    bool member = only == nullptr;
                    std::string chans;
                    for (size_t i = 0; i < c.channel_count(); ++i) {
                        push::Channel* ch = c.subscription(i).channel;
                        if (ch == only) member = true;
                        chans += (i ? ",\"" : "\"") + std::string(ch->name()) + "\"";
                    }
                    if (!member) continue;
                    out += first ? "" : ",";
                    first = false;
                    out += "{\"id\":\"" + client_id(c) + "\",\"channels\":[" + chans + "],\"protocol\":\"" +
                           ((c.flags & kFlagEnvelope) ? "wspush.v1" : "") + "\",\"queued\":" +
                           std::to_string(c.out.bytes()) + "}";
                }
            }
            out += "]\n";
            cc.out += out;
            break;
        }
        case ctl::Verb::kChannels: {
            std::string out = "OK [";
            bool first = true;
            hub_.for_each_channel([&](const push::Channel& ch) {
                out += first ? "" : ",";
                first = false;
                out += "{\"name\":\"" + std::string(ch.name()) + "\",\"members\":" + std::to_string(ch.member_count) +
                       ",\"last_seq\":" + std::to_string(ch.next_seq - 1) +
                       ",\"first_kept\":" + std::to_string(ch.first_kept()) + "}";
            });
            out += "]\n";
            cc.out += out;
            break;
        }
        case ctl::Verb::kTail:
            cc.tail = true;
            cc.out += "OK\n";
            break;
        case ctl::Verb::kHelp: cc.out += ctl::help_text(); break;
        case ctl::Verb::kQuit:
            cc.out += "OK bye\n";
            cc.quitting = true;
            break;
    }
}

size_t Server::send_to_id(std::string_view id, push::Message* raw, push::Message* env) {
    size_t n = 0;
    auto one = [&](Connection& c) {
        if (c.state != ConnState::kOpen) return;
        send(c, (c.flags & kFlagEnvelope) ? env : raw);
        if (c.state == ConnState::kOpen) ++n;  // not if it was closed as slow
    };
    auto it = ids_.find(std::string(id));
    if (it != ids_.end()) {
        std::vector<int32_t> fds = it->second->fds;  // send() may close one (slow consumer)
        for (int32_t fd : fds) one(conns_[fd]);
        return n;
    }
    // Server-assigned ids are "c<serial>": not indexed, found by a scan (rare operation).
    if (id.size() > 1 && id[0] == 'c') {
        for (size_t fd = 0; fd < conns_cap_; ++fd) {
            Connection& c = conns_[fd];
            if (c.state == ConnState::kOpen && c.id == nullptr && client_id(c) == id) one(c);
        }
    }
    return n;
}

void Server::tail(const Connection& c, ws::Opcode op, const uint8_t* p, size_t n) {
    if (controls_.empty()) return;
    std::string_view data(reinterpret_cast<const char*>(p), n);
    std::string id = client_id(c);
    std::string head;
    bool one_line = op == ws::Opcode::kText && data.find_first_of("\r\n") == std::string_view::npos;
    if (one_line) head = "MSG " + id + " ";
    else head = (op == ws::Opcode::kText ? "MSGT " : "MSGB ") + id + " " + std::to_string(n) + "\n";
    // Index loop: control_close() swap-removes from controls_.
    for (size_t i = 0; i < controls_.size(); ++i) {
        ctl::ControlClient* cc = controls_[i];
        if (!cc->tail || cc->dead) continue;
        if (cc->out.size() > kTailOutCap) {
            ++stats_.drop_tail_overflow;
            LOG_WARN("control client fd %d: TAIL output not read, disconnecting", cc->fd);
            control_close(*cc);
            --i;
            continue;
        }
        cc->out += head;
        cc->out += data;
        cc->out += '\n';
        // Written before the loop sleeps, not here: this runs inside a client's frame parse.
        if (!cc->in_flush) {
            cc->in_flush = true;
            control_flush_list_.push_back(cc);
        }
    }
}

void Server::control_flush(ctl::ControlClient& cc) {
    if (cc.dead) return;
    while (!cc.out.empty()) {
        ssize_t w = ::send(cc.fd, cc.out.data(), cc.out.size(), MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;  // EPOLLOUT calls again
            control_close(cc);
            return;
        }
        cc.out.erase(0, static_cast<size_t>(w));
    }
    if (cc.paused) {
        // Replies drained: take up the commands that were waiting (and read more).
        cc.paused = false;
        control_input(cc);
        return;
    }
    // Everything asked for is answered: QUIT, or the client finished sending (half-close,
    // as `... | socat`); a PUBB whose bytes never came publishes nothing.
    if (cc.quitting || cc.eof) control_close(cc);
}

void Server::control_close(ctl::ControlClient& cc) {
    if (cc.dead) return;
    cc.dead = true;
    ::close(cc.fd);
    for (size_t i = 0; i < controls_.size(); ++i) {
        if (controls_[i] == &cc) {
            controls_[i] = controls_.back();
            controls_.pop_back();
            break;
        }
    }
    dead_controls_.push_back(&cc);
}

uint64_t Server::resident_bytes() const {
    FILE* f = fopen("/proc/self/statm", "r");
    if (!f) return 0;
    unsigned long size = 0, resident = 0;
    int got = fscanf(f, "%lu %lu", &size, &resident);
    fclose(f);
    return got == 2 ? resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE)) : 0;
}

std::string Server::stats_json() const {
    char buf[1024];
    snprintf(buf, sizeof buf,
             "{\"connections\":%u,\"sockets\":%u,\"connections_total\":%llu,\"channels\":%zu,"
             "\"messages_in\":%llu,\"messages_out\":%llu,\"published\":%llu,\"bytes_in\":%llu,\"bytes_out\":%llu,"
             "\"writes\":%llu,"
             "\"drops\":{\"slow_consumer\":%llu,\"idle_timeout\":%llu,\"handshake_timeout\":%llu,"
             "\"protocol_error\":%llu,\"http_error\":%llu,\"server_full\":%llu,\"kicked\":%llu,\"tail_overflow\":%llu},"
             "\"uptime_s\":%llu,\"rss_bytes\":%llu}",
             stats_.clients, stats_.sockets, (unsigned long long)stats_.connections_total, hub_.channel_count(),
             (unsigned long long)stats_.messages_in, (unsigned long long)stats_.messages_out,
             (unsigned long long)stats_.published, (unsigned long long)stats_.bytes_in,
             (unsigned long long)stats_.bytes_out, (unsigned long long)stats_.writes,
             (unsigned long long)stats_.drop_slow_consumer,
             (unsigned long long)stats_.drop_idle_timeout, (unsigned long long)stats_.drop_handshake_timeout,
             (unsigned long long)stats_.drop_protocol_error, (unsigned long long)stats_.drop_http_error,
             (unsigned long long)stats_.drop_server_full, (unsigned long long)stats_.drop_kicked,
             (unsigned long long)stats_.drop_tail_overflow, (unsigned long long)((now_ms_ - start_ms_) / 1000),
             (unsigned long long)resident_bytes());
    return buf;
}

std::string Server::metrics_text() const {
    std::string out;
    char line[160];
    auto gauge = [&](const char* name, const char* type, const char* help, unsigned long long v) {
        snprintf(line, sizeof line, "# HELP wspush_%s %s\n# TYPE wspush_%s %s\nwspush_%s %llu\n", name, help, name,
                 type, name, v);
        out += line;
    };
    gauge("connections", "gauge", "Open WebSocket connections.", stats_.clients);
    gauge("sockets", "gauge", "Client sockets in any state.", stats_.sockets);
    gauge("connections_total", "counter", "TCP connections accepted.", stats_.connections_total);
    gauge("channels", "gauge", "Channels with members or history.", hub_.channel_count());
    gauge("messages_in_total", "counter", "Messages received from clients.", stats_.messages_in);
    gauge("messages_out_total", "counter", "Frames queued to clients.", stats_.messages_out);
    gauge("published_total", "counter", "Channel messages published.", stats_.published);
    gauge("bytes_in_total", "counter", "Bytes read from clients.", stats_.bytes_in);
    gauge("bytes_out_total", "counter", "Bytes written to clients.", stats_.bytes_out);
    gauge("writes_total", "counter", "Queue flushes to clients (frames coalesced per writev).", stats_.writes);
    out += "# HELP wspush_drops_total Connections dropped, by reason.\n# TYPE wspush_drops_total counter\n";
    const std::pair<const char*, uint64_t> drops[] = {
        {"slow_consumer", stats_.drop_slow_consumer}, {"idle_timeout", stats_.drop_idle_timeout},
        {"handshake_timeout", stats_.drop_handshake_timeout}, {"protocol_error", stats_.drop_protocol_error},
        {"http_error", stats_.drop_http_error}, {"server_full", stats_.drop_server_full},
        {"kicked", stats_.drop_kicked}, {"tail_overflow", stats_.drop_tail_overflow},
    };
    for (auto& [reason, v] : drops) {
        snprintf(line, sizeof line, "wspush_drops_total{reason=\"%s\"} %llu\n", reason, (unsigned long long)v);
        out += line;
    }
    gauge("uptime_seconds", "gauge", "Seconds since start.", (now_ms_ - start_ms_) / 1000);
    gauge("resident_memory_bytes", "gauge", "Resident set size.", resident_bytes());
    return out;
}

}  // namespace wspush::server
