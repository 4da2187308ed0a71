// The webhook end to end: group-robot messages POSTed with Debian's curl (and raw HTTP for
// keep-alive, pipelining, chunked bodies, 100-continue and timeouts) reach WebSocket
// clients; every refusal gets its errcode; rate limits lose nothing; a flood of webhook
// calls leaves connected clients served.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>

#include "support/push_support.h"
#include "support/webhook_support.h"

namespace wspush::testing {
namespace {

constexpr char kToken[] = "alerts-token-0001";
const std::string kSend = std::string("/robot/send?access_token=") + kToken;

class Webhook : public PushServerTest {
protected:
    // Starts a server with one robot on channel "alerts" (plus `options`), more args after.
    bool start_robot(std::string options = {}, std::vector<std::string> more = {}) {
        std::vector<std::string> args = {"--robot", std::string(kToken) + " alerts name=ops " + options};
        args.insert(args.end(), more.begin(), more.end());
        return start(args);
    }
    // A client of channel `ch` (envelope on), subscribed.
    void join(RawClient& c, std::string_view target) { ASSERT_TRUE(subscribe(c, srv_.port(), target, true)); }
};

// The card in the next envelope on c: its "data" parsed. nullopt if none.
std::optional<Json> next_card(RawClient& c, std::string* type = nullptr) {
    auto env = read_json(c);
    if (!env || !env->get("data")) return std::nullopt;
    if (type) *type = env->get("type") ? env->get("type")->text : "";
    return parse_json(env->get("data")->text);
}

std::string field(const std::optional<Json>& j, std::string_view obj, std::string_view key) {
    if (!j) return "<none>";
    const Json* o = j->get(obj);
    const Json* v = o ? o->get(key) : nullptr;
    return v ? v->text : "<missing>";
}

std::string text_body(std::string_view content) {
    std::string s = R"({"msgtype":"text","text":{"content":")";
    s += content;
    return s + R"("}})";
}

TEST_F(Webhook, NoRobotConfiguredIsNotFound) {
    ASSERT_TRUE(start());
    RawClient c;
    ASSERT_TRUE(c.connect(srv_.port()));
    HttpReply r = post(c, kSend, text_body("hi"));
    EXPECT_EQ(r.status, 404) << r.head;
}

TEST_F(Webhook, EveryMessageTypeReachesTheChannelWithCurl) {
    if (!curl_available()) GTEST_SKIP() << "curl not installed";
    ASSERT_TRUE(start_robot());
    RawClient sub;
    join(sub, "/ws/alerts");
    struct Case {
        std::string body, type, key, want;
    } cases[] = {
        {text_body("disk full on db-7"), "text", "content", "disk full on db-7"},
        {R"({"msgtype":"link","link":{"title":"Build 42","text":"passed","messageUrl":"https://ci.example/42"}})",
         "link", "messageUrl", "https://ci.example/42"},
        {R"({"msgtype":"markdown","markdown":{"title":"Deploy","text":"#### done\n- api"}})", "markdown", "text",
         "#### done\n- api"},
        {R"({"msgtype":"actionCard","actionCard":{"title":"Approve","text":"v2?","singleTitle":"Open",)"
         R"("singleURL":"https://example.com/a"}})",
         "actionCard", "singleURL", "https://example.com/a"},
        {R"({"msgtype":"actionCard","actionCard":{"title":"Vote","text":"?","btnOrientation":"1","btns":[)"
         R"({"title":"Yes","actionURL":"https://e.x/y"},{"title":"No","actionURL":"https://e.x/n"}]}})",
         "actionCard", "btnOrientation", "1"},
    };
    for (const Case& k : cases) {
        HttpReply r = curl_post(srv_.port(), kSend, k.body);
        EXPECT_EQ(r.status, 200) << k.body;
        EXPECT_EQ(r.body, R"({"errcode":0,"errmsg":"ok"})") << k.body;
        auto card = next_card(sub);
        ASSERT_TRUE(card) << k.body;
        EXPECT_EQ(card->get("msgtype")->text, k.type);
        EXPECT_EQ(field(card, k.type, k.key), k.want);
        EXPECT_EQ(card->get("robot")->text, "ops");
    }
    HttpReply r = curl_post(srv_.port(), kSend,
                            R"({"msgtype":"feedCard","feedCard":{"links":[{"title":"A","messageURL":"https://a"},)"
                            R"({"title":"B","messageURL":"https://b","picURL":"https://b/p.png"}]}})");
    EXPECT_EQ(r.errcode(), 0) << r.body;
    auto card = next_card(sub);
    ASSERT_TRUE(card);
    const Json* links = card->get("feedCard") ? card->get("feedCard")->get("links") : nullptr;
    ASSERT_TRUE(links);
    ASSERT_EQ(links->items.size(), 2u);
    EXPECT_EQ(links->items[1].get("picURL")->text, "https://b/p.png");
}

TEST_F(Webhook, EveryRefusalGetsItsCodeWithCurl) {
    if (!curl_available()) GTEST_SKIP() << "curl not installed";
    ASSERT_TRUE(start_robot("", {"--robot-max-body", "200"}));
    RawClient sub;
    join(sub, "/ws/alerts");
    struct Case {
        std::string target, body, type;
        long long code;
        std::string words;  // a part of errmsg
    } cases[] = {
        {"/robot/send?access_token=wrong-token-0000", text_body("x"), "application/json", 300001, "token"},
        {"/robot/send", text_body("x"), "application/json", 300001, "access_token is missing"},
        {kSend, "{\"msgtype\":\"text\",", "application/json", 40038, "not valid JSON"},
        {kSend, R"({"msgtype":"voice","voice":{}})", "application/json", 40037, "voice"},
        {kSend, R"({"msgtype":"markdown","markdown":{"text":"no title"}})", "application/json", 40035,
         "markdown.title"},
        {kSend, R"({"msgtype":"text","text":{"content":7}})", "application/json", 40036, "text.content"},
        {kSend, text_body("x"), "text/plain", 43004, "application/json"},
        {kSend, text_body("x"), "application/json; charset=gbk", 43004, "utf-8"},
        {kSend, text_body(std::string(300, 'a')), "application/json", 460101, "200 bytes"},
        {kSend, "{\"msgtype\":\"text\",\"text\":{\"content\":\"\xC3\x28\"}}", "application/json", 40038, "UTF-8"},
    };
    for (const Case& k : cases) {
        HttpReply r = curl_post(srv_.port(), k.target, k.body, {"Content-Type: " + k.type});
        EXPECT_EQ(r.status, 200) << k.body << "\n" << r.head;
        EXPECT_EQ(r.errcode(), k.code) << k.body << " -> " << r.body;
        EXPECT_NE(r.errmsg().find(k.words), std::string::npos) << r.errmsg();
    }
    // Nothing refused reached the channel, and the server still serves.
    ASSERT_EQ(curl_post(srv_.port(), kSend, text_body("after")).errcode(), 0);
    EXPECT_EQ(field(next_card(sub), "text", "content"), "after");
}

TEST_F(Webhook, SignedRequestsAgainstAnOpensslReference) {
    if (!curl_available()) GTEST_SKIP() << "curl not installed";
    ASSERT_TRUE(start_robot("secret=SECabc123+/="));
    RawClient sub;
    join(sub, "/ws/alerts");
    auto sign = [](uint64_t ts) {
        // The robots' recipe, computed by openssl: Base64(HMAC-SHA256(secret, ts + "\n" + secret)).
        std::string cmd = "printf '%s\\n%s' " + std::to_string(ts) +
                          " 'SECabc123+/=' | openssl dgst -sha256 -hmac 'SECabc123+/=' -binary | base64";
        std::string s = run_command(cmd);
        while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
        return s;
    };
    auto encode = [](std::string_view s) {
        std::string out;
        for (char ch : s) {
            if (ch == '+') out += "%2B";
            else if (ch == '/') out += "%2F";
            else if (ch == '=') out += "%3D";
            else out += ch;
        }
        return out;
    };
    const uint64_t now = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
    const std::string sig = sign(now);
    ASSERT_EQ(sig.size(), 44u) << "openssl/base64 missing?";
    auto target = [&](uint64_t ts, std::string_view s) {
        return kSend + "&timestamp=" + std::to_string(ts) + "&sign=" + std::string(s);
    };
    EXPECT_EQ(curl_post(srv_.port(), target(now, encode(sig)), text_body("signed")).errcode(), 0);
    EXPECT_EQ(field(next_card(sub), "text", "content"), "signed");
    // Not encoded at all is accepted too ('+' stays '+').
    EXPECT_EQ(curl_post(srv_.port(), target(now, sig), text_body("raw")).errcode(), 0);
    EXPECT_EQ(field(next_card(sub), "text", "content"), "raw");
    // Refusals: no signature, a wrong one, encoded twice, an hour and a bit away.
    HttpReply none = curl_post(srv_.port(), kSend, text_body("x"));
    EXPECT_EQ(none.errcode(), 310000) << none.body;
    std::string wrong = sig;
    wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
    HttpReply bad = curl_post(srv_.port(), target(now, encode(wrong)), text_body("x"));
    EXPECT_EQ(bad.errcode(), 310000) << bad.body;
    EXPECT_NE(bad.errmsg().find("sign"), std::string::npos) << bad.errmsg();
    std::string twice = encode(sig);
    for (size_t at = 0; (at = twice.find('%', at)) != std::string::npos; at += 3) twice.replace(at, 1, "%25");
    if (twice != encode(sig)) {
        HttpReply dbl = curl_post(srv_.port(), target(now, twice), text_body("x"));
        EXPECT_EQ(dbl.errcode(), 310000) << dbl.body;
        EXPECT_NE(dbl.errmsg().find("twice"), std::string::npos) << dbl.errmsg();
    }
    const uint64_t old = now - 3'600'000 - 60'000;
    HttpReply stale = curl_post(srv_.port(), target(old, encode(sign(old))), text_body("x"));
    EXPECT_EQ(stale.errcode(), 310000) << stale.body;
    EXPECT_NE(stale.errmsg().find("timestamp"), std::string::npos) << stale.errmsg();
    EXPECT_EQ(curl_post(srv_.port(), target(now, encode(sig)), text_body("still")).errcode(), 0);
    EXPECT_EQ(field(next_card(sub), "text", "content"), "still") << "no refused message was pushed";
}

TEST_F(Webhook, KeywordsAndSourceAddresses) {
    ASSERT_TRUE(start({"--robot", "kw-token-000001 alerts keywords=alert,告警",
                       "--robot", "net-token-00001 alerts allow=10.0.0.0/8,fd00::/8",
                       "--robot", "lo-token-000001 alerts allow=192.168.0.0/16,127.0.0.1"}));
    RawClient c;
    ASSERT_TRUE(c.connect(srv_.port()));
    HttpReply r = post(c, "/robot/send?access_token=kw-token-000001", text_body("hello"));
    EXPECT_EQ(r.errcode(), 310000);
    EXPECT_NE(r.errmsg().find("keywords"), std::string::npos) << r.errmsg();
    EXPECT_EQ(post(c, "/robot/send?access_token=kw-token-000001", text_body("磁盘告警")).errcode(), 0);
    r = post(c, "/robot/send?access_token=net-token-00001", text_body("x"));
    EXPECT_EQ(r.errcode(), 310000);
    EXPECT_NE(r.errmsg().find("127.0.0.1"), std::string::npos) << r.errmsg();
    // Refusals before the body close the connection: a new one for the next request.
    RawClient d;
    ASSERT_TRUE(d.connect(srv_.port()));
    EXPECT_EQ(post(d, "/robot/send?access_token=lo-token-000001", text_body("x")).errcode(), 0);
}

TEST_F(Webhook, OverflowRefuseAnswers130101WithRetryAfter) {
    ASSERT_TRUE(start_robot("rate=3/60s throttle=10m overflow=refuse"));
    RawClient sub, c;
    join(sub, "/ws/alerts");
    ASSERT_TRUE(c.connect(srv_.port()));
    for (int i = 0; i < 3; ++i) ASSERT_EQ(post(c, kSend, text_body("m" + std::to_string(i))).errcode(), 0);
    HttpReply r = post(c, kSend, text_body("too many"));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.errcode(), 130101) << r.body;
    const int retry = std::atoi(r.header("Retry-After").c_str());
    EXPECT_GT(retry, 590) << r.head;
    EXPECT_LE(retry, 600) << r.head;
    for (int i = 0; i < 3; ++i) EXPECT_EQ(field(next_card(sub), "text", "content"), "m" + std::to_string(i));
    // Throttled: even a message that would fit the window is refused now.
    EXPECT_EQ(post(c, kSend, text_body("later")).errcode(), 130101);
    auto refused = stat(ctl_, "webhook.robots.ops.refused");
    EXPECT_EQ(refused.value_or(0), 2u);
}

TEST_F(Webhook, AThousandThrottledAlertsBecomeOneDigest) {
    ASSERT_TRUE(start_robot("rate=5/60s throttle=1s"));
    RawClient sub, c;
    join(sub, "/ws/alerts");
    ASSERT_TRUE(c.connect(srv_.port()));
    // Pipelined in batches on one kept-alive connection.
    int digested = 0, plain = 0;
    for (int batch = 0; batch < 10; ++batch) {
        std::string reqs;
        for (int i = 0; i < 100; ++i) {
            const int n = batch * 100 + i;
            reqs += post_request(kSend, R"({"msgtype":"markdown","markdown":{"title":"alert )" + std::to_string(n) +
                                            R"(","text":"disk"}})");
        }
        ASSERT_TRUE(c.send_all(reqs));
        for (int i = 0; i < 100; ++i) {
            HttpReply r = parse_reply(c.read_http());
            ASSERT_EQ(r.errcode(), 0) << r.body;
            const Json* d = r.json ? r.json->get("digest") : nullptr;
            (d && d->boolean ? digested : plain)++;
        }
    }
    EXPECT_EQ(plain, 5);
    EXPECT_EQ(digested, 995);
    for (int i = 0; i < 5; ++i) EXPECT_EQ(field(next_card(sub), "markdown", "title"), "alert " + std::to_string(i));
    // The throttle ends a second after the 6th: one digest card, counting all of them.
    auto digest = next_card(sub, nullptr);
    ASSERT_TRUE(digest);
    const Json* d = digest->get("digest");
    ASSERT_TRUE(d) << "not a digest";
    EXPECT_EQ(d->get("count")->uint().value_or(0), 995u);
    EXPECT_EQ(d->get("omitted")->uint().value_or(0), 995u - 20u);
    EXPECT_NE(field(digest, "markdown", "text").find("alert 5"), std::string::npos) << "the first kept line";
    EXPECT_EQ(field(digest, "markdown", "text").find("alert 999"), std::string::npos) << "kept lines are bounded";
    EXPECT_FALSE(read_data(sub, 300)) << "one digest, nothing else";
    EXPECT_EQ(stat(ctl_, "webhook.robots.ops.digested").value_or(0), 995u);
    EXPECT_EQ(stat(ctl_, "webhook.robots.ops.accepted").value_or(0), 5u);
    EXPECT_EQ(stat(ctl_, "webhook.robots.ops.digest_pending").value_or(99), 0u);
}

TEST_F(Webhook, MentionsReachClientsOutsideTheChannel) {
    ASSERT_TRUE(start_robot());
    RawClient member, named_member, outsider, bystander, raw_outsider;
    join(member, "/ws/alerts");
    join(named_member, "/ws/alerts?id=alice");
    join(outsider, "/ws/other?id=bob");
    join(bystander, "/ws/other?id=carol");
    ASSERT_TRUE(subscribe(raw_outsider, srv_.port(), "/ws/other?id=13800138000"));
    RawClient c;
    ASSERT_TRUE(c.connect(srv_.port()));
    HttpReply r = post(c, kSend,
                       R"({"msgtype":"text","text":{"content":"on call"},"at":{"atUserIds":["alice","bob"],)"
                       R"("atMobiles":["13800138000"],"isAtAll":false}})");
    ASSERT_EQ(r.errcode(), 0) << r.body;
    std::string type;
    EXPECT_EQ(field(next_card(member, &type), "text", "content"), "on call");
    EXPECT_EQ(type, "msg");
    auto alice = next_card(named_member, &type);
    EXPECT_EQ(type, "msg") << "a member gets it once, as a channel message";
    EXPECT_EQ(alice->get("at")->get("atUserIds")->items[0].text, "alice");
    EXPECT_FALSE(read_data(named_member, 300)) << "not a second time as a mention";
    auto bob = next_card(outsider, &type);
    EXPECT_EQ(type, "mention");
    EXPECT_EQ(field(bob, "text", "content"), "on call");
    auto raw = read_data(raw_outsider);
    ASSERT_TRUE(raw);
    EXPECT_NE(raw->payload.find("\"on call\""), std::string::npos) << "a raw client gets the card itself";
    EXPECT_FALSE(read_data(bystander, 300)) << "not mentioned, not a member";
}

TEST_F(Webhook, PlainPushAndSendWithBearerTokens) {
    ASSERT_TRUE(start({"--robot", "sensor-token-01 sensors.* name=sensors", "--robot", "alerts-token-01 alerts"}));
    RawClient temp, other, dev;
    join(temp, "/ws/sensors.temp");
    join(other, "/ws/alerts");
    ASSERT_TRUE(subscribe(dev, srv_.port(), "/ws/sensors.door?id=dev-7"));
    RawClient c;
    ASSERT_TRUE(c.connect(srv_.port()));
    const std::string bearer = "Authorization: Bearer sensor-token-01\r\n";
    HttpReply r = post(c, "/push/sensors.temp", "21.5", "text/plain", bearer);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, R"({"errcode":0,"errmsg":"ok","seq":1,"delivered":1})");
    auto env = read_json(temp);
    ASSERT_TRUE(env);
    EXPECT_EQ(env->get("data")->text, "21.5");
    r = post(c, "/push/sensors.temp", std::string("\x00\x01\xff", 3), "application/octet-stream", bearer);
    EXPECT_EQ(r.errcode(), 0) << r.body;
    env = read_json(temp);
    ASSERT_TRUE(env && env->get("binary"));
    EXPECT_EQ(env->get("data")->text, "AAH/");
    r = post(c, "/send/dev-7", "{\"open\":true}", "application/json", bearer);
    EXPECT_EQ(r.body, R"({"errcode":0,"errmsg":"ok","delivered":1})");
    EXPECT_TRUE(next_data_is(dev, "{\"open\":true}"));
    // Refusals, each with its status and code.
    struct Case {
        std::string target, type, headers;
        std::string body;
        int status;
        long long code;
    } cases[] = {
        {"/push/alerts", "text/plain", bearer, "x", 403, 300003},
        {"/push/sensors.temp", "text/plain", "", "x", 401, 300001},
        {"/push/sensors.temp", "text/plain", "Authorization: Bearer nope-nope-nope\r\n", "x", 401, 300001},
        {"/push/sensors.temp", "image/png", bearer, "x", 415, 43004},
        {"/push/sensors.temp", "text/plain", bearer, "\xff\xfe", 400, 40038},
        {"/push/bad%20name", "text/plain", bearer, "x", 404, 40036},
    };
    for (const Case& k : cases) {
        RawClient one;
        ASSERT_TRUE(one.connect(srv_.port()));
        HttpReply e = post(one, k.target, k.body, k.type, k.headers);
        EXPECT_EQ(e.status, k.status) << k.target << " " << e.body;
        EXPECT_EQ(e.errcode(), k.code) << k.target << " " << e.body;
        if (k.status == 401) {
            EXPECT_EQ(e.header("WWW-Authenticate"), "Bearer");
        }
    }
    // A token for sensors.* cannot reach a client that joined nothing of it.
    RawClient outsider;
    ASSERT_TRUE(subscribe(outsider, srv_.port(), "/ws/alerts?id=eve"));
    RawClient again;
    ASSERT_TRUE(again.connect(srv_.port()));
    EXPECT_EQ(post(again, "/send/eve", "hi", "text/plain", bearer).body, R"({"errcode":0,"errmsg":"ok","delivered":0})");
    EXPECT_FALSE(read_data(outsider, 300));
    EXPECT_FALSE(read_data(other, 100)) << "nothing reached the other channel";
}

TEST_F(Webhook, KeepAlivePipeliningChunkedAndContinue) {
    ASSERT_TRUE(start_robot());
    RawClient sub, c;
    join(sub, "/ws/alerts");
    ASSERT_TRUE(c.connect(srv_.port()));
    // Three requests in one write: answered in order on the same connection.
    std::string chunked_body = text_body("three");
    std::string chunks;
    for (size_t at = 0; at < chunked_body.size(); at += 7) {
        std::string piece = chunked_body.substr(at, 7);
        char size[16];
        snprintf(size, sizeof size, "%zx", piece.size());
        chunks += std::string(size) + ";ext=1\r\n" + piece + "\r\n";
    }
    const std::string three = post_request(kSend, text_body("one")) + post_request(kSend, text_body("two")) +
                              "POST " + kSend + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                              "Transfer-Encoding: chunked\r\n\r\n" + chunks + "0\r\n\r\n";
    ASSERT_TRUE(c.send_all(three));
    for (const char* want : {"one", "two", "three"}) {
        HttpReply r = parse_reply(c.read_http());
        EXPECT_EQ(r.errcode(), 0) << r.body;
        EXPECT_EQ(r.header("Connection"), "keep-alive");
        EXPECT_EQ(field(next_card(sub), "text", "content"), want);
    }
    // Expect: 100-continue: the interim answer first, then the body, then the reply.
    const std::string body = text_body("four");
    ASSERT_TRUE(c.send_all("POST " + kSend + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                           "Expect: 100-continue\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n"));
    std::string interim = c.read_http();
    EXPECT_EQ(interim.rfind("HTTP/1.1 100 Continue\r\n", 0), 0u) << interim;
    ASSERT_TRUE(c.send_all(body));
    EXPECT_EQ(parse_reply(c.read_http()).errcode(), 0);
    EXPECT_EQ(field(next_card(sub), "text", "content"), "four");
    // Connection: close is honoured.
    HttpReply last = post(c, kSend, text_body("five"), "application/json", "Connection: close\r\n");
    EXPECT_EQ(last.header("Connection"), "close");
    EXPECT_TRUE(c.wait_eof());
}

TEST_F(Webhook, ARequestSplitAtEveryByteGetsTheSameAnswer) {
    ASSERT_TRUE(start_robot());
    RawClient sub, c;
    join(sub, "/ws/alerts");
    ASSERT_TRUE(c.connect(srv_.port()));
    const std::string req = post_request(kSend, text_body("bytewise"));
    ASSERT_TRUE(c.send_bytewise(req));
    HttpReply r = parse_reply(c.read_http());
    EXPECT_EQ(r.body, R"({"errcode":0,"errmsg":"ok"})");
    EXPECT_EQ(field(next_card(sub), "text", "content"), "bytewise");
}

TEST_F(Webhook, HeadOptionsAndMethods) {
    ASSERT_TRUE(start_robot());
    RawClient c;
    ASSERT_TRUE(c.connect(srv_.port()));
    ASSERT_TRUE(c.send_all("OPTIONS /robot/send HTTP/1.1\r\nHost: x\r\n\r\n"));
    HttpReply o = parse_reply(c.read_http());
    EXPECT_EQ(o.status, 204);
    EXPECT_EQ(o.header("Allow"), "POST, OPTIONS");
    ASSERT_TRUE(c.send_all("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n"));
    std::string head = c.read_http(2000);
    EXPECT_EQ(head.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << head;
    EXPECT_NE(head.find("text/html"), std::string::npos);
    // The page's length is announced but no body follows: the next reply comes right after.
    ASSERT_TRUE(c.send_all("GET /robot/send HTTP/1.1\r\nHost: x\r\n\r\n"));
    std::string next = c.read_http(2000);
    EXPECT_NE(next.find("405"), std::string::npos) << next;
    EXPECT_NE(next.find("Allow: POST, OPTIONS"), std::string::npos) << next;
    // A one-line body says why, as every protocol error below the webhook does.
    EXPECT_TRUE(next.ends_with("\r\n\r\nonly POST is accepted here\n")) << next;
}

TEST_F(Webhook, SlowBodiesAndIdleConnectionsAreClosed) {
    ASSERT_TRUE(start_robot("", {"--body-timeout", "300ms", "--keepalive-timeout", "300ms"}));
    RawClient slow;
    ASSERT_TRUE(slow.connect(srv_.port()));
    ASSERT_TRUE(slow.send_all("POST " + kSend + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                              "Content-Length: 100\r\n\r\n{\"msgtype\""));
    HttpReply r = parse_reply(slow.read_http(3000));
    EXPECT_EQ(r.status, 408) << r.head;
    EXPECT_TRUE(slow.wait_eof(3000));
    RawClient idle;
    ASSERT_TRUE(idle.connect(srv_.port()));
    EXPECT_EQ(post(idle, kSend, text_body("x")).errcode(), 0);
    EXPECT_TRUE(idle.wait_eof(3000)) << "an idle kept-alive connection is closed";
}

TEST_F(Webhook, AWebhookFloodLeavesClientsServed) {
    ASSERT_TRUE(start({"--robot", "flood-token-0001 flood rate=1000/1s throttle=0s overflow=refuse"}));
    RawClient sub;
    join(sub, "/ws/news");
    // Eight flooders pipelining requests they never read the answers to, alongside.
    std::vector<RawClient> flood(8);
    const std::string req = post_request("/robot/send?access_token=flood-token-0001", text_body("noise"));
    std::string burst;
    for (int i = 0; i < 200; ++i) burst += req;
    for (RawClient& f : flood) {
        ASSERT_TRUE(f.connect(srv_.port()));
        ASSERT_TRUE(f.send_all(burst));
    }
    for (int i = 0; i < 50; ++i) {
        ASSERT_EQ(cmd("PUB news n" + std::to_string(i)).rfind("OK", 0), 0u);
        ASSERT_TRUE(next_envelope_is(sub, R"({"type":"msg","channel":"news","seq":)" + std::to_string(i + 1) +
                                              R"(,"epoch":"*","data":"n)" + std::to_string(i) + R"("})"));
    }
}

}  // namespace
}  // namespace wspush::testing
