// The server's log lines on stderr: "wspushd: <level>: <text>", and with --log-time the UTC
// time to the millisecond in front (for logs nothing else stamps).
#include <gtest/gtest.h>

#include <ctime>
#include <regex>
#include <sstream>
#include <string>

#include "support/test_server.h"

namespace {

using wspush::testing::ServerProcess;

std::string first_line(const std::string& log) { return log.substr(0, log.find('\n')); }

TEST(Logs, LinesCarryTheUtcTimeWithLogTime) {
    ServerProcess srv;
    const time_t before = time(nullptr);
    ASSERT_TRUE(srv.start({"--log-time"})) << srv.log();
    const time_t after = time(nullptr);
    std::istringstream lines(srv.log());
    const std::regex stamped(R"(^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.\d{3}Z wspushd: (info|warn|error|debug): .+)");
    int n = 0;
    for (std::string line; std::getline(lines, line);) {
        std::smatch m;
        ASSERT_TRUE(std::regex_match(line, m, stamped)) << line;
        tm t{};
        t.tm_year = std::stoi(m[1]) - 1900;
        t.tm_mon = std::stoi(m[2]) - 1;
        t.tm_mday = std::stoi(m[3]);
        t.tm_hour = std::stoi(m[4]);
        t.tm_min = std::stoi(m[5]);
        t.tm_sec = std::stoi(m[6]);
        const time_t at = timegm(&t);
        EXPECT_GE(at, before) << line;
        EXPECT_LE(at, after) << line;
        ++n;
    }
    EXPECT_GE(n, 2) << srv.log();
    EXPECT_EQ(srv.stop(), 0);
}

TEST(Logs, LinesStartWithTheNameWithoutLogTime) {
    ServerProcess srv;
    ASSERT_TRUE(srv.start({"--log-time=false"})) << srv.log();
    EXPECT_EQ(first_line(srv.log()).rfind("wspushd: info: ", 0), 0u) << srv.log();
    EXPECT_EQ(srv.stop(), 0);
}

}  // namespace
