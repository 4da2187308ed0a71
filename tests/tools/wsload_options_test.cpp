#include "wsload/options.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace wspush::wsload {
namespace {

Options parse(std::vector<const char*> args) {
    args.insert(args.begin(), "wsload");
    bool help = false;
    return parse_options(static_cast<int>(args.size()), args.data(), help);
}

TEST(WsloadOptions, Durations) {
    EXPECT_DOUBLE_EQ(parse_duration("10"), 10);
    EXPECT_DOUBLE_EQ(parse_duration("2.5s"), 2.5);
    EXPECT_DOUBLE_EQ(parse_duration("250ms"), 0.25);
    EXPECT_DOUBLE_EQ(parse_duration("2m"), 120);
    EXPECT_THROW((void)parse_duration(""), UsageError);
    EXPECT_THROW((void)parse_duration("ms"), UsageError);
    EXPECT_THROW((void)parse_duration("-1"), UsageError);
    EXPECT_THROW((void)parse_duration("5h"), UsageError);
}

TEST(WsloadOptions, Sizes) {
    EXPECT_EQ(parse_size("64"), 64u);
    EXPECT_EQ(parse_size("4K"), 4096u);
    EXPECT_EQ(parse_size("1M"), 1048576u);
    EXPECT_THROW((void)parse_size("1G"), UsageError);
    EXPECT_THROW((void)parse_size("K"), UsageError);
    EXPECT_THROW((void)parse_size("-5"), UsageError);
}

TEST(WsloadOptions, Ipv4Url) {
    const Url u = parse_url("ws://127.0.0.1:8080/ws/news?id=7");
    EXPECT_EQ(u.host_header, "127.0.0.1:8080");
    EXPECT_EQ(u.path, "/ws/news?id=7");
    ASSERT_EQ(u.addr_len, sizeof(sockaddr_in));
    const auto* sa = reinterpret_cast<const sockaddr_in*>(&u.addr);
    EXPECT_EQ(ntohs(sa->sin_port), 8080);
    EXPECT_TRUE(u.loopback_v4);
}

TEST(WsloadOptions, Ipv6AndLocalhostUrls) {
    const Url v6 = parse_url("ws://[::1]:9000");
    EXPECT_EQ(v6.path, "/");
    EXPECT_EQ(v6.host_header, "[::1]:9000");
    EXPECT_EQ(v6.addr_len, sizeof(sockaddr_in6));
    EXPECT_FALSE(v6.loopback_v4);
    const Url lh = parse_url("ws://localhost:81/");
    EXPECT_TRUE(lh.loopback_v4);
    EXPECT_EQ(lh.host_header, "localhost:81");
}

TEST(WsloadOptions, BadUrls) {
    EXPECT_THROW((void)parse_url("http://127.0.0.1:80/"), UsageError);
    EXPECT_THROW((void)parse_url("ws://127.0.0.1:0/"), UsageError);
    EXPECT_THROW((void)parse_url("ws://127.0.0.1:70000/"), UsageError);
    EXPECT_THROW((void)parse_url("ws://example.com:80/"), UsageError);
    EXPECT_THROW((void)parse_url("ws://[::1:80/"), UsageError);
}

TEST(WsloadOptions, EchoFlags) {
    const Options o = parse({"echo", "--url", "ws://127.0.0.1:1234/", "-c", "8", "-k", "4", "-s", "1K", "--text",
                             "-d", "500ms", "--pid", "42"});
    EXPECT_EQ(o.mode, Mode::kEcho);
    EXPECT_EQ(o.connections, 8u);
    EXPECT_EQ(o.inflight, 4u);
    EXPECT_EQ(o.size, 1024u);
    EXPECT_TRUE(o.text);
    EXPECT_DOUBLE_EQ(o.duration_s, 0.5);
    EXPECT_EQ(o.pids, std::vector<pid_t>{42});
}

TEST(WsloadOptions, SeveralPidsAreSummed) {
    const Options o = parse({"echo", "--pid", "42,43,7"});
    EXPECT_EQ(o.pids, (std::vector<pid_t>{42, 43, 7}));
    EXPECT_THROW((void)parse({"echo", "--pid", "42,"}), UsageError);
    EXPECT_THROW((void)parse({"echo", "--pid", "x"}), UsageError);
}

TEST(WsloadOptions, FanoutOverSeveralServersNamesOneChannel) {
    const Options o = parse({"fanout", "--via", "relay", "--url", "ws://127.0.0.1:1234/ws/prices", "--url",
                             "ws://127.0.0.1:1235", "--url", "ws://127.0.0.1:1236/ws/prices"});
    ASSERT_EQ(o.urls.size(), 3u);
    EXPECT_EQ(o.urls[1].path, "/ws/prices");
    EXPECT_EQ(o.urls[1].host_header, "127.0.0.1:1235");
    EXPECT_EQ(o.urls[2].host_header, "127.0.0.1:1236");
    EXPECT_EQ(o.url.host_header, "127.0.0.1:1234");
    EXPECT_THROW((void)parse({"fanout", "--via", "relay", "--url", "ws://127.0.0.1:1234/ws/a", "--url",
                              "ws://127.0.0.1:1235/ws/b"}),
                 UsageError);
}

TEST(WsloadOptions, FanoutTakesTheChannelFromTheUrl) {
    const Options o = parse({"fanout", "--url", "ws://127.0.0.1:1234/ws/prices", "--control", "/tmp/x.sock"});
    EXPECT_EQ(o.channel, "prices");
    EXPECT_EQ(o.protocol, "wspush.v1");
    EXPECT_EQ(o.messages, 1000u);
    EXPECT_EQ(o.inflight, 64u);
    EXPECT_DOUBLE_EQ(o.duration_s, 30);
}

TEST(WsloadOptions, FanoutWithoutAChannelMakesAFreshOne) {
    const Options o = parse({"--mode", "fanout", "--url", "ws://127.0.0.1:1234", "--via", "relay", "-m", "5"});
    EXPECT_EQ(o.channel, "wsload-" + std::to_string(getpid()));
    EXPECT_EQ(o.url.path, "/ws/" + o.channel);
    EXPECT_TRUE(o.via_relay());
    EXPECT_EQ(o.messages, 5u);
}

TEST(WsloadOptions, WebhookDefaults) {
    const Options o = parse({"webhook", "--url", "ws://127.0.0.1:1/ws/news", "--token", "tok-12345", "-c", "8", "-k", "16"});
    EXPECT_EQ(o.mode, Mode::kWebhook);
    EXPECT_EQ(o.via, Via::kHttp);
    EXPECT_EQ(o.channel, "news");
    EXPECT_EQ(o.subscribers, 1u);
    EXPECT_EQ(o.protocol, "wspush.v1");
    EXPECT_TRUE(o.keepalive);
    EXPECT_FALSE(o.robot);
    EXPECT_EQ(o.inflight, 16u);
    EXPECT_STREQ(mode_name(o.mode), "webhook");
}

TEST(WsloadOptions, WebhookVariants) {
    const Options close = parse({"webhook", "--token", "tok-12345", "--no-keepalive", "-c", "32", "-n", "0"});
    EXPECT_FALSE(close.keepalive);
    EXPECT_EQ(close.inflight, 1u);
    EXPECT_EQ(close.subscribers, 0u);
    EXPECT_EQ(close.channel, "wsload-" + std::to_string(getpid()));
    const Options robot = parse({"webhook", "--url", "ws://127.0.0.1:1/ws/alerts", "--token", "tok-12345", "--robot"});
    EXPECT_TRUE(robot.robot);
    const Options ctl = parse({"webhook", "--via", "control", "--control", "/tmp/c.sock", "-k", "16"});
    EXPECT_EQ(ctl.via, Via::kControl);
    EXPECT_EQ(ctl.control, "/tmp/c.sock");
    EXPECT_EQ(ctl.channels, 1u);
    const Options spread = parse({"webhook", "--via", "control", "--control", "/tmp/c.sock", "-n", "0", "--channels", "1000"});
    EXPECT_EQ(spread.channels, 1000u);
}

TEST(WsloadOptions, WebhookRejections) {
    EXPECT_THROW(parse({"webhook"}), UsageError) << "needs --token";
    EXPECT_THROW(parse({"webhook", "--token", "short"}), UsageError);
    EXPECT_THROW(parse({"webhook", "--token", "has space here"}), UsageError);
    EXPECT_THROW(parse({"webhook", "--token", "tok-12345", "-n", "2"}), UsageError);
    EXPECT_THROW(parse({"webhook", "--token", "tok-12345", "--via", "relay"}), UsageError);
    EXPECT_THROW(parse({"webhook", "--token", "tok-12345", "--no-keepalive", "-k", "4"}), UsageError);
    EXPECT_THROW(parse({"webhook", "--via", "control"}), UsageError) << "needs --control";
    EXPECT_THROW(parse({"webhook", "--via", "control", "--control", "/x", "--robot"}), UsageError);
    EXPECT_THROW(parse({"webhook", "--token", "tok-12345", "--url", "ws://127.0.0.1:1/push/x"}), UsageError);
    EXPECT_THROW(parse({"fanout", "--via", "http", "--control", "/x"}), UsageError);
    EXPECT_THROW(parse({"webhook", "--via", "control", "--control", "/x", "--channels", "4"}), UsageError) << "needs -n 0";
    EXPECT_THROW(parse({"webhook", "--token", "tok-12345", "-n", "0", "--channels", "4"}), UsageError);
    EXPECT_THROW(parse({"webhook", "--via", "control", "--control", "/x", "-n", "0", "--channels", "0"}), UsageError);
    EXPECT_THROW(parse({"fanout", "--via", "relay", "--channels", "4"}), UsageError);
}

TEST(WsloadOptions, Rejections) {
    EXPECT_THROW(parse({}), UsageError);
    EXPECT_THROW(parse({"storm"}), UsageError);
    EXPECT_THROW(parse({"echo", "-c"}), UsageError);
    EXPECT_THROW(parse({"echo", "-c", "x"}), UsageError);
    EXPECT_THROW(parse({"echo", "-c", "0"}), UsageError);
    EXPECT_THROW(parse({"echo", "--bogus"}), UsageError);
    EXPECT_THROW(parse({"echo", "-d", "0"}), UsageError);
    EXPECT_THROW(parse({"fanout", "--url", "ws://127.0.0.1:1/ws/x"}), UsageError) << "needs --control or relay";
    EXPECT_THROW(parse({"fanout", "--url", "ws://127.0.0.1:1/ws/bad*name", "--via", "relay"}), UsageError);
    EXPECT_THROW(parse({"fanout", "--url", "ws://127.0.0.1:1/other", "--via", "relay"}), UsageError);
    EXPECT_THROW(parse({"fanout", "--via", "pigeon"}), UsageError);
}

TEST(WsloadOptions, Help) {
    const char* argv[] = {"wsload", "--help"};
    bool help = false;
    (void)parse_options(2, argv, help);
    EXPECT_TRUE(help);
}

}  // namespace
}  // namespace wspush::wsload
