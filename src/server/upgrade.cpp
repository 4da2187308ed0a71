// The upgrade and what it joins: channels (with resume), client ids. Once per connection,
// so built for size (Makefile, HOT_SRC); relay and delivery are in session.cpp.
#include <algorithm>
#include <cassert>
#include <cstring>
#include <new>

#include "http/response.h"
#include "server/server.h"

namespace wspush::server {
bool Server::upgrade(Connection& c, std::string_view protocol, std::string_view path,
                     std::string_view query, const char (&accept)[28]) {
    const bool envelope = protocol == kEnvelopeProtocol;
    JoinPlan plan;
    if (cfg_.mode != Mode::kEcho) {
        plan = plan_join(path, query);
        if (plan.status) {
            reply_http(c, plan.status, plan.reason);
            return false;
        }
        // Under --redis the 101 waits until the node has read the channels from Redis.
        if (redis_ && redis_park(c, plan, protocol, path, query, accept)) return true;
        // A client that cannot be told about a gap in-band is refused instead of being
        // handed a partial history silently.
        if (!envelope && !resumable_raw(plan)) {
            reply_http(c, 410, "messages after since= are no longer kept: resync without since, or use wspush.v1");
            return false;
        }
        size_t fresh = 0;
        for (size_t i = 0; i < plan.nwant; ++i) fresh += hub_.find(plan.wants[i].name) == nullptr;
        if (fresh && hub_.channel_count() + fresh > cfg_.max_channels) {
            reply_http(c, 503, "too many channels");
            return false;
        }
    }

    char resp[512];
    size_t rn = http::write_upgrade_response(resp, sizeof resp, accept, protocol);
    if (!queue_owned(c, push::Message::make_raw(resp, rn))) return false;
    // Leaving kHttp freed its HttpSession (if any): the word now holds the client's serial.
    assert(c.http == nullptr);
    c.state = ConnState::kOpen;
    c.serial = next_serial_++;
    ++stats_.clients;
    if (envelope) c.set(kFlagEnvelope);
    c.last_rx = now32();
    wheel_.arm(cold(c).timer, now_ms_ + std::min(cfg_.ping_interval_ms, cfg_.idle_timeout_ms));
    if (cfg_.mode != Mode::kEcho) {
        if (!plan.id.empty() && !bind_id(c, plan.id)) {
            out_of_memory(c);
            return false;
        }
        if (!join_channels(c, plan)) return false;
    }
    schedule_flush(c);
    if (protocol.empty()) log_conn(fd_of(c), ConnEvent::kUpgraded, "upgraded (no subprotocol)");
    else log_conn(fd_of(c), ConnEvent::kUpgraded, "upgraded (%.*s)", static_cast<int>(protocol.size()), protocol.data());
    return true;
}

bool Server::resumable_raw(const JoinPlan& plan) {
    for (size_t i = 0; i < plan.nwant; ++i) {
        const Want& w = plan.wants[i];
        if (!w.resume) continue;
        const push::Channel* ch = hub_.find(w.name);
        if (ch != nullptr ? !hub_.covers(*ch, w.since) : (w.since.seq != 0 || w.since.has_epoch)) return false;
    }
    return true;
}

bool Server::join_channels(Connection& c, const JoinPlan& plan) {
    // plan_join caps nwant at kMaxChannelsPerClient; the min says so to the compiler, which
    // otherwise warns (with -flto) about the size new[] computes on overflow.
    if (plan.nwant > 1 && !alloc_more(c, std::min(plan.nwant, kMaxChannelsPerClient) - 1)) {
        out_of_memory(c);
        return false;
    }
    for (size_t i = 0; i < plan.nwant; ++i) {
        const Want& w = plan.wants[i];
        // The cap was checked before the 101; nullptr here is out of memory.
        push::Channel* ch = hub_.channel(w.name);
        if (ch == nullptr) {
            out_of_memory(c);
            return false;
        }
        if (!join_one(c, i, *ch, w.since, w.resume)) return false;
    }
    return true;
}

bool Server::join_one(Connection& c, size_t i, push::Channel& ch, const push::Since& since, bool resume) {
    push::Subscription& s = subscription(c, i);
    s.owner = static_cast<uint32_t>(fd_of(c));
    auto replay_one = [&](push::Publication& pub) { deliver_replay(c, pub); };
    // Single-threaded: nothing is published between this replay and the join, so the
    // client sees every message after `since` exactly once, in order.
    if (resume && !hub_.replay(ch, since, replay_one)) {
        // Part of the catch-up, like the replay: not held to the cap.
        if (!queue_owned(c, hub_.gap_notice(ch, since.seq))) return false;
        hub_.replay_all(ch, replay_one);
    }
    if (c.state != ConnState::kOpen) return false;  // the replay ran out of memory
    if (!hub_.join(ch, s)) {
        out_of_memory(c);
        return false;
    }
    return true;
}

bool Server::bind_id(Connection& c, std::string_view id) {
    NamedId* nid = ids_.find(id);
    if (nid == nullptr) {
        nid = new (std::nothrow) NamedId{std::string(id), ids_.hash(id), {}};
        if (nid == nullptr) return false;
        if (!ids_.insert(nid)) {
            delete nid;
            return false;
        }
    }
    nid->fds.push_back(fd_of(c));
    c.named = nid;
    c.set(kFlagNamed);
    return true;
}

void Server::unbind_id(Connection& c) {
    if (!c.has(kFlagNamed)) return;
    NamedId* nid = c.named;
    auto& fds = nid->fds;
    auto it = std::find(fds.begin(), fds.end(), fd_of(c));
    *it = fds.back();
    fds.pop_back();
    if (fds.empty()) {
        ids_.erase(nid);
        delete nid;
    }
    c.clear(kFlagNamed);
    c.serial = 0;
}

void Server::leave_channels(Connection& c) {
    hub_.leave(cold(c).sub);
    for (size_t i = 0; i < c.nmore; ++i) hub_.leave(more_[c.more][i]);
}

}  // namespace wspush::server
