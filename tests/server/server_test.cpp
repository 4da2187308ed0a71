// The server process as a whole: flags, startup, shutdown.
#include <gtest/gtest.h>

#include "support/test_server.h"

namespace wspush::testing {
namespace {

TEST(Server, EchoesTextMessage) {
    ServerProcess srv;
    ASSERT_TRUE(srv.start({"--mode", "echo"})) << srv.log();
    RawClient c;
    ASSERT_TRUE(c.connect(srv.port()));
    ASSERT_EQ(c.upgrade("/anything"), 101);
    ASSERT_TRUE(c.send_frame(0x1, "hello"));
    auto f = c.read_frame();
    ASSERT_TRUE(f);
    EXPECT_EQ(f->opcode, 0x1);
    EXPECT_TRUE(f->fin);
    EXPECT_FALSE(f->masked);
    EXPECT_EQ(f->payload, "hello");
}

TEST(Server, SigtermSendsGoingAwayAndExitsZero) {
    ServerProcess srv;
    ASSERT_TRUE(srv.start({"--mode", "echo"})) << srv.log();
    RawClient c;
    ASSERT_TRUE(c.connect(srv.port()));
    ASSERT_EQ(c.upgrade("/"), 101);
    // Make sure the upgrade is fully processed before the signal.
    ASSERT_TRUE(c.send_frame(0x9, "p"));
    auto pong = c.read_frame();
    ASSERT_TRUE(pong);
    EXPECT_EQ(pong->opcode, 0xA);
    kill(srv.pid(), SIGTERM);
    auto f = c.read_close();
    ASSERT_TRUE(f);
    EXPECT_EQ(f->close_code(), 1001);
    ASSERT_TRUE(c.send_all(RawClient::close_frame(1001)));
    EXPECT_TRUE(c.wait_eof());
    EXPECT_EQ(srv.stop(SIGTERM), 0);
}

struct BadFlag {
    const char* name;
    std::vector<std::string> args;
    const char* mentions;
};

class ServerBadFlag : public ::testing::TestWithParam<BadFlag> {};

TEST_P(ServerBadFlag, ExitsTwoNamingTheFlag) {
    std::string cmd = std::string(WSPUSHD_BIN);
    for (auto& a : GetParam().args) cmd += " '" + a + "'";
    int status = 0;
    std::string out = run_command(cmd + " 2>&1", &status);
    EXPECT_EQ(status, 2) << out;
    EXPECT_NE(out.find(GetParam().mentions), std::string::npos) << out;
    EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << "one line: " << out;
}

INSTANTIATE_TEST_SUITE_P(
    Flags, ServerBadFlag,
    ::testing::Values(BadFlag{"UnknownFlag", {"--bogus"}, "--bogus"},
                      BadFlag{"BadMode", {"--mode", "loud"}, "--mode"},
                      BadFlag{"BadSize", {"--max-message", "12Q"}, "--max-message"},
                      BadFlag{"MissingValue", {"--listen"}, "--listen"},
                      BadFlag{"BadPort", {"--listen", "127.0.0.1:99999"}, "--listen"},
                      BadFlag{"BadDuration", {"--ping-interval", "soon"}, "--ping-interval"},
                      BadFlag{"BadLogLevel", {"--log-level", "loud"}, "--log-level"}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace wspush::testing
