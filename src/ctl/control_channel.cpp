#include "ctl/control_channel.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sys/socket.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/log_storm.h"
#include "net/socket.h"

namespace wspush::ctl {
namespace {

constexpr size_t kLineSlack = 256;         // a command line may be max-message plus this
constexpr size_t kKeepBuffer = 64 * 1024;  // larger idle buffers are given back

// Storm limits (base/log_storm.h) for the refusals a script in a loop can repeat.
base::LogStorm g_client_refused{"control clients refused", base::LogLevel::kWarn};
base::LogStorm g_command_refused{"control commands refused", base::LogLevel::kInfo};

// "pid 4242 uid 1000": who is at the other end of a control connection (SO_PEERCRED).
void peer_of(int fd, char (&out)[48]) noexcept {
    ucred cred{};
    socklen_t len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof cred)
        snprintf(out, sizeof out, "pid ? uid ?");
    else
        snprintf(out, sizeof out, "pid %d uid %u", static_cast<int>(cred.pid), static_cast<unsigned>(cred.uid));
}

// Logs a refused control client: "control pid 4242 uid 1001 refused: permission denied".
[[gnu::cold]] void log_client_refused(int fd, const char* why) noexcept {
    if (!base::log_admit(g_client_refused, base::monotonic_ms())) return;
    char who[48];
    peer_of(fd, who);
    base::log(g_client_refused.level, "control %s refused: %s", who, why);
}

// Logs a command answered with ERR: "control pid 4242 uid 1000 refused PUB: too many
// channels". Only the command's first word is named: the rest may be a message's text.
[[gnu::cold]] void log_command_refused(const ControlClient& cc, std::string_view line, std::string_view reply) noexcept {
    if (!base::log_admit(g_command_refused, base::monotonic_ms())) return;
    char verb[17];
    size_t n = 0;
    for (char ch : line) {
        if (ch == ' ' || ch == '\r' || n + 1 == sizeof verb) break;
        verb[n++] = ch > ' ' && ch < 0x7F ? ch : '?';
    }
    verb[n] = '\0';
    if (reply.starts_with("ERR ")) reply.remove_prefix(4);
    if (reply.ends_with('\n')) reply.remove_suffix(1);
    char who[48];
    peer_of(cc.fd, who);
    base::log(g_command_refused.level, "control %s refused %s: %.*s", who, n ? verb : "(empty line)",
              static_cast<int>(reply.size()), reply.data());
}

// Tells a TAIL reader how many messages it missed (and starts counting again).
void append_dropped(ControlClient& cc) {
    char line[48];
    int n = snprintf(line, sizeof line, "DROPPED %llu\n", static_cast<unsigned long long>(cc.tail_dropped));
    cc.out.append(line, static_cast<size_t>(n));
    cc.tail_dropped = 0;
}

// Gives a drained buffer's memory back when it grew past what an idle client needs.
void release_if_large(std::string& s) noexcept {
    if (s.empty() && s.capacity() > kKeepBuffer) std::string().swap(s);
}

}  // namespace

ControlChannel::ControlChannel(net::Reactor& reactor, CommandHandler& handler,
                               const ControlLimits& limits, uint64_t tag) noexcept
    : reactor_(reactor), handler_(handler), limits_(limits), tag_(tag) {}

ControlChannel::~ControlChannel() {
    close_all();
    reap();
}

bool ControlChannel::open(const std::string& path, uint64_t listen_tag, std::string& err) {
    const int fd = net::listen_unix(path, err);
    if (fd < 0) return false;
    path_ = path;
    return adopt(fd, listen_tag, err);
}

bool ControlChannel::adopt(int listen_fd, uint64_t listen_tag, std::string& err) {
    listen_fd_ = listen_fd;
    if (int rc = reactor_.add(listen_fd_, EPOLLIN | EPOLLET, listen_tag); rc < 0) {
        err = std::string("epoll_ctl: ") + strerror(-rc);
        return false;
    }
    return true;
}

void ControlChannel::close_all() noexcept {
    if (listen_fd_ >= 0) {
        ::close(listen_fd_);
        listen_fd_ = -1;
        if (!path_.empty()) unlink(path_.c_str());
    }
    clients_.for_each([this](ControlClient& cc) {
        // Best effort, not waiting: what is answered goes out if the socket takes it.
        const size_t writable = cc.held.empty() ? cc.out.size() : cc.held.front().at - cc.out_base;
        ssize_t w = writable ? ::send(cc.fd, cc.out.data(), writable, MSG_NOSIGNAL | MSG_DONTWAIT) : 0;
        (void)w;
        condemn(cc);
    });
}

void ControlChannel::refuse(int fd, std::string_view line) noexcept {
    // Best effort: the socket buffer of a fresh connection always has room for one line.
    ssize_t w = ::send(fd, line.data(), line.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)w;
    ::close(fd);
    ++refused_total_;
}

void ControlChannel::on_accept() noexcept {
    for (;;) {
        int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) LOG_WARN("control accept: %s", strerror(errno));
            return;
        }
        // The socket file is 0600, but a directory that others can write to, or a copy made
        // by root, could still let another user in: ask the kernel who is connecting.
        uid_t uid = 0;
        if (!net::peer_uid(fd, uid) || (uid != 0 && uid != geteuid())) {
            log_client_refused(fd, "permission denied (not our user, not root)");
            refuse(fd, "ERR permission denied\n");
            continue;
        }
        if (clients_.size() >= limits_.max_clients) {
            log_client_refused(fd, "too many control clients (--max-control)");
            refuse(fd, "ERR too many control clients\n");
            continue;
        }
        auto* cc = new ControlClient;
        cc->fd = fd;
        if (reactor_.add(fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, reinterpret_cast<uint64_t>(cc) | tag_) < 0) {
            ::close(fd);
            delete cc;
            continue;
        }
        clients_.push_back(*cc);
    }
}

void ControlChannel::on_client_event(uint64_t tag, uint32_t events) noexcept {
    auto* cc = reinterpret_cast<ControlClient*>(tag & ~uint64_t{7});
    if (cc->state == ClientState::kDead) return;  // condemned earlier in this batch
    if (events & EPOLLOUT) write_output(*cc);
    if (cc->state == ClientState::kDead) return;
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) read_input(*cc);
}

void ControlChannel::read_input(ControlClient& cc) noexcept {
    ready_.remove_if_linked(cc);
    size_t budget = kReadBudget;
    while (!cc.eof && !cc.quitting) {
        if (paused(cc)) {
            cc.stalled = true;  // write_output() takes it up once the replies drain
            break;
        }
        if (budget == 0) {
            ready_.push_back(cc);  // edge-triggered: no new event for what is still waiting
            break;
        }
        size_t old = cc.in.size();
        cc.in.resize(old + budget);
        ssize_t n = ::read(cc.fd, cc.in.data() + old, budget);
        cc.in.resize(old + (n > 0 ? static_cast<size_t>(n) : 0));
        if (n > 0) {
            budget -= static_cast<size_t>(n);
            process(cc);
            continue;
        }
        if (n == 0) {
            cc.eof = true;  // half-close: answer what was sent, then close
            break;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        condemn(cc);  // ECONNRESET: nobody is left to answer
        return;
    }
    process(cc);  // an empty PUBB completes on its line alone; eof may be new
    write_output(cc);
}

void ControlChannel::process(ControlClient& cc) noexcept {
    const size_t max_line = limits_.max_payload + kLineSlack;
    size_t pos = 0;
    while (!cc.quitting) {
        if (paused(cc)) {
            cc.stalled = true;
            break;
        }
        if (cc.in_pubb) {
            if (cc.in.size() - pos < cc.pubb_need) break;
            Command cmd;
            cmd.verb = Verb::kPubb;
            cmd.name = cc.pubb_channel;
            const size_t before = cc.out.size();
            execute(cc, cmd, std::string_view(cc.in).substr(pos, cc.pubb_need));
            if (std::string_view(cc.out).substr(before).starts_with("ERR "))
                log_command_refused(cc, "PUBB", std::string_view(cc.out).substr(before));
            pos += cc.pubb_need;
            cc.in_pubb = false;
            continue;
        }
        if (pos >= cc.in.size()) break;
        size_t lf = cc.in.find('\n', pos);
        if (lf == std::string::npos) {
            if (cc.in.size() - pos > max_line) {
                // A runaway line: refuse it once, skip to its end, keep the connection.
                if (!cc.discarding) {
                    cc.out += "ERR line too long\n";
                    log_command_refused(cc, std::string_view(cc.in).substr(pos, 16), "line too long");
                }
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
            log_command_refused(cc, line.substr(0, 16), "line too long");
            continue;
        }
        const size_t before = cc.out.size();
        run_line(cc, line);
        // Every refusal, the parser's or the server's, is an ERR line answering this one.
        if (std::string_view(cc.out).substr(before).starts_with("ERR "))
            log_command_refused(cc, line, std::string_view(cc.out).substr(before));
    }
    cc.in.erase(0, pos);
    release_if_large(cc.in);
}

void ControlChannel::run_line(ControlClient& cc, std::string_view line) noexcept {
    ParseResult r = parse_command(line, limits_.max_payload);
    if (!r.ok) {
        cc.out += "ERR ";
        cc.out += r.error;
        cc.out += '\n';
        return;
    }
    switch (r.cmd.verb) {
        case Verb::kPubb:
            cc.in_pubb = true;
            cc.pubb_need = r.cmd.nbytes;
            cc.pubb_channel.assign(r.cmd.name);
            return;
        case Verb::kTail:
            if (!cc.tail) ++tail_readers_;
            cc.tail = true;
            cc.out += "OK\n";
            return;
        case Verb::kHelp: cc.out += help_text(); return;
        case Verb::kQuit:
            cc.out += "OK bye\n";
            cc.quitting = true;
            return;
        default: execute(cc, r.cmd, {}); return;
    }
}

void ControlChannel::execute(ControlClient& cc, const Command& cmd, std::string_view payload) noexcept {
    const size_t before = cc.out.size();
    if (handler_.execute(cmd, payload, cc.out) != Reply::kHeld) return;
    cc.held.push_back({cc.out_base + before - cc.held_shift, static_cast<uint32_t>(cc.out.size() - before), ++tickets_});
    if (!cc.held_link.linked()) held_.push_back(cc);
}

void ControlChannel::resolve(uint64_t ticket, std::string_view text) noexcept {
    bool found = false;
    held_.for_each([&](ControlClient& cc) {
        for (size_t i = 0; !found && i < cc.held.size(); ++i) {
            if (cc.held[i].ticket != ticket) continue;
            found = true;
            const ControlClient::Held h = cc.held[i];
            // Empty: the reply stays as it was made (nothing moves).
            if (!text.empty()) {
                if (text.starts_with("ERR")) log_command_refused(cc, "PUB", text);
                cc.out.replace(cc.held_at(i) - cc.out_base, h.len, text);
            }
            // The replies after it moved by the difference (all of them when it is the
            // first: the usual case, answers come in order).
            const uint64_t diff = text.empty() ? 0 : text.size() - uint64_t{h.len};
            if (i == 0) {
                cc.held.pop_front();
                cc.held_shift += diff;
                schedule_flush(cc);
            } else {
                for (size_t j = i + 1; j < cc.held.size(); ++j) cc.held[j].at += diff;
                cc.held.erase(cc.held.begin() + static_cast<long>(i));
            }
            if (cc.held.empty()) {
                cc.held_shift = 0;
                held_.remove(cc);
            }
        }
    });
}

void ControlChannel::settle(std::string_view error) noexcept {
    while (ControlClient* cc = held_.pop_front()) {
        if (!error.empty()) {
            // From the last to the first, so the earlier offsets still hold.
            std::string line = "ERR journal: ";
            line += error;
            line += '\n';
            for (size_t i = cc->held.size(); i-- > 0;) {
                cc->out.replace(cc->held_at(i) - cc->out_base, cc->held[i].len, line);
                log_command_refused(*cc, "PUB", line);
            }
        }
        cc->held.clear();
        cc->held_shift = 0;
        schedule_flush(*cc);
    }
}

void ControlChannel::write_output(ControlClient& cc) noexcept {
    flush_.remove_if_linked(cc);
    for (;;) {
        // Up to the first reply held for the journal: settle() writes the rest.
        const size_t writable = cc.held.empty() ? cc.out.size() : cc.held_at(0) - cc.out_base;
        size_t done = 0;
        while (done < writable) {
            ssize_t w = ::send(cc.fd, cc.out.data() + done, writable - done, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w < 0) {
                if (errno == EINTR) continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK) break;  // EPOLLOUT calls again
                condemn(cc);
                return;
            }
            done += static_cast<size_t>(w);
        }
        cc.out.erase(0, done);
        cc.out_base += done;
        if (done < writable || !cc.held.empty()) return;
        // Everything written. Tell a TAIL reader what it missed before anything else.
        if (cc.tail_dropped) {
            append_dropped(cc);
            continue;
        }
        if (cc.stalled) {
            // Replies drained: take up the commands that were waiting, then read on (the
            // socket may hold more, and edge-triggered epoll will not say so again).
            cc.stalled = false;
            process(cc);
            if (!cc.eof && !cc.quitting && !cc.ready_link.linked()) ready_.push_back(cc);
            if (!cc.out.empty()) continue;
        }
        break;
    }
    release_if_large(cc.out);
    // Everything asked for is answered: QUIT, or the client finished sending (half-close,
    // as `... | socat`); a PUBB whose bytes never came publishes nothing.
    if (cc.quitting || (cc.eof && !cc.stalled)) condemn(cc);
}

void ControlChannel::schedule_flush(ControlClient& cc) noexcept {
    if (!cc.flush_link.linked()) flush_.push_back(cc);
}

void ControlChannel::tail(std::string_view client_id, ws::Opcode op, std::string_view data) noexcept {
    if (tail_readers_ == 0) return;
    char head[128];
    int hn;
    if (op == ws::Opcode::kText && data.find_first_of("\r\n") == std::string_view::npos) {
        hn = snprintf(head, sizeof head, "MSG %.*s ", static_cast<int>(client_id.size()), client_id.data());
    } else {
        hn = snprintf(head, sizeof head, "%s %.*s %zu\n", op == ws::Opcode::kText ? "MSGT" : "MSGB",
                      static_cast<int>(client_id.size()), client_id.data(), data.size());
    }
    const size_t add = static_cast<size_t>(hn) + data.size() + 1;
    clients_.for_each([&](ControlClient& cc) {
        if (!cc.tail) return;
        // Each reader has its own budget: one that does not read misses messages (and is
        // told how many), it does not make the server grow or cost the others theirs. A
        // message larger than the budget still goes to a reader that has caught up.
        if (!cc.out.empty() && cc.out.size() + add > limits_.tail_cap) {
            ++cc.tail_dropped;
            ++tail_dropped_total_;
            return;
        }
        if (cc.tail_dropped) append_dropped(cc);
        cc.out.append(head, static_cast<size_t>(hn));
        cc.out.append(data);
        cc.out += '\n';
        // Written before the loop sleeps, not here: this runs inside a client's frame parse.
        schedule_flush(cc);
    });
}

void ControlChannel::flush_pending() noexcept {
    // Clients whose read budget ran out get their next turn; read_input() may put a client
    // back on ready_ for the turn after, so take only those that are there now.
    for (size_t n = ready_.size(); n > 0; --n) {
        ControlClient* cc = ready_.pop_front();
        if (cc == nullptr) break;
        read_input(*cc);
    }
    while (ControlClient* cc = flush_.front()) write_output(*cc);  // unlinks cc
}

void ControlChannel::condemn(ControlClient& cc) noexcept {
    if (cc.state == ClientState::kDead) return;
    cc.state = ClientState::kDead;
    if (cc.tail) --tail_readers_;
    clients_.remove(cc);
    flush_.remove_if_linked(cc);
    ready_.remove_if_linked(cc);
    held_.remove_if_linked(cc);
    ::close(cc.fd);  // events already in this epoll batch carry cc's address, not the fd
    cc.fd = -1;
    dead_.push_back(cc);
}

void ControlChannel::reap() noexcept {
    while (ControlClient* cc = dead_.pop_front()) delete cc;
}

}  // namespace wspush::ctl
