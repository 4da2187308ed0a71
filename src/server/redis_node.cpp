// --redis: many nodes as one (README, "Many boxes: --redis"). Redis numbers and keeps every
// channel (src/redis/engine.h); this node
//
//  - publishes through it: publish_on() hands the message to the engine, and the publisher's
//    answer waits for Redis' (the control reply held, ControlChannel::resolve; a webhook
//    request held, answer_held). A client's relayed message carries this node's origin tag
//    ("<node>.<fd>.<serial>") so its own delivery skips the sender, as without Redis;
//  - subscribes to every channel a local client joins (from the start of what Redis keeps)
//    and applies each delivery to the local hub under Redis' (epoch, seq): members get it
//    then, and the hub's history is Redis' own, so a resume is answered locally;
//  - answers an upgrade (101, replay, join) once the node has read its channels from Redis:
//    until then the connection waits unanswered, at most --handshake-timeout (then 503);
//    a push made after the client saw its 101 reaches it, and a since= is served from the
//    hub's history as without Redis;
//  - unsubscribes when the hub forgets the channel (no members, nothing kept).
//
// While Redis is away, pushes wait in the engine's queue (--redis-max-queued, 16 MiB of
// payload) and their publishers wait for the answer; past the bound they are refused at once
// ("ERR redis: ...", webhook 503002). When it is back, the queue is sent and every subscribed
// channel read back from where it stopped.
#include <sys/random.h>
#include <unistd.h>

#include <charconv>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "base/clock.h"
#include "base/log.h"
#include "robot/errcode.h"
#include "server/loop_tags.h"
#include "server/server.h"

namespace wspush::server {
namespace {

// A publication's completion: the engine's ctx.
struct RedisCall {
    Server* server;
    uint64_t ticket;
};

bool parse_dec(std::string_view s, uint64_t& v) noexcept {
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return !s.empty() && ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

void append_json_text(std::string& out, const char* s) {
    out += '"';
    for (; *s; ++s) {
        if (*s == '"' || *s == '\\') out += '\\';
        out += static_cast<unsigned char>(*s) < 0x20 ? '?' : *s;
    }
    out += '"';
}

bool Server::unused_in_echo(const char* flag) const {
    if (cfg_.mode != Mode::kEcho) return false;
    LOG_WARN("%s: echo mode has no channels; --%s is not used", flag, flag);
    return true;
}

bool Server::open_redis(std::string& err) {
    if (cfg_.redis.empty() || unused_in_echo("redis")) return true;
    redis::EngineOptions o;
    o.client.address = cfg_.redis;
    o.client.user = cfg_.redis_user;
    o.client.password = cfg_.redis_password;
    o.client.db = cfg_.redis_db;
    o.prefix = cfg_.redis_prefix;
    o.history = cfg_.history;
    o.max_queued = cfg_.redis_max_queued;
    redis_ = std::make_unique<redis::Engine>(reactor_, loop::kTagRedis, std::move(o));
    redis_->set_deliver(on_redis_delivery, this);
    hub_.on_forget([](void* self, const push::Channel& ch) {
        Server& s = *static_cast<Server*>(self);
        // A parked upgrade may wait for it: looked at again (and subscribed again).
        if (s.redis_ && s.redis_->unsubscribe(ch.name())) s.redis_parked_dirty_ = true;
    }, this);
    uint64_t id = 0;
    if (getrandom(&id, sizeof id, GRND_NONBLOCK) != sizeof id) id = base::monotonic_ms() ^ (uint64_t(getpid()) << 32);
    char tag[24];
    snprintf(tag, sizeof tag, "%016" PRIx64, id);
    redis_origin_ = tag;
    if (!redis_->start(base::monotonic_ms(), err)) {
        err = "redis: " + err;
        return false;
    }
    LOG_INFO("redis %s: channels shared under prefix %s (history %u; up to %u pushes held while it is away)",
             cfg_.redis.c_str(), cfg_.redis_prefix.c_str(), cfg_.history, cfg_.redis_max_queued);
    return true;
}

// ---- publishing ------------------------------------------------------------------------

bool Server::redis_publish(push::Channel& ch, ws::Opcode op, std::string_view data, const push::Subscription* except,
                           Published& out) {
    char origin[64];
    size_t origin_len = 0;
    if (except) {
        const Connection& c = owner_of(*except);
        origin_len = static_cast<size_t>(snprintf(origin, sizeof origin, "%s.%d.%llu", redis_origin_.c_str(),
                                                  fd_of(c), static_cast<unsigned long long>(c.serial)));
    }
    const uint64_t ticket = ++redis_tickets_;
    redis_publishing_ = ticket;
    redis_->publish(ch.name(), op == ws::Opcode::kBinary, data, on_redis_published, new RedisCall{this, ticket},
                    {origin, origin_len});
    // Refused at once (the queue is full): on_redis_published cleared it.
    out.redis = redis_publishing_;
    redis_publishing_ = 0;
    out.seq = 0;
    out.delivered = 0;
    if (out.redis == 0) {
        LOG_WARN("redis: push to %.*s refused: %s", static_cast<int>(ch.name().size()), ch.name().data(),
                 redis_refusal_.c_str());
    }
    // A channel made only to name this push (no members here) is not kept.
    hub_.forget_if_idle(ch);
    return true;
}

void Server::redis_wait(uint64_t ticket, const RedisWaiter& w) {
    if (redis_ && ticket) redis_waiters_[ticket] = w;
}

void Server::on_redis_published(void* ctx, const redis::Published& p) noexcept {
    auto* call = static_cast<RedisCall*>(ctx);
    Server& s = *call->server;
    const uint64_t ticket = call->ticket;
    delete call;
    if (ticket == s.redis_publishing_) {  // inside publish(): it tells its caller
        s.redis_publishing_ = 0;
        s.redis_refusal_.assign(p.error);
        return;
    }
    s.redis_settle(ticket, p);
}

void Server::redis_settle(uint64_t ticket, const redis::Published& p) {
    const auto it = redis_waiters_.find(ticket);
    if (it == redis_waiters_.end()) return;  // a relayed message or a digest: nobody waits
    const RedisWaiter w = it->second;
    redis_waiters_.erase(it);
    const std::string_view why = p.ok ? std::string_view() : p.error;
    if (w.kind == RedisWaiter::Kind::kControl) {
        if (!control_) return;
        std::string line;
        if (p.ok) {
            char buf[64];
            snprintf(buf, sizeof buf, "OK seq=%llu delivered=0\n", static_cast<unsigned long long>(p.seq));
            line = buf;
        } else {
            line = "ERR redis: ";
            line += why;
            line += '\n';
        }
        control_->resolve(w.ref, line);
        return;
    }
    for (size_t i = 0; i < held_webhooks_.size(); ++i) {
        if (held_webhooks_[i].id != w.ref) continue;
        if (!why.empty()) {
            WebhookReply r;
            r.status = 503;
            r.errcode = robot::kRedis;
            r.errmsg = "redis: ";
            r.errmsg += why;
            settle_held_webhook(i, &r, {});
        } else {
            settle_held_webhook(i, nullptr, w.want_seq ? ",\"seq\":" + std::to_string(p.seq) + ",\"epoch\":" +
                                                             std::to_string(p.epoch) + ",\"delivered\":0"
                                                       : std::string());
        }
        return;
    }
}

// ---- deliveries ------------------------------------------------------------------------

void Server::on_redis_delivery(void* ctx, const redis::Delivery& d) noexcept {
    static_cast<Server*>(ctx)->redis_deliver(d);
}

void Server::redis_deliver(const redis::Delivery& d) {
    push::Channel* ch = hub_.find(d.channel);
    if (ch == nullptr) ch = hub_.channel(d.channel);
    if (ch == nullptr) {
        LOG_WARN("redis: a message for %.*s dropped: --max-channels %u reached", static_cast<int>(d.channel.size()),
                 d.channel.data(), cfg_.max_channels);
        return;
    }
    if (d.kind == redis::Delivery::Kind::kGap) {
        // What followed `since` is gone (trimmed, or the channel was made again): the members
        // are told as a resuming client would be, and the hub numbers on from Redis.
        hub_.renumber(*ch, d.epoch, d.seq);
        if (ch->member_count == 0) return;
        push::Message* notice = hub_.gap_notice(*ch, d.since);
        if (notice == nullptr) {
            ++stats_.out_of_memory;
            return;
        }
        // A send may close a member, and with it forget the channel: the members first.
        std::vector<int32_t> fds;
        for (uint32_t i = 0; i < ch->member_count; ++i) fds.push_back(fd_of(owner_of(*ch->members[i])));
        for (int32_t fd : fds)
            if (conns_[fd].state == ConnState::kOpen && conns_[fd].has(kFlagEnvelope)) (void)send(conns_[fd], notice);
        notice->unref();
        return;
    }
    if (ch->epoch != d.epoch || ch->next_seq != d.seq) hub_.renumber(*ch, d.epoch, d.seq);
    // The sender of a message this node relayed does not get it back.
    const push::Subscription* except = nullptr;
    if (d.origin.size() > redis_origin_.size() && d.origin.starts_with(redis_origin_) &&
        d.origin[redis_origin_.size()] == '.') {
        std::string_view rest = d.origin.substr(redis_origin_.size() + 1);
        const size_t dot = rest.find('.');
        uint64_t fd = 0, serial = 0;
        if (dot != std::string_view::npos && parse_dec(rest.substr(0, dot), fd) &&
            parse_dec(rest.substr(dot + 1), serial) && fd < conns_cap_) {
            const Connection& c = conns_[fd];
            if (c.state == ConnState::kOpen && c.serial == serial)
                for (size_t i = 0; i < channel_count(c); ++i)
                    if (subscription(c, i).channel == ch) except = &subscription(c, i);
        }
    }
    const push::PublishResult r =
        hub_.publish(*ch, d.binary ? ws::Opcode::kBinary : ws::Opcode::kText, d.payload.data(), d.payload.size(),
                     except, [this](push::Subscription& s, push::Publication& pub) { deliver(s, pub); });
    if (!r.ok) {
        ++stats_.out_of_memory;
        LOG_WARN("redis: out of memory delivering to %.*s", static_cast<int>(d.channel.size()), d.channel.data());
        return;
    }
    ++stats_.published;
}

// ---- joins -----------------------------------------------------------------------------

bool Server::redis_park(Connection& c, const JoinPlan& plan, std::string_view protocol, std::string_view path,
                        std::string_view query, const char (&accept)[28]) {
    bool ready = true;
    for (size_t i = 0; i < plan.nwant; ++i) {
        const std::string_view name = plan.wants[i].name;
        // A subscription has its hub channel (bounded by --max-channels; forgetting it
        // unsubscribes). At the limit the upgrade goes on, to be refused as without Redis.
        if (hub_.channel(name) == nullptr) return false;
        // From the start of what Redis keeps: the hub's history becomes Redis' own.
        if (redis_->cursor(name) == nullptr) (void)redis_->subscribe(name, redis::Cursor{}, false);
        ready = ready && redis_->loaded(name);
    }
    if (ready) return false;
    RedisParked& p = redis_parked_[fd_of(c)];
    p.protocol.assign(protocol);
    p.path.assign(path);
    p.query.assign(query);
    memcpy(p.accept, accept, sizeof p.accept);
    return true;
}

bool Server::redis_drop_parked(int32_t fd) {
    const auto it = redis_parked_.find(fd);
    if (it == redis_parked_.end()) return false;
    const RedisParked p = std::move(it->second);
    redis_parked_.erase(it);
    const JoinPlan plan = plan_join(p.path, p.query);
    for (size_t i = 0; i < plan.nwant; ++i)
        if (push::Channel* ch = hub_.find(plan.wants[i].name)) hub_.forget_if_idle(*ch);
    return true;
}

void Server::redis_joins() {
    // An upgrade whose channels are all read goes on (its 101, replay and join, in one go:
    // nothing is delivered in between). upgrade() may park it again (a channel forgotten
    // meanwhile), so the ready ones are taken out first.
    redis_loads_ = redis_->loads();
    redis_parked_dirty_ = false;
    std::vector<std::pair<int32_t, RedisParked>> ready;
    for (auto it = redis_parked_.begin(); it != redis_parked_.end();) {
        const RedisParked& p = it->second;
        const JoinPlan plan = plan_join(p.path, p.query);
        bool loaded = true;
        for (size_t i = 0; i < plan.nwant; ++i) {
            const std::string_view name = plan.wants[i].name;
            // Forgotten meanwhile (a client that waited for it left): made and subscribed again.
            if (redis_->cursor(name) == nullptr && hub_.channel(name) != nullptr)
                (void)redis_->subscribe(name, redis::Cursor{}, false);
            loaded = loaded && redis_->loaded(name);
        }
        if (!loaded) {
            ++it;
            continue;
        }
        ready.emplace_back(it->first, std::move(it->second));
        it = redis_parked_.erase(it);
    }
    for (auto& [fd, p] : ready) {
        Connection& c = conns_[fd];
        if (c.state != ConnState::kHttp) continue;
        (void)upgrade(c, p.protocol, p.path, p.query, p.accept);
    }
}

void Server::redis_turn() {
    redis_->flush(now_ms_);
    // Looked at again only when a channel loaded, or a parked one went.
    if (!redis_parked_.empty() && (redis_->loads() != redis_loads_ || redis_parked_dirty_)) redis_joins();
    const bool up = redis_->writer_up() && redis_->subscriber_up();
    if (up && redis_state_ != 1) {
        if (redis_state_ == 2)
            LOG_INFO("redis %s: up again: held pushes sent, channels read back from where they stopped",
                     cfg_.redis.c_str());
        redis_state_ = 1;
    } else if (!up && redis_state_ == 1) {
        LOG_WARN("redis %s: down (%s): pushes are held (up to %u) and answered when it is back",
                 cfg_.redis.c_str(), redis_->failure(), cfg_.redis_max_queued);
        redis_state_ = 2;
    }
}

// ---- figures ---------------------------------------------------------------------------

std::string Server::redis_json() const {
    if (!redis_) return "{\"state\":\"off\"}";
    const redis::EngineStats& s = redis_->stats();
    std::string out = std::string("{\"state\":\"") + redis_->state_text() + "\",\"writer\":\"" +
                      redis::state_name(redis_->writer().state()) + "\",\"subscriber\":\"" +
                      redis::state_name(redis_->subscriber().state()) + '"';
    const std::pair<const char*, uint64_t> figures[] = {
        {"queued", s.queued}, {"queued_bytes", s.queued_bytes}, {"sent", s.sent}, {"errors", s.errors},
        {"refused", s.refused}, {"reconnects", s.reconnects}, {"reads", s.reads}, {"read_back", s.read_back},
        {"delivered", s.delivered}, {"gaps", s.gaps}, {"waiting_joins", redis_parked_.size()},
    };
    for (const auto& [name, v] : figures) out.append(",\"").append(name).append("\":").append(std::to_string(v));
    if (*redis_->failure() && std::string_view(redis_->state_text()) != "up") {
        out += ",\"error\":";
        append_json_text(out, redis_->failure());
    }
    return out += '}';
}

}  // namespace wspush::server
