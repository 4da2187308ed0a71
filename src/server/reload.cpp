// SIGHUP: the configuration is read again (--config FILE, the command line applied over it)
// and what may change while clients are connected is applied; the reload closes no
// connection itself (see send-buffer below).
// Run on a signal only, so built for size (Makefile, HOT_SRC).
//
//   applied live            from when
//   log-level, log-time     the next log line
//   origins, protocols      the next handshake (a negotiated protocol is not kept per
//                           connection; only whether it was wspush.v1)
//   ping-interval,          each connection's next timer: one armed with the old value
//   idle-timeout, *-timeout runs out first (at most the old interval)
//   max-message             frames and control lines parsed from now on
//   max-connections,        the next accept / the next new channel; those over a lowered
//   max-channels            cap stay
//   send-buffer             the next message queued (a client already over it is closed as
//                           a slow consumer then)
//   robot-max-body          the next webhook request
//   robot, robots           at once; see reload_robots
//
// listen, mode, control, max-control, history, history-bytes, io-uring, http-stats and workers need
// a restart: a change is logged and the running value kept.
#include <algorithm>
#include <cstring>

#include "base/log.h"
#include "base/log_storm.h"
#include "server/server.h"

namespace wspush::server {
namespace {

// One comparison of string lists for every list (origins, protocols, keywords): not inlined
// at each use.
[[gnu::noinline]] bool same_list(const std::vector<std::string>& a, const std::vector<std::string>& b) {
    return a == b;
}

bool same_ranges(const std::vector<robot::AddressRange>& a, const std::vector<robot::AddressRange>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const robot::AddressRange& x, const robot::AddressRange& y) {
        return x.prefix == y.prefix && x.v6 == y.v6 && memcmp(x.addr, y.addr, sizeof x.addr) == 0;
    });
}

// Everything check_webhook_head and robot_send decide a request by: who may send, and where
// it goes. A request in flight keeps its robot only when all of it is unchanged.
bool same_authority(const robot::Robot& a, const robot::Robot& b) {
    return a.token == b.token && a.channel == b.channel && a.secret == b.secret && same_list(a.keywords, b.keywords) &&
           same_ranges(a.allow, b.allow);
}

bool same_robot(const robot::Robot& a, const robot::Robot& b) {
    return same_authority(a, b) && a.name == b.name && a.rate == b.rate && a.window_ms == b.window_ms &&
           a.throttle_ms == b.throttle_ms && a.overflow == b.overflow;
}

[[gnu::noinline]] void add_to(std::string& list, std::string_view item) {
    if (!list.empty()) list += ", ";
    list += item;
}

// The robot of `robots` that is `r` across a reload: the same name= if r has one, else (a
// default name, which is only a position) no name= and the same token. -1: none.
ptrdiff_t find_same(const std::vector<robot::Robot>& robots, const robot::Robot& r) {
    for (size_t i = 0; i < robots.size(); ++i)
        if (robots[i].named == r.named && (r.named ? robots[i].name == r.name : robots[i].token == r.token))
            return static_cast<ptrdiff_t>(i);
    return -1;
}

}  // namespace

void Server::reload() {
    // A copy: cfg_ is replaced below.
    const std::string source = cfg_.config_path.empty() ? "the command line (no --config)" : cfg_.config_path;
    Config next;
    std::string err;
    if (!reload_config(cfg_, next, err)) {
        LOG_ERROR("SIGHUP: %s; nothing reloaded, the running configuration stays", err.c_str());
        return;
    }
    std::string changed, restart;
    auto live = [&](bool differs, std::string_view name) {
        if (differs) add_to(changed, name);
    };
    // Kept as running; the new value waits for a restart.
    auto fixed = [&](auto Config::*field, std::string_view name) {
        if (next.*field != cfg_.*field) add_to(restart, name);
        next.*field = cfg_.*field;
    };
    if (next.listen_host != cfg_.listen_host || next.listen_port != cfg_.listen_port) add_to(restart, "listen");
    next.listen_host = cfg_.listen_host;
    next.listen_port = cfg_.listen_port;
    fixed(&Config::mode, "mode");
    fixed(&Config::control_path, "control");
    fixed(&Config::max_control, "max-control");
    fixed(&Config::history, "history");
    fixed(&Config::history_bytes, "history-bytes");
    fixed(&Config::journal_dir, "journal");
    fixed(&Config::fsync, "fsync");
    fixed(&Config::journal_max, "journal-max");
    fixed(&Config::redis, "redis");
    fixed(&Config::redis_prefix, "redis-prefix");
    fixed(&Config::redis_user, "redis-user");
    fixed(&Config::redis_password, "redis-password");
    fixed(&Config::redis_db, "redis-db");
    fixed(&Config::redis_max_queued, "redis-max-queued");
    fixed(&Config::io_uring, "io-uring");
    fixed(&Config::http_stats, "http-stats");
    fixed(&Config::workers, "workers");
    live(next.log_level != cfg_.log_level, "log-level");
    live(next.log_time != cfg_.log_time, "log-time");
    live(!same_list(next.origins, cfg_.origins), "origins");
    live(!same_list(next.protocols, cfg_.protocols), "protocols");
    live(next.max_message != cfg_.max_message, "max-message");
    live(next.max_connections != cfg_.max_connections, "max-connections");
    live(next.max_channels != cfg_.max_channels, "max-channels");
    live(next.ping_interval_ms != cfg_.ping_interval_ms, "ping-interval");
    live(next.idle_timeout_ms != cfg_.idle_timeout_ms, "idle-timeout");
    live(next.handshake_timeout_ms != cfg_.handshake_timeout_ms, "handshake-timeout");
    live(next.send_buffer != cfg_.send_buffer, "send-buffer");
    live(next.robot_max_body != cfg_.robot_max_body, "robot-max-body");
    live(next.body_timeout_ms != cfg_.body_timeout_ms, "body-timeout");
    live(next.keepalive_timeout_ms != cfg_.keepalive_timeout_ms, "keepalive-timeout");
    const std::string robots = reload_robots(next);
    if (!robots.empty()) add_to(changed, robots);

    // Nothing may keep a view into the old strings: the handshake's views are rebuilt here,
    // and a connection keeps none (only kFlagEnvelope, and a robot's index, remapped above).
    cfg_ = std::move(next);
    build_views();
    // What the storm limit held back was admitted at the old level: summarized now, before a
    // higher level would drop the summary.
    if (cfg_.log_level != base::log_level()) base::flush_log_storms(UINT64_MAX);
    base::set_log_level(cfg_.log_level);
    base::set_log_time(cfg_.log_time);
    max_clients_ = client_cap();
    hub_.set_max_channels(cfg_.max_channels);
    if (control_) control_->set_max_payload(cfg_.max_message);

    if (!restart.empty())
        LOG_WARN("SIGHUP: %s changed in %s: needs a restart; running with the old value(s)", restart.c_str(), source.c_str());
    LOG_INFO("SIGHUP: reloaded %s: %s%s", source.c_str(), changed.empty() ? "nothing changed" : "changed ", changed.c_str());
}

// Robots are matched by name=, and those without one by token (their default name robot<N>
// is only a position: removing robot 1 must not hand its state to robot 2). One that stays
// keeps its limiter (retuned if rate=, window or throttle= changed; a pending digest is then
// due anew), its pending digest and its counters (a named one even with a new token). A
// robot that goes, or whose channel changes, pushes its pending digest first (to the channel
// it was folded for); one that cannot be pushed is logged with the number of messages lost. A new robot starts fresh. A webhook request
// whose body is still arriving keeps its robot only if the robot stays with the same token,
// channel, secret=, keywords= and allow= (its head was checked against those; only rate=,
// throttle= and overflow= may differ), else it is answered 401 (300001 token is not exist)
// once its body is in.
std::string Server::reload_robots(Config& next) {
    const std::vector<robot::Robot>& old = cfg_.robots;
    std::string added, removed, retuned;
    std::vector<int32_t> moved(old.size(), -1);  // old index -> new index, for requests in flight
    for (size_t i = 0; i < old.size(); ++i) {
        const ptrdiff_t j = find_same(next.robots, old[i]);
        if (j < 0) add_to(removed, old[i].name);
        if ((j < 0 || next.robots[static_cast<size_t>(j)].channel != old[i].channel) && !robots_[i].digest.empty() &&
            !push_digest(i))
            LOG_WARN("robot %s: reload dropped its digest of %llu message(s) (could not be pushed)", old[i].name.c_str(),
                     static_cast<unsigned long long>(robots_[i].digest.count()));
        if (j >= 0 && same_authority(next.robots[static_cast<size_t>(j)], old[i])) moved[i] = static_cast<int32_t>(j);
    }
    std::vector<RobotRuntime> runtimes;
    runtimes.reserve(next.robots.size());
    for (const robot::Robot& r : next.robots) {
        const ptrdiff_t i = find_same(old, r);
        if (i < 0) {
            add_to(added, r.name);
            runtimes.emplace_back(r.rate, r.window_ms, r.throttle_ms);
            continue;
        }
        const robot::Robot& was = old[static_cast<size_t>(i)];
        RobotRuntime& rt = runtimes.emplace_back(std::move(robots_[static_cast<size_t>(i)]));
        if (r.channel != was.channel) {  // pushed above, or dropped
            rt.digest.clear();
            rt.mentions.clear();
            rt.at_all = false;
        }
        if (r.rate != was.rate || r.window_ms != was.window_ms || r.throttle_ms != was.throttle_ms) {
            rt.limiter.retune(r.rate, r.window_ms, r.throttle_ms, now_ms_);
            // A pending digest goes out when the retuned limiter would let a message pass.
            if (!rt.digest.empty()) rt.digest_due = digest_due(rt);
        }
        if (!same_robot(r, was)) add_to(retuned, r.name);
    }
    for (int32_t fd : live_) {
        Connection& c = conns_[fd];
        if (c.state == ConnState::kHttp && c.http && c.http->robot >= 0)
            c.http->robot = moved[static_cast<size_t>(c.http->robot)];
    }
    const bool reordered = added.empty() && removed.empty() && retuned.empty() &&
                           !std::equal(old.begin(), old.end(), next.robots.begin(), next.robots.end(),
                                       [](const robot::Robot& a, const robot::Robot& b) { return a.name == b.name; });
    robots_ = std::move(runtimes);
    token_digests_ = robot::token_digests(next.robots);
    // cfg_.robots is replaced by the caller; the digests' next due time is found again then.
    digest_at_ = 0;
    for (const RobotRuntime& rt : robots_)
        if (!rt.digest.empty() && (digest_at_ == 0 || rt.digest_due < digest_at_)) digest_at_ = rt.digest_due;
    std::string what;
    for (const auto& [verb, names] : {std::pair<const char*, const std::string*>{"added ", &added},
                                      {"removed ", &removed}, {"changed ", &retuned}, {reordered ? "reordered" : "", nullptr}}) {
        if (names ? names->empty() : *verb == '\0') continue;
        what += what.empty() ? "robots (" : "; ";
        what += verb;
        if (names) what += *names;
    }
    if (!what.empty()) what += ')';
    return what;
}

}  // namespace wspush::server
