// The Redis client on a real epoll reactor. RedisClient: against a scripted peer on loopback
// (protocol errors, replies over the bounds, stop). RedisLive: against a redis-server
// (tests/redis/redis_server.h: the run's shared one, keys and channels under a prefix of the
// test's own, or a private one for the tests that kill it or configure it): PING, a 1000-deep
// pipeline, the RESP2 fall back, AUTH with a password and with an ACL user, SELECT, pub/sub
// under RESP3 and RESP2, the server killed mid-pipeline and restarted, a Unix socket, the
// output bound. Every wait is a loop turn on epoll with a deadline.
#include "redis/client.h"

#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

#include "base/clock.h"
#include "base/log.h"
#include "net/socket.h"
#include "redis/describe.h"
#include "redis/redis_server.h"
#include "redis/turns.h"

namespace wspush::redis {
namespace {

using testing::RedisServer;

// What a client's callbacks saw.
struct Seen {
    std::vector<std::string> replies;  // describe() of each reply, or "FAIL: <failure>"
    std::vector<uint64_t> tags;
    std::vector<std::string> pushes;
    int ups = 0;
    int downs = 0;
};

void on_reply(void* ctx, const Reply& r) noexcept {
    auto* s = static_cast<Seen*>(ctx);
    s->replies.push_back(r.value ? describe(*r.value) : "FAIL: " + std::string(r.failure));
    s->tags.push_back(r.tag);
}

void on_push(void* ctx, const Value& v) noexcept { static_cast<Seen*>(ctx)->pushes.push_back(describe(v)); }

void on_state(void* ctx, bool up) noexcept {
    auto* s = static_cast<Seen*>(ctx);
    (up ? s->ups : s->downs)++;
}

// A reactor and the clients on it; tag = index.
class Loop {
public:
    Loop() { EXPECT_EQ(reactor_.open(), 0); }

    // A record for a client's callbacks, alive as long as the clients are (their destructors
    // report to it).
    Seen& seen() { return seens_.emplace_back(); }

    Client& add(ClientOptions o, Seen& seen) {
        clients_.push_back(std::make_unique<Client>(reactor_, clients_.size(), std::move(o)));
        Client& c = *clients_.back();
        c.set_push_handler(on_push, &seen);
        c.set_state_handler(on_state, &seen);
        return c;
    }

    // One loop turn as the server would run it: wait (bounded by the clients' deadlines),
    // events, then each client's flush.
    void turn(int max_ms = 50) {
        uint64_t now = base::monotonic_ms();
        int wait = max_ms;
        for (auto& c : clients_) {
            const int w = c->wait_ms(now);
            if (w >= 0 && w < wait) wait = w;
        }
        epoll_event evs[16];
        const int n = reactor_.wait(evs, 16, wait);
        now = base::monotonic_ms();
        for (int i = 0; i < n; ++i) clients_[evs[i].data.u64]->on_event(evs[i].events, now);
        for (auto& c : clients_) c->flush(now);
    }

    // Turns until pred() holds; false after timeout_ms.
    template <class P>
    bool until(P pred, int timeout_ms = 10000) {
        return testing::turn_until([this] { turn(); }, pred, timeout_ms);
    }

    // Sends args and turns until its reply (or failure) came: its describe().
    std::string call(Client& c, Seen& seen, std::initializer_list<std::string_view> args) {
        const size_t before = seen.replies.size();
        const int rc = c.command(args, on_reply, &seen, 0);
        if (rc != 0) return "REFUSED " + std::to_string(rc);
        if (!until([&] { return seen.replies.size() > before; })) return "TIMEOUT";
        return seen.replies[before];
    }

    // Starts c, queues a PING and turns until it is answered or failed: what it got. For
    // clients that never come up.
    std::string first_outcome(Client& c, Seen& seen) {
        std::string err;
        EXPECT_TRUE(c.start(base::monotonic_ms(), err)) << err;
        EXPECT_EQ(c.command({"PING"}, on_reply, &seen, 0), 0);
        if (!until([&] { return !seen.replies.empty(); })) return "TIMEOUT";
        return seen.replies[0];
    }

    // Starts c and turns until it is up.
    bool start_up(Client& c) {
        std::string err;
        EXPECT_TRUE(c.start(base::monotonic_ms(), err)) << err;
        return until([&] { return c.state() == Client::State::kUp; });
    }

private:
    net::Reactor reactor_;
    std::deque<Seen> seens_;
    std::vector<std::unique_ptr<Client>> clients_;  // destroyed first
};

ClientOptions options(const std::string& address) {
    ClientOptions o;
    o.address = address;
    o.backoff.initial_ms = 20;
    o.backoff.max_ms = 200;
    o.backoff.connect_timeout_ms = 3000;
    return o;
}

// ---- against a scripted peer -----------------------------------------------------------

class RedisClient : public ::testing::Test {
protected:
    void SetUp() override {
        std::string err;
        listen_fd_ = net::listen_tcp("127.0.0.1", 0, err);
        ASSERT_GE(listen_fd_, 0) << err;
        address_ = net::local_address(listen_fd_);
    }
    void TearDown() override {
        if (peer_ >= 0) ::close(peer_);
        ::close(listen_fd_);
    }

    // A RESP2 client without a handshake (up once connected) to the peer, up and accepted;
    // null on failure.
    Client* connected(Seen& seen, uint32_t max_bulk = RespLimits{}.max_bulk) {
        ClientOptions o = options(address_);
        o.protocol = 2;
        o.limits.max_bulk = max_bulk;
        Client& c = loop_.add(o, seen);
        return loop_.start_up(c) && accept_peer() ? &c : nullptr;
    }

    // Turns until the client's connection is accepted.
    bool accept_peer() {
        if (peer_ >= 0) ::close(peer_);
        peer_ = -1;
        return loop_.until([&] {
            peer_ = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
            return peer_ >= 0;
        });
    }
    // Turns until the peer has read `n` bytes.
    std::string read_peer(size_t n) {
        std::string got;
        (void)loop_.until([&] {
            char buf[4096];
            const ssize_t r = recv(peer_, buf, sizeof buf, MSG_DONTWAIT);
            if (r > 0) got.append(buf, static_cast<size_t>(r));
            return got.size() >= n;
        });
        return got;
    }

    int listen_fd_ = -1;
    int peer_ = -1;
    std::string address_;
    Loop loop_;
};

TEST_F(RedisClient, RefusesCommandsWhenNotStartedAndBadAddresses) {
    Seen& seen = loop_.seen();
    ClientOptions o = options("no-such-host.invalid:6379");
    Client& c = loop_.add(o, seen);
    EXPECT_EQ(c.command({"PING"}, on_reply, &seen, 0), -ENOTCONN);
    std::string err;
    EXPECT_FALSE(c.start(base::monotonic_ms(), err));
    EXPECT_NE(err.find("cannot look up no-such-host.invalid"), std::string::npos) << err;
    EXPECT_EQ(c.state(), Client::State::kIdle);
    EXPECT_EQ(c.command({}, on_reply, &seen, 0), -EINVAL);
    EXPECT_TRUE(seen.replies.empty());
}

TEST_F(RedisClient, GarbageFailsEveryRequestAndReconnects) {
    Seen& seen = loop_.seen();
    Client* cp = connected(seen);
    ASSERT_TRUE(cp);
    Client& c = *cp;
    ASSERT_EQ(c.command({"PING"}, on_reply, &seen, 1), 0);
    ASSERT_EQ(c.command({"PING"}, on_reply, &seen, 2), 0);
    EXPECT_EQ(read_peer(28), "*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n");
    ASSERT_EQ(send(peer_, "+PONG\r\n?what\r\n", 14, 0), 14);
    ASSERT_TRUE(loop_.until([&] { return seen.replies.size() == 2; }));
    EXPECT_EQ(seen.replies[0], "+PONG");
    EXPECT_EQ(seen.replies[1], "FAIL: protocol error: not a RESP type byte");
    EXPECT_EQ(seen.tags, (std::vector<uint64_t>{1, 2}));
    EXPECT_EQ(seen.downs, 1);
    // It comes back by itself.
    ASSERT_TRUE(accept_peer());
    ASSERT_TRUE(loop_.until([&] { return seen.ups == 2; }));
}

TEST_F(RedisClient, ReplyOverTheBoundClosesTheConnection) {
    Seen& seen = loop_.seen();
    Client* cp = connected(seen, 10);
    ASSERT_TRUE(cp);
    Client& c = *cp;
    ASSERT_EQ(c.command({"GET", "k"}, on_reply, &seen, 0), 0);
    ASSERT_EQ(c.command({"GET", "k"}, on_reply, &seen, 0), 0);
    ASSERT_EQ(send(peer_, "$10\r\n0123456789\r\n$11\r\n", 22, 0), 22);
    ASSERT_TRUE(loop_.until([&] { return seen.replies.size() == 2; }));
    EXPECT_EQ(seen.replies[0], "\"0123456789\"");
    EXPECT_EQ(seen.replies[1], "FAIL: protocol error: bulk string longer than the limit");
    EXPECT_NE(c.state(), Client::State::kUp);
}

TEST_F(RedisClient, ReplyToNoRequestClosesTheConnection) {
    Seen& seen = loop_.seen();
    ASSERT_TRUE(connected(seen));
    ASSERT_EQ(send(peer_, "+OK\r\n", 5, 0), 5);
    ASSERT_TRUE(loop_.until([&] { return seen.downs == 1; }));
}

TEST_F(RedisClient, StopFailsWhatIsPendingAndCallbacksMayCommand) {
    Seen& seen = loop_.seen();
    Client* cp = connected(seen);
    ASSERT_TRUE(cp);
    Client& c = *cp;
    struct Ctx {
        Client* c;
        std::vector<int> rcs;
    } ctx{&c, {}};
    auto again = [](void* p, const Reply&) noexcept {
        auto* x = static_cast<Ctx*>(p);
        x->rcs.push_back(x->c->command({"PING"}, nullptr, nullptr, 0));
    };
    for (int i = 0; i < 3; ++i) ASSERT_EQ(c.command({"PING"}, again, &ctx, 0), 0);
    EXPECT_EQ(c.pending(), 3u);
    c.stop();
    EXPECT_EQ(c.state(), Client::State::kIdle);
    EXPECT_EQ(c.pending(), 0u);
    EXPECT_EQ(ctx.rcs, (std::vector<int>{-ENOTCONN, -ENOTCONN, -ENOTCONN}));
    EXPECT_EQ(seen.downs, 1);
}

TEST_F(RedisClient, LogsEveryTransition) {
    struct Level {
        base::LogLevel saved = base::log_level();
        Level() { base::set_log_level(base::LogLevel::kDebug); }
        ~Level() { base::set_log_level(saved); }
    } level;
    ::testing::internal::CaptureStderr();
    Seen& seen = loop_.seen();
    Client* c = connected(seen);
    const bool ok = c && send(peer_, "?\r\n", 3, 0) == 3 && loop_.until([&] { return seen.downs == 1; }) &&
                    accept_peer() && loop_.until([&] { return seen.ups == 2; });
    if (c) c->stop();
    const std::string log = ::testing::internal::GetCapturedStderr();
    ASSERT_TRUE(ok) << log;
    const std::string at = "redis " + address_ + ": ";
    size_t pos = 0;
    for (const std::string& line : {"debug: " + at + "idle -> connecting", "debug: " + at + "connecting -> handshake",
                                    "debug: " + at + "handshake -> up", "info: " + at + "connected (RESP2)",
                                    "debug: " + at + "up -> waiting",
                                    "warn: " + at + "connection lost: protocol error: not a RESP type byte",
                                    "debug: " + at + "waiting -> connecting", "debug: " + at + "handshake -> up",
                                    "info: " + at + "connection restored (RESP2)", "debug: " + at + "up -> idle"}) {
        const size_t found = log.find(line, pos);
        ASSERT_NE(found, std::string::npos) << "missing, or out of order: " << line << "\n" << log;
        pos = found + line.size();
    }
}

TEST_F(RedisClient, ConnectTimeoutAbandonsASilentServer) {
    // A server that accepts and never answers HELLO: the handshake times out, then retries.
    Seen& seen = loop_.seen();
    ClientOptions o = options(address_);
    o.backoff.connect_timeout_ms = 200;
    Client& c = loop_.add(o, seen);
    std::string err;
    ASSERT_TRUE(c.start(base::monotonic_ms(), err)) << err;
    ASSERT_EQ(c.command({"PING"}, on_reply, &seen, 0), 0);  // queued behind the handshake
    ASSERT_TRUE(accept_peer());
    ASSERT_TRUE(loop_.until([&] { return !seen.replies.empty(); }, 5000));
    EXPECT_EQ(seen.replies[0], "FAIL: connect or handshake timed out");
    ASSERT_TRUE(accept_peer());  // the next attempt
    EXPECT_EQ(read_peer(22), "*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n");
}

// ---- against redis-server --------------------------------------------------------------

class RedisLive : public ::testing::Test {
protected:
    void SetUp() override {
        if (!RedisServer::available()) GTEST_SKIP() << "redis-server is not installed (tools/install-deps.sh)";
    }
    // A private redis-server, for a test that kills it, restarts it or configures it.
    void start_server(const std::vector<std::string>& extra = {}) {
        ASSERT_TRUE(server_.start(extra)) << server_.log();
    }
    // The run's shared redis-server, or a private one without it (redis_server.h): the test
    // keeps its keys and channels under k_.
    void start_shared() { ASSERT_TRUE(server_.start_shared()) << server_.log(); }
    // Options for the server with AUTH [user] password.
    ClientOptions auth(const std::string& user, const std::string& password) const {
        ClientOptions o = options(server_.address());
        o.user = user;
        o.password = password;
        return o;
    }

    RedisServer server_;
    const std::string k_ = testing::key_prefix();
    Loop loop_;
};

TEST_F(RedisLive, PingSpeaksResp3) {
    ASSERT_NO_FATAL_FAILURE(start_shared());
    Seen& seen = loop_.seen();
    Client& c = loop_.add(options(server_.address()), seen);
    ASSERT_TRUE(loop_.start_up(c));
    EXPECT_EQ(c.protocol(), 3);
    EXPECT_EQ(seen.ups, 1);
    EXPECT_EQ(loop_.call(c, seen, {"PING"}), "+PONG");
    EXPECT_EQ(loop_.call(c, seen, {"ECHO", std::string_view("a\r\n\0b", 5)}), "\"a\\x0d\\x0a\\x00b\"");
    EXPECT_EQ(loop_.call(c, seen, {"NOSUCHCOMMAND"}).substr(0, 20), "-ERR unknown command");
    // RESP3 types come through: a map, a double, a null.
    EXPECT_EQ(loop_.call(c, seen, {"HSET", k_ + "h", "f", "v"}), ":1");
    EXPECT_EQ(loop_.call(c, seen, {"HGETALL", k_ + "h"}), "{\"f\": \"v\"}");
    EXPECT_EQ(loop_.call(c, seen, {"ZADD", k_ + "z", "1.5", "m"}), ":1");
    EXPECT_EQ(loop_.call(c, seen, {"ZSCORE", k_ + "z", "m"}), ",1.5");
    EXPECT_EQ(loop_.call(c, seen, {"GET", k_ + "missing"}), "null");
}

TEST_F(RedisLive, PipelinesSetGetThousandDeep) {
    ASSERT_NO_FATAL_FAILURE(start_shared());
    Seen& seen = loop_.seen();
    Client& c = loop_.add(options(server_.address()), seen);
    std::string err;
    ASSERT_TRUE(c.start(base::monotonic_ms(), err)) << err;
    // Queued while connecting, behind the handshake; sent in one go once connected.
    constexpr int kDepth = 1000;
    std::vector<std::string> keys, values;
    for (int i = 0; i < kDepth; ++i) {
        keys.push_back(k_ + "key:" + std::to_string(i));
        values.push_back("value " + std::to_string(i * 7919));
    }
    for (int i = 0; i < kDepth; ++i) ASSERT_EQ(c.command({"SET", keys[i], values[i]}, on_reply, &seen, i), 0);
    for (int i = 0; i < kDepth; ++i) ASSERT_EQ(c.command({"GET", keys[i]}, on_reply, &seen, kDepth + i), 0);
    EXPECT_EQ(c.pending(), 2u * kDepth + 1);  // and HELLO
    ASSERT_TRUE(loop_.until([&] { return seen.replies.size() == 2 * kDepth; }));
    for (int i = 0; i < kDepth; ++i) {
        EXPECT_EQ(seen.tags[i], static_cast<uint64_t>(i));
        EXPECT_EQ(seen.replies[i], "+OK");
        EXPECT_EQ(seen.tags[kDepth + i], static_cast<uint64_t>(kDepth + i));
        EXPECT_EQ(seen.replies[kDepth + i], "\"" + values[i] + "\"");
    }
    // Once up, the same depth again in a single turn.
    seen.replies.clear();
    const std::string counter = k_ + "counter";
    for (int i = 0; i < kDepth; ++i) ASSERT_EQ(c.command({"INCR", counter}, on_reply, &seen, i), 0);
    EXPECT_GT(c.output_bytes(), 0u);
    ASSERT_TRUE(loop_.until([&] { return seen.replies.size() == kDepth; }));
    for (int i = 0; i < kDepth; ++i) ASSERT_EQ(seen.replies[i], ":" + std::to_string(i + 1));
}

TEST_F(RedisLive, HelloRefusedFallsBackToResp2) {
    start_server({"--rename-command", "HELLO", ""});
    Seen& seen = loop_.seen();
    Client& c = loop_.add(options(server_.address()), seen);
    ASSERT_TRUE(loop_.start_up(c));
    EXPECT_EQ(c.protocol(), 2);
    EXPECT_EQ(loop_.call(c, seen, {"PING"}), "+PONG");
    EXPECT_EQ(loop_.call(c, seen, {"GET", "missing"}), "null");  // $-1
    EXPECT_EQ(loop_.call(c, seen, {"HSET", "h", "f", "v"}), ":1");
    EXPECT_EQ(loop_.call(c, seen, {"HGETALL", "h"}), "[\"f\", \"v\"]");  // an array, not a map
}

TEST_F(RedisLive, AuthWithPassword) {
    start_server({"--requirepass", "s3cret"});
    Seen& seen_ok = loop_.seen();
    Client& ok = loop_.add(auth("", "s3cret"), seen_ok);
    ASSERT_TRUE(loop_.start_up(ok));
    EXPECT_EQ(ok.protocol(), 3);
    EXPECT_EQ(loop_.call(ok, seen_ok, {"SET", "k", "v"}), "+OK");

    // Without a password, HELLO 3 is refused with NOAUTH: RESP2, and commands get NOAUTH.
    Seen& seen_none = loop_.seen();
    Client& none = loop_.add(options(server_.address()), seen_none);
    ASSERT_TRUE(loop_.start_up(none));
    EXPECT_EQ(loop_.call(none, seen_none, {"GET", "k"}).substr(0, 7), "-NOAUTH");

    // A wrong password never comes up; what was queued fails with the server's words.
    Seen& seen_bad = loop_.seen();
    Client& bad = loop_.add(auth("", "wrong"), seen_bad);
    const std::string got = loop_.first_outcome(bad, seen_bad);
    EXPECT_EQ(got.substr(0, 29), "FAIL: AUTH refused: WRONGPASS") << got;
    EXPECT_EQ(seen_bad.ups, 0);
    EXPECT_NE(bad.state(), Client::State::kUp);
}

TEST_F(RedisLive, AuthWithAclUser) {
    start_server({"--requirepass", "admin-pw"});
    Seen& seen_admin = loop_.seen();
    Client& admin = loop_.add(auth("", "admin-pw"), seen_admin);
    ASSERT_TRUE(loop_.start_up(admin));
    EXPECT_EQ(loop_.call(admin, seen_admin, {"ACL", "SETUSER", "alice", "on", ">wonderland", "~*", "&*", "+@all"}), "+OK");

    Seen& seen_alice = loop_.seen();
    Client& alice = loop_.add(auth("alice", "wonderland"), seen_alice);
    ASSERT_TRUE(loop_.start_up(alice));
    EXPECT_EQ(alice.protocol(), 3);
    EXPECT_EQ(loop_.call(alice, seen_alice, {"ACL", "WHOAMI"}), "\"alice\"");

    Seen& seen_wrong = loop_.seen();
    Client& wrong = loop_.add(auth("alice", "looking-glass"), seen_wrong);
    const std::string got = loop_.first_outcome(wrong, seen_wrong);
    EXPECT_EQ(got.substr(0, 29), "FAIL: AUTH refused: WRONGPASS") << got;
}

TEST_F(RedisLive, SelectsTheDatabase) {
    ASSERT_NO_FATAL_FAILURE(start_shared());
    Seen& s3 = loop_.seen();
    Seen& s0 = loop_.seen();
    Seen& s3b = loop_.seen();
    ClientOptions o3 = options(server_.address());
    o3.db = 3;
    Client& db3 = loop_.add(o3, s3);
    Client& db0 = loop_.add(options(server_.address()), s0);
    Client& db3b = loop_.add(o3, s3b);
    ASSERT_TRUE(loop_.start_up(db3));
    ASSERT_TRUE(loop_.start_up(db0));
    ASSERT_TRUE(loop_.start_up(db3b));
    const std::string k = k_ + "k";
    EXPECT_EQ(loop_.call(db3, s3, {"SET", k, "three"}), "+OK");
    EXPECT_EQ(loop_.call(db0, s0, {"GET", k}), "null");
    EXPECT_EQ(loop_.call(db0, s0, {"SET", k, "zero"}), "+OK");
    EXPECT_EQ(loop_.call(db3b, s3b, {"GET", k}), "\"three\"");
    EXPECT_EQ(loop_.call(db3b, s3b, {"CLIENT", "INFO"}).find(" db=3 ") != std::string::npos, true);

    // A database the server does not have: never up.
    Seen& s99 = loop_.seen();
    ClientOptions o99 = options(server_.address());
    o99.db = 99;
    Client& db99 = loop_.add(o99, s99);
    const std::string got = loop_.first_outcome(db99, s99);
    EXPECT_EQ(got.substr(0, 25), "FAIL: SELECT 99 refused: ") << got;
}

// Channels under k (the test's key prefix).
void subscribe_and_publish(Loop& loop, const std::string& address, uint8_t protocol, const std::string& k) {
    const std::string news = k + "news", sport = k + "sport", weather = k + "weather";
    Seen& sub_seen = loop.seen();
    Seen& pub_seen = loop.seen();
    ClientOptions so = options(address);
    so.protocol = protocol;
    so.subscriber = true;
    Client& sub = loop.add(so, sub_seen);
    Client& pub = loop.add(options(address), pub_seen);
    ASSERT_TRUE(loop.start_up(sub));
    ASSERT_TRUE(loop.start_up(pub));
    EXPECT_EQ(sub.protocol(), protocol);
    // Subscription commands take no completion: their confirmations are pushes.
    EXPECT_EQ(sub.command({"SUBSCRIBE", news}, on_reply, &sub_seen, 0), -EINVAL);
    EXPECT_EQ(pub.command({"SUBSCRIBE", news}, nullptr, nullptr, 0), -EINVAL);  // not a subscriber
    ASSERT_EQ(sub.command({"SUBSCRIBE", news, sport}, nullptr, nullptr, 0), 0);
    ASSERT_TRUE(loop.until([&] { return sub_seen.pushes.size() == 2; }));
    const std::string open = protocol == 3 ? ">[" : "[";
    EXPECT_EQ(sub_seen.pushes[0], open + "\"subscribe\", \"" + news + "\", :1]");
    EXPECT_EQ(sub_seen.pushes[1], open + "\"subscribe\", \"" + sport + "\", :2]");
    EXPECT_EQ(loop.call(pub, pub_seen, {"PUBLISH", news, "hello"}), ":1");
    EXPECT_EQ(loop.call(pub, pub_seen, {"PUBLISH", weather, "rain"}), ":0");
    EXPECT_EQ(loop.call(pub, pub_seen, {"PUBLISH", sport, std::string(100000, 'x')}), ":1");
    ASSERT_TRUE(loop.until([&] { return sub_seen.pushes.size() == 4; }));
    EXPECT_EQ(sub_seen.pushes[2], open + "\"message\", \"" + news + "\", \"hello\"]");
    EXPECT_EQ(sub_seen.pushes[3], open + "\"message\", \"" + sport + "\", \"" + std::string(100000, 'x') + "\"]");
    // A command with a reply still completes in order between the pushes.
    EXPECT_EQ(loop.call(sub, sub_seen, {"PING"}), protocol == 3 ? "+PONG" : "[\"pong\", \"\"]");
    ASSERT_EQ(sub.command({"UNSUBSCRIBE", news}, nullptr, nullptr, 0), 0);
    ASSERT_TRUE(loop.until([&] { return sub_seen.pushes.size() == 5; }));
    EXPECT_EQ(sub_seen.pushes[4], open + "\"unsubscribe\", \"" + news + "\", :1]");
    EXPECT_TRUE(sub_seen.replies.size() == 1) << "no push may complete a request";
}

TEST_F(RedisLive, SubscribeAndPublishResp3) {
    ASSERT_NO_FATAL_FAILURE(start_shared());
    subscribe_and_publish(loop_, server_.address(), 3, k_);
}

TEST_F(RedisLive, SubscribeAndPublishResp2) {
    ASSERT_NO_FATAL_FAILURE(start_shared());
    subscribe_and_publish(loop_, server_.address(), 2, k_);
}

TEST_F(RedisLive, KilledMidPipelineFailsEveryRequestThenReconnects) {
    start_server();
    Seen& seen = loop_.seen();
    Client& c = loop_.add(options(server_.address()), seen);
    ASSERT_TRUE(loop_.start_up(c));
    EXPECT_EQ(loop_.call(c, seen, {"SET", "a", "1"}), "+OK");
    seen.replies.clear();
    seen.tags.clear();
    // BLPOP on an empty list blocks the connection, so the 999 commands behind it stay
    // unanswered however fast the server is.
    constexpr int kDepth = 1000;
    ASSERT_EQ(c.command({"BLPOP", "empty-list", "0"}, on_reply, &seen, 0), 0);
    for (int i = 1; i < kDepth; ++i) ASSERT_EQ(c.command({"PING"}, on_reply, &seen, i), 0);
    ASSERT_TRUE(loop_.until([&] { return c.output_bytes() == 0; }));
    EXPECT_EQ(c.pending(), static_cast<size_t>(kDepth));
    server_.kill();
    ASSERT_TRUE(loop_.until([&] { return seen.replies.size() == kDepth; }));
    for (int i = 0; i < kDepth; ++i) {
        ASSERT_EQ(seen.tags[i], static_cast<uint64_t>(i));
        ASSERT_EQ(seen.replies[i].substr(0, 6), "FAIL: ") << seen.replies[i];
    }
    EXPECT_EQ(seen.downs, 1);
    EXPECT_EQ(c.pending(), 0u);
    // Attempts fail while it is down; once it is back the client reconnects by itself.
    ASSERT_TRUE(loop_.until([&] { return c.state() == Client::State::kWaiting; }));
    ASSERT_TRUE(server_.start({}, server_.port())) << server_.log();
    ASSERT_TRUE(loop_.until([&] { return seen.ups == 2; }));
    EXPECT_EQ(loop_.call(c, seen, {"PING"}), "+PONG");
    EXPECT_EQ(loop_.call(c, seen, {"GET", "a"}), "null");  // no persistence: a new server
}

TEST_F(RedisLive, ConnectsOnceTheServerAppears) {
    const uint16_t port = testing::free_port();
    Seen& seen = loop_.seen();
    Client& c = loop_.add(options("127.0.0.1:" + std::to_string(port)), seen);
    std::string err;
    ASSERT_TRUE(c.start(base::monotonic_ms(), err)) << err;
    ASSERT_TRUE(loop_.until([&] { return c.state() == Client::State::kWaiting; }));
    EXPECT_EQ(c.command({"PING"}, on_reply, &seen, 0), -ENOTCONN);
    ASSERT_TRUE(server_.start({}, port)) << server_.log();
    ASSERT_TRUE(loop_.until([&] { return c.state() == Client::State::kUp; }));
    EXPECT_EQ(loop_.call(c, seen, {"PING"}), "+PONG");
}

TEST_F(RedisLive, UnixSocket) {
    ASSERT_NO_FATAL_FAILURE(start_shared());
    ASSERT_FALSE(server_.unix_path().empty()) << "WSPUSH_TEST_REDIS_UNIX is not set";
    Seen& seen = loop_.seen();
    Client& c = loop_.add(options("unix:" + server_.unix_path()), seen);
    ASSERT_TRUE(loop_.start_up(c));
    EXPECT_EQ(c.protocol(), 3);
    EXPECT_EQ(loop_.call(c, seen, {"PING"}), "+PONG");
    EXPECT_EQ(loop_.call(c, seen, {"CLIENT", "INFO"}).find(" laddr=" + server_.unix_path()) != std::string::npos, true);
}

TEST_F(RedisLive, OutputAndPendingBoundsRefuseWithoutQueueing) {
    ASSERT_NO_FATAL_FAILURE(start_shared());
    Seen& seen = loop_.seen();
    ClientOptions o = options(server_.address());
    o.max_output = 200;
    o.max_pending = 3;
    Client& c = loop_.add(o, seen);
    ASSERT_TRUE(loop_.start_up(c));
    const std::string k = k_ + "k";
    const std::string big(300, 'b');
    EXPECT_EQ(c.command({"SET", k, big}, on_reply, &seen, 0), -ENOBUFS);
    EXPECT_EQ(c.output_bytes(), 0u);
    EXPECT_EQ(c.pending(), 0u);
    const std::string fits(120, 'f');  // 148 bytes encoded, and the key's prefix (under 40): one fits, not two
    ASSERT_EQ(c.command({"SET", k, fits}, on_reply, &seen, 1), 0);
    const size_t queued = c.output_bytes();
    // A second one would pass the bound while the first is unsent.
    EXPECT_EQ(c.command({"SET", k, fits}, on_reply, &seen, 2), -ENOBUFS);
    EXPECT_EQ(c.output_bytes(), queued);
    ASSERT_EQ(c.command({"PING"}, on_reply, &seen, 3), 0);
    ASSERT_EQ(c.command({"PING"}, on_reply, &seen, 4), 0);
    EXPECT_EQ(c.command({"PING"}, on_reply, &seen, 5), -ENOBUFS);  // 3 awaiting replies
    ASSERT_TRUE(loop_.until([&] { return seen.replies.size() == 3; }));
    EXPECT_EQ(seen.tags, (std::vector<uint64_t>{1, 3, 4}));
    EXPECT_EQ(loop_.call(c, seen, {"STRLEN", k}), ":120");
}

}  // namespace
}  // namespace wspush::redis
