// The --config file: key = value lines through the flag table, errors as FILE:LINE, the
// command line over the file, and the file read again by reload_config.
#include <gtest/gtest.h>

#include <fstream>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "server/config.h"
#include "support/temp_file.h"

namespace wspush::server {
namespace {

using wspush::testing::TempFile;

ArgsResult parse(std::vector<std::string> args, Config& cfg, std::string& err) {
    std::vector<char*> argv{const_cast<char*>("wspushd")};
    for (std::string& a : args) argv.push_back(a.data());
    return parse_args(static_cast<int>(argv.size()), argv.data(), cfg, err);
}

TEST(ConfigFile, EveryKindOfValueParses) {
    Config cfg;
    std::string err;
    ASSERT_TRUE(parse_config_text("f",
                                  "# a comment\n"
                                  "\n"
                                  "   # an indented comment\n"
                                  "listen = [::1]:9000\r\n"
                                  "mode=relay\n"
                                  "\tlog-time = true\n"
                                  "io-uring = 0\n"
                                  "origins = http://a, http://b\n"
                                  "protocols =\n"
                                  "ping-interval = 500ms\n"
                                  "history-bytes = 2M\n"
                                  "robot = \"tok-aaaa-0001 alerts name=ops\"\n"
                                  "robot = tok-bbbb-0002 sensors.* rate=5/10s\n"
                                  "robots = /etc/wspushd/robots\n",
                                  cfg, err))
        << err;
    EXPECT_EQ(cfg.listen_host, "::1");
    EXPECT_EQ(cfg.listen_port, 9000);
    EXPECT_EQ(cfg.mode, Mode::kRelay);
    EXPECT_TRUE(cfg.log_time);
    EXPECT_FALSE(cfg.io_uring);
    EXPECT_EQ(cfg.origins, (std::vector<std::string>{"http://a", "http://b"}));
    EXPECT_TRUE(cfg.protocols.empty());
    EXPECT_EQ(cfg.ping_interval_ms, 500u);
    EXPECT_EQ(cfg.history_bytes, 2u << 20);
    EXPECT_EQ(cfg.robot_specs, (std::vector<std::string>{"tok-aaaa-0001 alerts name=ops", "tok-bbbb-0002 sensors.* rate=5/10s"}));
    EXPECT_EQ(cfg.robot_files, (std::vector<std::string>{"/etc/wspushd/robots"}));
}

struct BadCase {
    const char* name;
    std::string text;
    std::string want;  // the whole error
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

const std::string kUnknownHint = " (keys are the flags without --, see wspushd --help)";

class ConfigFileError : public ::testing::TestWithParam<BadCase> {};

TEST_P(ConfigFileError, NamesTheLine) {
    Config cfg;
    std::string err;
    EXPECT_FALSE(parse_config_text("wspushd.conf", GetParam().text, cfg, err));
    EXPECT_EQ(err, GetParam().want);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ConfigFileError,
    ::testing::Values(
        BadCase{"UnknownKey", "history = 1\nhistroy = 2\n", "wspushd.conf:2: unknown key 'histroy'" + kUnknownHint},
        BadCase{"DashedKey", "--history = 2\n", "wspushd.conf:1: unknown key '--history'" + kUnknownHint},
        BadCase{"Help", "help = true\n", "wspushd.conf:1: unknown key 'help'" + kUnknownHint},
        BadCase{"NoEquals", "\n# x\nlisten 0.0.0.0:80\n", "wspushd.conf:3: expected key = value"},
        BadCase{"EmptyKey", "= 5\n", "wspushd.conf:1: unknown key ''" + kUnknownHint},
        BadCase{"BadCount", "max-control = 0\n", "wspushd.conf:1: max-control: expected a count from 1 to 1024: '0'"},
        BadCase{"BadDuration", "idle-timeout = 1h\n", "wspushd.conf:1: idle-timeout: expected a duration such as 60s or 500ms: '1h'"},
        BadCase{"BadSize", "send-buffer = 12\n", "wspushd.conf:1: send-buffer: expected a size from 1K to 2G: '12'"},
        BadCase{"BadBoolean", "http-stats = on\n", "wspushd.conf:1: http-stats: expected true, false, 1 or 0: 'on'"},
        BadCase{"EmptyBoolean", "log-time =\n", "wspushd.conf:1: log-time: expected true, false, 1 or 0: ''"},
        BadCase{"Twice", "mode = push\n\nmode = echo\n", "wspushd.conf:3: mode: already set on line 1"},
        BadCase{"Config", "config = /etc/other.conf\n", "wspushd.conf:1: config: a configuration file cannot name another"},
        BadCase{"LongLine", "origins = " + std::string(kMaxConfigLine, 'a') + "\n",
                "wspushd.conf:1: line longer than 4096 bytes"},
        BadCase{"NulByte", std::string("history = 1\norigins = http://a") + '\0' + "b\n", "wspushd.conf:2: NUL byte"},
        BadCase{"NulInComment", std::string("# a") + '\0' + "\n", "wspushd.conf:1: NUL byte"}),
    [](const auto& info) { return std::string(info.param.name); });

// The line limit counts what is on the line: a CRLF line of exactly 4096 bytes is fine.
TEST(ConfigFile, LineLimitDoesNotCountTheCarriageReturn) {
    Config cfg;
    std::string err;
    const std::string line = "origins = " + std::string(kMaxConfigLine - 10, 'a');
    ASSERT_EQ(line.size(), kMaxConfigLine);
    EXPECT_TRUE(parse_config_text("f", line + "\r\n", cfg, err)) << err;
    EXPECT_FALSE(parse_config_text("f", line + "a\r\n", cfg, err));
    EXPECT_EQ(err, "f:1: line longer than 4096 bytes");
}

// The robot's own message follows "robot: " (and never the token).
TEST(ConfigFile, BadRobotSaysWhyWithoutTheToken) {
    Config cfg;
    std::string err;
    EXPECT_FALSE(parse_config_text("f", "robot = secret-token-1 alerts rate=lots\n", cfg, err));
    EXPECT_EQ(err.rfind("f:1: robot: ", 0), 0u) << err;
    EXPECT_GT(err.size(), 12u) << err;
    EXPECT_EQ(err.find("secret-token-1"), std::string::npos) << err;
}

// A table error (a duplicate) names the config file's line of the later robot.
TEST(ConfigFile, DuplicateRobotNamesItsLine) {
    TempFile f("robot = tok-aaaa-0001 alerts\n# x\nrobot = tok-aaaa-0001 news\n");
    std::string err;
    auto parse_fresh = [&](std::vector<std::string> args) {
        Config cfg;
        return parse(std::move(args), cfg, err);
    };
    EXPECT_EQ(parse_fresh({"--config", f.path()}), ArgsResult::kError);
    EXPECT_EQ(err, f.path() + ":3: robot: duplicate token (robots 1 and 2)");
    ASSERT_TRUE(f.write("robot = tok-aaaa-0001 alerts name=a\nrobot = tok-bbbb-0002 news name=a\n"));
    EXPECT_EQ(parse_fresh({"--config", f.path()}), ArgsResult::kError);
    EXPECT_EQ(err, f.path() + ":2: robot: duplicate name \"a\" (robots 1 and 2)");
    // Robots given as flags are numbered, as before.
    EXPECT_EQ(parse_fresh({"--config", f.path(), "--robot", "tok-aaaa-0001 a", "--robot", "tok-aaaa-0001 b"}),
              ArgsResult::kError);
    EXPECT_EQ(err, "robots: duplicate token (robots 1 and 2)");
}

TEST(ConfigFile, FlagsOverrideTheFileAndRepeatedFlagsReplaceItsList) {
    TempFile f("history = 7\nmax-channels = 10\nrobot = tok-aaaa-0001 alerts\nrobot = tok-bbbb-0002 news\n");
    Config cfg;
    std::string err;
    ASSERT_EQ(parse({"--max-channels", "20", "--config", f.path(), "--robot", "tok-cccc-0003 ops"}, cfg, err),
              ArgsResult::kOk)
        << err;
    EXPECT_EQ(cfg.history, 7u);
    EXPECT_EQ(cfg.max_channels, 20u);
    ASSERT_EQ(cfg.robots.size(), 1u);
    EXPECT_EQ(cfg.robots[0].channel, "ops");

    // Without --robot on the command line, the file's robots stand.
    Config two;
    ASSERT_EQ(parse({"--config", f.path()}, two, err), ArgsResult::kOk) << err;
    ASSERT_EQ(two.robots.size(), 2u);
    EXPECT_EQ(two.robots[1].name, "robot2");
}

TEST(ConfigFile, ReloadReadsTheFileAgainUnderTheSameCommandLine) {
    TempFile f("history = 7\nmax-channels = 10\n");
    Config cfg;
    std::string err;
    ASSERT_EQ(parse({"--config", f.path(), "--max-channels", "20"}, cfg, err), ArgsResult::kOk) << err;
    ASSERT_TRUE(f.write("history = 8\nmax-channels = 11\norigins = http://x\n"));
    Config next;
    ASSERT_TRUE(reload_config(cfg, next, err)) << err;
    EXPECT_EQ(next.history, 8u);
    EXPECT_EQ(next.max_channels, 20u);
    EXPECT_EQ(next.origins, std::vector<std::string>{"http://x"});
    EXPECT_EQ(next.config_path, f.path());
    ASSERT_TRUE(f.write("history = 9\nhistory-bytes = lots\n"));
    EXPECT_FALSE(reload_config(cfg, next, err));
    EXPECT_EQ(err, f.path() + ":2: history-bytes: expected a size from 0 to 1G: 'lots'");
}

TEST(ConfigFile, UnreadableAndOversizedFilesAreErrors) {
    Config cfg;
    std::string err;
    EXPECT_EQ(parse({"--config", "/nonexistent/x.conf"}, cfg, err), ArgsResult::kError);
    EXPECT_EQ(err, "/nonexistent/x.conf: No such file or directory");
    EXPECT_EQ(parse({"--config="}, cfg, err), ArgsResult::kError);
    EXPECT_EQ(err, "--config: expected a file name: ''");
    std::string big;
    while (big.size() <= kMaxConfigBytes) big += "# padding padding padding padding padding padding\n";
    TempFile f(big);
    EXPECT_EQ(parse({"--config", f.path()}, cfg, err), ArgsResult::kError);
    EXPECT_EQ(err, f.path() + ": larger than 1024 KiB");
}

// Only regular files: a device, a directory (or a FIFO, which would block the open) is
// refused by name, for --config and --robots alike; a --robots file has the same 1 MiB cap.
TEST(ConfigFile, OnlyRegularFilesOfAtMostOneMiBAreRead) {
    std::string err;
    Config cfg;
    auto parse_fresh = [&](std::vector<std::string> args) {
        cfg = Config();
        return parse(std::move(args), cfg, err);
    };
    EXPECT_EQ(parse_fresh({"--config", "/dev/null"}), ArgsResult::kError);
    EXPECT_EQ(err, "/dev/null: not a regular file");
    EXPECT_EQ(parse_fresh({"--config", "/tmp"}), ArgsResult::kError);
    EXPECT_EQ(err, "/tmp: not a regular file");
    EXPECT_EQ(parse_fresh({"--robots", "/dev/null"}), ArgsResult::kError);
    EXPECT_EQ(err, "--robots: /dev/null: not a regular file");
    std::string big;
    while (big.size() <= robot::kMaxRobotsFileBytes) big += "# padding padding padding padding padding padding\n";
    TempFile f(big + "tok-aaaa-0001 alerts\n", ".robots");
    EXPECT_EQ(parse_fresh({"--robots", f.path()}), ArgsResult::kError);
    EXPECT_EQ(err, "--robots: " + f.path() + ": larger than 1024 KiB");
    ASSERT_TRUE(f.write("# one robot\ntok-aaaa-0001 alerts\r\n\n  tok-bbbb-0002 news name=n"));
    ASSERT_EQ(parse_fresh({"--robots", f.path()}), ArgsResult::kOk) << err;
    ASSERT_EQ(cfg.robots.size(), 2u);
    EXPECT_EQ(cfg.robots[0].channel, "alerts");
    EXPECT_EQ(cfg.robots[1].name, "n");
}

// Every setting line of the example configuration, uncommented, is a valid file line.
TEST(ConfigFile, ExampleSettingsParse) {
    std::ifstream in(WSPUSH_SOURCE_DIR "/tools/systemd/wspushd.conf.example");
    ASSERT_TRUE(in);
    std::string text;
    size_t settings = 0;
    for (std::string line; std::getline(in, line);) {
        if (line.size() < 2 || line[0] != '#' || line[1] == ' ' || line.find(" = ") == std::string::npos) continue;
        text += line.substr(1) + "\n";
        ++settings;
    }
    EXPECT_GE(settings, 20u);
    Config cfg;
    std::string err;
    EXPECT_TRUE(parse_config_text("example", text, cfg, err)) << err;
}

}  // namespace
}  // namespace wspush::server
