// --workers, the worker's side (workers.h has the design): publish_on() sends the
// publication to the parent instead of numbering it, and every kPublished the parent sends
// back is applied to this worker's hub with the parent's (epoch, seq) and delivered to the
// members here. The publisher's answer is held meanwhile: a control reply by its ticket
// (ctl::ControlChannel::resolve), a webhook answer in held_webhooks_ (answer_held, as the
// journal's commit does). STATS asks the parent, which sums every worker's figures.
//
// A channel this worker made on its own (a client joined before any publication) has a
// local epoch with nothing kept; the first publication gives it the parent's numbering. A
// channel forgotten here (no members, nothing kept) is reported idle, so the parent forgets
// it once no worker holds it.
//
// The parent gone (EOF or an error on the socketpair, or a frame that does not decode):
// the worker shuts down as on SIGTERM; systemd (or whoever started the parent) restarts the
// service.
#include <sys/socket.h>
#include <unistd.h>

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

constexpr size_t kKeepLinkBuffer = 1u << 20;  // an emptied outbox larger than this is freed


}  // namespace

void Server::become_worker(uint32_t index, int parent_fd, int listen_fd, int control_fd) {
    worker_ = std::make_unique<WorkerLink>();
    worker_->index = index;
    worker_->fd = parent_fd;
    worker_listen_fd_ = listen_fd;
    worker_control_fd_ = control_fd;
}

bool Server::start_worker(std::string& err) {
    worker_->out_cap = kLinkOutCap + cfg_.max_message;
    if (int rc = reactor_.add(worker_->fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, kTagParent); rc < 0) {
        err = std::string("epoll_ctl: ") + strerror(-rc);
        return false;
    }
    // A channel forgotten here: the parent forgets it once no worker holds it.
    hub_.on_forget([](void* self, const push::Channel& ch) {
        if (ch.next_seq == 1) return;  // never published: the parent does not know it
        cluster::Frame f;
        f.kind = cluster::Kind::kIdle;
        f.epoch = ch.epoch;
        f.seq = ch.next_seq - 1;
        f.channel = ch.name();
        (void)static_cast<Server*>(self)->parent_send(f);
    }, this);
    return true;
}

void Server::rotate_listener() {
    // EPOLLEXCLUSIVE wakes the first idle worker in the listener's wait queue, which would
    // be the same one every time; a new registration queues at the back. A connection that
    // comes meanwhile wakes another worker, or is reported by the new registration.
    if (listen_fd_ < 0) return;
    (void)reactor_.remove(listen_fd_);
    if (reactor_.add(listen_fd_, EPOLLIN | EPOLLET | EPOLLEXCLUSIVE, kTagListen) < 0) {
        LOG_ERROR("cannot watch the listening socket again (%s): stopping", strerror(errno));
        if (!stopping_) begin_shutdown();
    }
}

bool Server::parent_send(const cluster::Frame& f) {
    WorkerLink& w = *worker_;
    if (w.fd < 0) return false;
    return cluster::encode(f, w.out);
}

bool Server::worker_publish(push::Channel& ch, ws::Opcode op, std::string_view data, const push::Subscription* except,
                            Published& out) {
    WorkerLink& w = *worker_;
    if (w.out.size() - w.out_done > w.out_cap) return false;  // the parent is not reading: refused
    cluster::Frame f;
    f.kind = cluster::Kind::kPublish;
    f.request = w.requests + 1;
    f.type = payload_type(op);
    f.channel = ch.name();
    f.payload = data;
    if (!parent_send(f)) return false;
    ++w.requests;
    PendingPublication p;
    p.request = f.request;
    if (except) {
        const Connection& c = owner_of(*except);
        p.except_fd = fd_of(c);
        p.except_word = c.serial;
    }
    w.pending.push_back(std::move(p));
    out.request = f.request;
    return true;
}

PendingPublication& Server::pending_publication(uint64_t request) {
    // Always the last one sent: its caller asks right after publish_on().
    PendingPublication& p = worker_->pending.back();
    if (p.request != request) LOG_ERROR("pending publication %llu is not the last sent", (unsigned long long)request);
    return p;
}

void Server::parent_flush() {
    WorkerLink& w = *worker_;
    while (w.fd >= 0 && w.out_done < w.out.size()) {
        const ssize_t n = ::send(w.fd, w.out.data() + w.out_done, w.out.size() - w.out_done, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;  // EPOLLOUT calls again
            parent_lost(strerror(errno));
            return;
        }
        w.out_done += static_cast<size_t>(n);
    }
    if (w.out_done == w.out.size()) {
        if (w.out.capacity() > kKeepLinkBuffer) std::string().swap(w.out);
        w.out.clear();
        w.out_done = 0;
    } else if (w.out_done >= kKeepLinkBuffer) {
        w.out.erase(0, w.out_done);
        w.out_done = 0;
    }
}

void Server::parent_lost(const char* why) {
    WorkerLink& w = *worker_;
    if (w.fd < 0) return;
    LOG_ERROR("the link to the parent failed (%s): stopping", why);
    ::close(w.fd);  // also out of the epoll set
    w.fd = -1;
    w.out.clear();
    w.out_done = 0;
    if (!stopping_) begin_shutdown();
}

void Server::on_parent_event(uint32_t events) {
    WorkerLink& w = *worker_;
    if (events & EPOLLOUT) parent_flush();
    if (!(events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) return;
    // Edge-triggered: read until EAGAIN. The parent is this server's own process, so its
    // frames are taken as they come (they are bounded by its outbox to this worker).
    while (w.fd >= 0) {
        const ssize_t n = ::recv(w.fd, rbuf_, kReadBufSize, MSG_DONTWAIT);
        if (n == 0) {
            parent_lost("the parent closed it");
            return;
        }
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) parent_lost(strerror(errno));
            return;
        }
        const char* p = reinterpret_cast<const char*>(rbuf_);
        size_t pos = 0;
        while (pos < static_cast<size_t>(n) && w.fd >= 0) {
            size_t used = 0;
            const cluster::WireDecoder::Result r = w.decoder.feed(p + pos, static_cast<size_t>(n) - pos, used);
            pos += used;
            if (r == cluster::WireDecoder::Result::kError) {
                parent_lost(w.decoder.error());
                return;
            }
            if (r == cluster::WireDecoder::Result::kNeedMore) break;
            parent_frame(w.decoder.frame());
        }
    }
}

void Server::parent_frame(const cluster::Frame& f) {
    WorkerLink& w = *worker_;
    switch (f.kind) {
        case cluster::Kind::kPublished: apply_published(f); return;
        case cluster::Kind::kRefused: {
            if (w.pending.empty() || w.pending.front().request != f.request) break;
            PendingPublication p = std::move(w.pending.front());
            w.pending.pop_front();
            answer_publication(p, 0, 0, "too many channels");
            return;
        }
        case cluster::Kind::kStatsQuery: {
            cluster::Frame r;
            r.kind = cluster::Kind::kStats;
            r.request = f.request;
            worker_counters(r);
            (void)parent_send(r);
            return;
        }
        case cluster::Kind::kHistoryAsk: history_ask(f.request); return;
        case cluster::Kind::kRun: {
            const std::string result = run_here(f.payload);
            if (f.request == 0) return;  // no result wanted
            cluster::Frame r;
            r.kind = cluster::Kind::kRan;
            r.request = f.request;
            r.payload = result;
            (void)parent_send(r);
            return;
        }
        case cluster::Kind::kAllRan: all_ran(f); return;
        case cluster::Kind::kTailOthers: w.others_tail = f.request != 0; return;
        case cluster::Kind::kTailLine: tail_line(f); return;
        case cluster::Kind::kKept:
            if (w.ready) break;  // history comes only before kReady
            apply_kept(f);
            return;
        case cluster::Kind::kReady:
            if (w.ready) break;
            worker_ready();
            return;
        case cluster::Kind::kStatsReply:
            if (f.request & kPageRequest) {
                settle_page(f.request, f.payload.empty() ? stats_json() : std::string(f.payload));
                return;
            }
            if (!control_) return;
            if (f.payload.empty()) {
                control_->resolve(f.request, "ERR stats: too many STATS at once, try again\n");
            } else {
                std::string line = "OK ";
                line += f.payload;
                line += '\n';
                control_->resolve(f.request, line);
            }
            return;
        default: break;
    }
    LOG_ERROR("unexpected frame of kind %u (request %llu) from the parent", static_cast<unsigned>(f.kind),
              static_cast<unsigned long long>(f.request));
}

void Server::apply_published(const cluster::Frame& f) {
    WorkerLink& w = *worker_;
    PendingPublication mine;
    bool own = false;
    if (f.origin == w.index) {
        if (!w.pending.empty() && w.pending.front().request == f.request) {
            mine = std::move(w.pending.front());
            w.pending.pop_front();
            own = true;
        } else {
            LOG_ERROR("publication %llu came back out of order", static_cast<unsigned long long>(f.request));
        }
    }
    const ws::Opcode op = f.type == cluster::PayloadType::kBinary ? ws::Opcode::kBinary : ws::Opcode::kText;
    push::Channel* ch = push::valid_name(f.channel) ? hub_.channel(f.channel) : nullptr;
    if (ch == nullptr) {
        // Over --max-channels here (a reload lowered it) or out of memory: this worker's
        // members miss it, and a resume here gets the gap notice.
        ++stats_.out_of_memory;
        LOG_WARN("publication %llu on %.*s not applied: %s", static_cast<unsigned long long>(f.seq),
                 static_cast<int>(f.channel.size()), f.channel.data(),
                 hub_.at_channel_limit() ? "too many channels" : "out of memory");
        if (own) answer_publication(mine, 0, 0, hub_.at_channel_limit() ? "too many channels" : "out of memory");
        return;
    }
    if (ch->epoch != f.epoch || ch->next_seq != f.seq) {
        if (ch->ring_count != 0) {
            // Kept messages of another numbering: cannot be (every worker applies every
            // publication in order); the publication is not applied rather than misnumbered.
            LOG_ERROR("%.*s keeps messages up to %llu but the parent numbered the next %llu",
                      static_cast<int>(f.channel.size()), f.channel.data(),
                      static_cast<unsigned long long>(ch->next_seq - 1), static_cast<unsigned long long>(f.seq));
            if (own) answer_publication(mine, 0, 0, "numbering out of step");
            return;
        }
        // Made here by a join, or forgotten and made again: the parent's numbering from now.
        ch->epoch = f.epoch;
        ch->next_seq = f.seq;
    }
    const push::Subscription* except = nullptr;
    if (own && mine.except_fd >= 0) {
        const Connection& c = conns_[mine.except_fd];
        if (c.state == ConnState::kOpen && c.serial == mine.except_word)
            for (size_t i = 0; i < channel_count(c); ++i)
                if (subscription(c, i).channel == ch) except = &subscription(c, i);
    }
    const std::string name(f.channel);  // the hub may forget ch in publish()
    const uint64_t before = stats_.messages_out;
    push::PublishResult r = hub_.publish(*ch, op, f.payload.data(), f.payload.size(), except,
                                         [this](push::Subscription& s, push::Publication& pub) { deliver(s, pub); });
    if (!r.ok) {
        ++stats_.out_of_memory;
        LOG_WARN("publication %llu on %s not applied: out of memory", static_cast<unsigned long long>(f.seq),
                 name.c_str());
        if (own) answer_publication(mine, 0, 0, "out of memory");
        return;
    }
    if (!own) return;
    ++stats_.published;  // counted by the worker that took it: STATS sums to the total
    if (!mine.mentions.empty()) {  // clients with those ids on other workers are told there
        mention(name, f.epoch, r.seq, f.payload, mine.mentions);
        ask_all_mention(name, f.epoch, r.seq, f.payload, mine.mentions);
    }
    answer_publication(mine, r.seq, stats_.messages_out - before, {});
}

void Server::answer_publication(PendingPublication& p, uint64_t seq, uint64_t delivered, std::string_view refusal) {
    using ull = unsigned long long;
    if (p.control_ticket) {
        if (!control_) return;
        std::string line;
        if (!refusal.empty()) {
            line = "ERR ";
            line += refusal;
            line += '\n';
        } else {
            char buf[96];
            snprintf(buf, sizeof buf, "OK seq=%llu delivered=%llu\n", (ull)seq, (ull)delivered);
            line = buf;
        }
        control_->resolve(p.control_ticket, line);
        return;
    }
    for (size_t i = 0; i < held_webhooks_.size(); ++i) {
        if (held_webhooks_[i].reply.request != p.request) continue;
        if (!refusal.empty()) {
            WebhookReply r;
            r.status = p.webhook_seq ? 503 : 200;  // /push, or a robot (200 to all)
            r.errcode = robot::kUnavailable;
            r.errmsg = refusal;
            settle_held_webhook(i, &r, {});
        } else {
            settle_held_webhook(i, nullptr, p.webhook_seq ? ",\"seq\":" + std::to_string(seq) + ",\"delivered\":" +
                                                                 std::to_string(delivered)
                                                           : std::string());
        }
        return;
    }
}

}  // namespace wspush::server
