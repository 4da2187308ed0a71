// The Makefile's cross builds, read with `make -n -B` (every command it would run, none run;
// the cross compilers need not be installed): CROSS=<prefix> compiles, links and strips with
// the target's tools into build/<triplet>, never into the native build/obj, and test-cross
// runs the target's tests and servers under qemu-user.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "support/test_server.h"

namespace wspush::testing {
namespace {

const std::string kSource = WSPUSH_SOURCE_DIR;

// The commands `make -n -B ARGS` prints in the source tree, one per line (a recipe's
// backslash-continued lines joined), without the jobserver or the variables of a make that
// may have started this test (`make asan` passes BUILD=build/asan SAN=1 down through the
// environment).
std::vector<std::string> dry_make(const std::string& args) {
    int status = -1;
    const std::string out = run_command(
        "env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u BUILD -u SAN -u CROSS -u V make -n -B --no-print-directory -C " + kSource + " " + args + " 2>&1",
        &status);
    EXPECT_EQ(status, 0) << out;
    std::vector<std::string> lines;
    std::istringstream in(out);
    bool continued = false;
    for (std::string line; std::getline(in, line); continued = !line.empty() && line.back() == '\\') {
        if (continued) {
            lines.back().pop_back();
            lines.back() += line;
        } else {
            lines.push_back(line);
        }
    }
    return lines;
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

TEST(CrossBuild, ServerBuiltByTheTargetsCompilerInItsOwnDirectory) {
    for (const std::string triplet : {"aarch64-linux-gnu", "arm-linux-gnueabihf"}) {
        SCOPED_TRACE(triplet);
        const std::string dir = "build/" + triplet + "/";
        int compiles = 0, links = 0;
        for (const std::string& line : dry_make("CROSS=" + triplet + "- " + dir + "wspushd " + dir + "wspushd-static")) {
            if (line.find(" -c ") != std::string::npos || line.find(" -o " + dir + "wspushd") != std::string::npos) {
                EXPECT_TRUE(starts_with(line, triplet + "-g++ ")) << line;
                (line.find(" -c ") != std::string::npos ? compiles : links)++;
            }
            EXPECT_EQ(line.find("build/obj/"), std::string::npos) << "a native object: " << line;
            const size_t out = line.find(" -o ");
            if (out != std::string::npos) {
                EXPECT_TRUE(starts_with(line.substr(out + 4), dir)) << line;
            }
        }
        EXPECT_GT(compiles, 20);
        EXPECT_EQ(links, 2);  // dynamic and static
    }
}

TEST(CrossBuild, InstallStripsWithTheTargetsStrip) {
    bool stripped = false;
    for (const std::string& line : dry_make("install CROSS=arm-linux-gnueabihf- DESTDIR=/nonexistent")) {
        if (line.find("--strip-program=") == std::string::npos) continue;
        EXPECT_NE(line.find("--strip-program=arm-linux-gnueabihf-strip build/arm-linux-gnueabihf/wspushd "),
                  std::string::npos)
            << line;
        stripped = true;
    }
    EXPECT_TRUE(stripped);
}

// The tests and every server they start run under the target's qemu, which finds the target's
// libraries through QEMU_LD_PREFIX; aarch64 unless CROSS names another target.
TEST(CrossBuild, TestCrossRunsTheTargetsTestsUnderQemu) {
    const struct {
        std::string args, qemu, triplet;
    } cases[] = {{"", "qemu-aarch64", "aarch64-linux-gnu"},
                 {"CROSS=arm-linux-gnueabihf-", "qemu-arm", "arm-linux-gnueabihf"}};
    for (const auto& c : cases) {
        SCOPED_TRACE(c.triplet);
        bool ran = false;
        for (const std::string& line : dry_make("test-cross " + c.args)) {
            if (line.find("tools/run-tests.sh") == std::string::npos) continue;
            EXPECT_NE(line.find("QEMU_LD_PREFIX=/usr/" + c.triplet + " TEST_WRAPPER=" + c.qemu +
                                " WSPUSHD_WRAPPER=" + c.qemu),
                      std::string::npos)
                << line;
            EXPECT_NE(line.find("build/" + c.triplet + "/wspush_tests"), std::string::npos) << line;
            ran = true;
        }
        EXPECT_TRUE(ran);
    }
}

}  // namespace
}  // namespace wspush::testing
