// wsload against the real server, one small bounded run per mode: exit status and the
// summary line's figures. Each run is capped at 60 s by run_command.
#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "support/push_support.h"
#include "support/test_server.h"

namespace wspush::wsload {
namespace {

using testing::ServerProcess;

struct WsloadRun {
    int status = -1;
    std::string output;                        // stdout and stderr
    std::map<std::string, std::string> field;  // from the `wsload mode=...` line
    int summary_lines = 0;

    [[nodiscard]] long long num(const std::string& key) const {
        auto it = field.find(key);
        return it == field.end() ? -1 : std::stoll(it->second);
    }
};

WsloadRun wsload(const std::string& args) {
    WsloadRun r;
    r.output = testing::run_command(std::string(WSLOAD_BIN) + " " + args + " 2>&1", &r.status);
    std::istringstream lines(r.output);
    for (std::string line; std::getline(lines, line);) {
        if (!line.starts_with("wsload mode=")) continue;
        ++r.summary_lines;
        std::istringstream kv(line.substr(7));
        for (std::string item; kv >> item;) {
            const size_t eq = item.find('=');
            if (eq != std::string::npos) r.field[item.substr(0, eq)] = item.substr(eq + 1);
        }
    }
    return r;
}

std::string url(const ServerProcess& s, const std::string& path) {
    return "--url ws://127.0.0.1:" + std::to_string(s.port()) + path;
}

TEST(WsloadModes, EchoVerifiesEveryMessage) {
    ServerProcess s;
    ASSERT_TRUE(s.start({"--mode", "echo"})) << s.log();
    const WsloadRun r = wsload("echo " + url(s, "/") + " -c 4 -k 4 -s 100 -m 2000 --timeout 5s");
    ASSERT_EQ(r.status, 0) << r.output;
    ASSERT_EQ(r.summary_lines, 1) << r.output;
    EXPECT_EQ(r.field.at("mode"), "echo");
    EXPECT_EQ(r.num("msgs"), 2000);
    EXPECT_EQ(r.num("errors"), 0);
    EXPECT_TRUE(r.field.contains("p99_us")) << r.output;
}

TEST(WsloadModes, EchoOfLargeTextMessages) {
    ServerProcess s;
    ASSERT_TRUE(s.start({"--mode", "echo"})) << s.log();
    // 70000 bytes: 64-bit frame lengths both ways, and reads split across frames.
    const WsloadRun r = wsload("echo " + url(s, "/") + " -c 2 -k 2 -s 70000 -m 40 --text --timeout 5s");
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_EQ(r.num("msgs"), 40);
    EXPECT_EQ(r.field.at("type"), "text");
}

TEST(WsloadModes, EchoFailsWhenNothingComesBack) {
    ServerProcess s;
    ASSERT_TRUE(s.start({})) << s.log();  // push mode: client messages are not echoed
    const WsloadRun r = wsload("echo " + url(s, "/ws/quiet") + " -c 1 -m 3 -d 500ms --timeout 500ms");
    EXPECT_EQ(r.status, 1) << r.output;
    EXPECT_EQ(r.num("msgs"), 0);
    EXPECT_GT(r.num("errors"), 0) << r.output;
}

TEST(WsloadModes, ChurnCompletesEveryCycle) {
    ServerProcess s;
    ASSERT_TRUE(s.start({"--mode", "echo"})) << s.log();
    const WsloadRun r = wsload("churn " + url(s, "/") + " -c 4 -m 200 -s 16 --timeout 5s --pid " + std::to_string(s.pid()));
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_EQ(r.num("handshakes"), 200);
    EXPECT_EQ(r.num("errors"), 0);
    EXPECT_TRUE(r.field.contains("server_cpu_s")) << r.output;
}

TEST(WsloadModes, IdleHoldsAndAnswersPings) {
    ServerProcess s;
    ASSERT_TRUE(s.start({"--ping-interval", "100ms", "--idle-timeout", "1s"})) << s.log();
    const WsloadRun r = wsload("idle " + url(s, "/ws/idle") + " -n 50 -d 1500ms --timeout 5s");
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_EQ(r.num("connected"), 50);
    EXPECT_EQ(r.num("failed"), 0);
    // Held past the idle timeout: only the Pongs kept the connections open.
    EXPECT_EQ(r.num("dropped"), 0);
    EXPECT_GT(r.num("pongs"), 0);
}

TEST(WsloadModes, FanoutThroughTheControlSocket) {
    ServerProcess s;
    ASSERT_TRUE(s.start({})) << s.log();
    const WsloadRun r = wsload("fanout " + url(s, "/ws/fan") + " --control " + s.control_path() +
                         " -n 20 -m 200 -k 8 --timeout 5s");
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_EQ(r.num("delivered"), 4000);
    EXPECT_EQ(r.num("missing"), 0);
    EXPECT_EQ(r.num("duplicated"), 0);
    EXPECT_EQ(r.num("reordered"), 0);
    EXPECT_EQ(r.num("errors"), 0);
}

TEST(WsloadModes, FanoutThroughARelayClient) {
    ServerProcess s;
    ASSERT_TRUE(s.start({"--mode", "relay"})) << s.log();
    const WsloadRun r = wsload("fanout " + url(s, "/ws/relay") + " --via relay -n 20 -m 200 -k 8 --timeout 5s");
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_EQ(r.field.at("via"), "relay");
    EXPECT_EQ(r.num("delivered"), 4000);
    EXPECT_EQ(r.num("missing"), 0);
}

// The robot the webhook runs use: a rate that never throttles a short run (1000 per ms),
// refusing rather than digesting if it ever did, so that would show as a failure.
const std::vector<std::string> kRobotArgs = {"--robot", "wsload-tok-1 hook rate=1000/1ms throttle=0 overflow=refuse"};

TEST(WsloadModes, WebhookPushesOverKeptAliveConnections) {
    ServerProcess s;
    ASSERT_TRUE(s.start(kRobotArgs)) << s.log();
    const WsloadRun r = wsload("webhook " + url(s, "/ws/hook") + " --token wsload-tok-1 -c 2 -k 8 -s 64 -d 1s --timeout 5s --pid " +
                               std::to_string(s.pid()));
    ASSERT_EQ(r.status, 0) << r.output;
    ASSERT_EQ(r.summary_lines, 1) << r.output;
    EXPECT_EQ(r.field.at("mode"), "webhook");
    EXPECT_EQ(r.field.at("route"), "push");
    EXPECT_GT(r.num("ok"), 100) << r.output;
    EXPECT_EQ(r.num("ok"), r.num("requests"));
    EXPECT_EQ(r.num("received"), r.num("ok"));
    EXPECT_EQ(r.num("opened"), 2);
    EXPECT_EQ(r.num("errors"), 0);
    EXPECT_GT(r.num("requests_per_s"), 0);
    EXPECT_TRUE(r.field.contains("cpu_us_per_msg")) << r.output;
}

TEST(WsloadModes, WebhookRobotAndOneRequestPerConnection) {
    ServerProcess s;
    ASSERT_TRUE(s.start(kRobotArgs)) << s.log();
    const WsloadRun robot = wsload("webhook " + url(s, "/ws/hook") + " --token wsload-tok-1 --robot -c 2 -k 4 -m 300 --timeout 5s");
    ASSERT_EQ(robot.status, 0) << robot.output;
    EXPECT_EQ(robot.field.at("route"), "robot");
    EXPECT_EQ(robot.num("received"), 300);
    const WsloadRun close = wsload("webhook " + url(s, "/ws/hook") + " --token wsload-tok-1 --no-keepalive -c 4 -m 200 --timeout 5s");
    ASSERT_EQ(close.status, 0) << close.output;
    EXPECT_EQ(close.num("opened"), 200);
    EXPECT_EQ(close.num("received"), 200);
}

TEST(WsloadModes, WebhookBaselineThroughTheControlSocket) {
    ServerProcess s;
    ASSERT_TRUE(s.start({})) << s.log();
    const WsloadRun r = wsload("webhook " + url(s, "/ws/ctl") + " --via control --control " + s.control_path() +
                               " -c 2 -k 8 -m 500 --timeout 5s");
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_EQ(r.field.at("via"), "control");
    EXPECT_EQ(r.num("ok"), 500);
    EXPECT_EQ(r.num("received"), 500);
}

TEST(WsloadModes, ControlPushesSpreadOverChannels) {
    ServerProcess s;
    ASSERT_TRUE(s.start({})) << s.log();
    const WsloadRun r = wsload("webhook " + url(s, "/ws/spread") + " --via control --control " + s.control_path() +
                               " --channels 5 -n 0 -c 2 -k 4 -m 50 --timeout 5s");
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_EQ(r.num("ok"), 50);
    EXPECT_EQ(r.num("channels"), 5);
    testing::ControlConn ctl;
    ASSERT_TRUE(testing::control(ctl, s));
    for (int i = 0; i < 5; ++i) EXPECT_FALSE(testing::epoch_of(ctl, "spread." + std::to_string(i)).empty()) << i;
    EXPECT_TRUE(testing::epoch_of(ctl, "spread.5").empty());
    EXPECT_TRUE(testing::epoch_of(ctl, "spread").empty());
}

TEST(WsloadModes, WebhookFailsOnAWrongToken) {
    ServerProcess s;
    ASSERT_TRUE(s.start(kRobotArgs)) << s.log();
    const WsloadRun r = wsload("webhook " + url(s, "/ws/hook") + " --token not-the-token -n 0 -c 1 -m 5 --timeout 2s");
    EXPECT_EQ(r.status, 1) << r.output;
    EXPECT_EQ(r.num("ok"), 0);
    EXPECT_GT(r.num("errors"), 0) << r.output;
}

}  // namespace
}  // namespace wspush::wsload
