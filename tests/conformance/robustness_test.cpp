// One client's failure never disturbs the others; stalled handshakes time out; IPv6.
#include <gtest/gtest.h>

#include <chrono>

#include "support/conformance.h"

namespace wspush::testing {
namespace {

using namespace std::string_literals;
using Clock = std::chrono::steady_clock;

class ConformanceIsolation : public EchoSuite {
public:
    static void SetUpTestSuite() { EchoServer::start({"--mode", "echo"}); }
};

// A client in the middle of a fragmented message keeps its state while its neighbours
// break the protocol in every way and are closed.
TEST_F(ConformanceIsolation, MidMessageClientUnaffectedByFailingNeighbours) {
    RawClient steady;
    ASSERT_TRUE(open_client(steady));
    ASSERT_TRUE(steady.send_all(text("first part, ", false)));
    const std::pair<std::string, int> bad[] = {
        {RawClient::frame(kText, "x", true, 4), 1002},       // RSV1
        {RawClient::frame(0x3, "x"), 1002},                  // reserved opcode
        {RawClient::frame(kText, "x", true, 0, false), 1002},  // unmasked
        {ping(all_bytes(126)), 1002},                        // control frame too long
        {text("\xc0\xaf"s), 1007},                           // invalid UTF-8
        {cont("orphan"), 1002},                              // continuation without start
        {close_with(1005), 1002},                            // reserved close code
    };
    for (const auto& [bytes, code] : bad) {
        RawClient c;
        ASSERT_TRUE(open_client(c));
        ASSERT_TRUE(c.send_all(bytes));
        EXPECT_TRUE(expect_close(c, code)) << "close code " << code;
        ASSERT_TRUE(steady.send_all(ping("between neighbours")));
        ASSERT_TRUE(expect_replies(steady, {{kPong, "between neighbours"}}));
    }
    ASSERT_TRUE(steady.send_all(cont("second part")));
    EXPECT_TRUE(expect_replies(steady, {{kText, "first part, second part"}}));
}

// Peers that vanish mid-request, mid-header or mid-payload are cleaned up quietly.
TEST_F(ConformanceIsolation, VanishingPeersDoNotDisturbOthers) {
    RawClient steady;
    ASSERT_TRUE(open_client(steady));
    const std::string partial_upgrade = RawClient::upgrade_request("/").substr(0, 40);
    const std::string partial_header = text(all_bytes(70000)).substr(0, 5);
    const std::string partial_payload = binary(all_bytes(70000)).substr(0, 30000);
    for (int round = 0; round < 20; ++round) {
        RawClient gone;
        ASSERT_TRUE(gone.connect(EchoServer::get()->port()));
        if (round % 3 == 0) {
            ASSERT_TRUE(gone.send_all(partial_upgrade));
        } else {
            ASSERT_EQ(gone.upgrade("/"), 101);
            ASSERT_TRUE(gone.send_all(round % 3 == 1 ? partial_header : partial_payload));
        }
        gone.close();
        std::string m = "round " + std::to_string(round);
        ASSERT_TRUE(steady.send_all(text(m)));
        ASSERT_TRUE(expect_replies(steady, {{kText, m}}));
    }
    EXPECT_TRUE(expect_server_serves());
}

// Many short-lived clients in a row: every one upgrades, echoes and is closed cleanly.
TEST_F(ConformanceIsolation, HundredsOfSequentialClients) {
    for (int i = 0; i < 300; ++i) {
        RawClient c;
        ASSERT_TRUE(open_client(c)) << "client " << i;
        std::string m = "client " + std::to_string(i);
        ASSERT_TRUE(c.send_all(text(m) + close_with(1000)));
        ASSERT_TRUE(expect_replies(c, {{kText, m}})) << "client " << i;
        ASSERT_TRUE(expect_close(c, 1000)) << "client " << i;
    }
}

class ConformanceHandshakeTimeout : public EchoSuite {
public:
    static void SetUpTestSuite() { EchoServer::start({"--mode", "echo", "--handshake-timeout", "300ms"}); }
};

TEST_F(ConformanceHandshakeTimeout, SilentClientClosed) {
    RawClient c;
    ASSERT_TRUE(c.connect(EchoServer::get()->port()));
    auto start = Clock::now();
    ASSERT_TRUE(c.wait_eof(5000)) << "a client that sends nothing is never closed";
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
    EXPECT_GE(ms, 250) << "closed before the handshake timeout";
}

TEST_F(ConformanceHandshakeTimeout, PartialRequestAnswered408) {
    RawClient c;
    ASSERT_TRUE(c.connect(EchoServer::get()->port()));
    ASSERT_TRUE(c.send_bytewise("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"));
    std::string head = c.read_http(5000);
    ASSERT_FALSE(head.empty()) << "no answer to a stalled request";
    EXPECT_EQ(head.compare(0, 12, "HTTP/1.1 408"), 0) << head;
    EXPECT_TRUE(c.wait_eof(5000));
}

// Slowloris: a byte every 50 ms does not extend the deadline.
TEST_F(ConformanceHandshakeTimeout, TricklingClientClosed) {
    RawClient c;
    ASSERT_TRUE(c.connect(EchoServer::get()->port()));
    const std::string endless = "GET / HTTP/1.1\r\nX-Slow: " + std::string(200, 'z');
    auto start = Clock::now();
    bool closed = false;
    for (size_t i = 0; i < endless.size() && !closed; ++i) {
        if (!c.send_all(endless.substr(i, 1))) break;  // reset by the server
        closed = c.wait_eof(50);  // paces the trickle and notices the close
    }
    if (!closed) closed = c.wait_eof(5000);
    EXPECT_TRUE(closed) << "a trickling client is never closed";
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
    EXPECT_LT(ms, 3000) << "each byte extended the handshake deadline";
}

TEST_F(ConformanceHandshakeTimeout, UpgradedClientOutlivesIt) {
    RawClient c;
    ASSERT_TRUE(open_client(c));
    // Over three times the handshake timeout: the timer must have been cancelled.
    EXPECT_FALSE(c.wait_eof(1000)) << "upgraded client closed by the handshake timer";
    ASSERT_TRUE(c.send_all(text("still here")));
    EXPECT_TRUE(expect_replies(c, {{kText, "still here"}}));
}

TEST(ConformanceIpv6, ListensAndEchoesOnLoopback) {
    ServerProcess srv;
    ASSERT_TRUE(srv.start({"--mode", "echo", "--listen", "[::1]:0"})) << srv.log();
    EXPECT_NE(srv.log().find("listening on [::1]:" + std::to_string(srv.port())), std::string::npos) << srv.log();
    RawClient c;
    ASSERT_TRUE(c.connect(srv.port(), "::1"));
    ASSERT_EQ(c.upgrade("/"), 101);
    ASSERT_TRUE(c.send_all(binary("\x00\x01 over IPv6"s)));
    EXPECT_TRUE(expect_replies(c, {{kBinary, "\x00\x01 over IPv6"s}}));
}

}  // namespace
}  // namespace wspush::testing
