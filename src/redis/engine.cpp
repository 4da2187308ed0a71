#include "redis/engine.h"

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <utility>

#include "base/log.h"
#include "codec/sha1.h"

namespace wspush::redis {
namespace {

// KEYS: meta, hist, the epoch floor. ARGV: history count, t|b, payload, pub/sub channel.
// Lua numbers are doubles: epochs (microseconds, ~2^51 today) and seqs stay exact below 2^53.
constexpr std::string_view kPublishScript = R"lua(
local e = redis.call('HGET', KEYS[1], 'epoch')
if not e then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  local floor = tonumber(redis.call('GET', KEYS[3]) or '0')
  if now <= floor then now = floor + 1 end
  e = string.format('%d', now)
  redis.call('SET', KEYS[3], e)
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'epoch', e, 'seq', 0)
end
local s = redis.call('HINCRBY', KEYS[1], 'seq', 1)
local entry = string.format('%d', s) .. ' ' .. e .. ' ' .. ARGV[2] .. ' ' .. ARGV[3]
local max = tonumber(ARGV[1])
if max > 0 then
  redis.call('RPUSH', KEYS[2], entry)
  redis.call('LTRIM', KEYS[2], -max, -1)
else
  redis.call('DEL', KEYS[2])
end
redis.call('PUBLISH', ARGV[4], entry)
return {e, s}
)lua";

// KEYS: meta, hist. ARGV: the cursor's epoch ('' for none), its seq. Returns {} for a channel
// without keys, else {epoch, last, first, entries...}: those after the cursor when it is
// covered, else all kept.
constexpr std::string_view kReadScript = R"lua(
local m = redis.call('HMGET', KEYS[1], 'epoch', 'seq')
if not m[1] then return {} end
local last = tonumber(m[2])
local first = last - redis.call('LLEN', KEYS[2]) + 1
local since = tonumber(ARGV[2])
local start = 0
if (ARGV[1] == '' or ARGV[1] == m[1]) and since <= last and since + 1 >= first then
  start = since + 1 - first
end
local r = {m[1], last, first}
for _, x in ipairs(redis.call('LRANGE', KEYS[2], start, -1)) do r[#r + 1] = x end
return r
)lua";

constexpr std::string_view kClosed = "closed";
constexpr std::string_view kLost = "redis connection lost: outcome unknown";
constexpr std::string_view kQueueFull = "redis unavailable: publish queue full";
constexpr std::string_view kNotUp = "redis unavailable";

std::string sha1_hex(std::string_view text) {
    const codec::Sha1Digest d = codec::sha1(text);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (uint8_t b : d) {
        out += kHex[b >> 4];
        out += kHex[b & 15];
    }
    return out;
}

bool parse_u64(std::string_view s, uint64_t& v) noexcept {
    if (s.empty()) return false;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return ec == std::errc() && p == s.data() + s.size();
}

// A decimal from a bulk string or an integer reply.
bool number(const Value& v, uint64_t& out) noexcept {
    if (v.type() == Type::kInteger) {
        if (v.integer() < 0) return false;
        out = static_cast<uint64_t>(v.integer());
        return true;
    }
    return parse_u64(v.str(), out);
}

std::string decimal(uint64_t v) {
    char buf[24];
    const int n = snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(v));
    return std::string(buf, static_cast<size_t>(n));
}

// The read script's reply, judged against `after` as push::Hub::covers does.
void parse_history(const Value& v, const Cursor& after, HistoryRead& h) {
    if (v.is_error()) {
        h.error = v.str();
        return;
    }
    if (v.type() != Type::kArray || (v.size() != 0 && v.size() < 3)) {
        h.error = "unexpected reply to the history read";
        return;
    }
    h.ok = true;
    if (v.size() == 0) {
        h.covers = !after.has_epoch && after.seq == 0;
        return;
    }
    if (!number(v.at(0), h.epoch) || !number(v.at(1), h.last) || !number(v.at(2), h.first)) {
        h.ok = false;
        h.error = "unexpected reply to the history read";
        return;
    }
    h.exists = true;
    h.covers = (!after.has_epoch || after.epoch == h.epoch) && after.seq <= h.last && after.seq + 1 >= h.first;
    for (size_t i = 3; i < v.size(); ++i) {
        Entry e;
        if (!parse_entry(v.at(i).str(), e)) continue;
        if (h.covers && e.seq <= after.seq) continue;
        h.entries.push_back(std::move(e));
    }
}

}  // namespace

bool parse_entry(std::string_view text, Entry& out) {
    const size_t a = text.find(' ');
    if (a == std::string_view::npos) return false;
    const size_t b = text.find(' ', a + 1);
    if (b == std::string_view::npos || b + 3 > text.size()) return false;
    if (!parse_u64(text.substr(0, a), out.seq) || !parse_u64(text.substr(a + 1, b - a - 1), out.epoch)) return false;
    if (text[b + 1] != 't' && text[b + 1] != 'b') return false;
    out.binary = text[b + 1] == 'b';
    // "t.ORIGIN" / "b.ORIGIN": the publisher's tag, up to the next space.
    size_t rest = b + 2;
    out.origin.clear();
    if (text[rest] == '.') {
        const size_t sp = text.find(' ', rest + 1);
        if (sp == std::string_view::npos || sp == rest + 1) return false;
        out.origin.assign(text.substr(rest + 1, sp - rest - 1));
        rest = sp;
    }
    if (text[rest] != ' ') return false;
    out.payload.assign(text.substr(rest + 1));
    return true;
}

struct Engine::Pub {
    std::string channel;
    std::string payload;
    std::string type;  // "t", "b", or either with ".ORIGIN"
    bool binary;
    bool retried = false;  // sent again after NOSCRIPT
    PublishedFn fn;
    void* ctx;
    Engine* engine = nullptr;
};

struct Engine::Read {
    Engine* engine;
    std::string channel;
    Cursor after;
    uint64_t round;  // 0: a caller's read(); else a subscribed channel's
    HistoryFn fn;
    void* ctx;
    bool retried = false;
};

Engine::Engine(net::Reactor& reactor, uint64_t tag, EngineOptions options)
    : tag_(tag),
      options_(std::move(options)),
      writer_(reactor, tag, [&] {
          ClientOptions o = options_.client;
          o.subscriber = false;
          return o;
      }()),
      subscriber_(reactor, tag + 1, [&] {
          ClientOptions o = options_.client;
          o.subscriber = true;
          return o;
      }()),
      pub_sha_(sha1_hex(kPublishScript)),
      read_sha_(sha1_hex(kReadScript)) {
    writer_.set_state_handler(on_writer_state, this);
    subscriber_.set_state_handler(on_sub_state, this);
    subscriber_.set_push_handler(on_push, this);
}

Engine::~Engine() { stop(); }

bool Engine::start(uint64_t now_ms, std::string& err) {
    if (!writer_.start(now_ms, err)) return false;
    return subscriber_.start(now_ms, err);
}

void Engine::stop() noexcept {
    writer_.stop();
    subscriber_.stop();
    while (!queue_.empty()) {
        Pub* p = queue_.front();
        queue_.pop_front();
        stats_.queued_bytes -= p->payload.size();
        finish_pub(p, Published{false, 0, 0, kClosed});
    }
    stats_.queued = 0;
}

std::string Engine::key(std::string_view kind, std::string_view name) const {
    std::string k = options_.prefix;
    if (kind == "pub") return k.append("pub:").append(name);
    return k.append("ch:{").append(name).append("}:").append(kind);
}

Engine::Chan* Engine::find(std::string_view name) noexcept {
    const auto it = chans_.find(name);
    return it == chans_.end() ? nullptr : it->second.get();
}

// ---- publish ---------------------------------------------------------------------------

void Engine::publish(std::string_view channel, bool binary, std::string_view payload, PublishedFn fn, void* ctx,
                     std::string_view origin) {
    std::string type(binary ? "b" : "t");
    if (!origin.empty()) type.append(".").append(origin);
    auto* p = new Pub{std::string(channel), std::string(payload), std::move(type), binary, false, fn, ctx, this};
    if (queue_.empty() && writer_up() && send_pub(p)) return;
    if (queue_.size() >= options_.max_queued || stats_.queued_bytes + payload.size() > options_.max_queued_bytes) {
        ++stats_.refused;
        finish_pub(p, Published{false, 0, 0, kQueueFull});
        return;
    }
    queue_.push_back(p);
    stats_.queued = queue_.size();
    stats_.queued_bytes += payload.size();
}

bool Engine::send_pub(Pub* p) noexcept {
    const std::string meta = key("meta", p->channel), hist = key("hist", p->channel), floor = options_.prefix + "epoch";
    const std::string max = decimal(options_.history), pubch = key("pub", p->channel);
    const std::string_view args[] = {"EVALSHA", pub_sha_, "3", meta, hist, floor, max, p->type,
                                     p->payload, pubch};
    return writer_.command(args, on_pub_reply, p, 0) == 0;
}

void Engine::send_queued() noexcept {
    while (!queue_.empty() && writer_up()) {
        Pub* p = queue_.front();
        if (!send_pub(p)) break;  // the client's output is full: the rest at the next flush
        queue_.pop_front();
        stats_.queued_bytes -= p->payload.size();
    }
    stats_.queued = queue_.size();
}

void Engine::finish_pub(Pub* p, const Published& result) noexcept {
    if (result.ok) ++stats_.sent;
    else ++stats_.errors;
    if (p->fn) p->fn(p->ctx, result);
    delete p;
}

void Engine::on_load_reply(void*, const Reply& r) noexcept {
    if (r.value && r.value->is_error())
        LOG_WARN("redis: SCRIPT LOAD refused: %.*s", static_cast<int>(r.value->str().size()), r.value->str().data());
}

void Engine::on_pub_reply(void* ctx, const Reply& r) noexcept {
    auto* p = static_cast<Pub*>(ctx);
    Engine& e = *p->engine;
    if (r.value == nullptr) {
        e.finish_pub(p, Published{false, 0, 0, kLost});
        return;
    }
    const Value& v = *r.value;
    if (v.is_error()) {
        // The scripts were flushed (SCRIPT FLUSH, a failover): load and send it again, once.
        if (v.str().starts_with("NOSCRIPT") && !p->retried) {
            p->retried = true;
            (void)e.writer_.command({"SCRIPT", "LOAD", kPublishScript}, on_load_reply, &e, 0);
            if (e.send_pub(p)) return;
        }
        e.finish_pub(p, Published{false, 0, 0, v.str()});
        return;
    }
    Published out{true, 0, 0, {}};
    if (v.type() != Type::kArray || v.size() != 2 || !number(v.at(0), out.epoch) || !number(v.at(1), out.seq))
        out = Published{false, 0, 0, "unexpected reply to the publish script"};
    e.finish_pub(p, out);
}

// ---- history ---------------------------------------------------------------------------

void Engine::read(std::string_view channel, const Cursor& after, HistoryFn fn, void* ctx) {
    auto* r = new Read{this, std::string(channel), after, 0, fn, ctx};
    if (!writer_up() || !send_read(r)) {
        HistoryRead h;
        h.error = kNotUp;
        if (fn) fn(ctx, h);
        delete r;
    }
}

bool Engine::send_read(Read* r) noexcept {
    const std::string meta = key("meta", r->channel), hist = key("hist", r->channel);
    const std::string epoch = r->after.has_epoch ? decimal(r->after.epoch) : std::string();
    const std::string seq = decimal(r->after.seq);
    const std::string_view args[] = {"EVALSHA", read_sha_, "2", meta, hist, epoch, seq};
    return writer_.command(args, on_read_reply, r, 0) == 0;
}

void Engine::on_read_reply(void* ctx, const Reply& r) noexcept {
    std::unique_ptr<Read> rd(static_cast<Read*>(ctx));
    Engine& e = *rd->engine;
    HistoryRead h;
    if (r.value == nullptr) h.error = r.failure;
    else parse_history(*r.value, rd->after, h);
    if (!h.ok && r.value && r.value->str().starts_with("NOSCRIPT") && !rd->retried) {
        rd->retried = true;
        (void)e.writer_.command({"SCRIPT", "LOAD", kReadScript}, on_load_reply, &e, 0);
        if (e.send_read(rd.get())) {
            (void)rd.release();
            return;
        }
    }
    if (rd->round == 0) {
        if (rd->fn) rd->fn(rd->ctx, h);
        return;
    }
    Chan* c = e.find(rd->channel);
    if (c == nullptr || c->round != rd->round || c->phase != Phase::kReading) return;  // stale
    c->read_sent = false;
    if (!h.ok) {
        // Lost with the connection: sent again when it is back. Refused: again at the next
        // hole or reconnect (never in a loop).
        if (r.value == nullptr) e.reads_waiting_ = true;
        else LOG_WARN("redis: history of %s: %.*s", c->name.c_str(), static_cast<int>(h.error.size()), h.error.data());
        return;
    }
    e.chan_read(*c, h);
}

// ---- subscriptions ---------------------------------------------------------------------

bool Engine::subscribe(std::string_view channel, const Cursor& from, bool live_only) {
    if (find(channel)) return false;
    auto c = std::make_unique<Chan>();
    c->name.assign(channel);
    c->at = from;
    c->live_only = live_only;
    Chan& ref = *c;
    chans_.emplace(ref.name, std::move(c));
    if (subscriber_up()) send_subscribe(ref, true);
    return true;
}

bool Engine::unsubscribe(std::string_view channel) {
    const auto it = chans_.find(channel);
    if (it == chans_.end()) return false;
    if (subscriber_up()) send_subscribe(*it->second, false);
    it->second->gone = true;
    graveyard_.push_back(std::move(it->second));
    chans_.erase(it);
    return true;
}

const Cursor* Engine::cursor(std::string_view channel) const noexcept {
    const auto it = chans_.find(channel);
    return it == chans_.end() ? nullptr : &it->second->at;
}

const char* Engine::state_text() const noexcept {
    const bool w = writer_up(), s = subscriber_up();
    return w && s ? "up" : w || s ? "degraded" : "down";
}

bool Engine::loaded(std::string_view channel) const noexcept {
    const auto it = chans_.find(channel);
    return it != chans_.end() && it->second->was_live;
}

bool Engine::live(std::string_view channel) const noexcept {
    const auto it = chans_.find(channel);
    return it != chans_.end() && it->second->phase == Phase::kLive;
}

bool Engine::send_subscribe(Chan& c, bool sub) noexcept {
    const std::string ch = key("pub", c.name);
    if (subscriber_.command({sub ? "SUBSCRIBE" : "UNSUBSCRIBE", ch}, nullptr, nullptr, 0) != 0) {
        // The output bound (thousands of channels after a reconnect): again at the next flush.
        // An UNSUBSCRIBE that is not sent leaves messages that find no channel: ignored.
        if (sub) subs_waiting_ = true;
        return false;
    }
    if (sub) {
        ++unconfirmed_[c.name];
        c.sub_sent = true;
    }
    return true;
}

void Engine::send_subscribes() noexcept {
    subs_waiting_ = false;
    for (auto& [name, c] : chans_)
        if (c->phase == Phase::kSubscribing && !c->sub_sent && !send_subscribe(*c, true)) return;
}

void Engine::on_sub_state(void* ctx, bool up) noexcept {
    Engine& e = *static_cast<Engine*>(ctx);
    e.unconfirmed_.clear();
    if (up && e.sub_ever_up_) ++e.stats_.reconnects;
    if (up) e.sub_ever_up_ = true;
    for (auto& [name, c] : e.chans_) {
        c->phase = Phase::kSubscribing;
        c->round = ++e.rounds_;  // a read in flight is stale now
        c->read_sent = false;
        c->overflow = false;
        c->buffered.clear();
        c->sub_sent = false;
    }
    if (up) e.send_subscribes();
}

void Engine::on_push(void* ctx, const Value& v) noexcept {
    Engine& e = *static_cast<Engine*>(ctx);
    if (v.size() < 3) return;
    const std::string_view kind = v.at(0).str();
    std::string_view name = v.at(1).str();
    const std::string pre = e.options_.prefix + "pub:";
    if (!name.starts_with(pre)) return;
    name.remove_prefix(pre.size());
    if (kind == "subscribe") {
        const auto it = e.unconfirmed_.find(name);
        if (it == e.unconfirmed_.end() || --it->second > 0) return;
        e.unconfirmed_.erase(it);
        // Every SUBSCRIBE of this name is in effect: what is published from now on arrives.
        if (Chan* c = e.find(name); c && c->phase == Phase::kSubscribing) e.begin_read(*c);
        return;
    }
    if (kind != "message") return;
    Chan* c = e.find(name);
    if (c == nullptr || c->phase == Phase::kSubscribing) return;  // read from history later
    Entry entry;
    if (!parse_entry(v.at(2).str(), entry)) {
        LOG_WARN("redis: a malformed message on %s dropped", c->name.c_str());
        return;
    }
    if (c->phase == Phase::kLive) {
        e.accept(*c, std::move(entry));
        return;
    }
    if (c->buffered.size() >= e.options_.max_buffered) {
        c->buffered.clear();
        c->overflow = true;
    }
    if (!c->overflow) c->buffered.push_back(std::move(entry));
}

void Engine::begin_read(Chan& c) noexcept {
    c.phase = Phase::kReading;
    c.round = ++rounds_;
    c.read_sent = false;
    reads_waiting_ = true;
    if (writer_up()) send_reads();
}

void Engine::send_reads() noexcept {
    reads_waiting_ = false;
    for (auto& [name, c] : chans_) {
        if (c->phase != Phase::kReading || c->read_sent) continue;
        auto* r = new Read{this, c->name, c->live_only ? Cursor{} : c->at, c->round, nullptr, nullptr};
        if (!send_read(r)) {
            delete r;
            reads_waiting_ = true;
            return;
        }
        c->read_sent = true;
        ++stats_.reads;
    }
}

void Engine::chan_read(Chan& c, const HistoryRead& h) noexcept {
    if (c.overflow) {  // messages were dropped while reading: read again from the cursor
        c.overflow = false;
        c.buffered.clear();
        begin_read(c);
        return;
    }
    if (c.live_only) {
        c.live_only = false;
        if (h.exists) c.at = Cursor{h.epoch, h.last, true};
    } else if (h.exists) {
        if (!h.covers) {
            ++stats_.gaps;
            Delivery d;
            d.kind = Delivery::Kind::kGap;
            d.channel = c.name;
            d.epoch = h.epoch;
            d.seq = h.first;
            d.since = c.at.seq;
            c.at = Cursor{h.epoch, h.first - 1, true};
            if (deliver_fn_) deliver_fn_(deliver_ctx_, d);
            if (c.gone) return;
        }
        for (const Entry& e : h.entries) {
            if (c.was_live) ++stats_.read_back;
            deliver(c, e);
            if (c.gone) return;
        }
        c.at = Cursor{h.epoch, h.last, true};
    }
    c.phase = Phase::kLive;
    if (!c.was_live) ++loads_;
    c.was_live = true;
    std::vector<Entry> buffered = std::move(c.buffered);
    c.buffered.clear();
    for (Entry& e : buffered) {
        if (c.gone) return;
        if (c.phase == Phase::kLive) accept(c, std::move(e));
        else c.buffered.push_back(std::move(e));
    }
}

void Engine::accept(Chan& c, Entry&& e) noexcept {
    if (c.at.has_epoch && (e.epoch < c.at.epoch || (e.epoch == c.at.epoch && e.seq <= c.at.seq)))
        return;  // had it already, or from an epoch that ended (epochs only grow)
    const bool next = (!c.at.has_epoch || e.epoch == c.at.epoch) && e.seq == c.at.seq + 1;
    if (next) {
        deliver(c, e);
        return;
    }
    // A hole, or another epoch (the channel was made again): history tells what happened.
    c.buffered.push_back(std::move(e));
    begin_read(c);
}

void Engine::deliver(Chan& c, const Entry& e) noexcept {
    c.at = Cursor{e.epoch, e.seq, true};
    ++stats_.delivered;
    if (!deliver_fn_) return;
    Delivery d;
    d.channel = c.name;
    d.epoch = e.epoch;
    d.seq = e.seq;
    d.binary = e.binary;
    d.payload = e.payload;
    d.origin = e.origin;
    deliver_fn_(deliver_ctx_, d);
}

// ---- the write connection and the loop -------------------------------------------------

void Engine::on_writer_state(void* ctx, bool up) noexcept {
    Engine& e = *static_cast<Engine*>(ctx);
    if (!up) return;  // in-flight requests failed already; queued ones wait
    if (e.writer_ever_up_) ++e.stats_.reconnects;
    e.writer_ever_up_ = true;
    // Loaded before anything that uses them, on the same connection: EVALSHA then finds them.
    (void)e.writer_.command({"SCRIPT", "LOAD", kPublishScript}, on_load_reply, &e, 0);
    (void)e.writer_.command({"SCRIPT", "LOAD", kReadScript}, on_load_reply, &e, 0);
    e.send_queued();
    e.send_reads();
}

void Engine::on_event(uint64_t tag, uint32_t events, uint64_t now_ms) noexcept {
    if (tag == tag_) writer_.on_event(events, now_ms);
    else if (tag == tag_ + 1) subscriber_.on_event(events, now_ms);
}

void Engine::flush(uint64_t now_ms) noexcept {
    if (subs_waiting_ && subscriber_up()) send_subscribes();
    subscriber_.flush(now_ms);
    if (writer_up()) {
        send_queued();
        if (reads_waiting_) send_reads();
    }
    writer_.flush(now_ms);
    graveyard_.clear();
}

int Engine::wait_ms(uint64_t now_ms) const noexcept {
    // Work held back by a full output buffer: the next turn sends more.
    if ((subs_waiting_ && subscriber_up()) || ((reads_waiting_ || !queue_.empty()) && writer_up())) return 0;
    const int a = writer_.wait_ms(now_ms), b = subscriber_.wait_ms(now_ms);
    if (a < 0) return b;
    if (b < 0) return a;
    return a < b ? a : b;
}

}  // namespace wspush::redis
