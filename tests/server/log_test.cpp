// The server's log lines on stderr: "wspushd: <level>: <text>", and with --log-time the UTC
// time to the millisecond in front (for logs nothing else stamps).
#include <gtest/gtest.h>

#include <cstdio>
#include <ctime>
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
    int n = 0;
    for (std::string line; std::getline(lines, line);) {
        // "YYYY-MM-DDTHH:MM:SS.mmmZ wspushd: <level>: <text>"
        tm t{};
        int ms = -1, used = 0;
        ASSERT_EQ(sscanf(line.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ %n", &t.tm_year, &t.tm_mon, &t.tm_mday,
                         &t.tm_hour, &t.tm_min, &t.tm_sec, &ms, &used),
                  7)
            << line;
        ASSERT_EQ(used, 25) << line;
        ASSERT_EQ(line.compare(10, 1, "T"), 0) << line;
        ASSERT_EQ(line.compare(25, 9, "wspushd: "), 0) << line;
        t.tm_year -= 1900;
        t.tm_mon -= 1;
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
