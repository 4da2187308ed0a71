// Connection log lines (README "Logs"): one line per event naming the connection (its client
// id, or "-" before the upgrade, and the peer's address with its real port) and the reason
// in words and code; nothing per message at info; a storm of one kind is summed up.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <chrono>
#include <memory>
#include <netinet/in.h>
#include <sstream>
#include <string>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

#include "support/push_support.h"
#include "support/webhook_support.h"

namespace wspush::testing {
namespace {

// "127.0.0.1:<the client's own port>", as the server names it.
std::string peer_of(const RawClient& c) {
    sockaddr_in sa{};
    socklen_t len = sizeof sa;
    if (getsockname(c.fd(), reinterpret_cast<sockaddr*>(&sa), &len) != 0) return "<no address>";
    return "127.0.0.1:" + std::to_string(ntohs(sa.sin_port));
}

// The log lines that contain `needle`.
std::vector<std::string> lines_with(const std::string& log, std::string_view needle) {
    std::vector<std::string> out;
    std::istringstream in(log);
    for (std::string line; std::getline(in, line);)
        if (line.find(needle) != std::string::npos) out.push_back(line);
    return out;
}

class ConnLog : public PushServerTest {
protected:
    // Waits for a line that starts with `prefix` and ends with `suffix`; returns it ("" if
    // none came in time).
    std::string wait_line(const std::string& prefix, const std::string& suffix = {}, int timeout_ms = 5000) {
        if (!srv_.wait_log(prefix, timeout_ms)) return "";
        for (const std::string& l : lines_with(srv_.log(), prefix))
            if (l.rfind(prefix, 0) == 0 && l.size() >= suffix.size() && l.ends_with(suffix)) return l;
        return "";
    }
};

TEST_F(ConnLog, SlowConsumerNamesItsIdPortAndCode) {
    ASSERT_TRUE(start({"--send-buffer", "1K"}));
    RawClient slow;
    ASSERT_TRUE(slow.connect_small_window(srv_.port(), 4096, 1024));
    ASSERT_EQ(slow.upgrade("/ws/news?id=slowpoke"), 101);
    const std::string prefix = "wspushd: info: conn slowpoke " + peer_of(slow) + " closed: slow consumer, ";
    const std::string big(60000, 'x');
    for (int i = 0; i < 40 && !srv_.wait_log(prefix, 0); ++i) ASSERT_EQ(cmd("PUB news " + big).rfind("OK", 0), 0u);
    EXPECT_NE(wait_line(prefix, " bytes queued (1008)"), "") << srv_.log();
}

TEST_F(ConnLog, IdleTimeoutNamesTheServerGivenId) {
    ASSERT_TRUE(start({"--ping-interval", "100ms", "--idle-timeout", "300ms"}));
    RawClient c;
    ASSERT_TRUE(subscribe(c, srv_.port(), "/ws/a"));
    EXPECT_NE(wait_line("wspushd: info: conn c1 " + peer_of(c) + " closed: idle timeout, nothing received in ", " ms (1001)"),
              "")
        << srv_.log();
    auto close = c.read_close();
    ASSERT_TRUE(close);
    EXPECT_EQ(close->close_code(), 1001);
}

TEST_F(ConnLog, OversizedMessageSaysHowLarge) {
    ASSERT_TRUE(start({"--max-message", "1K"}));
    RawClient c;
    ASSERT_TRUE(subscribe(c, srv_.port(), "/ws/a?id=big"));
    ASSERT_TRUE(c.send_all(RawClient::frame(0x2, std::string(2048, 'b'))));
    EXPECT_NE(wait_line("wspushd: info: conn big " + peer_of(c) +
                        " closed: message too big: 2048 bytes, --max-message 1024 (1009)"),
              "")
        << srv_.log();
    // A frame of 4 GiB: its length is refused from the header, whole or byte by byte.
    const std::string huge("\x82\xff\x00\x00\x00\x01\x00\x00\x00\x00" "abcd", 14);
    for (bool bytewise : {false, true}) {
        RawClient h;
        ASSERT_TRUE(subscribe(h, srv_.port(), "/ws/a?id=huge"));
        ASSERT_TRUE(bytewise ? h.send_bytewise(huge) : h.send_all(huge));
        EXPECT_NE(wait_line("wspushd: info: conn huge " + peer_of(h) +
                            " closed: message too big: at least 4294967295 bytes, --max-message 1024 (1009)"),
                  "")
            << bytewise << srv_.log();
    }
}

TEST_F(ConnLog, MalformedFrameSaysWhy) {
    ASSERT_TRUE(start());
    RawClient c;
    ASSERT_TRUE(subscribe(c, srv_.port(), "/ws/a?id=rude"));
    ASSERT_TRUE(c.send_all(RawClient::frame(0x1, "hi", true, 0, false)));
    EXPECT_NE(wait_line("wspushd: info: conn rude " + peer_of(c) + " closed: protocol error: frame not masked (1002)"), "")
        << srv_.log();
}

TEST_F(ConnLog, InvalidUtf8) {
    ASSERT_TRUE(start());
    RawClient c;
    ASSERT_TRUE(subscribe(c, srv_.port(), "/ws/a?id=garbled"));
    ASSERT_TRUE(c.send_all(RawClient::frame(0x1, "ok \xff")));
    EXPECT_NE(wait_line("wspushd: info: conn garbled " + peer_of(c) + " closed: invalid UTF-8 (1007)"), "") << srv_.log();
}

TEST_F(ConnLog, KickNamesTheReasonAndCode) {
    ASSERT_TRUE(start());
    RawClient c;
    ASSERT_TRUE(subscribe(c, srv_.port(), "/ws/a?id=panel"));
    EXPECT_EQ(cmd("KICK panel 4000 firmware update"), "OK kicked=1");
    EXPECT_NE(wait_line("wspushd: info: conn panel " + peer_of(c) + " closed: kicked: firmware update (4000)"), "")
        << srv_.log();
}

TEST_F(ConnLog, HandshakeRefusalsNameTheStatus) {
    ASSERT_TRUE(start({"--origins", "http://gw.local"}));
    RawClient c;
    ASSERT_TRUE(c.connect(srv_.port()));
    ASSERT_EQ(c.upgrade("/ws/a", "Origin: http://evil.example\r\n"), 403);
    EXPECT_NE(wait_line("wspushd: info: conn - " + peer_of(c) + " refused: origin not allowed (403)"), "") << srv_.log();
    RawClient bad;
    ASSERT_TRUE(bad.connect(srv_.port()));
    ASSERT_TRUE(bad.send_all("GET /ws/a HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                             "Sec-WebSocket-Version: 13\r\n\r\n"));
    EXPECT_NE(bad.read_http().find(" 400 "), std::string::npos);
    EXPECT_NE(wait_line("wspushd: info: conn - " + peer_of(bad) + " refused: missing Sec-WebSocket-Key (400)"), "")
        << srv_.log();
}

TEST_F(ConnLog, HeadTimeout) {
    ASSERT_TRUE(start({"--handshake-timeout", "200ms"}));
    RawClient c;
    ASSERT_TRUE(c.connect(srv_.port()));
    ASSERT_TRUE(c.send_all("GET /ws/a HTTP/1.1\r\n"));
    EXPECT_NE(wait_line("wspushd: info: conn - " + peer_of(c) + " closed: request head not received in time (408)"), "")
        << srv_.log();
}

TEST_F(ConnLog, ServerFullIsAWarning) {
    ASSERT_TRUE(start({"--max-connections", "1"}));
    RawClient first, second;
    ASSERT_TRUE(subscribe(first, srv_.port(), "/ws/a"));
    ASSERT_TRUE(second.connect(srv_.port()));
    EXPECT_NE(second.read_http().find("503"), std::string::npos);
    EXPECT_NE(wait_line("wspushd: warn: conn - " + peer_of(second) + " refused: server full, 1 connections (503)"), "")
        << srv_.log();
}

// At info, a client's whole life without trouble (upgrade, deliveries, its Close) writes
// nothing; at debug the same life is told (the upgrade, the client's Close).
class ConnLogQuiet : public ConnLog, public ::testing::WithParamInterface<const char*> {};

TEST_P(ConnLogQuiet, NormalLifeLogsNothingAtInfo) {
    const bool debug = std::string(GetParam()) == "debug";
    ASSERT_TRUE(start({"--log-level", GetParam()}));
    const std::string before = srv_.log();
    RawClient c;
    ASSERT_TRUE(subscribe(c, srv_.port(), "/ws/news?id=reader"));
    for (int i = 0; i < 20; ++i) {
        ASSERT_EQ(cmd("PUB news item " + std::to_string(i)).rfind("OK seq=", 0), 0u);
        ASSERT_TRUE(next_data_is(c, "item " + std::to_string(i)));
    }
    EXPECT_EQ(cmd("SEND reader hello"), "OK delivered=1");
    ASSERT_TRUE(next_data_is(c, "hello"));
    ASSERT_TRUE(c.send_all(RawClient::close_frame(1000)));
    auto close = c.read_close();
    ASSERT_TRUE(close);
    ASSERT_TRUE(c.wait_eof());
    // Anything logged for it is written before this reply.
    EXPECT_EQ(cmd("STATS").rfind("OK {", 0), 0u);
    const std::string after = srv_.log().substr(before.size());
    if (debug) {
        EXPECT_NE(after.find("wspushd: debug: conn reader " + peer_of(c) + " upgraded (no subprotocol)\n"), std::string::npos)
            << after;
        EXPECT_NE(after.find("wspushd: debug: conn reader " + peer_of(c) + " closed by the client (1000)"),
                  std::string::npos)
            << after;
    } else {
        EXPECT_EQ(after, "");
    }
}

INSTANTIATE_TEST_SUITE_P(Levels, ConnLogQuiet, ::testing::Values("info", "debug"));

TEST_F(ConnLog, ControlRefusalNamesTheClientAndReason) {
    ASSERT_TRUE(start({"--max-channels", "1"}));
    EXPECT_EQ(cmd("PUB one hi").rfind("OK", 0), 0u);
    EXPECT_EQ(cmd("PUB two secret words"), "ERR too many channels");
    const std::string who = "wspushd: info: control pid " + std::to_string(getpid()) + " uid " + std::to_string(getuid());
    EXPECT_NE(wait_line(who + " refused PUB: too many channels"), "") << srv_.log();
    EXPECT_EQ(cmd("FROB x"), "ERR unknown command (try HELP)");
    EXPECT_NE(wait_line(who + " refused FROB: unknown command (try HELP)"), "") << srv_.log();
    EXPECT_EQ(srv_.log().find("secret words"), std::string::npos) << "a command's text was logged";
}

constexpr char kToken[] = "alerts-token-0001";
constexpr char kSecret[] = "SECdeadbeef0123";

TEST_F(ConnLog, WebhookRefusalsNameRobotAndErrcodeNeverTheToken) {
    ASSERT_TRUE(start({"--robot", std::string(kToken) + " alerts name=ops rate=1/60s overflow=refuse",
                       "--robot", std::string("signed-token-0002 alerts name=signed secret=") + kSecret}));
    const std::string body = R"({"msgtype":"text","text":{"content":"disk full"}})";
    RawClient a;
    ASSERT_TRUE(a.connect(srv_.port()));
    HttpReply r = post(a, "/robot/send?access_token=wrong-token-9999", body);
    EXPECT_EQ(r.errcode(), 300001) << r.head;
    EXPECT_NE(wait_line("wspushd: info: conn - " + peer_of(a) + " webhook refused: token is not exist (300001, HTTP 200)"),
              "")
        << srv_.log();

    RawClient b;
    ASSERT_TRUE(b.connect(srv_.port()));
    r = post(b, "/robot/send?access_token=signed-token-0002", body);
    EXPECT_EQ(r.errcode(), 310000) << r.head;
    EXPECT_NE(wait_line("wspushd: info: conn - " + peer_of(b) + " webhook refused: robot signed: " + r.errmsg() +
                        " (310000, HTTP 200)"),
              "")
        << srv_.log();

    RawClient p;
    ASSERT_TRUE(p.connect(srv_.port()));
    const std::string bearer = std::string("Authorization: Bearer ") + kToken + "\r\n";
    EXPECT_EQ(post(p, "/push/alerts", "one", "text/plain", bearer).status, 200);
    r = post(p, "/push/alerts", "two", "text/plain", bearer);
    EXPECT_EQ(r.status, 429) << r.head;
    EXPECT_NE(wait_line("wspushd: info: conn - " + peer_of(p) + " webhook refused: robot ops: " + r.errmsg() +
                        " (130101, HTTP 429)"),
              "")
        << srv_.log();

    const std::string log = srv_.log();
    for (const char* secret : {"wrong-token-9999", "signed-token-0002", kToken, kSecret})
        EXPECT_EQ(log.find(secret), std::string::npos) << secret << " logged:\n" << log;
}

// What a storm wrote: its lines (those containing `line`) and its summaries ("... and N
// more <what> in the last 1 s"). Waits (bounded) until they account for `total` events.
struct Storm {
    long lines = 0, summed = 0, summaries = 0;
    std::string error;  // a line of the storm's that does not read as expected
};

Storm wait_storm(ServerProcess& srv, const std::string& line, const std::string& what, long total) {
    const std::string summary = "wspushd: info: ... and ";
    const std::string summary_end = " more " + what + " in the last 1 s";
    Storm st;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
        st = Storm{};
        const std::string log = srv.log();
        st.lines = static_cast<long>(lines_with(log, line).size());
        for (const std::string& l : lines_with(log, summary_end)) {
            if (l.rfind(summary, 0) != 0 || !l.ends_with(summary_end)) st.error = l;
            else st.summed += std::stol(l.substr(summary.size()));
            ++st.summaries;
        }
        if (st.lines + st.summed >= total) break;
        srv.wait_log(summary_end + "\n" + summary, 100);  // bounded: more lines may come
    }
    return st;
}

// 500 clients break the protocol at once: a few lines, then one summary per window whose
// counts add up to exactly 500; the upgrades themselves log nothing at info.
TEST_F(ConnLog, AStormIsSummedUpWithAnExactCount) {
    constexpr int kClients = 500;
    ASSERT_TRUE(start());
    std::vector<std::unique_ptr<RawClient>> clients;
    for (int i = 0; i < kClients; ++i) {
        clients.push_back(std::make_unique<RawClient>());
        ASSERT_TRUE(subscribe(*clients.back(), srv_.port(), "/ws/storm")) << i;
    }
    const std::string bad = RawClient::frame(0x1, "hi", true, 0, false);
    for (auto& c : clients) ASSERT_TRUE(c->send_all(bad));
    const Storm st = wait_storm(srv_, " closed: protocol error: frame not masked (1002)",
                                "conn closed: protocol error (1002)", kClients);
    EXPECT_EQ(st.error, "");
    EXPECT_EQ(st.lines + st.summed, kClients) << srv_.log();
    EXPECT_GE(st.summaries, 1);
    // kLogBurst (5) lines per window of 1 s: a storm over in a few seconds writes few lines.
    EXPECT_LE(st.lines, 5 * (st.summaries + 1)) << srv_.log();
    EXPECT_LE(st.lines, 50) << srv_.log();
    EXPECT_EQ(lines_with(srv_.log(), "wspushd: info: conn c").size(), static_cast<size_t>(st.lines));
}

// A flood of webhooks with a wrong token: summed up the same way, the token in no line.
TEST_F(ConnLog, AFloodOfBadTokensIsSummedUp) {
    constexpr int kRequests = 60;
    ASSERT_TRUE(start({"--robot", std::string(kToken) + " alerts name=ops"}));
    const std::string body = R"({"msgtype":"text","text":{"content":"x"}})";
    for (int i = 0; i < kRequests; ++i) {
        RawClient c;
        ASSERT_TRUE(c.connect(srv_.port()));
        ASSERT_EQ(post(c, "/robot/send?access_token=guess-000" + std::to_string(i), body).errcode(), 300001);
    }
    const Storm st = wait_storm(srv_, " webhook refused: token is not exist (300001, HTTP 200)",
                                "webhook refused: token, route, address or signature", kRequests);
    EXPECT_EQ(st.error, "");
    EXPECT_EQ(st.lines + st.summed, kRequests) << srv_.log();
    EXPECT_GE(st.summaries, 1);
    EXPECT_LE(st.lines, 5 * (st.summaries + 1)) << srv_.log();
    EXPECT_EQ(srv_.log().find("guess-000"), std::string::npos) << srv_.log();
}

}  // namespace
}  // namespace wspush::testing
