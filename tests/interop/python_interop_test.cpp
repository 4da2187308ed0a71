// Interop: an independent client implementation (Debian's python3-websockets) against
// `wspushd --mode echo`. tests/interop/echo_client.py does the exchanges and reports one
// line per step; this test runs it with a time limit and checks its verdict.
#include <gtest/gtest.h>

#include "support/test_server.h"

namespace wspush::testing {
namespace {

TEST(PythonInterop, EchoClientExchangesEverything) {
    ServerProcess srv;
    ASSERT_TRUE(srv.start({"--mode", "echo", "--max-message", "64M"})) << srv.log();
    int status = -1;
    // run_command bounds the run with `timeout 60`; the script bounds itself to 40 s.
    std::string out = run_command("/usr/bin/python3 " WSPUSH_SOURCE_DIR "/tests/interop/echo_client.py " +
                                      std::to_string(srv.port()) + " 2>&1",
                                  &status);
    ASSERT_NE(status, 3) << "python3-websockets is not installed: " << out;
    EXPECT_EQ(status, 0) << out << "\nserver log:\n" << srv.log();
    for (const char* line : {"handshake ok no-extensions\n", "text ok\n", "binary ok\n", "fragmented ok\n",
                             "large ok 16777216 bytes", "ping ok\n", "close ok code=4000", "all ok\n"})
        EXPECT_NE(out.find(line), std::string::npos) << "missing \"" << line << "\" in:\n" << out;
    EXPECT_EQ(out.find("FAIL"), std::string::npos) << out;
    // The server stays healthy: it exits cleanly on SIGTERM.
    EXPECT_EQ(srv.stop(), 0) << srv.log();
}

}  // namespace
}  // namespace wspush::testing
