// Push and relay modes against a running server: channel routing, upgrade refusals, the
// plain HTTP endpoints, the wspush.v1 envelope, relay of client messages.
#include <gtest/gtest.h>

#include <ostream>

#include "support/push_support.h"

namespace wspush::testing {
namespace {

class Channels : public PushServerTest {};

TEST_F(Channels, SubscriberReceivesPub) {
    ASSERT_TRUE(start());
    RawClient c;
    ASSERT_TRUE(subscribe(c, srv_.port(), "/ws/alerts"));
    EXPECT_EQ(cmd("PUB alerts door open"), "OK seq=1 delivered=1");
    EXPECT_TRUE(next_data_is(c, "door open"));
}

TEST_F(Channels, ExtraChannelsFromQuery) {
    ASSERT_TRUE(start());
    RawClient c;
    ASSERT_TRUE(subscribe(c, srv_.port(), "/ws/a?ch=b&ch=c&ch=a"));
    EXPECT_EQ(cmd("PUB b to-b"), "OK seq=1 delivered=1");
    EXPECT_EQ(cmd("PUB other not-for-us"), "OK seq=1 delivered=0");
    EXPECT_EQ(cmd("PUB c to-c"), "OK seq=1 delivered=1");
    EXPECT_EQ(cmd("PUB a to-a"), "OK seq=1 delivered=1") << "a named twice is joined once";
    for (const char* want : {"to-b", "to-c", "to-a"}) {
        EXPECT_TRUE(next_data_is(c, want));
    }
    auto clients = parse_json(cmd("CLIENTS").substr(3));
    ASSERT_TRUE(clients);
    ASSERT_EQ(clients->items.size(), 1u);
    const Json* chans = clients->items[0].get("channels");
    ASSERT_TRUE(chans);
    ASSERT_EQ(chans->items.size(), 3u);
    EXPECT_EQ(chans->items[0].text, "a");
    EXPECT_EQ(chans->items[1].text, "b");
    EXPECT_EQ(chans->items[2].text, "c");
}

// A client on two channels disconnects: it must leave both. Then a new connection (which
// gets the freed descriptor number) on a third channel must not receive the second
// channel's messages through a stale membership.
TEST_F(Channels, ClientOnTwoChannelsLeavesBoth) {
    ASSERT_TRUE(start());
    RawClient both, stays;
    ASSERT_TRUE(subscribe(both, srv_.port(), "/ws/one?ch=two"));
    ASSERT_TRUE(subscribe(stays, srv_.port(), "/ws/two"));
    EXPECT_EQ(members(ctl_, "two"), 2u);
    both.close();
    ASSERT_TRUE(wait_until([&] { return members(ctl_, "one") == 0u; })) << "the disconnect was never noticed";
    EXPECT_EQ(members(ctl_, "two"), 1u) << "still listed as a member of its second channel";

    RawClient newcomer;
    ASSERT_TRUE(subscribe(newcomer, srv_.port(), "/ws/three"));
    EXPECT_EQ(cmd("PUB two secret"), "OK seq=1 delivered=1");
    EXPECT_EQ(cmd("PUB three marker"), "OK seq=1 delivered=1");
    EXPECT_TRUE(next_data_is(newcomer, "marker")) << "a message of a channel it never joined";
    EXPECT_TRUE(next_data_is(stays, "secret"));
    stays.close();
    ASSERT_TRUE(wait_until([&] { return members(ctl_, "two") == 0u; }));
    EXPECT_EQ(cmd("PUB two after"), "OK seq=2 delivered=0");
}

TEST_F(Channels, SixteenChannelsAllowedSeventeenRefused) {
    ASSERT_TRUE(start());
    std::string target = "/ws/c0";
    for (int i = 1; i < 16; ++i) target += "&ch=c" + std::to_string(i);
    target.replace(target.find('&'), 1, "?");
    RawClient ok;
    ASSERT_TRUE(subscribe(ok, srv_.port(), target));
    EXPECT_EQ(cmd("PUB c15 last"), "OK seq=1 delivered=1");
    RawClient refused;
    ASSERT_TRUE(refused.connect(srv_.port()));
    EXPECT_EQ(refused.upgrade(target + "&ch=c16"), 400);
}

struct Refusal {
    const char* name;
    std::string target;
    int status;
};

void PrintTo(const Refusal& c, std::ostream* os) { *os << c.name; }

class UpgradeRefused : public PushServerTest, public ::testing::WithParamInterface<Refusal> {};

// Each refusal is an HTTP error with a one-line reason; the server serves on afterwards.
TEST_P(UpgradeRefused, WithStatus) {
    ASSERT_TRUE(start());
    RawClient c;
    ASSERT_TRUE(c.connect(srv_.port()));
    std::string head;
    EXPECT_EQ(c.upgrade(GetParam().target, {}, &head), GetParam().status) << head;
    EXPECT_NE(head.find("Content-Type: text/plain"), std::string::npos) << head;
    EXPECT_GT(head.size(), head.find("\r\n\r\n") + 5) << "a reason in the body: " << head;
    EXPECT_TRUE(c.wait_eof()) << "the server closes after the error";
    RawClient after;
    EXPECT_TRUE(subscribe(after, srv_.port(), "/ws/fine"));
    EXPECT_EQ(cmd("PUB fine x"), "OK seq=1 delivered=1");
}

INSTANTIATE_TEST_SUITE_P(
    Targets, UpgradeRefused,
    ::testing::Values(Refusal{"BadChannelChar", "/ws/bad!name", 400}, Refusal{"EmptyChannel", "/ws/", 400},
                      Refusal{"LongChannel", "/ws/" + std::string(65, 'x'), 400},
                      Refusal{"SlashInChannel", "/ws/a/b", 400}, Refusal{"EncodedSpace", "/ws/a%20b", 400},
                      Refusal{"BadExtraChannel", "/ws/a?ch=b:c", 400}, Refusal{"EmptyExtraChannel", "/ws/a?ch=", 400},
                      Refusal{"BadId", "/ws/a?id=me!", 400}, Refusal{"EmptyId", "/ws/a?id=", 400},
                      Refusal{"LongId", "/ws/a?id=" + std::string(65, 'i'), 400},
                      Refusal{"UnknownKey", "/ws/a?x=1", 400}, Refusal{"UnknownBareKey", "/ws/a?verbose", 400},
                      Refusal{"SinceNotNumber", "/ws/a?since=abc", 400}, Refusal{"SinceEmpty", "/ws/a?since=", 400},
                      Refusal{"SinceUnjoinedChannel", "/ws/a?since=b:1", 400},
                      Refusal{"PlainSinceTwoChannels", "/ws/a?ch=b&since=1", 400},
                      Refusal{"NotUnderWs", "/other", 404}, Refusal{"Root", "/", 404},
                      Refusal{"WsWithoutSlash", "/ws", 404}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(Channels, PlainGetOfChannelIs426) {
    ASSERT_TRUE(start());
    std::string r = http_get(srv_.port(), "/ws/x");
    EXPECT_EQ(http_status(r), 426) << r;
    EXPECT_NE(r.find("Sec-WebSocket-Version: 13\r\n"), std::string::npos) << r;
}

TEST_F(Channels, UnknownPageIs404) {
    ASSERT_TRUE(start());
    std::string r = http_get(srv_.port(), "/nope");
    EXPECT_EQ(http_status(r), 404) << r;
}

TEST_F(Channels, RootServesTheDemoPage) {
    ASSERT_TRUE(start());
    std::string r = http_get(srv_.port(), "/");
    ASSERT_EQ(http_status(r), 200) << r;
    EXPECT_NE(r.find("Content-Type: text/html"), std::string::npos) << r.substr(0, 300);
    size_t body = r.find("\r\n\r\n");
    ASSERT_NE(body, std::string::npos);
    EXPECT_NE(r.find("<html", body), std::string::npos) << "an HTML document";
    EXPECT_NE(r.find("wspush.v1", body), std::string::npos) << "the page speaks the envelope";
}

TEST_F(Channels, StatsPagesNeedTheFlag) {
    ASSERT_TRUE(start());
    EXPECT_EQ(http_status(http_get(srv_.port(), "/stats")), 404);
    EXPECT_EQ(http_status(http_get(srv_.port(), "/metrics")), 404);
}

TEST_F(Channels, HttpStatsServesJsonAndPrometheus) {
    ASSERT_TRUE(start({"--http-stats"}));
    RawClient sub;
    ASSERT_TRUE(subscribe(sub, srv_.port(), "/ws/x"));
    std::string r = http_get(srv_.port(), "/stats");
    ASSERT_EQ(http_status(r), 200) << r;
    EXPECT_NE(r.find("Content-Type: application/json"), std::string::npos) << r;
    auto j = parse_json(r.substr(r.find("\r\n\r\n") + 4));
    ASSERT_TRUE(j) << r;
    ASSERT_TRUE(j->get("connections"));
    EXPECT_EQ(j->get("connections")->uint(), 1u);
    ASSERT_TRUE(j->get("drops"));
    EXPECT_TRUE(j->get("drops")->get("slow_consumer"));

    std::string m = http_get(srv_.port(), "/metrics");
    ASSERT_EQ(http_status(m), 200) << m;
    EXPECT_NE(m.find("Content-Type: text/plain"), std::string::npos) << m;
    EXPECT_NE(m.find("\nwspush_connections 1\n"), std::string::npos) << m;
    EXPECT_NE(m.find("# TYPE wspush_connections gauge\n"), std::string::npos) << m;
}

// ------------------------------------------------------------------ envelope

class Envelope : public PushServerTest {};

TEST_F(Envelope, ChannelMessagesTextAndBinary) {
    ASSERT_TRUE(start());
    RawClient env, raw;
    ASSERT_TRUE(subscribe(env, srv_.port(), "/ws/alerts", true));
    ASSERT_TRUE(subscribe(raw, srv_.port(), "/ws/alerts"));
    EXPECT_EQ(cmd("PUB alerts door \"open\""), "OK seq=1 delivered=2");
    ASSERT_TRUE(ctl_.send(std::string("PUBB alerts 4\n\x00\x01\x02\xff", 18)));
    EXPECT_EQ(ctl_.read_line().value_or("<timeout>"), "OK seq=2 delivered=2");

    std::string first, second;
    EXPECT_TRUE(next_envelope_is(env, R"({"type":"msg","channel":"alerts","seq":1,"epoch":"*","data":"door \"open\""})", &first));
    EXPECT_TRUE(next_envelope_is(env, R"({"type":"msg","channel":"alerts","seq":2,"epoch":"*","binary":true,"data":"AAEC/w=="})", &second));
    EXPECT_EQ(first, second) << "one channel, one epoch";

    EXPECT_TRUE(next_data_is(raw, "door \"open\""));
    EXPECT_TRUE(next_data_is(raw, std::string("\x00\x01\x02\xff", 4), 0x2));
}

TEST_F(Envelope, DirectAndBroadcast) {
    ASSERT_TRUE(start());
    RawClient env, raw;
    ASSERT_TRUE(subscribe(env, srv_.port(), "/ws/a?id=panel", true));
    ASSERT_TRUE(subscribe(raw, srv_.port(), "/ws/b?id=panel"));
    EXPECT_EQ(cmd("SEND panel reboot\tnow"), "OK delivered=2");
    EXPECT_EQ(cmd("BROADCAST maintenance at 02:00"), "OK delivered=2");
    EXPECT_TRUE(next_data_is(env, R"({"type":"direct","data":"reboot\tnow"})"));
    EXPECT_TRUE(next_data_is(env, R"({"type":"broadcast","data":"maintenance at 02:00"})"));
    EXPECT_TRUE(next_data_is(raw, "reboot\tnow"));
    EXPECT_TRUE(next_data_is(raw, "maintenance at 02:00"));
}

TEST_F(Envelope, NegotiatedAmongOtherOffers) {
    ASSERT_TRUE(start());
    RawClient c;
    ASSERT_TRUE(c.connect(srv_.port()));
    std::string head;
    ASSERT_EQ(c.upgrade("/ws/x", "Sec-WebSocket-Protocol: chat, wspush.v1\r\n", &head), 101);
    EXPECT_NE(head.find("Sec-WebSocket-Protocol: wspush.v1\r\n"), std::string::npos) << head;
    RawClient other;
    ASSERT_TRUE(other.connect(srv_.port()));
    ASSERT_EQ(other.upgrade("/ws/x", "Sec-WebSocket-Protocol: chat\r\n", &head), 101);
    EXPECT_EQ(head.find("Sec-WebSocket-Protocol"), std::string::npos) << "nothing chosen: " << head;
    EXPECT_EQ(cmd("PUB x hi"), "OK seq=1 delivered=2");
    EXPECT_TRUE(next_envelope_is(c, R"({"type":"msg","channel":"x","seq":1,"epoch":"*","data":"hi"})"));
    EXPECT_TRUE(next_data_is(other, "hi"));
}

// ------------------------------------------------------------------ relay

class Relay : public PushServerTest {};

TEST_F(Relay, ClientMessageGoesToOthersWithASeq) {
    ASSERT_TRUE(start({"--mode", "relay"}));
    RawClient a, b, c;
    ASSERT_TRUE(subscribe(a, srv_.port(), "/ws/room?id=alice"));
    ASSERT_TRUE(subscribe(b, srv_.port(), "/ws/room?id=bob", true));
    ASSERT_TRUE(subscribe(c, srv_.port(), "/ws/room"));
    ASSERT_TRUE(a.send_frame(0x1, "hi from alice"));
    auto be = read_json(b);
    ASSERT_TRUE(be);
    EXPECT_EQ(be->get("type")->text, "msg");
    EXPECT_EQ(be->get("channel")->text, "room");
    EXPECT_EQ(envelope_seq(*be), 1u);
    EXPECT_EQ(be->get("data")->text, "hi from alice");
    EXPECT_TRUE(next_data_is(c, "hi from alice"));

    ASSERT_TRUE(b.send_frame(0x2, std::string("\x00\xff", 2)));
    EXPECT_TRUE(next_data_is(a, std::string("\x00\xff", 2), 0x2));

    // The senders got nothing of their own: the next thing each reads is this marker.
    EXPECT_EQ(cmd("PUB room marker"), "OK seq=3 delivered=3");
    EXPECT_TRUE(next_data_is(a, "marker"));
    auto bm = read_json(b);
    ASSERT_TRUE(bm);
    EXPECT_EQ(envelope_seq(*bm), 3u) << "seq 2 was b's own message";
    EXPECT_EQ(bm->get("data")->text, "marker");
}

TEST_F(Relay, ClientMessageIsKeptInHistory) {
    ASSERT_TRUE(start({"--mode", "relay"}));
    RawClient a, peer;
    ASSERT_TRUE(subscribe(a, srv_.port(), "/ws/room"));
    ASSERT_TRUE(subscribe(peer, srv_.port(), "/ws/room"));
    ASSERT_TRUE(a.send_frame(0x1, "kept"));
    ASSERT_TRUE(read_data(peer));  // processed
    RawClient late;
    ASSERT_TRUE(subscribe(late, srv_.port(), "/ws/room?since=0", true));
    auto j = read_json(late);
    ASSERT_TRUE(j);
    EXPECT_EQ(envelope_seq(*j), 1u);
    EXPECT_EQ(j->get("data")->text, "kept");
}

TEST_F(Relay, OnlyToMembersOfTheSendersChannels) {
    ASSERT_TRUE(start({"--mode", "relay"}));
    RawClient a, same, elsewhere;
    ASSERT_TRUE(subscribe(a, srv_.port(), "/ws/one?ch=two"));
    ASSERT_TRUE(subscribe(same, srv_.port(), "/ws/two"));
    ASSERT_TRUE(subscribe(elsewhere, srv_.port(), "/ws/three"));
    ASSERT_TRUE(a.send_frame(0x1, "to one and two"));
    EXPECT_TRUE(next_data_is(same, "to one and two"));
    EXPECT_EQ(cmd("PUB three marker"), "OK seq=1 delivered=1");
    EXPECT_TRUE(next_data_is(elsewhere, "marker"));
    auto chans = parse_json(cmd("CHANNELS").substr(3));
    ASSERT_TRUE(chans);
    ASSERT_EQ(chans->items.size(), 3u);
    for (const Json& ch : chans->items) EXPECT_EQ(ch.get("last_seq")->uint(), 1u) << ch.get("name")->text;
}

TEST_F(Relay, PushModeDoesNotRelay) {
    ASSERT_TRUE(start());
    RawClient a, b;
    ASSERT_TRUE(subscribe(a, srv_.port(), "/ws/room"));
    ASSERT_TRUE(subscribe(b, srv_.port(), "/ws/room"));
    ASSERT_TRUE(a.send_frame(0x1, "not relayed"));
    // A Ping after the message: its Pong proves the message was processed.
    ASSERT_TRUE(a.send_frame(0x9, "sync"));
    auto pong = a.read_frame();
    ASSERT_TRUE(pong);
    EXPECT_EQ(pong->opcode, 0xA);
    EXPECT_EQ(cmd("PUB room marker"), "OK seq=1 delivered=2") << "the client message took no seq";
    EXPECT_TRUE(next_data_is(b, "marker"));
}

}  // namespace
}  // namespace wspush::testing
