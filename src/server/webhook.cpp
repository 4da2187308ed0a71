// What a webhook request does: POST /robot/send (the group robots' API), POST /push/<channel>
// and POST /send/<client-id> (Bearer tokens). Checks that need only the head run before the
// body is read (check_webhook_head); the rest once it is in (webhook). Robot replies are
// HTTP 200 with the robots' errcode, as existing robot clients expect; /push and /send
// answer with the HTTP status that fits and the same JSON.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <sys/socket.h>

#include "base/clock.h"
#include "base/log.h"
#include "codec/utf8.h"
#include "http/query.h"
#include "http/response.h"
#include "push/envelope.h"
#include "push/names.h"
#include "robot/card.h"
#include "robot/signature.h"
#include "server/server.h"

namespace wspush::server {
namespace {

// The media type of a Content-Type value, lowercased, and whether its charset (if any) is
// UTF-8. RFC 9110 8.3.1: type and subtype are case-insensitive, so is the charset name.
struct MediaType {
    std::string type;
    bool utf8 = true;
};

// The part of s before the first `sep` (all of s if none); s keeps what follows it.
std::string_view take(std::string_view& s, char sep) {
    const size_t at = s.find(sep);
    const std::string_view head = s.substr(0, at);
    s = at == std::string_view::npos ? std::string_view() : s.substr(at + 1);
    return head;
}

std::string_view trim(std::string_view v) {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    return v;
}

MediaType media_type(std::string_view v) {
    MediaType m;
    for (char ch : trim(take(v, ';'))) m.type += static_cast<char>(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
    while (!v.empty()) {  // parameters: name=value; only charset matters
        std::string_view value = take(v, ';');
        if (!http::iequals(trim(take(value, '=')), "charset")) continue;
        value = trim(value);
        if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
        m.utf8 = http::iequals(value, "utf-8") || http::iequals(value, "utf8");
    }
    return m;
}

// The opcode a /push or /send body goes out as, from its Content-Type; kContinuation
// (never a data opcode) when the type is not one we push.
ws::Opcode push_opcode(const http::Request& req) {
    MediaType m = media_type(req.header("Content-Type"));
    if (m.type == "application/octet-stream") return ws::Opcode::kBinary;
    if ((m.type.starts_with("text/") || m.type == "application/json") && m.utf8) return ws::Opcode::kText;
    return ws::Opcode::kContinuation;
}

WebhookReply fail(HttpRoute route, uint16_t status, robot::ErrCode code, std::string msg) {
    WebhookReply r;
    r.status = route == HttpRoute::kRobot ? 200 : status;  // the robots answer 200 to all
    r.errcode = code;
    r.errmsg = std::move(msg);
    r.challenge = status == 401 && route != HttpRoute::kRobot;
    return r;
}

// The token of a request: ?access_token= (robot API) or "Authorization: Bearer" (/push,
// /send). False with *err set when it is missing or ambiguous.
bool token_of(const http::Request& req, HttpRoute route, std::string& token, WebhookReply* err) {
    if (route == HttpRoute::kRobot) {
        std::string_view raw;
        size_t n = http::find_param(http::query_of(req.target), "access_token", &raw);
        if (n != 1) {
            *err = fail(route, 401, robot::kUnknownToken, n ? "access_token given more than once" : "access_token is missing");
            return false;
        }
        token.resize(raw.size());
        http::Decoded d = http::percent_decode(raw, token.data(), token.size());
        token.resize(d.len);
        return true;
    }
    std::string_view auth = req.header("Authorization");
    if (req.count_header("Authorization") != 1 || auth.size() < 7 || !http::iequals(auth.substr(0, 7), "Bearer ")) {
        *err = fail(route, 401, robot::kUnknownToken, "Authorization: Bearer <token> is missing");
        return false;
    }
    auth.remove_prefix(7);
    while (!auth.empty() && auth.front() == ' ') auth.remove_prefix(1);
    token.assign(auth);
    return true;
}

bool has_keyword(const robot::Robot& r, std::string_view text) {
    return std::any_of(r.keywords.begin(), r.keywords.end(),
                       [&](const std::string& k) { return text.find(k) != std::string_view::npos; });
}

// The refusal of a message over r's rate: 130101 with Retry-After (429 on /push, /send).
WebhookReply too_fast(HttpRoute route, const robot::Robot& r, const robot::Limiter& limiter, uint64_t now_ms) {
    char msg[96];
    if (r.window_ms % 1000 == 0) snprintf(msg, sizeof msg, "send too fast, exceed %u times per %u s", r.rate, r.window_ms / 1000);
    else snprintf(msg, sizeof msg, "send too fast, exceed %u times per %u ms", r.rate, r.window_ms);
    WebhookReply w = fail(route, 429, robot::kTooFast, msg);
    w.retry_after_s = limiter.retry_after_s(now_ms);
    return w;
}

}  // namespace

void Server::init_robots() {
    robots_.clear();
    robots_.reserve(cfg_.robots.size());
    for (const robot::Robot& r : cfg_.robots) robots_.emplace_back(r.rate, r.window_ms, r.throttle_ms);
    token_digests_ = robot::token_digests(cfg_.robots);
}

bool Server::check_webhook_head(Connection& c, const http::Request& req, WebhookReply& out) {
    HttpSession& s = *c.http;
    std::string token;
    if (!token_of(req, s.route, token, &out)) return false;
    const ptrdiff_t idx = robot::find_token(token_digests_, token);
    if (idx < 0) {
        out = fail(s.route, 401, robot::kUnknownToken, "token is not exist");
        return false;
    }
    s.robot = static_cast<int32_t>(idx);
    const robot::Robot& r = cfg_.robots[static_cast<size_t>(idx)];
    auto refuse = [&](uint16_t status, robot::ErrCode code, std::string msg) {
        ++robots_[static_cast<size_t>(idx)].refused;
        out = fail(s.route, status, code, std::move(msg));
        return false;
    };
    const std::string_view path = http::path_of(req.target);
    const std::string_view name = path.substr(std::min<size_t>(path.size(), 6));  // after /push/ or /send/
    if (s.route == HttpRoute::kRobot && r.is_pattern())
        return refuse(400, robot::kPatternRobot, "this token covers a channel pattern: POST /push/<channel>");
    if (s.route != HttpRoute::kRobot && !push::valid_name(name))
        return refuse(404, robot::kBadField, s.route == HttpRoute::kPush ? "not a channel name" : "not a client id");
    if (s.route == HttpRoute::kPush && !r.covers(name))
        return refuse(403, robot::kNotAllowed, "this token does not cover channel " + std::string(name));
    if (!r.allow.empty()) {
        sockaddr_storage peer{};
        socklen_t len = sizeof peer;
        const bool known = getpeername(fd_of(c), reinterpret_cast<sockaddr*>(&peer), &len) == 0;
        if (!known || std::none_of(r.allow.begin(), r.allow.end(),
                                   [&](const robot::AddressRange& a) { return robot::range_contains(a, peer); })) {
            char text[64];
            robot::format_address(peer, text);
            return refuse(403, robot::kSecurity, std::string("ip ") + text + " not in whitelist");
        }
    }
    if (!r.secret.empty()) {
        robot::SignCheck k = robot::check_signature(http::query_of(req.target), r.secret, base::realtime_ms());
        if (k != robot::SignCheck::kOk) return refuse(403, robot::kSecurity, robot::describe(k));
    }
    if (s.route == HttpRoute::kRobot) {
        MediaType m = media_type(req.header("Content-Type"));
        if (m.type != "application/json" || !m.utf8)
            return refuse(415, robot::kBadContentType, "Content-Type must be application/json (charset utf-8)");
    } else if (const ws::Opcode op = push_opcode(req);
               op == ws::Opcode::kContinuation || (s.route == HttpRoute::kSend && op == ws::Opcode::kBinary)) {
        return refuse(415, robot::kBadContentType,
                      s.route == HttpRoute::kSend ? "Content-Type must be text/* or application/json (UTF-8)"
                                                  : "Content-Type must be text/*, application/json (UTF-8) or "
                                                    "application/octet-stream");
    }
    return true;
}

WebhookReply Server::too_large(HttpRoute route) {
    char msg[96];
    snprintf(msg, sizeof msg, "body is over %llu bytes", static_cast<unsigned long long>(cfg_.robot_max_body));
    return fail(route, 413, robot::kTooLarge, msg);
}

WebhookReply Server::webhook(Connection& c, const http::Request& req, std::string_view body) {
    const HttpSession& s = *c.http;
    // A reload while the body was read removed the robot, or changed what its head was
    // checked against (reload_robots).
    if (s.robot < 0) return fail(s.route, 401, robot::kUnknownToken, "token is not exist");
    const size_t i = static_cast<size_t>(s.robot);
    const robot::Robot& r = cfg_.robots[i];
    RobotRuntime& rt = robots_[i];
    if (s.route == HttpRoute::kRobot) return robot_send(i, body);
    const std::string_view name = http::path_of(req.target).substr(6);
    const ws::Opcode op = push_opcode(req);
    if (op == ws::Opcode::kText && !codec::utf8_valid(body)) {
        ++rt.refused;
        return fail(s.route, 400, robot::kBadJson, "body is not UTF-8");
    }
    // A push that cannot be taken costs no rate.
    if (s.route == HttpRoute::kPush && hub_.find(name) == nullptr && hub_.at_channel_limit()) {
        ++rt.refused;
        return fail(s.route, 503, robot::kUnavailable, "too many channels");
    }
    if (!robot_admit(i)) {
        ++rt.throttled;
        ++rt.refused;
        return too_fast(s.route, r, rt.limiter, now_ms_);
    }
    if (s.route == HttpRoute::kSend) return send_to_id(i, rt, name, body);
    push::Channel* ch = hub_.channel(name);
    Published p;
    if (ch == nullptr || !publish_to(*ch, op, body, nullptr, p)) {
        ++rt.refused;
        return fail(s.route, 503, robot::kUnavailable, ch ? "out of memory" : "too many channels");
    }
    WebhookReply w = published_reply(rt, p);
    if (w.errcode != robot::kRedis) w.extra = ",\"seq\":" + std::to_string(p.seq) + ",\"delivered\":" + std::to_string(p.delivered);
    w.redis_seq = true;
    if (p.request) pending_publication(p.request).webhook_seq = true;  // said once numbered
    return w;
}

WebhookReply Server::published_reply(RobotRuntime& rt, const Published& p) {
    WebhookReply w;
    if (redis_) {  // answered when Redis has it (answer_held), or refused now
        if (p.redis == 0) {
            ++rt.refused;
            w.status = 503;
            w.errcode = robot::kRedis;
            w.errmsg = "redis: " + redis_refusal_;
            return w;
        }
        ++rt.accepted;
        w.held = true;
        w.redis_ticket = p.redis;
        return w;
    }
    if (p.journal < 0) {  // delivered and kept in memory, but not on disk
        ++rt.refused;
        journal_refusal(w, journal_reason());
        return w;
    }
    ++rt.accepted;
    w.held = p.journal > 0 || p.request != 0;
    w.request = p.request;
    return w;
}

WebhookReply Server::robot_send(size_t i, std::string_view body) {
    const robot::Robot& r = cfg_.robots[i];
    RobotRuntime& rt = robots_[i];
    // check_webhook_head refuses a pattern robot too; never hand the hub a pattern.
    if (r.is_pattern()) {
        ++rt.refused;
        return fail(HttpRoute::kRobot, 400, robot::kPatternRobot, "this token covers a channel pattern: POST /push/<channel>");
    }
    robot::Card card;
    robot::CardError err;
    if (!robot::parse_card(body, r.name, base::realtime_ms(), &card, &err)) {
        ++rt.refused;
        return fail(HttpRoute::kRobot, 400, err.code, std::move(err.message));
    }
    if (!r.keywords.empty() && !has_keyword(r, card.search_text)) {
        ++rt.refused;
        return fail(HttpRoute::kRobot, 400, robot::kSecurity, "keywords not in content");
    }
    if (hub_.find(r.channel) == nullptr && hub_.at_channel_limit()) {  // costs no rate
        ++rt.refused;
        return fail(HttpRoute::kRobot, 503, robot::kUnavailable, "too many channels");
    }
    // What was folded while throttled goes out before anything newer.
    if (!rt.digest.empty() && now_ms_ >= rt.digest_due) (void)push_digest(i);
    if (!robot_admit(i)) {
        ++rt.throttled;
        if (r.overflow == robot::Overflow::kRefuse) {
            ++rt.refused;
            return too_fast(HttpRoute::kRobot, r, rt.limiter, now_ms_);
        }
        digest(rt, card);
        WebhookReply w;
        w.extra = ",\"digest\":true";
        return w;
    }
    // Still pending (due later than the limiter now allows, e.g. after a reload): it goes
    // first all the same.
    if (!rt.digest.empty()) (void)push_digest(i);
    push::Channel* ch = hub_.channel(r.channel);
    Published p;
    if (ch == nullptr || !publish_to(*ch, ws::Opcode::kText, card.payload, &card.mention_ids, p)) {
        ++rt.refused;
        return fail(HttpRoute::kRobot, 503, robot::kUnavailable, ch ? "out of memory" : "too many channels");
    }
    return published_reply(rt, p);
}

uint64_t Server::digest_due(const RobotRuntime& rt) const noexcept {
    return rt.limiter.throttled(now_ms_) ? rt.limiter.throttled_until()
                                         : now_ms_ + 1000ull * rt.limiter.retry_after_s(now_ms_);
}

void Server::digest(RobotRuntime& rt, const robot::Card& card) {
    // Accepted into the digest: the caller must not retry (nothing is duplicated). It goes
    // out when the throttle ends (without one: when the window lets a message pass).
    if (rt.digest.empty()) {
        rt.digest_due = digest_due(rt);
        rt.mentions.clear();
        rt.at_all = false;
    }
    rt.digest.add(base::realtime_ms(), card.summary);
    // Whom the folded messages mentioned is kept (bounded) and told with the digest.
    for (const std::string& id : card.mention_ids)
        if (rt.mentions.size() < robot::kMaxMentions && std::find(rt.mentions.begin(), rt.mentions.end(), id) == rt.mentions.end())
            rt.mentions.push_back(id);
    rt.at_all = rt.at_all || card.at_all;
    ++rt.digested;
    if (digest_at_ == 0 || rt.digest_due < digest_at_) digest_at_ = rt.digest_due;
}

bool Server::publish_to(push::Channel& ch, ws::Opcode op, std::string_view data,
                        const std::vector<std::string>* mentions, Published& out) {
    const std::string name(ch.name());  // ch may be forgotten by the publication
    const uint64_t epoch = ch.epoch;
    if (!publish_on(ch, op, data, nullptr, out)) {
        ++stats_.out_of_memory;
        return false;
    }
    if (out.request && mentions && !mentions->empty()) {
        pending_publication(out.request).mentions = *mentions;  // told once numbered (workers.cpp)
    } else if (mentions && !mentions->empty()) {
        const uint64_t before = stats_.messages_out;
        mention(name, epoch, out.seq, data, *mentions);
        out.delivered += stats_.messages_out - before;
    }
    return true;
}

void Server::mention(std::string_view channel, uint64_t epoch, uint64_t seq, std::string_view data,
                     const std::vector<std::string>& ids) {
    // Mentioned clients that did not join the channel get the message too, as a "mention"
    // (members already have it; the card's "at" tells them).
    push::Message* raw = push::Message::make(ws::Opcode::kText, data.data(), data.size());
    push::Message* env = raw ? push::make_envelope(channel, epoch, seq, *raw, "mention") : nullptr;
    if (env == nullptr) {
        if (raw) raw->unref();
        ++stats_.out_of_memory;
        LOG_WARN("robot mention: out of memory; %zu id(s) not told", ids.size());
        return;
    }
    const push::Channel* ch = hub_.find(channel);  // null: it has no members left
    for (const std::string& id : ids) {
        if (!push::valid_name(id) || push::is_server_id(id)) continue;  // no client can have it
        for_each_with_id(id, [&](Connection& c) {
            for (size_t i = 0; ch != nullptr && i < channel_count(c); ++i)
                if (subscription(c, i).channel == ch) return;
            send(c, c.has(kFlagEnvelope) ? env : raw);
        });
    }
    raw->unref();
    env->unref();
}

bool Server::robot_admit(size_t i) {
    robot::Limiter& l = robots_[i].limiter;
    const uint64_t throttle = l.throttled_until();
    const bool ok = l.admit(now_ms_);
    // --workers: one rate for the robot whichever worker takes its requests (workers.cpp).
    if (worker_ && (ok || l.throttled_until() != throttle)) ask_all_rate(i, ok ? 0 : l.throttled_until());
    return ok;
}

WebhookReply Server::send_to_id(size_t robot, RobotRuntime& rt, std::string_view id, std::string_view body) {
    const size_t n = send_to_id_here(cfg_.robots[robot], id, body);
    if (n == SIZE_MAX) {
        ++rt.refused;
        return fail(HttpRoute::kSend, 503, robot::kUnavailable, "out of memory");
    }
    ++rt.accepted;
    WebhookReply w;
    w.extra = ",\"delivered\":" + std::to_string(n);
    if (worker_) {  // and on every other worker: answered with the sum (workers.cpp all_ran)
        w.request = ask_all_send_to(robot, id, body, n);
        w.held = w.request != 0;
    }
    return w;
}

size_t Server::send_to_id_here(const robot::Robot& r, std::string_view id, std::string_view body) {
    // Only clients in a channel the token covers: a token for sensors.* cannot reach a client
    // that joined nothing of it.
    push::Message* raw = push::Message::make(ws::Opcode::kText, body.data(), body.size());
    push::Message* env = raw ? push::make_direct_envelope("direct", body) : nullptr;
    if (env == nullptr) {
        if (raw) raw->unref();
        ++stats_.out_of_memory;
        return SIZE_MAX;
    }
    size_t n = 0;
    for_each_with_id(id, [&](Connection& c) {
        for (size_t i = 0; i < channel_count(c); ++i) {
            if (!r.covers(subscription(c, i).channel->name())) continue;
            n += send(c, c.has(kFlagEnvelope) ? env : raw);
            return;
        }
    });
    raw->unref();
    env->unref();
    return n;
}

void Server::flush_digests(bool force) {
    digest_at_ = 0;
    for (size_t i = 0; i < robots_.size(); ++i) {
        RobotRuntime& rt = robots_[i];
        if (rt.digest.empty()) continue;
        if ((force || now_ms_ >= rt.digest_due) && push_digest(i)) continue;
        if (digest_at_ == 0 || rt.digest_due < digest_at_) digest_at_ = rt.digest_due;
    }
}

bool Server::push_digest(size_t i) {
    const robot::Robot& r = cfg_.robots[i];
    RobotRuntime& rt = robots_[i];
    std::string title, text;
    rt.digest.render(r.name, title, text);
    robot::DigestFacts facts;
    facts.count = rt.digest.count();
    facts.first_ms = rt.digest.first_ms();
    facts.last_ms = rt.digest.last_ms();
    facts.omitted = rt.digest.omitted();
    facts.mention_ids = rt.mentions;
    facts.at_all = rt.at_all;
    if (r.is_pattern()) {  // unreachable (robot_send digests for a channel only); never hand the hub a pattern
        LOG_WARN("robot %s: digest of %llu message(s) dropped: %s is a pattern", r.name.c_str(),
                 static_cast<unsigned long long>(rt.digest.count()), r.channel.c_str());
        rt.digest.clear();
        rt.mentions.clear();
        rt.at_all = false;
        return true;
    }
    const std::string payload = robot::digest_payload(r.name, base::realtime_ms(), title, text, facts);
    push::Channel* ch = hub_.channel(r.channel);
    Published p;  // no one waits for a digest: a failing journal is logged and in STATS
    const bool pushed = ch != nullptr && publish_to(*ch, ws::Opcode::kText, payload, &rt.mentions, p);
    if (!pushed || (redis_ && p.redis == 0)) {  // --redis: refused at once (its queue is full)
        // Kept, not lost: tried again in a second.
        LOG_WARN("robot %s: digest of %llu message(s) not pushed (%s); retrying", r.name.c_str(),
                 static_cast<unsigned long long>(rt.digest.count()),
                 pushed ? "redis unavailable" : ch ? "out of memory" : "too many channels");
        rt.digest_due = now_ms_ + 1000;
        return false;
    }
    if (p.request)  // --workers: numbered by the parent later
        LOG_INFO("robot %s: digest of %llu throttled message(s) pushed", r.name.c_str(),
                 static_cast<unsigned long long>(rt.digest.count()));
    else
        LOG_INFO("robot %s: digest of %llu throttled message(s) pushed as #%llu", r.name.c_str(),
                 static_cast<unsigned long long>(rt.digest.count()), static_cast<unsigned long long>(p.seq));
    rt.digest.clear();
    rt.mentions.clear();
    rt.at_all = false;
    return true;
}

void Server::reply_webhook(Connection& c, const WebhookReply& w) {
    if (!w.page_type.empty()) {  // a held page (page_everywhere)
        reply(c, http::ok_head(w.page_type.c_str()), w.page_body, w.head_only);
        return;
    }
    std::string body = "{\"errcode\":" + std::to_string(w.errcode) + ",\"errmsg\":\"";
    push::json_escape(body, w.errmsg);
    body += '"';
    body += w.extra;
    body += '}';
    ++stats_.webhook_requests;
    if (w.errcode != robot::kOk) {
        ++stats_.webhook_errors;
        log_webhook_refused(c, w);
    }
    http::ResponseHead head = http::ok_head("application/json; charset=utf-8");
    head.status = w.status;
    head.retry_after_s = w.retry_after_s;
    if (w.challenge) head.authenticate = "Bearer";
    reply(c, head, body);
}

}  // namespace wspush::server
