// --redis end to end: several wspushd processes on one redis-server (tests/redis/
// redis_server.h: the run's shared one, under a key prefix of the test's own, or a private
// one, on a free port, for the tests that kill it or configure it). A PUB on any node reaches
// every subscriber on every node once, in order, under the same (epoch, seq); a client moved
// to another node resumes with since= without a gap or a duplicate; Redis killed and started
// again: pushes made meanwhile are answered and delivered once it is back, past
// --redis-max-queued they are refused at once; a relayed message skips its sender on its own
// node; a Unix socket, an ACL user and a database other than 0; bad settings are refused.
#include <gtest/gtest.h>

#include <unistd.h>

#include <map>
#include <memory>
#include <set>

#include "redis/redis_server.h"
#include "support/push_support.h"
#include "support/temp_file.h"
#include "support/webhook_support.h"

namespace wspush::testing {
namespace {

class RedisNodes : public ::testing::Test {
protected:
    void SetUp() override {
        if (!RedisServer::available()) GTEST_SKIP() << "redis-server not found";
        prefix_ = key_prefix();
    }
    // A private redis-server with `extra` arguments, for a test that kills it, restarts it or
    // configures it; the others get the shared one (redis_server.h) with their first node.
    bool start_private(const std::vector<std::string>& extra = {}) {
        redis_started_ = true;
        const bool ok = redis_.start(extra);
        EXPECT_TRUE(ok) << redis_.log();
        return ok;
    }
    void TearDown() override {
        for (auto& n : nodes_) {
            n->ctl.close();
            EXPECT_EQ(n->srv.stop(), 0) << n->srv.log();
        }
    }
    struct Node {
        ServerProcess srv;
        ControlConn ctl;
    };
    // A node on redis_ (its TCP address, or `address`) with `more` arguments.
    Node& node(std::vector<std::string> more = {}, const std::string& address = "") {
        if (!redis_started_) {
            redis_started_ = true;
            EXPECT_TRUE(redis_.start_shared()) << redis_.log();
        }
        auto n = std::make_unique<Node>();
        std::vector<std::string> args = {"--redis", address.empty() ? redis_.address() : address, "--redis-prefix",
                                         prefix_};
        args.insert(args.end(), more.begin(), more.end());
        EXPECT_TRUE(n->srv.start(args)) << n->srv.log();
        EXPECT_TRUE(control(n->ctl, n->srv));
        nodes_.push_back(std::move(n));
        return *nodes_.back();
    }
    // The STATS figure redis.<key> of n as text ("" when missing).
    static std::string redis_state(ControlConn& ctl) {
        auto j = stats(ctl);
        const Json* r = j ? j->get("redis") : nullptr;
        const Json* s = r ? r->get("state") : nullptr;
        return s ? s->text : "";
    }
    static uint64_t redis_stat(ControlConn& ctl, std::string_view key) {
        return stat(ctl, "redis." + std::string(key)).value_or(UINT64_MAX);
    }
    // n's AUTH was refused: logged, and shown in STATS (down, with the server's WRONGPASS);
    // its password never logged.
    static void expect_auth_refused(Node& n, const std::string& password) {
        EXPECT_TRUE(n.srv.wait_log("AUTH refused")) << n.srv.log();
        auto j = stats(n.ctl);
        ASSERT_TRUE(j);
        const Json* r = j->get("redis");
        ASSERT_TRUE(r && r->get("state") && r->get("error"));
        EXPECT_EQ(r->get("state")->text, "down");
        EXPECT_NE(r->get("error")->text.find("AUTH refused: WRONGPASS"), std::string::npos) << r->get("error")->text;
        EXPECT_EQ(n.srv.log().find(password), std::string::npos) << "the password is never logged";
    }

    RedisServer redis_;
    bool redis_started_ = false;
    std::string prefix_;  // unique to the test: the shared redis-server holds other tests' keys
    std::vector<std::unique_ptr<Node>> nodes_;
};

// An envelope read from c: (epoch, seq, data); seq 0 for anything else (a gap notice).
struct Got {
    std::string epoch;
    uint64_t seq = 0;
    std::string data;
    std::string type;
};
Got next_msg(RawClient& c, int timeout_ms = 10000) {
    Got g;
    auto j = read_json(c, timeout_ms);
    if (!j) return g;
    if (const Json* t = j->get("type")) g.type = t->text;
    if (const Json* e = j->get("epoch")) g.epoch = e->text;
    if (const Json* d = j->get("data")) g.data = d->text;
    g.seq = envelope_seq(*j);
    return g;
}

TEST_F(RedisNodes, EveryPushReachesEveryNodeOnceInOrder) {
    constexpr int kNodes = 3, kEach = 20;
    for (int i = 0; i < kNodes; ++i) node();
    RawClient subs[kNodes];
    for (int i = 0; i < kNodes; ++i) ASSERT_TRUE(subscribe(subs[i], nodes_[i]->srv.port(), "/ws/feed", true));
    // Every node has read the channel (its join is in) before the pushes: a message on node 0
    // is then the first thing each client sees.
    ASSERT_EQ(nodes_[0]->ctl.command("PUB feed hello").value_or("").rfind("OK seq=1 ", 0), 0u);
    for (auto& s : subs) {
        const Got g = next_msg(s);
        ASSERT_EQ(g.seq, 1u) << g.type;
        ASSERT_EQ(g.data, "hello");
    }
    // Interleaved: each node gets its batch pipelined, all three at once.
    for (int i = 0; i < kNodes; ++i) {
        std::string batch;
        for (int k = 0; k < kEach; ++k) batch += "PUB feed n" + std::to_string(i) + "-" + std::to_string(k) + "\n";
        ASSERT_TRUE(nodes_[i]->ctl.send(batch));
    }
    std::set<uint64_t> acked;
    for (int i = 0; i < kNodes; ++i)
        for (int k = 0; k < kEach; ++k) {
            auto l = nodes_[i]->ctl.read_line(10000);
            ASSERT_TRUE(l) << "node " << i << " reply " << k;
            ASSERT_EQ(l->rfind("OK seq=", 0), 0u) << *l;
            acked.insert(std::stoull(l->substr(7)));
        }
    ASSERT_EQ(acked.size(), size_t{kNodes * kEach});  // distinct numbers
    std::vector<std::vector<Got>> seen(kNodes);
    for (int i = 0; i < kNodes; ++i) {
        for (int k = 0; k < kNodes * kEach; ++k) {
            Got g = next_msg(subs[i]);
            ASSERT_EQ(g.type, "msg") << "node " << i << " message " << k;
            ASSERT_EQ(g.seq, uint64_t(k) + 2) << "node " << i;  // consecutive: no gap, no duplicate
            ASSERT_TRUE(acked.count(g.seq)) << g.seq;
            seen[i].push_back(std::move(g));
        }
    }
    // The same (epoch, seq, data) everywhere, and each publisher's messages in its order.
    for (int i = 1; i < kNodes; ++i)
        for (size_t k = 0; k < seen[0].size(); ++k) {
            EXPECT_EQ(seen[i][k].epoch, seen[0][k].epoch);
            EXPECT_EQ(seen[i][k].data, seen[0][k].data) << "seq " << seen[0][k].seq;
        }
    std::map<std::string, int> next;
    for (const Got& g : seen[0]) {
        const std::string from = g.data.substr(0, g.data.find('-'));
        EXPECT_EQ(g.data, from + "-" + std::to_string(next[from]++));
    }
    for (int i = 0; i < kNodes; ++i) EXPECT_EQ(redis_stat(nodes_[i]->ctl, "sent"), i == 0 ? kEach + 1u : kEach + 0u);
}

TEST_F(RedisNodes, ClientMovedToAnotherNodeResumesWithoutGapOrDuplicate) {
    Node& a = node();
    Node& b = node();
    RawClient c;
    ASSERT_TRUE(subscribe(c, a.srv.port(), "/ws/news", true));
    ASSERT_NO_FATAL_FAILURE(publish_numbered(a.ctl, "news", 1, 5));
    std::string epoch;
    for (uint64_t s = 1; s <= 3; ++s) {
        const Got g = next_msg(c);
        ASSERT_EQ(g.seq, s);
        epoch = g.epoch;
    }
    c.close();  // saw up to 3; node b has never had the channel
    ASSERT_NO_FATAL_FAILURE(publish_numbered(a.ctl, "news", 6, 7));
    RawClient moved;
    ASSERT_TRUE(subscribe(moved, b.srv.port(), "/ws/news?since=" + epoch + ".3", true));
    ASSERT_NO_FATAL_FAILURE(expect_numbered(moved, "news", 4, 7, epoch));
    // Live messages follow the replay, from either node.
    ASSERT_NO_FATAL_FAILURE(publish_numbered(a.ctl, "news", 8, 8));
    ASSERT_NO_FATAL_FAILURE(publish_numbered(b.ctl, "news", 9, 9));
    ASSERT_NO_FATAL_FAILURE(expect_numbered(moved, "news", 8, 9, epoch));
    // Now b has the channel: a second client moved there is served from b's own history.
    RawClient again;
    ASSERT_TRUE(subscribe(again, b.srv.port(), "/ws/news?since=" + epoch + ".6", true));
    ASSERT_NO_FATAL_FAILURE(expect_numbered(again, "news", 7, 9, epoch));
    ASSERT_NO_FATAL_FAILURE(publish_numbered(a.ctl, "news", 10, 10));
    ASSERT_NO_FATAL_FAILURE(expect_numbered(again, "news", 10, 10, epoch));
    ASSERT_NO_FATAL_FAILURE(expect_numbered(moved, "news", 10, 10, epoch));
}

TEST_F(RedisNodes, OutageHoldsPushesAndDeliversThemWhenRedisIsBack) {
    ASSERT_TRUE(start_private());  // killed and started again
    Node& a = node({"--redis-max-queued", "5"});
    RawClient c;
    ASSERT_TRUE(subscribe(c, a.srv.port(), "/ws/alerts", true));
    ASSERT_NO_FATAL_FAILURE(publish_numbered(a.ctl, "alerts", 1, 1));
    ASSERT_EQ(next_msg(c).data, "m1");
    const uint16_t port = redis_.port();
    redis_.kill();
    ASSERT_TRUE(wait_until([&] { return redis_state(a.ctl) == "down"; }, 10000, 20));
    ASSERT_TRUE(a.srv.wait_log("down (")) << a.srv.log();
    // Within the bound: taken, answered once Redis has them.
    std::string batch;
    for (int k = 0; k < 5; ++k) batch += "PUB alerts q" + std::to_string(k) + "\n";
    ASSERT_TRUE(a.ctl.send(batch));
    ASSERT_TRUE(wait_until([&] {
        ControlConn probe;
        return control(probe, a.srv) && stat(probe, "redis.queued").value_or(0) == 5;
    }, 5000, 20));
    // Past it: refused at once, clearly.
    ControlConn other;
    ASSERT_TRUE(control(other, a.srv));
    const std::string refused = other.command("PUB alerts over").value_or("<timeout>");
    EXPECT_EQ(refused, "ERR redis: redis unavailable: publish queue full");
    EXPECT_EQ(stat(other, "redis.refused").value_or(0), 1u);
    ASSERT_TRUE(redis_.start({}, port)) << redis_.log();
    // Redis came back empty (no persistence): the channel is made again, in a new epoch.
    for (int k = 0; k < 5; ++k) {
        auto l = a.ctl.read_line(15000);
        ASSERT_TRUE(l) << "reply " << k;
        EXPECT_EQ(l->rfind("OK seq=" + std::to_string(k + 1) + " ", 0), 0u) << *l;
    }
    Got g = next_msg(c, 15000);
    EXPECT_EQ(g.type, "gap");
    for (int k = 0; k < 5; ++k) {
        g = next_msg(c);
        ASSERT_EQ(g.type, "msg");
        EXPECT_EQ(g.seq, uint64_t(k) + 1);
        EXPECT_EQ(g.data, "q" + std::to_string(k));
    }
    ASSERT_TRUE(wait_until([&] { return redis_state(other) == "up"; }, 10000, 20));
    EXPECT_GE(redis_stat(other, "reconnects"), 2u);  // both connections
    EXPECT_EQ(redis_stat(other, "queued"), 0u);
    EXPECT_TRUE(a.srv.wait_log("up again")) << a.srv.log();
}

TEST_F(RedisNodes, RelayedMessageSkipsItsSenderOnly) {
    Node& a = node({"--mode", "relay"});
    Node& b = node({"--mode", "relay"});
    RawClient x, y, z;
    ASSERT_TRUE(subscribe(x, a.srv.port(), "/ws/room", true));
    ASSERT_TRUE(subscribe(y, a.srv.port(), "/ws/room", true));
    ASSERT_TRUE(subscribe(z, b.srv.port(), "/ws/room", true));
    // All three joins are in once a push reaches all three.
    ASSERT_NO_FATAL_FAILURE(publish_numbered(b.ctl, "room", 1, 1));
    for (RawClient* r : {&x, &y, &z}) ASSERT_EQ(next_msg(*r).seq, 1u);
    ASSERT_TRUE(x.send_frame(0x1, "from-x"));
    for (RawClient* r : {&y, &z}) {
        const Got g = next_msg(*r);
        EXPECT_EQ(g.seq, 2u);
        EXPECT_EQ(g.data, "from-x");
    }
    ASSERT_NO_FATAL_FAILURE(publish_numbered(a.ctl, "room", 3, 3));
    EXPECT_EQ(next_msg(x).seq, 3u);  // not 2: its own message did not come back
}

TEST_F(RedisNodes, WebhookPushIsAnsweredWhenRedisHasIt) {
    ASSERT_TRUE(start_private());  // killed and started again
    const std::string robot = "push-token-0001 feed.*";
    const std::string auth = "Authorization: Bearer push-token-0001\r\n";
    Node& a = node({"--robot", robot, "--redis-max-queued", "1"});
    Node& b = node({"--robot", robot});
    RawClient sub;
    ASSERT_TRUE(subscribe(sub, b.srv.port(), "/ws/feed.a", true));
    RawClient w1;
    ASSERT_TRUE(w1.connect(a.srv.port()));
    HttpReply r = post(w1, "/push/feed.a", "hello", "text/plain", auth);
    ASSERT_EQ(r.errcode(), 0) << r.head << r.body;
    ASSERT_TRUE(r.json && r.json->get("seq"));
    EXPECT_EQ(r.json->get("seq")->uint(), 1u) << r.body;
    Got g = next_msg(sub);
    EXPECT_EQ(g.seq, 1u);
    EXPECT_EQ(g.data, "hello");
    const uint16_t port = redis_.port();
    redis_.kill();
    ASSERT_TRUE(wait_until([&] { return redis_state(a.ctl) == "down"; }, 10000, 20));
    // Held: answered once Redis has it.
    ASSERT_TRUE(w1.send_all(post_request("/push/feed.a", "while away", "text/plain", auth)));
    ASSERT_TRUE(wait_until([&] { return redis_stat(a.ctl, "queued") == 1; }, 5000, 20));
    // Past --redis-max-queued: refused at once, with a code of its own.
    RawClient w2;
    ASSERT_TRUE(w2.connect(a.srv.port()));
    r = post(w2, "/push/feed.a", "one too many", "text/plain", auth);
    EXPECT_EQ(r.status, 503);
    EXPECT_EQ(r.errcode(), 503002);
    EXPECT_EQ(r.errmsg(), "redis: redis unavailable: publish queue full");
    ASSERT_TRUE(redis_.start({}, port)) << redis_.log();
    r = parse_reply(w1.read_http(15000));
    EXPECT_EQ(r.errcode(), 0) << r.head << r.body;
    ASSERT_TRUE(r.json && r.json->get("seq"));
    EXPECT_EQ(r.json->get("seq")->uint(), 1u) << r.body;  // Redis came back empty: a new epoch
    g = next_msg(sub, 15000);
    EXPECT_EQ(g.type, "gap");
    g = next_msg(sub);
    EXPECT_EQ(g.data, "while away");
}

TEST_F(RedisNodes, UpgradeWaitsForItsChannelWithinTheHandshakeTimeout) {
    ASSERT_TRUE(start_private());  // killed and started again
    Node& a = node({"--handshake-timeout", "1s"});
    RawClient known;
    ASSERT_TRUE(subscribe(known, a.srv.port(), "/ws/known", true));
    redis_.kill();
    ASSERT_TRUE(wait_until([&] { return redis_state(a.ctl) == "down"; }, 10000, 20));
    // A channel the node has read is joined at once, Redis or not.
    RawClient again;
    ASSERT_TRUE(subscribe(again, a.srv.port(), "/ws/known", true));
    // One it has not waits unanswered, then gets 503.
    RawClient fresh;
    ASSERT_TRUE(fresh.connect(a.srv.port()));
    ASSERT_TRUE(fresh.send_all(RawClient::upgrade_request("/ws/fresh", kEnvelopeHeader)));
    ASSERT_TRUE(wait_until([&] { return redis_stat(a.ctl, "waiting_joins") == 1; }, 5000, 20));
    const std::string reply = fresh.read_http(5000);
    EXPECT_EQ(http_status(reply), 503) << reply;
    EXPECT_NE(reply.find("redis unavailable"), std::string::npos) << reply;
    EXPECT_EQ(redis_stat(a.ctl, "waiting_joins"), 0u);
}

TEST_F(RedisNodes, WrongPasswordIsLoggedAndShown) {
    ASSERT_TRUE(start_private({"--requirepass", "right"}));
    TempFile conf("redis-password = wrong\n");
    Node& a = node({"--config", conf.path()});
    ASSERT_NO_FATAL_FAILURE(expect_auth_refused(a, "wrong"));
}

TEST_F(RedisNodes, PasswordTakenFromTheConfigFile) {
    ASSERT_TRUE(start_private({"--requirepass", "right"}));
    TempFile conf("redis-password = right\n");
    Node& a = node({"--config", conf.path()});
    ASSERT_TRUE(wait_until([&] { return redis_state(a.ctl) == "up"; }, 10000, 20)) << a.srv.log();
    EXPECT_EQ(a.ctl.command("PUB p x").value_or("").rfind("OK seq=1 ", 0), 0u);
}

// How many times needle is in text.
size_t occurrences(const std::string& text, const std::string& needle) {
    size_t n = 0;
    for (size_t at = 0; (at = text.find(needle, at)) != std::string::npos; at += needle.size()) ++n;
    return n;
}

// The test's node keeps its channel on the redis-server the fixture gave it: the shared one
// when the run has one (tools/run-tests.sh sets WSPUSH_TEST_REDIS), under the test's own
// prefix, else a private one.
TEST_F(RedisNodes, TheRunsSharedRedisHoldsTheTestsChannel) {
    Node& a = node();
    ASSERT_EQ(a.ctl.command("PUB mine x").value_or("").rfind("OK seq=1 ", 0), 0u);
    const char* shared = getenv("WSPUSH_TEST_REDIS");
    const bool expect_shared = shared != nullptr && *shared != '\0';
    EXPECT_EQ(redis_.shared(), expect_shared);
    const std::string at = expect_shared ? std::string(shared) : redis_.address();
    EXPECT_EQ(redis_query(at, {{"HGET", prefix_ + "ch:{mine}:meta", "seq"}}), std::vector<std::string>{"$1"});
    // Nothing of it outside its prefix.
    EXPECT_EQ(redis_query(at, {{"EXISTS", "wspush:ch:{mine}:meta"}}), std::vector<std::string>{":0"});
}

// --redis unix:PATH: two nodes on the Unix socket only; a push on one reaches a subscriber on
// the other, and Redis sees exactly their four connections (two each) on that socket.
TEST_F(RedisNodes, UnixSocketCarriesEverything) {
    ASSERT_TRUE(start_private());  // its clients are counted
    Node& a = node({}, "unix:" + redis_.unix_path());
    Node& b = node({}, "unix:" + redis_.unix_path());
    for (Node* n : {&a, &b})
        ASSERT_TRUE(wait_until([&] { return redis_state(n->ctl) == "up"; }, 10000, 20)) << n->srv.log();
    RawClient sub;
    ASSERT_TRUE(subscribe(sub, b.srv.port(), "/ws/sock", true));
    ASSERT_NO_FATAL_FAILURE(publish_numbered(a.ctl, "sock", 1, 3));
    for (uint64_t k = 1; k <= 3; ++k) {
        const Got g = next_msg(sub);
        EXPECT_EQ(g.seq, k);
        EXPECT_EQ(g.data, "m" + std::to_string(k));
    }
    const auto list = redis_query(redis_.address(), {{"CLIENT", "LIST"}});
    ASSERT_EQ(list.size(), 1u);
    EXPECT_EQ(occurrences(list[0], " laddr=" + redis_.unix_path() + ":"), 4u) << list[0];
}

// An ACL user from the config file (the default user off): pushes go through as that user; a
// wrong password for it is refused, logged and shown, and never logged itself.
TEST_F(RedisNodes, AclUserFromTheConfigFile) {
    ASSERT_TRUE(start_private({"--user", "default", "off", "--user", "alice", "on", ">alice-pw", "~*", "&*", "+@all"}));
    TempFile conf("redis-user = alice\nredis-password = alice-pw\n");
    Node& a = node({"--config", conf.path()});
    Node& b = node({"--config", conf.path()});
    for (Node* n : {&a, &b})
        ASSERT_TRUE(wait_until([&] { return redis_state(n->ctl) == "up"; }, 10000, 20)) << n->srv.log();
    RawClient sub;
    ASSERT_TRUE(subscribe(sub, b.srv.port(), "/ws/acl", true));
    ASSERT_NO_FATAL_FAILURE(publish_numbered(a.ctl, "acl", 1, 2));
    ASSERT_NO_FATAL_FAILURE(expect_numbered(sub, "acl", 1, 2));
    const auto list = redis_query(redis_.address(), {{"AUTH", "alice", "alice-pw"}, {"CLIENT", "LIST"}});
    ASSERT_EQ(list.size(), 2u);
    EXPECT_EQ(list[0], "+OK");
    EXPECT_EQ(occurrences(list[1], " user=alice "), 5u) << list[1];  // two nodes' two connections, and this query's

    TempFile wrong("redis-user = alice\nredis-password = not-alices\n");
    Node& c = node({"--config", wrong.path()});
    ASSERT_NO_FATAL_FAILURE(expect_auth_refused(c, "not-alices"));
}

// --redis-db N: a channel's keys are in database N, none in database 0; pushes still reach
// every node (pub/sub is not per database).
TEST_F(RedisNodes, ChannelKeptInTheChosenDatabase) {
    Node& a = node({"--redis-db", "5"});
    Node& b = node({"--redis-db", "5"});
    RawClient sub;
    ASSERT_TRUE(subscribe(sub, b.srv.port(), "/ws/indb", true));
    ASSERT_NO_FATAL_FAILURE(publish_numbered(a.ctl, "indb", 1, 2));
    ASSERT_NO_FATAL_FAILURE(expect_numbered(sub, "indb", 1, 2));
    const std::string meta = prefix_ + "ch:{indb}:meta", hist = prefix_ + "ch:{indb}:hist", epoch = prefix_ + "epoch";
    EXPECT_EQ(redis_query(redis_.address(), {{"SELECT", "5"}, {"HGET", meta, "seq"}, {"LLEN", hist}, {"EXISTS", epoch}}),
              (std::vector<std::string>{"+OK", "$2", ":2", ":1"}));
    EXPECT_EQ(redis_query(redis_.address(), {{"EXISTS", meta, hist, epoch}}), std::vector<std::string>{":0"});
}

class RedisFlags : public ::testing::Test {};

// Each worker's open connections (STATS' per-worker list); empty while one has not answered.
std::vector<uint64_t> worker_connections(ControlConn& ctl) {
    std::vector<uint64_t> v;
    auto j = stats(ctl);
    const Json* ws = j ? j->get("workers") : nullptr;
    if (ws == nullptr) return v;
    for (const Json& w : ws->items) {
        if (w.get("missing") || !w.get("connections")) return {};
        v.push_back(w.get("connections")->uint().value_or(0));
    }
    return v;
}

// --workers 2 with --redis: each worker is a node of its own. Clients on both workers of
// node A and on node B get the pushes made on A and on B once, in order, under one numbering.
TEST_F(RedisNodes, WorkersAreNodesOfTheirOwn) {
    Node& a = node({"--workers", "2"});
    Node& b = node();
    std::vector<std::unique_ptr<RawClient>> subs;
    std::vector<uint64_t> before;
    ASSERT_TRUE(wait_until([&] { return (before = worker_connections(a.ctl)).size() == 2; }, 5000, 20));
    size_t on[2] = {0, 0};
    for (int i = 0; i < 64 && (on[0] == 0 || on[1] == 0); ++i) {
        auto c = std::make_unique<RawClient>();
        ASSERT_TRUE(subscribe(*c, a.srv.port(), "/ws/wk", true));
        std::vector<uint64_t> after;
        ASSERT_TRUE(wait_until([&] { return (after = worker_connections(a.ctl)).size() == 2; }, 5000, 20));
        if (after[0] > before[0]) ++on[0];
        if (after[1] > before[1]) ++on[1];
        before = after;
        subs.push_back(std::move(c));
    }
    ASSERT_TRUE(on[0] > 0 && on[1] > 0) << on[0] << " " << on[1] << "\n" << a.srv.log();
    subs.push_back(std::make_unique<RawClient>());
    ASSERT_TRUE(subscribe(*subs.back(), b.srv.port(), "/ws/wk", true));
    constexpr int kEach = 10;
    std::string batch_a, batch_b;
    for (int k = 0; k < kEach; ++k) {
        batch_a += "PUB wk a" + std::to_string(k) + "\n";
        batch_b += "PUB wk b" + std::to_string(k) + "\n";
    }
    ASSERT_TRUE(a.ctl.send(batch_a));
    ASSERT_TRUE(b.ctl.send(batch_b));
    for (ControlConn* ctl : {&a.ctl, &b.ctl})
        for (int k = 0; k < kEach; ++k) {
            auto l = ctl->read_line(10000);
            ASSERT_TRUE(l && l->rfind("OK seq=", 0) == 0) << (l ? *l : "no reply") << "\n" << a.srv.log();
        }
    std::vector<Got> first;
    for (size_t i = 0; i < subs.size(); ++i) {
        int next_a = 0, next_b = 0;
        for (int k = 0; k < 2 * kEach; ++k) {
            Got g = next_msg(*subs[i]);
            ASSERT_EQ(g.type, "msg") << "client " << i << " message " << k;
            ASSERT_EQ(g.seq, uint64_t(k) + 1) << "client " << i;  // no gap, no duplicate
            if (g.data[0] == 'a') EXPECT_EQ(g.data, "a" + std::to_string(next_a++));
            else EXPECT_EQ(g.data, "b" + std::to_string(next_b++));
            if (i == 0) first.push_back(g);
            else EXPECT_EQ(g.data, first[size_t(k)].data) << "client " << i << " seq " << g.seq;
        }
        EXPECT_FALSE(read_data(*subs[i], 200)) << "client " << i << ": more than was pushed";
    }
}

TEST_F(RedisFlags, BadSettingsAreRefused) {
    struct Case {
        std::vector<std::string> args;
        std::string says;
    };
    TempFile conf("redis-password = x\n");
    const Case cases[] = {
        {{"--redis", "not-an-address"}, "--redis: expected HOST:PORT"},
        {{"--redis", "bad_host:6379"}, "--redis: expected HOST:PORT"},
        {{"--redis", "127.0.0.1:6379", "--journal", "/tmp/wspush-never"}, "--redis and --journal"},
        {{"--redis-password", "secret"}, "only in a --config file"},
    };
    for (const Case& c : cases) {
        ServerProcess srv;
        EXPECT_FALSE(srv.start(c.args));
        EXPECT_EQ(srv.early_exit(), 2) << c.args[0];
        EXPECT_NE(srv.log().find(c.says), std::string::npos) << srv.log();
    }
    // A host name is looked up at start: one that does not resolve (RFC 6761 .invalid) is a
    // start-up failure.
    ServerProcess srv;
    EXPECT_FALSE(srv.start({"--redis", "no-such-host.invalid:6379"}));
    EXPECT_EQ(srv.early_exit(), 1);
    EXPECT_NE(srv.log().find("redis: cannot look up no-such-host.invalid: "), std::string::npos) << srv.log();
}

}  // namespace
}  // namespace wspush::testing
