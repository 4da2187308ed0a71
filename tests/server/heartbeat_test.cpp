// Heartbeats and timeouts with short durations: Pings to quiet clients, idle clients
// closed, live ones kept, slow request heads cut off. Every wait is for an event.
#include <gtest/gtest.h>

#include <chrono>

#include "support/push_support.h"

namespace wspush::testing {
namespace {

using Clock = std::chrono::steady_clock;

long ms_since(Clock::time_point t) {
    return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count());
}

class Heartbeat : public PushServerTest {};

// Reads n Pings from c, calling answer(ping, i) after the i-th; anything else (a Close,
// data, silence for 3 s) fails the test.
template <class F>
void answer_pings(RawClient& c, int n, F answer) {
    auto t0 = Clock::now();
    for (int i = 0; i < n; ++i) {
        auto f = c.read_frame(3000);
        ASSERT_TRUE(f) << "connection lost or silent after " << i << " Pings, " << ms_since(t0) << " ms";
        ASSERT_EQ(f->opcode, 0x9) << "unexpected frame after " << i << " Pings (Close code " << f->close_code()
                                  << " " << f->close_reason() << ")";
        ASSERT_NO_FATAL_FAILURE(answer(*f, i));
    }
}

TEST_F(Heartbeat, QuietClientGetsAPing) {
    ASSERT_TRUE(start({"--ping-interval", "200ms", "--idle-timeout", "10s"}));
    RawClient c;
    ASSERT_TRUE(subscribe(c, srv_.port(), "/ws/x"));
    auto t0 = Clock::now();
    auto f = c.read_frame(3000);
    ASSERT_TRUE(f) << "no Ping within 3 s";
    EXPECT_EQ(f->opcode, 0x9);
    EXPECT_TRUE(f->fin);
    EXPECT_FALSE(f->masked);
    EXPECT_LE(f->payload.size(), 125u);
    EXPECT_GE(ms_since(t0), 100) << "pinged long before the interval";
}

// 16 Pings answered at 200 ms intervals is over 3 s: three idle timeouts of 1 s.
TEST_F(Heartbeat, ClientAnsweringPingsStaysConnected) {
    ASSERT_TRUE(start({"--ping-interval", "200ms", "--idle-timeout", "1s"}));
    RawClient c;
    ASSERT_TRUE(subscribe(c, srv_.port(), "/ws/x"));
    auto t0 = Clock::now();
    ASSERT_NO_FATAL_FAILURE(
        answer_pings(c, 16, [&](const Frame& ping, int) { ASSERT_TRUE(c.send_frame(0xA, ping.payload)); }));
    EXPECT_GE(ms_since(t0), 3000) << "Pings came faster than --ping-interval";
    EXPECT_EQ(cmd("PUB x still here"), "OK seq=1 delivered=1");
    EXPECT_TRUE(next_data_is(c, "still here"));
    EXPECT_EQ(stat(ctl_, "drops.idle_timeout"), 0u);
    EXPECT_EQ(stat(ctl_, "connections"), 1u);
}

// Data counts as life as well as Pongs.
TEST_F(Heartbeat, ClientSendingDataStaysConnected) {
    ASSERT_TRUE(start({"--ping-interval", "200ms", "--idle-timeout", "1s"}));
    ControlConn tail;
    ASSERT_TRUE(control(tail, srv_));
    EXPECT_EQ(tail.command("TAIL"), "OK");
    RawClient c;
    ASSERT_TRUE(subscribe(c, srv_.port(), "/ws/x?id=chatty"));
    ASSERT_NO_FATAL_FAILURE(answer_pings(c, 16, [&](const Frame&, int i) {
        ASSERT_TRUE(c.send_frame(0x1, "tick " + std::to_string(i)));
        EXPECT_EQ(tail.read_line(), "MSG chatty tick " + std::to_string(i));
    }));
    EXPECT_EQ(stat(ctl_, "drops.idle_timeout"), 0u);
    EXPECT_EQ(stat(ctl_, "connections"), 1u);
}

TEST_F(Heartbeat, SilentClientIsClosedAfterIdleTimeout) {
    ASSERT_TRUE(start({"--ping-interval", "200ms", "--idle-timeout", "1s"}));
    RawClient silent, other;
    ASSERT_TRUE(subscribe(silent, srv_.port(), "/ws/x"));
    auto t0 = Clock::now();
    auto f = silent.read_close(5000);
    long waited = ms_since(t0);
    ASSERT_TRUE(f) << "no Close frame within 5 s";
    EXPECT_EQ(f->close_code(), 1001);
    EXPECT_EQ(f->close_reason(), "idle timeout");
    EXPECT_TRUE(silent.wait_eof()) << "the server closes the TCP connection too";
    EXPECT_GE(waited, 900) << "closed before --idle-timeout";
    EXPECT_EQ(stat(ctl_, "drops.idle_timeout"), 1u);
    EXPECT_EQ(stat(ctl_, "connections"), 0u);
    EXPECT_EQ(stat(ctl_, "sockets"), 0u);
}

TEST_F(Heartbeat, SlowRequestHeadGets408) {
    ASSERT_TRUE(start({"--handshake-timeout", "300ms"}));
    RawClient c;
    ASSERT_TRUE(c.connect(srv_.port()));
    auto t0 = Clock::now();
    ASSERT_TRUE(c.send_all("GET /ws/x HTTP/1.1\r\nHost: 127.0.0.1\r\n"));  // never finished
    std::string r = c.read_http(5000);
    long waited = ms_since(t0);
    EXPECT_EQ(http_status(r), 408) << "response: '" << r << "'";
    EXPECT_TRUE(c.wait_eof(5000));
    EXPECT_GE(waited, 200) << "cut off before --handshake-timeout";
    EXPECT_LT(waited, 4000);
    EXPECT_EQ(stat(ctl_, "drops.handshake_timeout"), 1u);
}

TEST_F(Heartbeat, SilentTcpConnectionIsCutOff) {
    ASSERT_TRUE(start({"--handshake-timeout", "300ms"}));
    RawClient c;
    ASSERT_TRUE(c.connect(srv_.port()));
    std::string r = c.read_http(5000);  // sends nothing at all
    EXPECT_EQ(http_status(r), 408) << "response: '" << r << "'";
    EXPECT_TRUE(c.wait_eof(5000));
    EXPECT_EQ(stat(ctl_, "drops.handshake_timeout"), 1u);
}

// The handshake timer stops at the upgrade: an open connection outlives it.
TEST_F(Heartbeat, UpgradedClientOutlivesHandshakeTimeout) {
    ASSERT_TRUE(start({"--handshake-timeout", "300ms", "--ping-interval", "200ms", "--idle-timeout", "10s"}));
    RawClient c;
    ASSERT_TRUE(subscribe(c, srv_.port(), "/ws/x"));
    // Three Pings at 200 ms: 600 ms, twice the handshake timeout.
    ASSERT_NO_FATAL_FAILURE(answer_pings(c, 3, [](const Frame&, int) {}));
    EXPECT_EQ(cmd("PUB x alive"), "OK seq=1 delivered=1");
    EXPECT_TRUE(next_data_is(c, "alive"));
    EXPECT_EQ(stat(ctl_, "drops.handshake_timeout"), 0u);
}

}  // namespace
}  // namespace wspush::testing
