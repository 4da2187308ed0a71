// The Redis engine against a redis-server (tests/redis/redis_server.h: the run's shared one,
// under a key prefix of the test's own, or a private one for the tests that kill it, restart
// it, configure it or kill its clients): two engines ("two nodes") on one epoll reactor. A
// publish reaches every subscriber once, in order; one numbering per channel whichever node
// publishes; resume from history covers or reports a gap (after trimming too); a channel made
// again gets a higher epoch; a subscriber connection killed reads back what it missed; redis
// killed and restarted (an append-only file keeps the data) with publishes queued meanwhile;
// the queue bound; a joining node neither misses nor repeats a message; prefixes keep
// deployments apart; AUTH and SELECT. Every wait is a loop turn on epoll with a deadline.
#include "redis/engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "redis/redis_server.h"
#include "redis/turns.h"

namespace wspush::redis {
namespace {

using testing::RedisServer;

// What one node's callbacks saw.
struct Node {
    std::vector<std::string> got;       // "ch seq payload" per message, "GAP ch first since"
    std::vector<uint64_t> epochs;       // per message
    int binary = 0;                     // messages marked binary
    std::vector<std::string> results;   // publish completions: "seq" or "ERR <error>"
    std::vector<uint64_t> result_epochs;
};

void on_deliver(void* ctx, const Delivery& d) noexcept {
    auto* n = static_cast<Node*>(ctx);
    if (d.kind == Delivery::Kind::kGap) {
        n->got.push_back("GAP " + std::string(d.channel) + " " + std::to_string(d.seq) + " " + std::to_string(d.since));
        return;
    }
    n->got.push_back(std::string(d.channel) + " " + std::to_string(d.seq) + " " + std::string(d.payload));
    n->epochs.push_back(d.epoch);
    n->binary += d.binary;
}

void on_published(void* ctx, const Published& p) noexcept {
    auto* n = static_cast<Node*>(ctx);
    n->results.push_back(p.ok ? std::to_string(p.seq) : "ERR " + std::string(p.error));
    n->result_epochs.push_back(p.epoch);
}

struct Read {
    bool done = false;
    HistoryRead h;
    std::vector<uint64_t> seqs;
};

void on_history(void* ctx, const HistoryRead& h) noexcept {
    auto* r = static_cast<Read*>(ctx);
    r->done = true;
    r->h.ok = h.ok, r->h.covers = h.covers, r->h.exists = h.exists;
    r->h.epoch = h.epoch, r->h.last = h.last, r->h.first = h.first;
    for (const Entry& e : h.entries) r->seqs.push_back(e.seq);
    r->h.entries = h.entries;
}

// A plain command's outcome: "" until it comes, then its text ("OK", "1", "(null)") or "ERR ...".
void on_raw(void* ctx, const Reply& r) noexcept {
    auto* out = static_cast<std::string*>(ctx);
    if (r.value == nullptr) *out = "ERR " + std::string(r.failure);
    else if (r.value->is_error()) *out = "ERR " + std::string(r.value->str());
    else if (r.value->type() == Type::kInteger) *out = std::to_string(r.value->integer());
    else if (r.value->is_null()) *out = "(null)";
    else *out = std::string(r.value->str());
}

EngineOptions options(const std::string& address, std::string prefix) {
    EngineOptions o;
    o.client.address = address;
    o.client.backoff.initial_ms = 20;
    o.client.backoff.max_ms = 200;
    o.client.backoff.connect_timeout_ms = 3000;
    o.prefix = std::move(prefix);
    return o;
}

// A connection lost stays down for 1..2 s: what the test does meanwhile falls in the outage.
EngineOptions slow_reconnect(EngineOptions o) {
    o.client.backoff.initial_ms = 2000;
    o.client.backoff.max_ms = 2000;
    return o;
}

// A reactor, the engines on it (engine i has tags 2i and 2i + 1) and a plain client (tag 1000)
// for the test's own commands.
class Loop {
public:
    Loop() { EXPECT_EQ(reactor_.open(), 0); }

    Engine& add(EngineOptions o, Node& node) {
        engines_.push_back(std::make_unique<Engine>(reactor_, 2 * engines_.size(), std::move(o)));
        Engine& e = *engines_.back();
        e.set_deliver(on_deliver, &node);
        std::string err;
        EXPECT_TRUE(e.start(base::monotonic_ms(), err)) << err;
        return e;
    }

    Client& raw(const std::string& address) {
        ClientOptions o;
        o.address = address;
        o.backoff.initial_ms = 20;
        o.backoff.max_ms = 200;
        raw_ = std::make_unique<Client>(reactor_, 1000, o);
        std::string err;
        EXPECT_TRUE(raw_->start(base::monotonic_ms(), err)) << err;
        EXPECT_TRUE(until([&] { return raw_->state() == Client::State::kUp; }));
        return *raw_;
    }

    // Sends args on the plain client and waits for the reply: on_raw()'s text.
    std::string call(std::initializer_list<std::string_view> args) {
        std::string got;
        if (raw_->command(args, on_raw, &got, 0) != 0) return "REFUSED";
        return until([&] { return !got.empty(); }) ? got : "TIMEOUT";
    }

    void turn(int max_ms = 50) {
        uint64_t now = base::monotonic_ms();
        int wait = max_ms;
        for (auto& e : engines_) {
            const int w = e->wait_ms(now);
            if (w >= 0 && w < wait) wait = w;
        }
        if (raw_) {
            const int w = raw_->wait_ms(now);
            if (w >= 0 && w < wait) wait = w;
        }
        epoll_event evs[32];
        const int n = reactor_.wait(evs, 32, wait);
        now = base::monotonic_ms();
        for (int i = 0; i < n; ++i) {
            const uint64_t tag = evs[i].data.u64;
            if (tag == 1000) raw_->on_event(evs[i].events, now);
            else engines_[tag / 2]->on_event(tag, evs[i].events, now);
        }
        for (auto& e : engines_) e->flush(now);
        if (raw_) raw_->flush(now);
    }

    template <class P>
    bool until(P pred, int timeout_ms = 10000) {
        return testing::turn_until([this] { turn(); }, pred, timeout_ms);
    }

    // a and b up and each subscribed to "other", so that kill_writers() spares their
    // subscriber connections. False after the timeout.
    bool ready_to_kill_writers(Engine& a, Engine& b) {
        return a.subscribe("other", Cursor{}, true) && b.subscribe("other", Cursor{}, true) &&
               until([&] { return a.live("other") && b.live("other") && a.writer_up() && b.writer_up(); });
    }
    // Kills every write connection (the plain client's spared) and waits until b's is down.
    bool kill_writers(Engine& b) {
        return call({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"}) == "2" &&
               until([&] { return !b.writer_up(); });
    }

    Read read(Engine& e, std::string_view ch, Cursor after) {
        Read r;
        e.read(ch, after, on_history, &r);
        EXPECT_TRUE(until([&] { return r.done; }));
        return r;
    }

private:
    net::Reactor reactor_;
    std::unique_ptr<Client> raw_;
    std::vector<std::unique_ptr<Engine>> engines_;  // destroyed first
};

// Publishes "m<from>" .. "m<to>" to ch, alternately from a and b when b is given (completions
// to na and nb).
void publish_range(std::string_view ch, int from, int to, Engine& a, Node& na, Engine* b = nullptr, Node* nb = nullptr) {
    for (int i = from; i <= to; ++i) {
        const bool on_b = b && i % 2 == 0;
        (on_b ? *b : a).publish(ch, false, "m" + std::to_string(i), on_published, on_b ? static_cast<void*>(nb) : &na);
    }
}

std::vector<std::string> expected(std::string_view ch, uint64_t from, uint64_t to, std::string_view prefix = "m") {
    std::vector<std::string> v;
    for (uint64_t s = from; s <= to; ++s)
        v.push_back(std::string(ch) + " " + std::to_string(s) + " " + std::string(prefix) + std::to_string(s));
    return v;
}

class RedisEngine : public ::testing::Test {
protected:
    void SetUp() override {
        if (!RedisServer::available()) GTEST_SKIP() << "redis-server not found";
    }
    // A private redis-server, for a test that kills it, restarts it, configures it or kills
    // its clients.
    bool start_server(const std::vector<std::string>& extra = {}) {
        const bool ok = server_.start(extra);
        EXPECT_TRUE(ok) << server_.log();
        return ok;
    }
    // The run's shared redis-server, or a private one without it (redis_server.h).
    bool start_shared() {
        const bool ok = server_.start_shared();
        EXPECT_TRUE(ok) << server_.log();
        return ok;
    }
    RedisServer server_;
    const std::string prefix_ = testing::key_prefix();  // the test's keys and channels
};

TEST_F(RedisEngine, PublishReachesEveryNodeInOrderOnce) {
    ASSERT_TRUE(start_shared());
    Node na, nb;  // outlive the engines, which report to them until destroyed
    Loop loop;
    Engine& a = loop.add(options(server_.address(), prefix_), na);
    Engine& b = loop.add(options(server_.address(), prefix_), nb);
    ASSERT_TRUE(a.subscribe("news", Cursor{}, true));
    ASSERT_TRUE(b.subscribe("news", Cursor{}, true));
    ASSERT_FALSE(b.subscribe("news", Cursor{}, true));
    ASSERT_TRUE(loop.until([&] { return a.live("news") && b.live("news") && a.writer_up(); }));
    publish_range("news", 1, 20, a, na);
    ASSERT_TRUE(loop.until([&] { return na.got.size() >= 20 && nb.got.size() >= 20 && na.results.size() == 20; }));
    loop.turn(20);  // nothing more arrives
    EXPECT_EQ(na.got, expected("news", 1, 20));
    EXPECT_EQ(nb.got, expected("news", 1, 20));
    for (int i = 0; i < 20; ++i) EXPECT_EQ(na.results[i], std::to_string(i + 1));
    EXPECT_EQ(na.epochs.front(), na.result_epochs.front());
    EXPECT_EQ(nb.epochs.front(), nb.epochs.back());
    EXPECT_EQ(a.stats().sent, 20u);
    EXPECT_EQ(b.stats().delivered, 20u);
}

TEST_F(RedisEngine, OneNumberingWhicheverNodePublishes) {
    ASSERT_TRUE(start_shared());
    Node na, nb;  // outlive the engines, which report to them until destroyed
    Loop loop;
    Engine& a = loop.add(options(server_.address(), prefix_), na);
    Engine& b = loop.add(options(server_.address(), prefix_), nb);
    ASSERT_TRUE(a.subscribe("c", Cursor{}, true));
    ASSERT_TRUE(loop.until([&] { return a.live("c") && b.writer_up(); }));
    publish_range("c", 1, 20, a, na, &b, &nb);
    ASSERT_TRUE(loop.until([&] { return na.results.size() == 10 && nb.results.size() == 10 && na.got.size() >= 20; }));
    std::vector<std::string> seqs = na.results;
    seqs.insert(seqs.end(), nb.results.begin(), nb.results.end());
    std::sort(seqs.begin(), seqs.end(), [](auto& x, auto& y) { return std::stoul(x) < std::stoul(y); });
    for (int i = 0; i < 20; ++i) EXPECT_EQ(seqs[i], std::to_string(i + 1));
    EXPECT_EQ(na.result_epochs[0], nb.result_epochs[0]);
    ASSERT_EQ(na.got.size(), 20u);
    for (int i = 0; i < 20; ++i) EXPECT_EQ(na.got[i].substr(0, na.got[i].find(' ', 2)), "c " + std::to_string(i + 1));
}

TEST_F(RedisEngine, ResumeCoversOrReportsAGap) {
    ASSERT_TRUE(start_shared());
    Node na, nb;  // outlive the engines, which report to them until destroyed
    Loop loop;
    EngineOptions o = options(server_.address(), prefix_);
    o.history = 5;
    Engine& a = loop.add(o, na);
    Read none = loop.read(a, "r", Cursor{});
    EXPECT_FALSE(none.h.ok);  // not connected yet: fails at once
    ASSERT_TRUE(loop.until([&] { return a.writer_up(); }));
    none = loop.read(a, "r", Cursor{});
    EXPECT_TRUE(none.h.ok && none.h.covers && !none.h.exists);
    publish_range("r", 1, 3, a, na);
    ASSERT_TRUE(loop.until([&] { return na.results.size() == 3; }));
    const uint64_t e = na.result_epochs[0];
    Read r = loop.read(a, "r", Cursor{e, 1, true});
    EXPECT_TRUE(r.h.covers);
    EXPECT_EQ(r.seqs, (std::vector<uint64_t>{2, 3}));
    EXPECT_EQ(r.h.entries[0].payload, "m2");
    r = loop.read(a, "r", Cursor{e, 3, true});
    EXPECT_TRUE(r.h.covers && r.seqs.empty());
    r = loop.read(a, "r", Cursor{0, 2, false});  // no epoch: the current one
    EXPECT_TRUE(r.h.covers);
    EXPECT_EQ(r.seqs, (std::vector<uint64_t>{3}));
    r = loop.read(a, "r", Cursor{e - 1, 1, true});  // another epoch
    EXPECT_FALSE(r.h.covers);
    EXPECT_EQ(r.seqs, (std::vector<uint64_t>{1, 2, 3}));
    r = loop.read(a, "r", Cursor{e, 4, true});  // beyond the last
    EXPECT_FALSE(r.h.covers);
    publish_range("r", 4, 13, a, na);
    ASSERT_TRUE(loop.until([&] { return na.results.size() == 13; }));
    r = loop.read(a, "r", Cursor{e, 3, true});  // 4..8 were trimmed
    EXPECT_FALSE(r.h.covers);
    EXPECT_EQ(r.h.first, 9u);
    EXPECT_EQ(r.seqs, (std::vector<uint64_t>{9, 10, 11, 12, 13}));
    r = loop.read(a, "r", Cursor{e, 8, true});
    EXPECT_TRUE(r.h.covers);
    EXPECT_EQ(r.seqs, (std::vector<uint64_t>{9, 10, 11, 12, 13}));
    EXPECT_EQ(r.h.epoch, e);
    EXPECT_EQ(r.h.last, 13u);
}

TEST_F(RedisEngine, ChannelMadeAgainGetsAHigherEpoch) {
    ASSERT_TRUE(start_shared());
    Node na, nb;  // outlive the engines, which report to them until destroyed
    Loop loop;
    Engine& a = loop.add(options(server_.address(), prefix_), na);
    Engine& b = loop.add(options(server_.address(), prefix_), nb);
    loop.raw(server_.address());
    ASSERT_TRUE(b.subscribe("x", Cursor{}, true));
    ASSERT_TRUE(loop.until([&] { return b.live("x") && a.writer_up(); }));
    a.publish("x", false, "m1", on_published, &na);
    a.publish("x", false, "m2", on_published, &na);
    ASSERT_TRUE(loop.until([&] { return na.results.size() == 2 && nb.got.size() == 2; }));
    ASSERT_EQ(loop.call({"DEL", prefix_ + "ch:{x}:meta", prefix_ + "ch:{x}:hist"}), "2");
    a.publish("x", false, "m1", on_published, &na);
    ASSERT_TRUE(loop.until([&] { return na.results.size() == 3 && nb.got.size() >= 4; }));
    EXPECT_EQ(na.results[2], "1");
    EXPECT_GT(na.result_epochs[2], na.result_epochs[0]);
    // The subscriber is told its numbering ended, then gets the new epoch's first message.
    EXPECT_EQ(nb.got, (std::vector<std::string>{"x 1 m1", "x 2 m2", "GAP x 1 2", "x 1 m1"}));
    EXPECT_EQ(nb.epochs.back(), na.result_epochs[2]);
    // Even with the floor gone and the clock unchanged, time keeps it higher.
    ASSERT_EQ(loop.call({"DEL", prefix_ + "ch:{x}:meta", prefix_ + "ch:{x}:hist", prefix_ + "epoch"}), "3");
    a.publish("x", false, "m1", on_published, &na);
    ASSERT_TRUE(loop.until([&] { return na.results.size() == 4; }));
    EXPECT_GT(na.result_epochs[3], na.result_epochs[2]);
}

TEST_F(RedisEngine, MessagesOfAnEndedEpochAreDropped) {
    ASSERT_TRUE(start_server());
    Node na, nb;  // outlive the engines, which report to them until destroyed
    Loop loop;
    Engine& a = loop.add(options(server_.address(), prefix_), na);
    Engine& b = loop.add(slow_reconnect(options(server_.address(), prefix_)), nb);
    loop.raw(server_.address());
    ASSERT_TRUE(loop.ready_to_kill_writers(a, b));
    // b joins while its write connection is down: it buffers m1 of the first epoch and m1 of
    // the second, then reads a history that holds only the second.
    ASSERT_TRUE(loop.kill_writers(b));
    ASSERT_TRUE(b.subscribe("x", Cursor{}, false));
    ASSERT_TRUE(loop.until([&] { return a.writer_up(); }));
    a.publish("x", false, "old", on_published, &na);
    ASSERT_TRUE(loop.until([&] { return na.results.size() == 1; }));
    ASSERT_EQ(loop.call({"DEL", prefix_ + "ch:{x}:meta", prefix_ + "ch:{x}:hist"}), "2");
    a.publish("x", false, "new", on_published, &na);
    ASSERT_TRUE(loop.until([&] { return na.results.size() == 2; }));
    ASSERT_TRUE(loop.until([&] { return b.live("x"); }));
    const uint64_t reads = b.stats().reads;
    for (int i = 0; i < 5; ++i) loop.turn(10);
    EXPECT_TRUE(b.live("x"));
    EXPECT_EQ(b.stats().reads, reads);  // settled: no read after read
    EXPECT_EQ(nb.got, (std::vector<std::string>{"x 1 new"}));
    EXPECT_EQ(b.cursor("x")->epoch, na.result_epochs[1]);
}

TEST_F(RedisEngine, SubscriberReconnectReadsBackWhatItMissed) {
    ASSERT_TRUE(start_server());
    Node na, nb;  // outlive the engines, which report to them until destroyed
    Loop loop;
    Engine& a = loop.add(options(server_.address(), prefix_), na);
    Engine& b = loop.add(slow_reconnect(options(server_.address(), prefix_)), nb);
    loop.raw(server_.address());
    ASSERT_TRUE(b.subscribe("o", Cursor{}, true));
    ASSERT_TRUE(loop.until([&] { return b.live("o") && a.writer_up(); }));
    publish_range("o", 1, 3, a, na);
    ASSERT_TRUE(loop.until([&] { return nb.got.size() == 3; }));
    ASSERT_EQ(loop.call({"CLIENT", "KILL", "TYPE", "pubsub"}), "1");
    ASSERT_TRUE(loop.until([&] { return !b.subscriber_up(); }));
    publish_range("o", 4, 8, a, na);
    ASSERT_TRUE(loop.until([&] { return na.results.size() == 8; }));
    ASSERT_TRUE(loop.until([&] { return nb.got.size() >= 8 && b.live("o"); }));
    a.publish("o", false, "m9", on_published, &na);
    ASSERT_TRUE(loop.until([&] { return nb.got.size() >= 9; }));
    loop.turn(20);
    EXPECT_EQ(nb.got, expected("o", 1, 9));
    EXPECT_EQ(b.stats().read_back, 5u);
    EXPECT_EQ(b.stats().reconnects, 1u);
}

TEST_F(RedisEngine, ManyChannelsComeBackPastTheOutputBound) {
    ASSERT_TRUE(start_server());
    Node na, nb;  // outlive the engines, which report to them until destroyed
    Loop loop;
    Engine& a = loop.add(options(server_.address(), prefix_), na);
    EngineOptions ob = slow_reconnect(options(server_.address(), prefix_));
    ob.client.max_output = 2048;  // ~50 SUBSCRIBEs at once
    Engine& b = loop.add(ob, nb);
    loop.raw(server_.address());
    constexpr int kChannels = 300;
    for (int i = 0; i < kChannels; ++i) ASSERT_TRUE(b.subscribe("c" + std::to_string(i), Cursor{}, true));
    auto all_live = [&] {
        for (int i = 0; i < kChannels; ++i)
            if (!b.live("c" + std::to_string(i))) return false;
        return true;
    };
    ASSERT_TRUE(loop.until(all_live));
    ASSERT_EQ(loop.call({"CLIENT", "KILL", "TYPE", "pubsub"}), "1");
    ASSERT_TRUE(loop.until([&] { return !b.subscriber_up(); }));
    for (int i = 0; i < kChannels; ++i) a.publish("c" + std::to_string(i), false, "m1", on_published, &na);
    ASSERT_TRUE(loop.until([&] { return na.results.size() == kChannels; }));
    ASSERT_TRUE(loop.until([&] { return nb.got.size() >= kChannels && all_live(); }));
    loop.turn(20);
    EXPECT_EQ(nb.got.size(), static_cast<size_t>(kChannels));
    EXPECT_EQ(b.stats().read_back, static_cast<uint64_t>(kChannels));
}

TEST_F(RedisEngine, RedisRestartQueuesPublishesAndLosesNothing) {
    ASSERT_TRUE(start_server({"--appendonly", "yes", "--appendfsync", "always"}));
    Node na, nb;  // outlive the engines, which report to them until destroyed
    Loop loop;
    Engine& a = loop.add(options(server_.address(), prefix_), na);
    Engine& b = loop.add(options(server_.address(), prefix_), nb);
    ASSERT_TRUE(a.subscribe("k", Cursor{}, true));
    ASSERT_TRUE(b.subscribe("k", Cursor{}, true));
    ASSERT_TRUE(loop.until([&] { return a.live("k") && b.live("k") && a.writer_up() && b.writer_up(); }));
    publish_range("k", 1, 4, a, na);
    ASSERT_TRUE(loop.until([&] { return na.results.size() == 4 && nb.got.size() == 4; }));
    server_.kill();
    ASSERT_TRUE(loop.until([&] { return !a.writer_up() && !b.writer_up() && !a.subscriber_up() && !b.subscriber_up(); }));
    publish_range("k", 5, 10, a, na, &b, &nb);
    EXPECT_EQ(a.stats().queued, 3u);
    EXPECT_EQ(b.stats().queued, 3u);
    EXPECT_EQ(na.results.size(), 4u);  // nothing completes while it is down
    ASSERT_TRUE(start_server({"--appendonly", "yes", "--appendfsync", "always"}));
    ASSERT_TRUE(loop.until([&] { return na.results.size() == 7 && nb.results.size() == 3; }));
    ASSERT_TRUE(loop.until([&] { return na.got.size() >= 10 && nb.got.size() >= 10; }));
    loop.turn(20);
    for (const auto& r : na.results) EXPECT_EQ(r.substr(0, 3) == "ERR", false) << r;
    for (const auto& r : nb.results) EXPECT_EQ(r.substr(0, 3) == "ERR", false) << r;
    // Both nodes see one numbering 1..10 in one epoch; each node's own publishes keep their
    // order (which node's queue drained first decides the interleaving).
    for (Node* n : {&na, &nb}) {
        ASSERT_EQ(n->got.size(), 10u);
        for (int i = 0; i < 10; ++i) EXPECT_EQ(n->got[i].substr(0, n->got[i].rfind(' ')), "k " + std::to_string(i + 1));
        EXPECT_EQ(n->epochs.front(), n->epochs.back());
    }
    EXPECT_EQ(na.got, nb.got);
    EXPECT_EQ(a.stats().queued, 0u);
    EXPECT_EQ(a.stats().sent, 7u);
    EXPECT_GE(a.stats().reconnects, 2u);
}

TEST_F(RedisEngine, QueueBoundRefusesAtOnce) {
    Node na, nb;  // outlive the engines, which report to them until destroyed
    Loop loop;
    EngineOptions o = options("127.0.0.1:" + std::to_string(testing::free_port()), prefix_);
    o.max_queued = 3;
    o.max_queued_bytes = 10;
    Engine& a = loop.add(o, na);
    a.publish("q", false, "12345", on_published, &na);
    a.publish("q", false, "12345", on_published, &na);
    a.publish("q", false, "1", on_published, &na);  // over 10 bytes
    ASSERT_EQ(na.results.size(), 1u);
    EXPECT_EQ(na.results[0], "ERR redis unavailable: publish queue full");
    o.max_queued_bytes = 1000;
    Engine& b = loop.add(o, nb);
    for (int i = 0; i < 4; ++i) b.publish("q", false, "x", on_published, &nb);
    ASSERT_EQ(nb.results.size(), 1u);
    EXPECT_EQ(b.stats().queued, 3u);
    EXPECT_EQ(b.stats().refused, 1u);
    b.stop();
    ASSERT_EQ(nb.results.size(), 4u);
    EXPECT_EQ(nb.results[3], "ERR closed");
    EXPECT_EQ(b.stats().queued, 0u);
    EXPECT_EQ(b.stats().errors, 4u);
}

TEST_F(RedisEngine, JoiningNodeMissesAndRepeatsNothing) {
    ASSERT_TRUE(start_server());
    Node na, nb, nc;  // outlive the engines, which report to them until destroyed
    Loop loop;
    Engine& a = loop.add(options(server_.address(), prefix_), na);
    Engine& b = loop.add(slow_reconnect(options(server_.address(), prefix_)), nb);  // its writer: down 1 s at least
    loop.raw(server_.address());
    ASSERT_TRUE(loop.ready_to_kill_writers(a, b));
    publish_range("j", 1, 5, a, na);
    ASSERT_TRUE(loop.until([&] { return na.results.size() == 5; }));
    // Both write connections killed: b's SUBSCRIBE takes effect at once, its history read
    // waits for its write connection, and a publishes meanwhile: 6..10 are both in the
    // history b reads and buffered from pub/sub.
    ASSERT_TRUE(loop.kill_writers(b));
    ASSERT_TRUE(b.subscribe("j", Cursor{}, false));  // from the beginning
    ASSERT_TRUE(loop.until([&] { return a.writer_up(); }));
    publish_range("j", 6, 10, a, na);
    ASSERT_TRUE(loop.until([&] { return na.results.size() == 10; }));
    EXPECT_FALSE(b.writer_up());
    EXPECT_TRUE(nb.got.empty());
    ASSERT_TRUE(loop.until([&] { return b.live("j"); }));
    publish_range("j", 11, 12, a, na);
    ASSERT_TRUE(loop.until([&] { return nb.got.size() >= 12; }));
    loop.turn(20);
    EXPECT_EQ(nb.got, expected("j", 1, 12));
    // A late joiner from a cursor gets what followed it.
    Engine& c = loop.add(options(server_.address(), prefix_), nc);
    ASSERT_TRUE(c.subscribe("j", Cursor{na.result_epochs[0], 7, true}, false));
    ASSERT_TRUE(loop.until([&] { return c.live("j"); }));
    EXPECT_EQ(nc.got, expected("j", 8, 12));
    EXPECT_EQ(c.cursor("j")->seq, 12u);
}

TEST_F(RedisEngine, PrefixKeepsDeploymentsApart) {
    ASSERT_TRUE(start_shared());
    Node na, nb;  // outlive the engines, which report to them until destroyed
    Loop loop;
    Engine& a = loop.add(options(server_.address(), prefix_ + "one:"), na);
    Engine& b = loop.add(options(server_.address(), prefix_ + "two:"), nb);
    ASSERT_TRUE(a.subscribe("c", Cursor{}, true));
    ASSERT_TRUE(b.subscribe("c", Cursor{}, true));
    ASSERT_TRUE(loop.until([&] { return a.live("c") && b.live("c") && a.writer_up() && b.writer_up(); }));
    publish_range("c", 1, 3, a, na);
    b.publish("c", false, "b1", on_published, &nb);
    ASSERT_TRUE(loop.until([&] { return na.got.size() >= 3 && nb.got.size() >= 1 && nb.results.size() == 1; }));
    loop.turn(20);
    EXPECT_EQ(na.got, expected("c", 1, 3));
    EXPECT_EQ(nb.got, (std::vector<std::string>{"c 1 b1"}));
    const Read r = loop.read(b, "c", Cursor{});
    EXPECT_EQ(r.seqs, (std::vector<uint64_t>{1}));
}

TEST_F(RedisEngine, AuthAndDatabaseFromTheClientOptions) {
    ASSERT_TRUE(start_server({"--requirepass", "s3cret"}));
    Node na, nb;  // outlive the engines, which report to them until destroyed
    Loop loop;
    EngineOptions o = options(server_.address(), prefix_);
    o.client.password = "s3cret";
    o.client.db = 3;
    Engine& a = loop.add(o, na);
    ASSERT_TRUE(a.subscribe("d", Cursor{}, true));
    ASSERT_TRUE(loop.until([&] { return a.live("d") && a.writer_up(); }));
    a.publish("d", true, std::string("m1\0\xff", 4), on_published, &na);
    ASSERT_TRUE(loop.until([&] { return na.got.size() == 1 && na.results.size() == 1; }));
    EXPECT_EQ(na.got[0], "d 1 " + std::string("m1\0\xff", 4));
    EXPECT_EQ(na.binary, 1);
    Client& raw = loop.raw(server_.address());
    (void)raw;
    EXPECT_EQ(loop.call({"HGET", prefix_ + "ch:{d}:meta", "seq"}), "ERR NOAUTH Authentication required.");
    EXPECT_EQ(loop.call({"AUTH", "s3cret"}), "OK");
    EXPECT_EQ(loop.call({"EXISTS", prefix_ + "ch:{d}:meta"}), "0");  // not in db 0
    EXPECT_EQ(loop.call({"SELECT", "3"}), "OK");
    EXPECT_EQ(loop.call({"HGET", prefix_ + "ch:{d}:meta", "seq"}), "1");
}

TEST(RedisEngineEntry, ParsesWhatTheScriptStores) {
    Entry e;
    ASSERT_TRUE(parse_entry("12 1733000000000000 b a b\r\n", e));
    EXPECT_EQ(e.seq, 12u);
    EXPECT_EQ(e.epoch, 1733000000000000u);
    EXPECT_TRUE(e.binary);
    EXPECT_EQ(e.payload, "a b\r\n");
    ASSERT_TRUE(parse_entry("1 2 t ", e));
    EXPECT_EQ(e.payload, "");
    EXPECT_FALSE(parse_entry("1 2 x y", e));
    EXPECT_FALSE(parse_entry("1 2 t", e));
    EXPECT_FALSE(parse_entry("a 2 t y", e));
    EXPECT_FALSE(parse_entry("12", e));
}

TEST(RedisEngineEntry, CarriesThePublishersOrigin) {
    Entry e;
    ASSERT_TRUE(parse_entry("3 9 t.node1.7.42 hello world", e));
    EXPECT_EQ(e.origin, "node1.7.42");
    EXPECT_FALSE(e.binary);
    EXPECT_EQ(e.payload, "hello world");
    ASSERT_TRUE(parse_entry("3 9 b.x ", e));
    EXPECT_EQ(e.origin, "x");
    EXPECT_EQ(e.payload, "");
    ASSERT_TRUE(parse_entry("3 9 t .y z", e));  // no origin: ".y z" is the payload
    EXPECT_EQ(e.origin, "");
    EXPECT_EQ(e.payload, ".y z");
    EXPECT_FALSE(parse_entry("3 9 t. y", e));    // an empty origin
    EXPECT_FALSE(parse_entry("3 9 t.abc", e));   // no payload separator
    EXPECT_FALSE(parse_entry("3 9 tx y", e));
}

}  // namespace
}  // namespace wspush::redis
