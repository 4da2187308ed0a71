// --config FILE and SIGHUP end to end: start-up errors name FILE:LINE and exit 2, flags
// override the file, and a reload applies what may change live (origins, robots) without
// dropping a client, refuses a broken file whole, and logs what needs a restart.
#include <gtest/gtest.h>

#include <csignal>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

#include "robot/errcode.h"
#include "support/push_support.h"
#include "support/temp_file.h"
#include "support/webhook_support.h"

namespace wspush::testing {
namespace {

using ConfigFile = TempFile;

// Puts a FIFO (no writer) where f's file was: opening it for reading would wait for one.
bool make_fifo(const ConfigFile& f) { return unlink(f.path().c_str()) == 0 && mkfifo(f.path().c_str(), 0600) == 0; }

std::string text_body(std::string_view content) {
    return std::string(R"({"msgtype":"text","text":{"content":")") + std::string(content) + R"("}})";
}

long long send_as(uint16_t port, std::string_view token, std::string_view content) {
    RawClient c;
    if (!c.connect(port)) return -1;
    return post(c, "/robot/send?access_token=" + std::string(token), text_body(content)).errcode();
}

class Reload : public PushServerTest {
protected:
    // Reloads that ended so far (applied or refused), by their log lines.
    size_t reloads() {
        const std::string log = srv_.log();
        size_t n = 0;
        for (std::string_view end : {"SIGHUP: reloaded ", "; nothing reloaded"})
            for (size_t at = 0; (at = log.find(end, at)) != std::string::npos; at += end.size()) ++n;
        return n;
    }
    // Sends SIGHUP and waits (bounded) for the reload's result line.
    bool hangup() {
        const size_t before = reloads();
        return kill(srv_.pid(), SIGHUP) == 0 && wait_until([&] { return reloads() > before; }, 5000, 10);
    }
    // Starts with `f` (origins = http://a.example) and opens `open` from that origin.
    void start_with_client(const ConfigFile& f, RawClient& open) {
        ASSERT_TRUE(start({"--config", f.path()}));
        ASSERT_TRUE(open.connect(srv_.port()));
        ASSERT_EQ(open.upgrade("/ws/news", "Origin: http://a.example\r\n"), 101);
    }
    // An upgrade at /ws/news with this Origin: the status.
    int upgrade_from(std::string_view origin) {
        RawClient c;
        if (!c.connect(srv_.port())) return 0;
        return c.upgrade("/ws/news", "Origin: " + std::string(origin) + "\r\n");
    }
};

int start_status(const std::string& args, std::string* out) {
    int status = 0;
    *out = run_command(WSPUSHD_BIN " --listen 127.0.0.1:0 " + args + " 2>&1", &status);
    return status;
}

TEST(ConfigStart, ErrorsNameTheFileAndLineAndExitTwo) {
    struct Case {
        const char* text;
        const char* want;  // after "FILE:"
    } cases[] = {
        {"# settings\nhistory = 10\nbogus-key = 1\n", "3: unknown key 'bogus-key'"},
        {"max-connections = lots\n", "1: max-connections: expected a count from 1 to 10000000: 'lots'"},
        {"\n\nping-interval = 5 minutes\n", "3: ping-interval: expected a duration such as 25s or 500ms: '5 minutes'"},
        {"log-time = yes\n", "1: log-time: expected true, false, 1 or 0: 'yes'"},
        {"listen\n", "1: expected key = value"},
        {"history = 1\nhistory = 2\n", "2: history: already set on line 1"},
    };
    for (const Case& k : cases) {
        ConfigFile f(k.text);
        std::string out;
        EXPECT_EQ(start_status("--config " + f.path(), &out), 2) << out;
        EXPECT_NE(out.find(f.path() + ":" + k.want), std::string::npos) << "want " << k.want << ", got: " << out;
    }
    std::string out;
    EXPECT_EQ(start_status("--config /nonexistent/wspushd.conf", &out), 2) << out;
    EXPECT_NE(out.find("wspushd: /nonexistent/wspushd.conf: No such file or directory"), std::string::npos) << out;
}

// A FIFO (or a device) named as the file is refused at once, not waited on. `timeout`
// turns a server stuck in open() into a failure (status 124) instead of a hung test.
TEST(ConfigStart, FifoIsNotARegularFile) {
    ConfigFile f("");
    ASSERT_TRUE(make_fifo(f));
    std::string out;
    int status = 0;
    out = run_command("timeout 5 " WSPUSHD_BIN " --listen 127.0.0.1:0 --config " + f.path() + " 2>&1", &status);
    EXPECT_EQ(status, 2) << out;
    EXPECT_NE(out.find("wspushd: " + f.path() + ": not a regular file"), std::string::npos) << out;
    out = run_command("timeout 5 " WSPUSHD_BIN " --listen 127.0.0.1:0 --robots /dev/null 2>&1", &status);
    EXPECT_EQ(status, 2) << out;
    EXPECT_NE(out.find("wspushd: --robots: /dev/null: not a regular file"), std::string::npos) << out;
}

// The command line wins over the file; what it does not name comes from the file.
TEST_F(Reload, FlagsOverrideTheFile) {
    ConfigFile f("max-connections = 3\norigins = http://gw.local\n");
    ASSERT_TRUE(start({"--config", f.path(), "--max-connections", "7"}));
    EXPECT_TRUE(srv_.wait_log("up to 7 connections")) << srv_.log();
    EXPECT_EQ(upgrade_from("http://gw.local"), 101);
    EXPECT_EQ(upgrade_from("http://evil.example"), 403);
    // And again at a reload: the file's 3 does not come back.
    ASSERT_TRUE(f.write("max-connections = 3\norigins = http://gw.local\nlog-level = debug\n"));
    ASSERT_TRUE(hangup()) << srv_.log();
    EXPECT_TRUE(srv_.wait_log("SIGHUP: reloaded " + f.path() + ": changed log-level\n")) << srv_.log();
}

TEST_F(Reload, NewOriginIsAcceptedAndOpenClientsStay) {
    ConfigFile f("origins = http://a.example\n");
    RawClient open;
    ASSERT_NO_FATAL_FAILURE(start_with_client(f, open));
    EXPECT_EQ(upgrade_from("http://b.example"), 403);

    ASSERT_TRUE(f.write("# b joins\norigins = http://a.example, http://b.example\n"));
    ASSERT_TRUE(hangup()) << srv_.log();
    EXPECT_TRUE(srv_.wait_log("SIGHUP: reloaded " + f.path() + ": changed origins\n")) << srv_.log();
    EXPECT_EQ(upgrade_from("http://b.example"), 101);
    EXPECT_EQ(upgrade_from("http://c.example"), 403);
    ASSERT_EQ(cmd("PUB news still here"), "OK seq=1 delivered=1") << srv_.log();
    EXPECT_TRUE(next_data_is(open, "still here"));
}

// Raising the log level summarizes first what the storm limit held back while the old level
// was on: 12 refusals in one window write 5 lines, and the other 7 are counted in a summary
// written before the level goes to warn (the window's end, at warn, would have dropped it).
TEST_F(Reload, RaisingTheLogLevelKeepsTheSummaryOwed) {
    ConfigFile f("origins = http://a.example\nlog-level = info\n");
    RawClient open;
    ASSERT_NO_FATAL_FAILURE(start_with_client(f, open));
    for (int i = 0; i < 12; ++i) ASSERT_EQ(upgrade_from("http://evil.example"), 403);
    ASSERT_TRUE(srv_.wait_log("refused: origin not allowed (403)")) << srv_.log();
    ASSERT_TRUE(f.write("origins = http://a.example\nlog-level = warn\n"));
    ASSERT_EQ(kill(srv_.pid(), SIGHUP), 0);
    EXPECT_TRUE(srv_.wait_log("... and 7 more http refused in the last 1 s", 3000)) << srv_.log();
}

// A robot that stays (by name) keeps its limiter: with rate 2 used up, raising the rate to
// 3 lets exactly one more through, under the new token only.
TEST_F(Reload, RobotKeepsItsRateStateAcrossATokenAndRateChange) {
    ConfigFile f("robot = tok-aaaa-0001 alerts name=ops rate=2/60s throttle=0 overflow=refuse\n");
    ASSERT_TRUE(start({"--config", f.path()}));
    EXPECT_EQ(send_as(srv_.port(), "tok-aaaa-0001", "one"), 0);
    EXPECT_EQ(send_as(srv_.port(), "tok-aaaa-0001", "two"), 0);
    EXPECT_EQ(send_as(srv_.port(), "tok-aaaa-0001", "three"), robot::kTooFast);

    ASSERT_TRUE(f.write("robot = 'tok-bbbb-0002 alerts name=ops rate=3/60s throttle=0 overflow=refuse'\n"));
    ASSERT_TRUE(hangup()) << srv_.log();
    EXPECT_TRUE(srv_.wait_log("changed robots (changed ops)\n")) << srv_.log();
    EXPECT_EQ(srv_.log().find("tok-bbbb"), std::string::npos) << "a token was logged";
    EXPECT_EQ(send_as(srv_.port(), "tok-aaaa-0001", "old token"), robot::kUnknownToken);
    EXPECT_EQ(send_as(srv_.port(), "tok-bbbb-0002", "four"), 0);
    EXPECT_EQ(send_as(srv_.port(), "tok-bbbb-0002", "five"), robot::kTooFast);
}

// Robots without name= are matched by token, not by their default positional names:
// removing the first does not hand its used-up rate to the second.
TEST_F(Reload, UnnamedRobotsAreMatchedByToken) {
    ConfigFile f("robot = tok-aaaa-0001 alerts rate=1/60s throttle=0 overflow=refuse\n"
                 "robot = tok-bbbb-0002 alerts rate=1/60s throttle=0 overflow=refuse\n");
    ASSERT_TRUE(start({"--config", f.path()}));
    EXPECT_EQ(send_as(srv_.port(), "tok-aaaa-0001", "one"), 0);
    EXPECT_EQ(send_as(srv_.port(), "tok-aaaa-0001", "two"), robot::kTooFast);
    ASSERT_TRUE(f.write("robot = tok-bbbb-0002 alerts rate=1/60s throttle=0 overflow=refuse\n"));  // now robot1
    ASSERT_TRUE(hangup()) << srv_.log();
    EXPECT_EQ(send_as(srv_.port(), "tok-aaaa-0001", "gone"), robot::kUnknownToken);
    EXPECT_EQ(send_as(srv_.port(), "tok-bbbb-0002", "fresh"), 0);
    EXPECT_EQ(send_as(srv_.port(), "tok-bbbb-0002", "used up"), robot::kTooFast);
}

// A robot removed with a digest pending pushes the digest before it goes.
TEST_F(Reload, RemovedRobotPushesItsPendingDigest) {
    ConfigFile f("robot = tok-aaaa-0001 alerts name=ops rate=1/60s\n");
    ASSERT_TRUE(start({"--config", f.path()}));
    RawClient sub;
    ASSERT_TRUE(subscribe(sub, srv_.port(), "/ws/alerts", true));
    EXPECT_EQ(send_as(srv_.port(), "tok-aaaa-0001", "first"), 0);
    ASSERT_TRUE(read_json(sub));
    EXPECT_EQ(send_as(srv_.port(), "tok-aaaa-0001", "folded-into-digest"), 0);

    ASSERT_TRUE(f.write("robot = tok-cccc-0003 other name=ci\n"));
    ASSERT_TRUE(hangup()) << srv_.log();
    EXPECT_TRUE(srv_.wait_log("changed robots (added ci; removed ops)\n")) << srv_.log();
    std::optional<Json> digest = read_json(sub);
    ASSERT_TRUE(digest) << srv_.log();
    ASSERT_TRUE(digest->get("data"));
    EXPECT_NE(digest->get("data")->text.find("folded-into-digest"), std::string::npos) << digest->get("data")->text;
    EXPECT_EQ(send_as(srv_.port(), "tok-aaaa-0001", "gone"), robot::kUnknownToken);
    EXPECT_EQ(send_as(srv_.port(), "tok-cccc-0003", "new"), 0);
}

// A reload that lengthens throttle= leaves a throttle that has already ended ended.
TEST_F(Reload, LongerThrottleDoesNotReviveAnEndedOne) {
    ConfigFile f("robot = tok-aaaa-0001 alerts name=ops rate=2/60s throttle=1s overflow=refuse\n");
    ASSERT_TRUE(start({"--config", f.path()}));
    EXPECT_EQ(send_as(srv_.port(), "tok-aaaa-0001", "one"), 0);
    EXPECT_EQ(send_as(srv_.port(), "tok-aaaa-0001", "two"), 0);
    EXPECT_EQ(send_as(srv_.port(), "tok-aaaa-0001", "three"), robot::kTooFast);  // throttled for 1 s
    // Refusals in the throttle do not extend it; the first one after it passes (1 of 2 used).
    ASSERT_TRUE(wait_until([&] { return send_as(srv_.port(), "tok-aaaa-0001", "after") == 0; }, 5000, 100));
    ASSERT_TRUE(f.write("robot = tok-aaaa-0001 alerts name=ops rate=2/60s throttle=1h overflow=refuse\n"));
    ASSERT_TRUE(hangup()) << srv_.log();
    EXPECT_TRUE(srv_.wait_log("changed robots (changed ops)\n")) << srv_.log();
    EXPECT_EQ(send_as(srv_.port(), "tok-aaaa-0001", "second of two"), 0);
}

// A reload that shortens throttle= brings a pending digest forward: it goes out when the
// new throttle ends, before any newer message.
TEST_F(Reload, ShorterThrottleSendsThePendingDigestFirst) {
    ConfigFile f("robot = tok-aaaa-0001 alerts name=ops rate=1/60s throttle=60s\n");
    ASSERT_TRUE(start({"--config", f.path()}));
    RawClient sub;
    ASSERT_TRUE(subscribe(sub, srv_.port(), "/ws/alerts"));
    EXPECT_EQ(send_as(srv_.port(), "tok-aaaa-0001", "m1"), 0);
    EXPECT_EQ(send_as(srv_.port(), "tok-aaaa-0001", "m2"), 0);  // folded: throttled for 60 s
    std::optional<Frame> first = read_data(sub);
    ASSERT_TRUE(first);
    EXPECT_NE(first->payload.find("m1"), std::string::npos) << first->payload;
    ASSERT_TRUE(f.write("robot = tok-aaaa-0001 alerts name=ops rate=1/60s throttle=1s\n"));
    ASSERT_TRUE(hangup()) << srv_.log();
    std::optional<Frame> digest = read_data(sub, 5000);  // due about 1 s after m2, not 60 s
    ASSERT_TRUE(digest) << srv_.log();
    EXPECT_NE(digest->payload.find("m2"), std::string::npos) << digest->payload;
    EXPECT_EQ(send_as(srv_.port(), "tok-aaaa-0001", "m3"), 0);
    std::optional<Frame> last = read_data(sub);
    ASSERT_TRUE(last);
    EXPECT_NE(last->payload.find("m3"), std::string::npos) << last->payload;
}

// The digest's due time is a whole second away, and may come after the window lets a
// message pass (as after a reload that changes rate=): the message admitted first still
// goes out after the digest of what came before it.
TEST_F(Reload, PendingDigestGoesOutBeforeTheNextAdmittedMessage) {
    ConfigFile f("robot = tok-aaaa-0001 alerts name=ops rate=1/1500ms throttle=0\n");
    ASSERT_TRUE(start({"--config", f.path()}));
    RawClient sub;
    ASSERT_TRUE(subscribe(sub, srv_.port(), "/ws/alerts"));
    EXPECT_EQ(send_as(srv_.port(), "tok-aaaa-0001", "m1"), 0);
    // Folded until the window frees (1.5 s); the digest is due at the next whole second (2 s).
    std::string admitted;
    int n = 2;
    ASSERT_TRUE(wait_until(
        [&] {
            RawClient c;
            const std::string text = "m" + std::to_string(n++);
            if (!c.connect(srv_.port())) return false;
            HttpReply r = post(c, "/robot/send?access_token=tok-aaaa-0001", text_body(text));
            EXPECT_EQ(r.errcode(), 0) << r.body;
            if (r.body.find("\"digest\":true") == std::string::npos) admitted = text;
            return !admitted.empty();
        },
        5000, 100));
    std::optional<Frame> first = read_data(sub), digest = read_data(sub), last = read_data(sub);
    ASSERT_TRUE(first && digest && last) << srv_.log();
    EXPECT_NE(first->payload.find("m1"), std::string::npos) << first->payload;
    EXPECT_NE(digest->payload.find("m2"), std::string::npos) << digest->payload;
    EXPECT_NE(last->payload.find(admitted), std::string::npos) << last->payload;
}

// A request whose head was accepted (100 Continue) and whose body is still to come when its
// robot goes is refused once the body is in, not served by whichever robot took its place.
TEST_F(Reload, RequestInFlightWhenItsRobotGoesIsRefused) {
    ConfigFile f("robot = tok-aaaa-0001 alerts name=ops\nrobot = tok-bbbb-0002 other name=ci\n");
    ASSERT_TRUE(start({"--config", f.path()}));
    const std::string body = text_body("late");
    RawClient c;
    ASSERT_TRUE(c.connect(srv_.port()));
    ASSERT_TRUE(c.send_all("POST /robot/send?access_token=tok-aaaa-0001 HTTP/1.1\r\nHost: x\r\n"
                           "Content-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\n\r\n"));
    ASSERT_EQ(c.read_http().rfind("HTTP/1.1 100 Continue", 0), 0u);
    ASSERT_TRUE(f.write("robot = tok-bbbb-0002 other name=ci\n"));  // ops goes; ci moves to index 0
    ASSERT_TRUE(hangup()) << srv_.log();
    ASSERT_TRUE(c.send_all(body));
    HttpReply r = parse_reply(c.read_http());
    EXPECT_EQ(r.errcode(), robot::kUnknownToken) << r.head << r.body;
    EXPECT_EQ(send_as(srv_.port(), "tok-bbbb-0002", "ci still works"), 0);
}

// The same when the robot stays under its token but what its head was checked against
// changes: its channel becomes a pattern (which a robot request may not use), another
// channel, or (for /push) a channel that no longer covers the request's.
TEST_F(Reload, RequestInFlightWhenItsRobotsChannelChangesIsRefused) {
    ConfigFile f("robot = tok-aaaa-0001 alerts name=a\nrobot = tok-bbbb-0002 news name=b\n"
                 "robot = tok-cccc-0003 ops.* name=c\n");
    ASSERT_TRUE(start({"--config", f.path()}));
    RawClient other, secret;
    ASSERT_TRUE(subscribe(other, srv_.port(), "/ws/other"));
    ASSERT_TRUE(subscribe(secret, srv_.port(), "/ws/ops.secret"));
    struct InFlight {
        std::string target, content_type, body;
        RawClient c;
    } reqs[] = {
        {"/robot/send?access_token=tok-aaaa-0001", "application/json", text_body("to a pattern"), {}},
        {"/robot/send?access_token=tok-bbbb-0002", "application/json", text_body("to another channel"), {}},
        {"/push/ops.secret", "text/plain", "top secret", {}},
    };
    for (InFlight& q : reqs) {
        ASSERT_TRUE(q.c.connect(srv_.port()));
        ASSERT_TRUE(q.c.send_all("POST " + q.target + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok-cccc-0003\r\n" +
                                 "Content-Type: " + q.content_type + "\r\nExpect: 100-continue\r\nContent-Length: " +
                                 std::to_string(q.body.size()) + "\r\n\r\n"));
        ASSERT_EQ(q.c.read_http().rfind("HTTP/1.1 100 Continue", 0), 0u) << q.target;
    }
    ASSERT_TRUE(f.write("robot = tok-aaaa-0001 alerts.* name=a\nrobot = tok-bbbb-0002 other name=b\n"
                        "robot = tok-cccc-0003 ops.public name=c\n"));
    ASSERT_TRUE(hangup()) << srv_.log();
    for (InFlight& q : reqs) {
        ASSERT_TRUE(q.c.send_all(q.body));
        HttpReply r = parse_reply(q.c.read_http());
        EXPECT_EQ(r.errcode(), robot::kUnknownToken) << q.target << "\n" << r.head << r.body << srv_.log();
    }
    // Alive, and nothing reached the subscribers before these.
    ASSERT_EQ(cmd("PUB other marker"), "OK seq=1 delivered=1") << srv_.log();
    ASSERT_EQ(cmd("PUB ops.secret marker"), "OK seq=1 delivered=1") << srv_.log();
    EXPECT_TRUE(next_data_is(other, "marker"));
    EXPECT_TRUE(next_data_is(secret, "marker"));
    // Fresh requests are judged by the new table.
    EXPECT_EQ(send_as(srv_.port(), "tok-bbbb-0002", "now"), 0);
    EXPECT_EQ(send_as(srv_.port(), "tok-aaaa-0001", "now"), robot::kPatternRobot);
}

TEST_F(Reload, BrokenFileIsRefusedWholeAndTheOldConfigurationStays) {
    ConfigFile f("origins = http://a.example\n");
    RawClient open;
    ASSERT_NO_FATAL_FAILURE(start_with_client(f, open));
    // A good first line must not be applied either.
    ASSERT_TRUE(f.write("origins = http://b.example\nidle-timeout = soon\n"));
    ASSERT_TRUE(hangup()) << srv_.log();
    EXPECT_TRUE(srv_.wait_log("SIGHUP: " + f.path() +
                              ":2: idle-timeout: expected a duration such as 60s or 500ms: 'soon'; nothing reloaded"))
        << srv_.log();
    EXPECT_EQ(upgrade_from("http://b.example"), 403);
    EXPECT_EQ(upgrade_from("http://a.example"), 101);
    ASSERT_EQ(cmd("PUB news kept"), "OK seq=1 delivered=1") << srv_.log();
    EXPECT_TRUE(next_data_is(open, "kept"));
    // Fixed, it loads.
    ASSERT_TRUE(f.write("origins = http://b.example\n"));
    ASSERT_TRUE(hangup()) << srv_.log();
    EXPECT_EQ(upgrade_from("http://b.example"), 101);
}

// A reload that finds a FIFO where the --config file or a --robots file was is refused at
// once; the loop never waits on it, and clients are served right after the SIGHUP.
TEST_F(Reload, FifoIsRefusedAndTheServerKeepsServing) {
    ConfigFile robots("tok-aaaa-0001 alerts name=ops\n", ".robots");
    ConfigFile f("robots = " + robots.path() + "\n");
    ASSERT_TRUE(start({"--config", f.path()}));
    for (const ConfigFile* fifo : {&robots, &f}) {
        ASSERT_TRUE(make_fifo(*fifo));
        ASSERT_TRUE(hangup()) << srv_.log();  // bounded: fails if the loop is stuck in open()
        EXPECT_TRUE(srv_.wait_log("SIGHUP: " + std::string(fifo == &f ? "" : "--robots: ") + fifo->path() +
                                  ": not a regular file; nothing reloaded"))
            << srv_.log();
        RawClient sub;
        ASSERT_TRUE(subscribe(sub, srv_.port(), "/ws/alerts"));
        EXPECT_EQ(send_as(srv_.port(), "tok-aaaa-0001", "still served"), 0);
        std::optional<Frame> got = read_data(sub);
        ASSERT_TRUE(got) << srv_.log();
        EXPECT_NE(got->payload.find("still served"), std::string::npos) << got->payload;
        ASSERT_TRUE(fifo->write(fifo == &f ? "robots = " + robots.path() + "\n" : "tok-aaaa-0001 alerts name=ops\n"));
    }
}

// A cap lowered under the clients already open keeps them; the next one is refused.
TEST_F(Reload, LoweredConnectionCapKeepsTheOpenClients) {
    ConfigFile f("max-connections = 10\n");
    ASSERT_TRUE(start({"--config", f.path()}));
    RawClient a, b;
    ASSERT_TRUE(subscribe(a, srv_.port(), "/ws/news"));
    ASSERT_TRUE(subscribe(b, srv_.port(), "/ws/news"));
    ASSERT_TRUE(f.write("max-connections = 2\n"));
    ASSERT_TRUE(hangup()) << srv_.log();
    EXPECT_TRUE(srv_.wait_log("SIGHUP: reloaded " + f.path() + ": changed max-connections\n")) << srv_.log();
    RawClient c;
    ASSERT_TRUE(c.connect(srv_.port()));
    EXPECT_EQ(c.read_http().rfind("HTTP/1.1 503", 0), 0u);
    ASSERT_EQ(cmd("PUB news both"), "OK seq=1 delivered=2") << srv_.log();
    EXPECT_TRUE(next_data_is(a, "both"));
    EXPECT_TRUE(next_data_is(b, "both"));
}

TEST_F(Reload, ListenAndModeChangesNeedARestart) {
    ConfigFile f("listen = 127.0.0.1:0\n");
    srv_.default_listen = false;  // the file says where
    ASSERT_TRUE(start({"--config", f.path()}));
    RawClient open;
    ASSERT_TRUE(subscribe(open, srv_.port(), "/ws/news"));
    ASSERT_TRUE(f.write("listen = 127.0.0.1:1\nmode = echo\nping-interval = 3s\n"));
    ASSERT_TRUE(hangup()) << srv_.log();
    EXPECT_TRUE(srv_.wait_log("SIGHUP: listen, mode changed in " + f.path() +
                              ": needs a restart; running with the old value(s)"))
        << srv_.log();
    EXPECT_TRUE(srv_.wait_log("SIGHUP: reloaded " + f.path() + ": changed ping-interval\n")) << srv_.log();
    ASSERT_EQ(cmd("PUB news still push mode"), "OK seq=1 delivered=1") << srv_.log();
    EXPECT_TRUE(next_data_is(open, "still push mode"));
    RawClient again;
    ASSERT_TRUE(subscribe(again, srv_.port(), "/ws/news"));
}

}  // namespace
}  // namespace wspush::testing
