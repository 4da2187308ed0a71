// The plain-HTTP path under hostile or slow clients, and the webhook's promises at the
// edges: no request smuggling past a body that is not read, slow readers of their answers,
// digests at shutdown and before newer messages, mentions folded into a digest.
#include <gtest/gtest.h>

#include <chrono>

#include <sstream>
#include <sys/socket.h>

#include "support/push_support.h"
#include "support/webhook_support.h"

namespace wspush::testing {
namespace {

constexpr char kSend[] = "/robot/send?access_token=alerts-token-0001";

std::string text_body(std::string_view content) {
    return R"({"msgtype":"text","text":{"content":")" + std::string(content) + R"("}})";
}

class WebhookHttp : public PushServerTest {};

// Everything c receives until the server closes it (bounded).
std::string read_to_eof(RawClient& c, int timeout_ms = 5000) {
    std::string all;
    for (;;) {
        std::string r = c.read_http(timeout_ms);
        if (r.empty()) break;
        all += r;
    }
    return all;
}

size_t count(const std::string& hay, std::string_view needle) {
    size_t n = 0;
    for (size_t at = 0; (at = hay.find(needle, at)) != std::string::npos; at += needle.size()) ++n;
    return n;
}

TEST_F(WebhookHttp, ABodyThatIsNotReadIsNeverTakenForTheNextRequest) {
    ASSERT_TRUE(start({"--robot", "alerts-token-0001 alerts"}));
    const std::string smuggled = "GET /nonexist HTTP/1.1\r\nHost: x\r\n\r\n";
    struct Case {
        const char* name;
        std::string head;
        int status;
    } cases[] = {
        {"OPTIONS with a body", "OPTIONS /robot/send HTTP/1.1\r\nHost: x\r\nContent-Length: 36\r\n\r\n", 204},
        {"GET page with a body", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 36\r\n\r\n", 200},
        {"two Content-Lengths", "OPTIONS / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 36\r\n\r\n", 400},
        {"Content-Length and chunked", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n",
         400},
        {"chunked GET", "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 200},
    };
    for (const Case& k : cases) {
        RawClient c;
        ASSERT_TRUE(c.connect(srv_.port()));
        ASSERT_TRUE(c.send_all(k.head + smuggled));
        const std::string all = read_to_eof(c);
        EXPECT_EQ(all.rfind("HTTP/1.1 " + std::to_string(k.status), 0), 0u) << k.name << "\n" << all;
        EXPECT_EQ(count(all, "HTTP/1.1 "), 1u) << k.name << ": the body was served as a request\n" << all;
        EXPECT_NE(all.find("Connection: close"), std::string::npos) << k.name;
    }
}

TEST_F(WebhookHttp, TokensAndSecretsNeverReachTheLog) {
    ASSERT_TRUE(start({"--log-level", "debug", "--robot", "alerts-token-0001 alerts name=ops secret=SECsecret42",
                       "--robot", "other-token-0002 alerts rate=1/60s overflow=refuse"}));
    RawClient c;
    ASSERT_TRUE(c.connect(srv_.port()));
    EXPECT_EQ(post(c, kSend, text_body("x")).errcode(), 310000);  // unsigned
    for (int i = 0; i < 2; ++i) {
        RawClient d;
        ASSERT_TRUE(d.connect(srv_.port()));
        (void)post(d, "/robot/send?access_token=other-token-0002", text_body("y"));
    }
    RawClient e;
    ASSERT_TRUE(e.connect(srv_.port()));
    EXPECT_EQ(post(e, "/robot/send?access_token=guess-token-0003", text_body("z")).errcode(), 300001);
    ctl_.close();
    ASSERT_EQ(srv_.stop(), 0);
    // The server's own lines only: a wrapper (valgrind) echoes the command line, flags included.
    std::string log;
    std::istringstream lines(srv_.log());
    for (std::string line; std::getline(lines, line);)
        if (line.starts_with("wspushd: ")) log += line + "\n";
    EXPECT_NE(log.find("webhook: 2 robot(s): ops -> alerts, robot2 -> alerts"), std::string::npos) << log;
    for (const char* secret : {"alerts-token-0001", "other-token-0002", "guess-token-0003", "SECsecret42"})
        EXPECT_EQ(log.find(secret), std::string::npos) << secret << " in the log:\n" << log;
}

TEST_F(WebhookHttp, PageErrorsKeepTheConnectionAndHeadHasNoBody) {
    ASSERT_TRUE(start({"--robot", "alerts-token-0001 alerts"}));
    RawClient c;
    ASSERT_TRUE(c.connect(srv_.port()));
    ASSERT_TRUE(c.send_all("HEAD /nope HTTP/1.1\r\nHost: x\r\n\r\nPOST / HTTP/1.1\r\nHost: x\r\n\r\n"
                           "GET /favicon.ico HTTP/1.1\r\nHost: x\r\n\r\n"));
    // The HEAD's 404 announces its length but sends no body: the next answer follows at once.
    std::string all;
    while (count(all, "HTTP/1.1 ") < 3) {
        char buf[4096];
        if (!wait_until([&] { return ::recv(c.fd(), buf, sizeof buf, MSG_PEEK | MSG_DONTWAIT) > 0; }, 5000, 5)) break;
        ssize_t n = ::recv(c.fd(), buf, sizeof buf, 0);
        if (n <= 0) break;
        all.append(buf, static_cast<size_t>(n));
    }
    const size_t second = all.find("HTTP/1.1 405");
    ASSERT_NE(second, std::string::npos) << all;
    EXPECT_EQ(all.rfind("HTTP/1.1 404 Not Found\r\n", 0), 0u) << all;
    EXPECT_EQ(all.substr(0, second).find("no such page"), std::string::npos) << "HEAD got a body:\n" << all;
    EXPECT_NE(all.find("Allow: GET, HEAD, OPTIONS"), std::string::npos) << all;
    EXPECT_NE(all.find("HTTP/1.1 404", second), std::string::npos) << all;
    EXPECT_EQ(count(all, "Connection: keep-alive"), 3u) << all;
}

TEST_F(WebhookHttp, ExpectationsAndChallenges) {
    ASSERT_TRUE(start({"--robot", "alerts-token-0001 alerts"}));
    RawClient c;
    ASSERT_TRUE(c.connect(srv_.port()));
    HttpReply r = post(c, kSend, text_body("x"), "application/json", "Expect: fly\r\n");
    EXPECT_EQ(r.status, 417) << r.head;
    RawClient d;
    ASSERT_TRUE(d.connect(srv_.port()));
    r = post(d, "/robot/send?access_token=nope-nope-nope", text_body("x"));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.errcode(), 300001);
    EXPECT_EQ(r.header("WWW-Authenticate"), "") << "the robot API answers 200, with no challenge";
}

TEST_F(WebhookHttp, ASlowReaderGetsEveryAnswerAndOneThatNeverReadsIsClosed) {
    ASSERT_TRUE(start({"--keepalive-timeout", "300ms", "--handshake-timeout", "300ms"}));
    // 200 pipelined page requests from a client with a 4 KiB window that reads slowly: its
    // answers back up past the 64 KiB cap (the server stops reading it), and the timers fire
    // many times while it is still reading. It must get every answer, whole.
    RawClient slow;
    ASSERT_TRUE(slow.connect_small_window(srv_.port()));
    std::string reqs;
    for (int i = 0; i < 200; ++i) reqs += "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    ASSERT_TRUE(slow.send_all(reqs));
    const std::string page = http_get(srv_.port(), "/");
    const size_t page_body = page.size() - page.find("\r\n\r\n") - 4;
    size_t got = 0, bodies = 0;
    std::string buf;
    while (bodies < 200) {
        char chunk[2048];
        // The stimulus, not a race: a reader this slow needs several keep-alive periods.
        if (!wait_until([&] { return ::recv(slow.fd(), chunk, sizeof chunk, MSG_PEEK | MSG_DONTWAIT) > 0; }, 3000, 2))
            break;
        ssize_t n = ::recv(slow.fd(), chunk, sizeof chunk, 0);
        if (n <= 0) break;
        buf.append(chunk, static_cast<size_t>(n));
        got += static_cast<size_t>(n);
        for (;;) {
            size_t end = buf.find("\r\n\r\n");
            if (end == std::string::npos || buf.size() < end + 4 + page_body) break;
            buf.erase(0, end + 4 + page_body);
            ++bodies;
        }
        timespec pause{0, 2'000'000};  // ~1 MB/s at most
        nanosleep(&pause, nullptr);
    }
    EXPECT_EQ(bodies, 200u) << got << " bytes";
    // One that never reads what it asked for is closed once a whole period passes with
    // nothing taken. 400 requests: their answers (~4.7 MB) cannot all wait in the kernel's
    // socket buffers, whatever the page's exact size.
    RawClient stuck;
    ASSERT_TRUE(stuck.connect_small_window(srv_.port()));
    ASSERT_TRUE(stuck.send_all(reqs + reqs));
    EXPECT_TRUE(wait_until([&] { return stat(ctl_, "drops.slow_consumer").value_or(0) == 1; }, 5000, 20));
}

TEST_F(WebhookHttp, DigestsGoOutAtShutdownWithTheirMentions) {
    ASSERT_TRUE(start({"--robot", "alerts-token-0001 alerts name=ops rate=1/60s throttle=10m"}));
    RawClient sub, bob;
    ASSERT_TRUE(subscribe(sub, srv_.port(), "/ws/alerts", true));
    ASSERT_TRUE(subscribe(bob, srv_.port(), "/ws/lobby?id=bob", true));
    RawClient c;
    ASSERT_TRUE(c.connect(srv_.port()));
    ASSERT_EQ(post(c, kSend, text_body("first")).errcode(), 0);
    HttpReply r = post(c, kSend, R"({"msgtype":"text","text":{"content":"bob, look"},"at":{"atUserIds":["bob"]}})");
    ASSERT_NE(r.body.find("\"digest\":true"), std::string::npos) << r.body;
    auto first = read_json(sub);
    ASSERT_TRUE(first);
    // The throttle has ten minutes to run; the server stops now. What it accepted goes out.
    ctl_.close();
    ASSERT_EQ(srv_.stop(), 0);
    auto digest = read_json(sub);
    ASSERT_TRUE(digest) << "the digest was lost at shutdown";
    auto card = parse_json(digest->get("data")->text);
    ASSERT_TRUE(card && card->get("digest"));
    EXPECT_EQ(card->get("digest")->get("count")->uint().value_or(0), 1u);
    auto told = read_json(bob);
    ASSERT_TRUE(told) << "bob was mentioned in a digested message";
    EXPECT_EQ(told->get("type")->text, "mention");
    EXPECT_EQ(sub.read_close().value_or(Frame{}).close_code(), 1001);
}

TEST_F(WebhookHttp, ADigestComesBeforeWhatFollowsTheThrottle) {
    ASSERT_TRUE(start({"--robot", "alerts-token-0001 alerts name=ops rate=1/60s throttle=300ms"}));
    RawClient sub, c;
    ASSERT_TRUE(subscribe(sub, srv_.port(), "/ws/alerts", true));
    ASSERT_TRUE(c.connect(srv_.port()));
    ASSERT_EQ(post(c, kSend, text_body("m1")).errcode(), 0);
    // Post until one is pushed rather than digested: the throttle (300 ms) is over then.
    // Bounded by time, not by a count a fast server gets through within the throttle.
    int digested = 0;
    bool pushed = false;
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!pushed && std::chrono::steady_clock::now() < give_up) {
        HttpReply r = post(c, kSend, text_body("later"));
        ASSERT_EQ(r.errcode(), 0) << r.body;
        if (r.body.find("\"digest\":true") != std::string::npos) ++digested;
        else pushed = true;
    }
    ASSERT_TRUE(pushed);
    ASSERT_GT(digested, 0);
    std::vector<std::string> seen;
    for (int i = 0; i < 3; ++i) {
        auto env = read_json(sub);
        ASSERT_TRUE(env);
        auto card = parse_json(env->get("data")->text);
        ASSERT_TRUE(card);
        seen.push_back(card->get("digest") ? "digest" : card->get("text")->get("content")->text);
    }
    EXPECT_EQ(seen, (std::vector<std::string>{"m1", "digest", "later"}));
}

}  // namespace
}  // namespace wspush::testing
