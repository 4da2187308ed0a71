// --workers 2, the real binary: clients spread over both workers (told apart by STATS's
// per-worker breakdown); every publication reaches every member on both workers once and
// in order (a control PUB and a relayed client message alike); ?since= resumes exactly on
// either worker; a worker killed with SIGKILL is restarted while the other keeps serving,
// and takes over the history kept for resume (pushes made meanwhile follow it);
// STATS sums; SIGTERM stops everything with status 0; bad --workers values exit 2.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "support/push_support.h"
#include "support/webhook_support.h"

namespace wspush::testing {
namespace {

constexpr int kMaxTries = 64;  // connections tried before giving up on reaching both workers

// A worker's line in STATS: its pid and one figure.
struct WorkerFigure {
    uint64_t pid = 0;
    uint64_t value = 0;
    bool missing = false;
};

std::vector<WorkerFigure> per_worker(ControlConn& ctl, std::string_view figure) {
    std::vector<WorkerFigure> out;
    auto j = stats(ctl);
    if (!j || !j->get("workers")) return out;
    for (const Json& w : j->get("workers")->items) {
        WorkerFigure f;
        f.pid = w.get("pid") ? w.get("pid")->uint().value_or(0) : 0;
        f.missing = w.get("missing") != nullptr;
        const Json* v = &w;
        for (size_t at = 0; v && at <= figure.size();) {  // a dotted path
            const size_t dot = std::min(figure.find('.', at), figure.size());
            v = v->get(figure.substr(at, dot - at));
            at = dot + 1;
        }
        f.value = v ? v->uint().value_or(0) : 0;
        out.push_back(f);
    }
    return out;
}

class Workers : public PushServerTest {
protected:
    // A client subscribed at `target`, and the worker that took it.
    struct Placed {
        std::unique_ptr<RawClient> c;
        size_t worker;
    };

    // Subscribes new clients at `target` until `want` of them are on each of the two
    // workers (bounded); extra ones on a worker already full enough are kept too (they are
    // members all the same) and listed.
    ::testing::AssertionResult spread(std::vector<Placed>& out, std::string_view target, size_t want,
                                      bool envelope = true) {
        std::vector<uint64_t> before = connections();
        if (before.size() != 2) return ::testing::AssertionFailure() << "STATS has no two-worker breakdown";
        size_t on[2] = {0, 0};
        for (int i = 0; i < kMaxTries && (on[0] < want || on[1] < want); ++i) {
            auto c = std::make_unique<RawClient>();
            if (!subscribe(*c, srv_.port(), target, envelope)) return ::testing::AssertionFailure() << "subscribe failed";
            std::vector<uint64_t> after = connections();
            if (after.size() != 2) return ::testing::AssertionFailure() << "STATS failed";
            size_t w = after[0] > before[0] ? 0 : after[1] > before[1] ? 1 : 2;
            if (w == 2) return ::testing::AssertionFailure() << "the new client is on no worker";
            ++on[w];
            out.push_back({std::move(c), w});
            before = after;
        }
        if (on[0] < want || on[1] < want)
            return ::testing::AssertionFailure() << "clients on the workers after " << kMaxTries << ": " << on[0] << ", "
                                                 << on[1] << "\n"
                                                 << srv_.log();
        return ::testing::AssertionSuccess();
    }

    // Each worker's open connections; empty when STATS fails or a worker has not answered
    // for 5 s (one starting up or restarting is waited for).
    std::vector<uint64_t> connections() {
        std::vector<uint64_t> v;
        (void)wait_until([&] {
            v.clear();
            for (const WorkerFigure& f : per_worker(ctl_, "connections")) {
                if (f.missing) return false;
                v.push_back(f.value);
            }
            return !v.empty();
        }, 5000, 20);
        return v;
    }
};

// Nothing more arrives on c (a bounded wait for a frame that must not come).
::testing::AssertionResult quiet(RawClient& c) {
    if (auto f = read_data(c, 300)) return ::testing::AssertionFailure() << "unexpected frame: " << f->payload;
    return ::testing::AssertionSuccess();
}

TEST_F(Workers, EveryPublicationReachesEveryWorkerOnceInOrder) {
    ASSERT_TRUE(start({"--workers", "2", "--mode", "relay"}));
    std::vector<Placed> subs;
    ASSERT_TRUE(spread(subs, "/ws/room", 2));
    ASSERT_NO_FATAL_FAILURE(publish_numbered(ctl_, "room", 1, 5));
    // A relayed client message: from a client on worker 1, numbered 6 for everyone else.
    size_t sender = 0;
    while (subs[sender].worker != 1) ++sender;
    ASSERT_TRUE(subs[sender].c->send_frame(0x1, "m6"));
    // Its delivery is applied before the next PUB is numbered only if the parent took it
    // first: wait until a member on the other worker has it before publishing 7.
    size_t witness = 0;
    while (subs[witness].worker != 0) ++witness;
    ASSERT_NO_FATAL_FAILURE(expect_numbered(*subs[witness].c, "room", 1, 6));
    ASSERT_NO_FATAL_FAILURE(publish_numbered(ctl_, "room", 7, 7));
    for (size_t i = 0; i < subs.size(); ++i) {
        SCOPED_TRACE("client " + std::to_string(i) + " on worker " + std::to_string(subs[i].worker));
        RawClient& c = *subs[i].c;
        if (i == witness) {
            ASSERT_NO_FATAL_FAILURE(expect_numbered(c, "room", 7, 7));
        } else if (i == sender) {
            ASSERT_NO_FATAL_FAILURE(expect_numbered(c, "room", 1, 5));
            ASSERT_NO_FATAL_FAILURE(expect_numbered(c, "room", 7, 7)) << "the sender does not get its own message";
        } else {
            ASSERT_NO_FATAL_FAILURE(expect_numbered(c, "room", 1, 7));
        }
        EXPECT_TRUE(quiet(c));
    }
    auto s = stats(ctl_);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->get("published")->uint(), 7u) << "each publication counted once, by the worker that took it";
}

TEST_F(Workers, ResumeIsExactOnEitherWorker) {
    ASSERT_TRUE(start({"--workers", "2"}));
    ASSERT_NO_FATAL_FAILURE(publish_numbered(ctl_, "feed", 1, 5));
    std::vector<Placed> subs;
    ASSERT_TRUE(spread(subs, "/ws/feed?since=2", 1));
    std::string epoch;
    for (Placed& p : subs) {
        SCOPED_TRACE("worker " + std::to_string(p.worker));
        ASSERT_NO_FATAL_FAILURE(expect_numbered(*p.c, "feed", 3, 5));
        EXPECT_TRUE(quiet(*p.c));
    }
    ASSERT_NO_FATAL_FAILURE(publish_numbered(ctl_, "feed", 6, 6));
    for (Placed& p : subs) {
        auto j = read_json(*p.c);
        ASSERT_TRUE(j);
        EXPECT_EQ(envelope_seq(*j), 6u);
        if (epoch.empty()) epoch = j->get("epoch")->text;
        EXPECT_EQ(j->get("epoch")->text, epoch) << "one numbering on every worker";
    }
    // With the epoch named, on each worker again.
    std::vector<Placed> again;
    ASSERT_TRUE(spread(again, "/ws/feed?since=" + epoch + ".4", 1));
    for (Placed& p : again) {
        SCOPED_TRACE("worker " + std::to_string(p.worker));
        ASSERT_NO_FATAL_FAILURE(expect_numbered(*p.c, "feed", 5, 6, epoch));
        EXPECT_TRUE(quiet(*p.c));
    }
}

TEST_F(Workers, AKilledWorkerIsRestartedAndTheOtherServesOn) {
    if (ServerProcess::wrapped()) GTEST_SKIP() << "the workers run outside the wrapper";
    ASSERT_TRUE(start({"--workers", "2"}));
    std::vector<Placed> subs;
    ASSERT_TRUE(spread(subs, "/ws/live", 1));
    ASSERT_NO_FATAL_FAILURE(publish_numbered(ctl_, "live", 1, 2));
    for (Placed& p : subs) ASSERT_NO_FATAL_FAILURE(expect_numbered(*p.c, "live", 1, 2));
    // The worker without the control connection goes.
    std::vector<WorkerFigure> ctl = per_worker(ctl_, "control_clients");
    ASSERT_EQ(ctl.size(), 2u);
    const size_t victim = ctl[0].value == 0 ? 0 : 1;
    const size_t other = 1 - victim;
    const pid_t old_pid = static_cast<pid_t>(ctl[victim].pid);
    ASSERT_GT(old_pid, 0);
    ASSERT_EQ(kill(old_pid, SIGKILL), 0);
    pid_t new_pid = 0;
    ASSERT_TRUE(wait_until([&] {
        std::vector<WorkerFigure> now = per_worker(ctl_, "connections");
        if (now.size() != 2 || now[victim].missing || now[victim].pid == static_cast<uint64_t>(old_pid)) return false;
        new_pid = static_cast<pid_t>(now[victim].pid);
        return new_pid > 0;
    }, 10000, 50)) << srv_.log();
    EXPECT_TRUE(srv_.wait_log("worker " + std::to_string(victim) + " (pid " + std::to_string(old_pid) +
                              ") was killed by signal 9"))
        << srv_.log();
    EXPECT_TRUE(srv_.wait_log("worker " + std::to_string(victim) + " started (pid " + std::to_string(new_pid) + ")"));
    for (Placed& p : subs) {
        if (p.worker == victim) {
            EXPECT_TRUE(p.c->wait_eof()) << "its clients went with it";
        }
    }
    // New clients are served on both, the restarted worker included; the other worker's
    // clients go on receiving.
    std::vector<Placed> fresh;
    ASSERT_TRUE(spread(fresh, "/ws/live", 1));
    ASSERT_NO_FATAL_FAILURE(publish_numbered(ctl_, "live", 3, 3));
    for (Placed& p : fresh) ASSERT_NO_FATAL_FAILURE(expect_numbered(*p.c, "live", 3, 3));
    for (Placed& p : subs) {
        if (p.worker == other) {
            ASSERT_NO_FATAL_FAILURE(expect_numbered(*p.c, "live", 3, 3));
            EXPECT_TRUE(quiet(*p.c));
        }
    }
    // The restarted worker took over the history kept before it started: a resume is exact
    // on both, seq 2 (published before the restart) included.
    EXPECT_TRUE(srv_.wait_log("worker " + std::to_string(victim) + ": taking over the history for resume from worker " +
                              std::to_string(other)))
        << srv_.log();
    std::vector<Placed> resumed;
    ASSERT_TRUE(spread(resumed, "/ws/live?since=1", 1));
    for (Placed& p : resumed) {
        SCOPED_TRACE("worker " + std::to_string(p.worker));
        ASSERT_NO_FATAL_FAILURE(expect_numbered(*p.c, "live", 2, 3));
        EXPECT_TRUE(quiet(*p.c));
    }
}

// Publishes "m<seq>." padded with '.' to `size` bytes on ch (seq from..to), pipelined.
void publish_padded(ControlConn& ctl, const std::string& ch, uint64_t from, uint64_t to, size_t size) {
    std::string batch;
    for (uint64_t s = from; s <= to; ++s) {
        std::string data = "m" + std::to_string(s) + ".";
        data.resize(size, '.');
        batch += "PUB " + ch + " " + data + "\n";
    }
    ASSERT_TRUE(ctl.send(batch));
    for (uint64_t s = from; s <= to; ++s) {
        auto l = ctl.read_line();
        ASSERT_TRUE(l) << "no reply for seq " << s;
        ASSERT_EQ(l->rfind("OK seq=" + std::to_string(s) + " ", 0), 0u) << *l;
    }
}

// Reads seqs from..to of ch from c, in order, each "m<seq>." padded to `size` (0: unpadded).
void expect_padded(RawClient& c, const std::string& ch, uint64_t from, uint64_t to, size_t size) {
    for (uint64_t s = from; s <= to; ++s) {
        auto j = read_json(c);
        ASSERT_TRUE(j) << "seq " << s << " missing";
        ASSERT_TRUE(j->get("type") && j->get("data")) << "seq " << s;
        ASSERT_EQ(j->get("type")->text, "msg") << "seq " << s << ": " << j->get("type")->text;
        EXPECT_EQ(j->get("channel")->text, ch);
        ASSERT_EQ(envelope_seq(*j), s);
        const std::string& d = j->get("data")->text;
        const std::string head = "m" + std::to_string(s) + ".";
        ASSERT_EQ(d.substr(0, head.size()), head) << "seq " << s;
        if (size) {
            EXPECT_EQ(d.size(), size) << "seq " << s;
        }
    }
}

TEST_F(Workers, ARestartedWorkerTakesOverTheHistoryWhilePushesGoOn) {
    if (ServerProcess::wrapped()) GTEST_SKIP() << "the workers run outside the wrapper";
    // Several MiB of history over three channels: handed over in many pieces.
    constexpr size_t kSize = 20000;
    constexpr uint64_t kEach = 70;
    ASSERT_TRUE(start({"--workers", "2", "--history", "1000", "--history-bytes", "64M"}));
    const std::vector<std::string> chans = {"alpha", "beta", "gamma"};
    for (const std::string& ch : chans) ASSERT_NO_FATAL_FAILURE(publish_padded(ctl_, ch, 1, kEach, kSize));
    std::vector<WorkerFigure> ctl = per_worker(ctl_, "control_clients");
    ASSERT_EQ(ctl.size(), 2u);
    const size_t victim = ctl[0].value == 0 ? 0 : 1;
    const pid_t old_pid = static_cast<pid_t>(ctl[victim].pid);
    ASSERT_GT(old_pid, 0);
    ASSERT_EQ(kill(old_pid, SIGKILL), 0);
    // Pushes go on while the worker is restarted and takes the history over: each one is
    // numbered after it, and reaches the new worker behind it.
    uint64_t next = kEach + 1;
    ASSERT_TRUE(wait_until([&] {
        std::string data = "m" + std::to_string(next) + ".";
        auto l = ctl_.command("PUB alpha " + data);
        if (!l || l->rfind("OK seq=" + std::to_string(next) + " ", 0) != 0) return false;
        ++next;
        std::vector<WorkerFigure> now = per_worker(ctl_, "connections");
        return now.size() == 2 && !now[victim].missing && now[victim].pid != static_cast<uint64_t>(old_pid) &&
               now[victim].pid != 0;
    }, 15000, 0)) << srv_.log();
    const uint64_t last = next - 1;
    // 210 and those pushed before it was started again (its channels were kept by the other).
    EXPECT_TRUE(srv_.wait_log(" kept publication(s) on 3 channel(s) taken over for resume")) << srv_.log();
    for (const std::string& ch : chans) {
        SCOPED_TRACE(ch);
        std::vector<Placed> resumed;
        ASSERT_TRUE(spread(resumed, "/ws/" + ch + "?since=0", 1));
        for (Placed& p : resumed) {
            SCOPED_TRACE("worker " + std::to_string(p.worker));
            ASSERT_NO_FATAL_FAILURE(expect_padded(*p.c, ch, 1, kEach, kSize));
            if (ch == "alpha") {
                ASSERT_NO_FATAL_FAILURE(expect_padded(*p.c, ch, kEach + 1, last, 0));
            }
            EXPECT_TRUE(quiet(*p.c));
        }
    }
}

TEST_F(Workers, WebhookPushesAreNumberedOnceForEveryWorker) {
    // Room for every try.
    ASSERT_TRUE(start({"--workers", "2", "--robot", "room-token-0001 room rate=1000/60s"}));
    std::vector<Placed> subs;
    ASSERT_TRUE(spread(subs, "/ws/room", 1));
    const std::string bearer = "Authorization: Bearer room-token-0001\r\n";
    // A fresh connection per push until each worker has answered some.
    uint64_t seq = 0;
    for (int i = 0; i < kMaxTries; ++i) {
        std::vector<WorkerFigure> w = per_worker(ctl_, "webhook.requests");
        ASSERT_EQ(w.size(), 2u);
        if (w[0].value > 0 && w[1].value > 0) break;
        RawClient c;
        ASSERT_TRUE(c.connect(srv_.port()));
        ++seq;
        HttpReply r = post(c, "/push/room", "m" + std::to_string(seq), "text/plain", bearer);
        ASSERT_EQ(r.status, 200) << r.body;
        EXPECT_EQ(r.body, "{\"errcode\":0,\"errmsg\":\"ok\",\"seq\":" + std::to_string(seq) + ",\"delivered\":" +
                              std::to_string(r.json && r.json->get("delivered") ? *r.json->get("delivered")->uint() : 0) +
                              "}");
    }
    std::vector<WorkerFigure> w = per_worker(ctl_, "webhook.requests");
    ASSERT_TRUE(w.size() == 2 && w[0].value > 0 && w[1].value > 0) << "webhook requests did not reach both workers";
    // Pipelined on one kept-alive connection: each answer waits for its number, in order.
    RawClient c;
    ASSERT_TRUE(c.connect(srv_.port()));
    ASSERT_TRUE(c.send_all(post_request("/push/room", "m" + std::to_string(seq + 1), "text/plain", bearer) +
                           post_request("/push/room", "m" + std::to_string(seq + 2), "text/plain", bearer)));
    for (uint64_t k = 1; k <= 2; ++k) {
        HttpReply r = parse_reply(c.read_http());
        ASSERT_EQ(r.status, 200);
        ASSERT_TRUE(r.json && r.json->get("seq")) << r.body;
        EXPECT_EQ(r.json->get("seq")->uint(), seq + k);
    }
    seq += 2;
    // A robot message too.
    RawClient robot;
    ASSERT_TRUE(robot.connect(srv_.port()));
    HttpReply r = post(robot, "/robot/send?access_token=room-token-0001",
                       R"({"msgtype":"text","text":{"content":"hello"}})");
    ASSERT_EQ(r.errcode(), 0) << r.body;
    for (Placed& p : subs) {
        SCOPED_TRACE("worker " + std::to_string(p.worker));
        ASSERT_NO_FATAL_FAILURE(expect_numbered(*p.c, "room", 1, seq));
        auto j = read_json(*p.c);
        ASSERT_TRUE(j);
        EXPECT_EQ(envelope_seq(*j), seq + 1) << "the robot message, numbered after the pushes";
        EXPECT_TRUE(quiet(*p.c));
    }
}

TEST_F(Workers, CommandsAndDirectMessagesReachClientsOnEveryWorker) {
    ASSERT_TRUE(start({"--workers", "2", "--robot", "room-token-0001 room", "--http-stats"}));
    // One client on each worker, each with an id of its own ("dev-<worker>").
    std::unique_ptr<RawClient> on[2];
    std::vector<uint64_t> before = connections();
    ASSERT_EQ(before.size(), 2u);
    std::vector<std::unique_ptr<RawClient>> spare;  // landed on a worker that had one already
    for (int k = 0; k < kMaxTries && (!on[0] || !on[1]); ++k) {
        const size_t want = on[0] ? 1 : 0;
        auto c = std::make_unique<RawClient>();
        ASSERT_TRUE(subscribe(*c, srv_.port(), "/ws/room?id=dev-" + std::to_string(want),
                              true));
        std::vector<uint64_t> after = connections();
        ASSERT_EQ(after.size(), 2u);
        const size_t w = after[0] > before[0] ? 0 : 1;
        before = after;
        if (w == want) on[w] = std::move(c);
        else spare.push_back(std::move(c));  // another id's: it must not get the messages below
    }
    ASSERT_TRUE(on[0] && on[1]) << "no client on each worker";
    spare.clear();  // out of the way: only the two stay
    ASSERT_TRUE(wait_until([&] {
        std::vector<uint64_t> v = connections();
        return v.size() == 2 && v[0] + v[1] == 2;
    }, 5000, 20));
    // The control connection is on one worker: the client on the other is reached all the same.
    std::vector<WorkerFigure> ctl = per_worker(ctl_, "control_clients");
    ASSERT_EQ(ctl.size(), 2u);
    const size_t far = ctl[0].value == 0 ? 0 : 1;
    const std::string far_id = "dev-" + std::to_string(far);
    RawClient& far_client = *on[far];
    RawClient& near_client = *on[1 - far];

    EXPECT_EQ(ctl_.command("SEND " + far_id + " hi there"), "OK delivered=1");
    EXPECT_TRUE(next_data_is(far_client, R"({"type":"direct","data":"hi there"})"));
    EXPECT_TRUE(quiet(near_client));

    EXPECT_EQ(ctl_.command("BROADCAST all of you"), "OK delivered=2");
    EXPECT_TRUE(next_data_is(far_client, R"({"type":"broadcast","data":"all of you"})"));
    EXPECT_TRUE(next_data_is(near_client, R"({"type":"broadcast","data":"all of you"})"));

    auto clients = ctl_.command("CLIENTS room");
    ASSERT_TRUE(clients);
    auto list = parse_json(std::string_view(*clients).substr(3));
    ASSERT_TRUE(list) << *clients;
    std::set<std::string> ids;
    for (const Json& c : list->items) ids.insert(c.get("id")->text);
    EXPECT_EQ(ids, (std::set<std::string>{"dev-0", "dev-1"})) << *clients;

    auto channels = ctl_.command("CHANNELS");
    ASSERT_TRUE(channels);
    auto chans = parse_json(std::string_view(*channels).substr(3));
    ASSERT_TRUE(chans) << *channels;
    ASSERT_EQ(chans->items.size(), 1u) << *channels;
    EXPECT_EQ(chans->items[0].get("name")->text, "room");
    EXPECT_EQ(chans->items[0].get("members")->uint(), 2u) << "the members of both workers";

    ASSERT_TRUE(ctl_.send("METRICS\n"));
    std::string metrics;
    for (auto l = ctl_.read_line(); l && *l != "OK"; l = ctl_.read_line()) metrics += *l + "\n";
    EXPECT_NE(metrics.find("\nwspush_connections 2\n"), std::string::npos) << metrics;
    EXPECT_NE(metrics.find("\nwspush_channels 1\n"), std::string::npos) << "held by both: not summed\n" << metrics;
    EXPECT_NE(metrics.find("\nwspush_workers_answered 2\n"), std::string::npos) << metrics;

    // GET /metrics and /stats give every worker's sums, whichever worker takes them (several
    // connections: both workers answer some).
    for (int k = 0; k < 6; ++k) {
        RawClient c;
        ASSERT_TRUE(c.connect(srv_.port()));
        const bool json = k % 2;
        ASSERT_TRUE(c.send_all(std::string("GET ") + (json ? "/stats" : "/metrics") +
                               " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
        HttpReply r = parse_reply(c.read_http());
        ASSERT_EQ(r.status, 200) << r.body;
        if (json) {
            ASSERT_TRUE(r.json) << r.body;
            EXPECT_EQ(r.json->get("connections")->uint(), 2u) << r.body;
            ASSERT_TRUE(r.json->get("workers")) << r.body;
            EXPECT_EQ(r.json->get("workers")->items.size(), 2u);
        } else {
            EXPECT_NE(r.body.find("\nwspush_connections 2\n"), std::string::npos) << r.body;
            EXPECT_EQ(r.body.find("OK\n"), std::string::npos) << "a page, not the control reply";
        }
    }

    // The webhook's /send/<id> too, from whichever worker takes it.
    for (int k = 0; k < 4; ++k) {
        RawClient c;
        ASSERT_TRUE(c.connect(srv_.port()));
        HttpReply r = post(c, "/send/" + far_id, "ping " + std::to_string(k), "text/plain",
                           "Authorization: Bearer room-token-0001\r\n");
        ASSERT_EQ(r.status, 200) << r.body;
        ASSERT_TRUE(r.json && r.json->get("delivered")) << r.body;
        EXPECT_EQ(r.json->get("delivered")->uint(), 1u) << r.body;
        EXPECT_TRUE(next_data_is(far_client, R"({"type":"direct","data":"ping )" + std::to_string(k) + R"("})"));
    }
    EXPECT_TRUE(quiet(near_client));

    // A robot message mentioning a client of another channel on the far worker.
    std::unique_ptr<RawClient> outsider_far;
    std::string far_bob_id;
    for (int k = 0; k < kMaxTries && !outsider_far; ++k) {
        auto probe = std::make_unique<RawClient>();
        before = connections();
        const std::string id = "bob-" + std::to_string(k);
        ASSERT_TRUE(subscribe(*probe, srv_.port(), "/ws/other?id=" + id, true));
        std::vector<uint64_t> after = connections();
        ASSERT_EQ(after.size(), 2u);
        if (after[far] > before[far]) {
            outsider_far = std::move(probe);
            far_bob_id = id;
        } else {
            spare.push_back(std::move(probe));
        }
    }
    ASSERT_TRUE(outsider_far) << "no client reached the far worker";
    RawClient robot;
    ASSERT_TRUE(robot.connect(srv_.port()));
    HttpReply r = post(robot, "/robot/send?access_token=room-token-0001",
                       R"({"msgtype":"text","text":{"content":"on call"},"at":{"atUserIds":[")" + far_bob_id + R"("]}})");
    ASSERT_EQ(r.errcode(), 0) << r.body;
    auto told = read_json(*outsider_far);
    ASSERT_TRUE(told) << "bob, on another worker than the robot's message may have been taken by";
    EXPECT_EQ(told->get("type")->text, "mention");

    // TAIL on any worker shows the messages of clients on every worker.
    ControlConn tail;
    ASSERT_TRUE(control(tail, srv_));
    EXPECT_EQ(tail.command("TAIL"), "OK");
    // Two rounds through every worker: the TAIL reader's worker told the parent, and the
    // parent told the other worker, before the clients send.
    ASSERT_TRUE(stats(ctl_));
    ASSERT_TRUE(stats(ctl_));
    ASSERT_TRUE(far_client.send_frame(0x1, "from far"));
    ASSERT_TRUE(near_client.send_frame(0x1, "from near"));
    std::set<std::string> lines;
    for (int k = 0; k < 2; ++k) {
        auto l = tail.read_line();
        ASSERT_TRUE(l) << "a client's message did not reach TAIL";
        lines.insert(*l);
    }
    EXPECT_EQ(lines, (std::set<std::string>{"MSG " + far_id + " from far", "MSG dev-" + std::to_string(1 - far) +
                                                                                " from near"}));
    tail.close();

    EXPECT_EQ(ctl_.command("KICK " + far_id + " 4001 bye"), "OK kicked=1");
    auto close = far_client.read_close();
    ASSERT_TRUE(close);
    EXPECT_EQ(close->close_code(), 4001);
}

TEST_F(Workers, ARobotHasOneRateWhicheverWorkerTakesItsRequests) {
    ASSERT_TRUE(start({"--workers", "2", "--robot", "room-token-0001 room rate=4/60s"}));
    const std::string bearer = "Authorization: Bearer room-token-0001\r\n";
    int accepted = 0, refused = 0;
    for (int i = 0; i < kMaxTries; ++i) {
        std::vector<WorkerFigure> w = per_worker(ctl_, "webhook.requests");
        ASSERT_EQ(w.size(), 2u);
        if (w[0].value >= 3 && w[1].value >= 3) break;  // both workers took several
        RawClient c;  // a fresh connection each time: they go to either worker
        ASSERT_TRUE(c.connect(srv_.port()));
        HttpReply r = post(c, "/push/room", "m" + std::to_string(i), "text/plain", bearer);
        if (r.status == 200) {
            ++accepted;
        } else {
            ASSERT_EQ(r.status, 429) << r.body;
            EXPECT_EQ(r.errcode(), 130101) << r.body;
            ++refused;
        }
        // Two rounds through every worker: the admission told to the other worker (kRun,
        // queued before the second round's query) is counted there before the next request.
        ASSERT_TRUE(stats(ctl_));
        ASSERT_TRUE(stats(ctl_));
    }
    std::vector<WorkerFigure> w = per_worker(ctl_, "webhook.requests");
    ASSERT_TRUE(w.size() == 2 && w[0].value >= 3 && w[1].value >= 3) << "requests did not reach both workers";
    EXPECT_EQ(accepted, 4) << "rate=4/60s for the robot, not for each worker";
    EXPECT_GE(refused, 2);
}

TEST_F(Workers, StatsSumsAndSigtermStopsAll) {
    ASSERT_TRUE(start({"--workers", "2"}));
    std::vector<Placed> subs;
    ASSERT_TRUE(spread(subs, "/ws/s", 1));
    ASSERT_NO_FATAL_FAILURE(publish_numbered(ctl_, "s", 1, 3));
    for (Placed& p : subs) ASSERT_NO_FATAL_FAILURE(expect_numbered(*p.c, "s", 1, 3));
    auto j = stats(ctl_);
    ASSERT_TRUE(j);
    const Json* ws = j->get("workers");
    ASSERT_TRUE(ws);
    ASSERT_EQ(ws->items.size(), 2u);
    uint64_t conns = 0, out = 0;
    std::set<uint64_t> pids;
    for (const Json& w : ws->items) {
        ASSERT_FALSE(w.get("missing")) << "both workers answer";
        conns += w.get("connections")->uint().value_or(0);
        out += w.get("messages_out")->uint().value_or(0);
        pids.insert(w.get("pid")->uint().value_or(0));
    }
    EXPECT_EQ(j->get("connections")->uint(), subs.size());
    EXPECT_EQ(conns, subs.size());
    EXPECT_EQ(j->get("messages_out")->uint(), out);
    EXPECT_EQ(out, 3 * subs.size()) << "each member got each publication once";
    EXPECT_EQ(j->get("published")->uint(), 3u);
    EXPECT_EQ(j->get("channels")->uint(), 1u) << "every worker holds the channel: not summed";
    EXPECT_EQ(j->get("workers_answered")->uint(), 2u);
    EXPECT_EQ(pids.size(), 2u);
    EXPECT_FALSE(pids.count(0));
    EXPECT_FALSE(pids.count(static_cast<uint64_t>(srv_.pid()))) << "the parent serves no client";
    ctl_.close();
    EXPECT_EQ(srv_.stop(SIGTERM), 0) << srv_.log();
    for (uint64_t pid : pids) EXPECT_NE(kill(static_cast<pid_t>(pid), 0), 0) << "worker " << pid << " outlived the parent";
    for (size_t i = 0; i < 2; ++i) {
        EXPECT_NE(srv_.log().find("worker " + std::to_string(i) + " (pid "), std::string::npos) << srv_.log();
        EXPECT_NE(srv_.log().find("wspushd: info: worker " + std::to_string(i) + ": serving 127.0.0.1:"),
                  std::string::npos)
            << "a worker's lines say which it is\n"
            << srv_.log();
    }
    EXPECT_NE(srv_.log().find("exited with status 0"), std::string::npos) << srv_.log();
}

TEST(WorkersFlags, OutOfRangeOrWithAJournalExitsTwo) {
    const std::string bin = WSPUSHD_BIN;
    struct Case {
        std::string args, message;
    };
    for (const Case& c : {Case{"--workers 0", "--workers: expected a count from 1 to 64: '0'"},
                          Case{"--workers 65", "--workers: expected a count from 1 to 64: '65'"},
                          Case{"--workers two", "--workers: expected a count from 1 to 64: 'two'"},
                          Case{"--workers 2 --journal /tmp/wspush-workers-none",
                               "--journal cannot be used with --workers above 1"}}) {
        int status = -1;
        const std::string out = run_command("timeout 10 " + bin + " " + c.args + " 2>&1", &status);
        EXPECT_EQ(status, 2) << c.args << ": " << out;
        EXPECT_NE(out.find("wspushd: " + c.message), std::string::npos) << c.args << ": " << out;
    }
}

}  // namespace
}  // namespace wspush::testing
