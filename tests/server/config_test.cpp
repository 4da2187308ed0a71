// Command-line configuration: sizes, durations, listen addresses and whole argument lists.
#include "server/config.h"

#include <gtest/gtest.h>

#include <memory>
#include <ostream>
#include <string>
#include <vector>

namespace wspush::server {
namespace {

// An exact-size heap copy, so a read past the end is an ASan error.
struct HeapCopy {
    explicit HeapCopy(const std::string& s) : buf(new char[s.size() ? s.size() : 1]), n(s.size()) {
        std::copy(s.begin(), s.end(), buf.get());
    }
    std::string_view view() const { return {buf.get(), n}; }
    std::unique_ptr<char[]> buf;
    size_t n;
};

// ------------------------------------------------------------------ parse_size

struct SizeCase {
    const char* name;
    std::string in;
    bool ok;
    uint64_t want = 0;
};

void PrintTo(const SizeCase& c, std::ostream* os) { *os << c.name; }

class ParseSize : public ::testing::TestWithParam<SizeCase> {};

TEST_P(ParseSize, Table) {
    HeapCopy in(GetParam().in);
    uint64_t out = 12345;
    EXPECT_EQ(parse_size(in.view(), out), GetParam().ok);
    if (GetParam().ok) EXPECT_EQ(out, GetParam().want);
    else EXPECT_EQ(out, 12345u) << "untouched on failure";
}

INSTANTIATE_TEST_SUITE_P(
    Sizes, ParseSize,
    ::testing::Values(SizeCase{"Zero", "0", true, 0}, SizeCase{"Plain", "1024", true, 1024},
                      SizeCase{"Kilo", "64K", true, 64 << 10}, SizeCase{"KiloLower", "64k", true, 64 << 10},
                      SizeCase{"Mega", "16M", true, 16u << 20}, SizeCase{"MegaLower", "1m", true, 1 << 20},
                      SizeCase{"Giga", "1G", true, 1ull << 30}, SizeCase{"GigaLower", "1g", true, 1ull << 30},
                      SizeCase{"ZeroGiga", "0G", true, 0}, SizeCase{"Max", "18446744073709551615", true, UINT64_MAX},
                      SizeCase{"MaxGiga", "17179869183G", true, 17179869183ull << 30},
                      SizeCase{"Empty", "", false}, SizeCase{"SuffixOnly", "K", false},
                      SizeCase{"BadSuffix", "12Q", false}, SizeCase{"TwoSuffixes", "1KK", false},
                      SizeCase{"Negative", "-1", false}, SizeCase{"Space", " 1", false},
                      SizeCase{"Fraction", "1.5K", false}, SizeCase{"Overflow", "18446744073709551616", false},
                      SizeCase{"OverflowGiga", "17179869184G", false}, SizeCase{"OverflowKilo", "18014398509481984K", false},
                      SizeCase{"OverflowMega", "17592186044416M", false}, SizeCase{"MaxMega", "17592186044415M", true, 17592186044415ull << 20},
                      SizeCase{"Tera", "1T", false}, SizeCase{"SuffixFirst", "K1", false}),
    [](const auto& info) { return std::string(info.param.name); });

// ------------------------------------------------------------------ parse_duration_ms

struct DurationCase {
    const char* name;
    std::string in;
    bool ok;
    uint32_t want = 0;
};

void PrintTo(const DurationCase& c, std::ostream* os) { *os << c.name; }

class ParseDuration : public ::testing::TestWithParam<DurationCase> {};

TEST_P(ParseDuration, Table) {
    HeapCopy in(GetParam().in);
    uint32_t out = 777;
    EXPECT_EQ(parse_duration_ms(in.view(), out), GetParam().ok);
    if (GetParam().ok) EXPECT_EQ(out, GetParam().want);
    else EXPECT_EQ(out, 777u) << "untouched on failure";
}

INSTANTIATE_TEST_SUITE_P(
    Durations, ParseDuration,
    ::testing::Values(DurationCase{"PlainSeconds", "25", true, 25'000}, DurationCase{"Seconds", "25s", true, 25'000},
                      DurationCase{"Millis", "500ms", true, 500}, DurationCase{"Minutes", "2m", true, 120'000},
                      DurationCase{"Zero", "0", true, 0}, DurationCase{"ZeroMillis", "0ms", true, 0},
                      DurationCase{"MaxMillis", "2147483648ms", true, 2147483648u},
                      DurationCase{"MaxSeconds", "2147483s", true, 2147483000u},
                      DurationCase{"MaxMinutes", "35791m", true, 35791u * 60'000},
                      DurationCase{"OverMillis", "2147483649ms", false},
                      DurationCase{"OverSeconds", "2147484", false}, DurationCase{"OverMinutes", "35792m", false},
                      DurationCase{"Huge", "99999999999999999999999", false},
                      DurationCase{"Empty", "", false}, DurationCase{"UnitOnly", "ms", false},
                      DurationCase{"SecondsOnly", "s", false}, DurationCase{"Hours", "1h", false},
                      DurationCase{"Space", "5 s", false}, DurationCase{"Negative", "-1s", false},
                      DurationCase{"Fraction", "1.5s", false}, DurationCase{"Word", "soon", false},
                      DurationCase{"Upper", "5S", false}, DurationCase{"TwoUnits", "1sms", false}),
    [](const auto& info) { return std::string(info.param.name); });

// ------------------------------------------------------------------ parse_listen

struct ListenCase {
    const char* name;
    std::string in;
    bool ok;
    std::string host = {};
    uint16_t port = 0;
};

void PrintTo(const ListenCase& c, std::ostream* os) { *os << c.name; }

class ParseListen : public ::testing::TestWithParam<ListenCase> {};

TEST_P(ParseListen, Table) {
    HeapCopy in(GetParam().in);
    std::string host = "unset";
    uint16_t port = 1;
    EXPECT_EQ(parse_listen(in.view(), host, port), GetParam().ok);
    if (GetParam().ok) {
        EXPECT_EQ(host, GetParam().host);
        EXPECT_EQ(port, GetParam().port);
    }
}

INSTANTIATE_TEST_SUITE_P(
    Addresses, ParseListen,
    ::testing::Values(ListenCase{"V4", "127.0.0.1:8080", true, "127.0.0.1", 8080},
                      ListenCase{"Any", "0.0.0.0:0", true, "0.0.0.0", 0},
                      ListenCase{"MaxPort", "1.2.3.4:65535", true, "1.2.3.4", 65535},
                      ListenCase{"Name", "localhost:80", true, "localhost", 80},
                      ListenCase{"V6", "[::1]:0", true, "::1", 0}, ListenCase{"V6Any", "[::]:8080", true, "::", 8080},
                      ListenCase{"NoPort", "127.0.0.1", false}, ListenCase{"EmptyPort", "127.0.0.1:", false},
                      ListenCase{"NoHost", ":80", false}, ListenCase{"PortTooBig", "a:65536", false},
                      ListenCase{"NegativePort", "a:-1", false}, ListenCase{"WordPort", "a:http", false},
                      ListenCase{"BareV6", "::1:80", false}, ListenCase{"V6NoPort", "[::1]", false},
                      ListenCase{"V6Unclosed", "[::1:80", false}, ListenCase{"V6Empty", "[]:80", false},
                      ListenCase{"Empty", "", false}),
    [](const auto& info) { return std::string(info.param.name); });

// ------------------------------------------------------------------ parse_args

ArgsResult parse(std::vector<std::string> args, Config& cfg, std::string& err) {
    std::vector<char*> argv;
    std::string prog = "wspushd";
    argv.push_back(prog.data());
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    return parse_args(static_cast<int>(args.size() + 1), argv.data(), cfg, err);
}

TEST(ParseArgs, NoArgumentsKeepsDefaults) {
    Config cfg;
    std::string err;
    ASSERT_EQ(parse({}, cfg, err), ArgsResult::kOk) << err;
    EXPECT_EQ(cfg.listen_host, "0.0.0.0");
    EXPECT_EQ(cfg.listen_port, 8080);
    EXPECT_EQ(cfg.mode, Mode::kPush);
    EXPECT_EQ(cfg.max_message, 1u << 20);
    EXPECT_EQ(cfg.control_path, "./wspushd.sock");
    EXPECT_EQ(cfg.history, 100u);
    EXPECT_EQ(cfg.history_bytes, 8u << 20);
    EXPECT_EQ(cfg.max_channels, 4096u);
    EXPECT_EQ(cfg.max_control, 16u);
    EXPECT_EQ(cfg.max_connections, 0u) << "0: computed from the descriptor limit at start";
    EXPECT_EQ(cfg.ping_interval_ms, 25'000u);
    EXPECT_EQ(cfg.idle_timeout_ms, 60'000u);
    EXPECT_EQ(cfg.handshake_timeout_ms, 10'000u);
    EXPECT_EQ(cfg.send_buffer, 1u << 20);
    EXPECT_FALSE(cfg.http_stats);
}

TEST(ParseArgs, EveryFlag) {
    Config cfg;
    std::string err;
    ASSERT_EQ(parse({"--listen", "[::1]:9000", "--mode", "relay", "--max-message", "64K", "--max-connections", "50",
                     "--protocols", "chat, wspush.v1 ,,x", "--origins", "https://a.example,https://b.example",
                     "--log-level", "debug", "--control", "/tmp/c.sock", "--history", "0", "--ping-interval", "200ms",
                     "--idle-timeout", "1s", "--handshake-timeout", "300ms", "--send-buffer", "64K", "--http-stats",
                     "--history-bytes", "2M", "--max-channels", "10", "--max-control", "3"},
                    cfg, err),
              ArgsResult::kOk)
        << err;
    EXPECT_EQ(cfg.listen_host, "::1");
    EXPECT_EQ(cfg.listen_port, 9000);
    EXPECT_EQ(cfg.mode, Mode::kRelay);
    EXPECT_EQ(cfg.max_message, 64u << 10);
    EXPECT_EQ(cfg.max_connections, 50u);
    EXPECT_EQ(cfg.protocols, (std::vector<std::string>{"chat", "wspush.v1", "x"}));
    EXPECT_EQ(cfg.origins, (std::vector<std::string>{"https://a.example", "https://b.example"}));
    EXPECT_EQ(cfg.log_level, base::LogLevel::kDebug);
    EXPECT_EQ(cfg.control_path, "/tmp/c.sock");
    EXPECT_EQ(cfg.history, 0u);
    EXPECT_EQ(cfg.ping_interval_ms, 200u);
    EXPECT_EQ(cfg.idle_timeout_ms, 1000u);
    EXPECT_EQ(cfg.handshake_timeout_ms, 300u);
    EXPECT_EQ(cfg.send_buffer, 64u << 10);
    EXPECT_TRUE(cfg.http_stats);
    EXPECT_EQ(cfg.history_bytes, 2u << 20);
    EXPECT_EQ(cfg.max_channels, 10u);
    EXPECT_EQ(cfg.max_control, 3u);
}

TEST(ParseArgs, EqualsForm) {
    Config cfg;
    std::string err;
    ASSERT_EQ(parse({"--mode=echo", "--history=7", "--listen=127.0.0.1:0"}, cfg, err), ArgsResult::kOk) << err;
    EXPECT_EQ(cfg.mode, Mode::kEcho);
    EXPECT_EQ(cfg.history, 7u);
    EXPECT_EQ(cfg.listen_port, 0);
}

TEST(ParseArgs, Help) {
    for (const char* h : {"--help", "-h"}) {
        Config cfg;
        std::string err;
        EXPECT_EQ(parse({"--history", "3", h, "--bogus"}, cfg, err), ArgsResult::kHelp) << h;
    }
}

struct BadArgs {
    const char* name;
    std::vector<std::string> args;
    std::string mentions;
};

void PrintTo(const BadArgs& c, std::ostream* os) { *os << c.name; }

class ParseArgsError : public ::testing::TestWithParam<BadArgs> {};

TEST_P(ParseArgsError, NamesTheProblem) {
    Config cfg;
    std::string err;
    EXPECT_EQ(parse(GetParam().args, cfg, err), ArgsResult::kError);
    EXPECT_NE(err.find(GetParam().mentions), std::string::npos) << err;
    EXPECT_EQ(err.find('\n'), std::string::npos) << "one line: " << err;
}

INSTANTIATE_TEST_SUITE_P(
    Errors, ParseArgsError,
    ::testing::Values(
        BadArgs{"Unknown", {"--bogus"}, "--bogus"}, BadArgs{"Positional", {"extra"}, "extra"},
        BadArgs{"MissingValue", {"--history"}, "--history"}, BadArgs{"BadMode", {"--mode", "loud"}, "--mode"},
        BadArgs{"BadListen", {"--listen", "nowhere"}, "--listen"},
        BadArgs{"MaxMessageZero", {"--max-message", "0"}, "--max-message"},
        BadArgs{"MaxMessageOver1G", {"--max-message", "2G"}, "--max-message"},
        BadArgs{"MaxConnectionsZero", {"--max-connections", "0"}, "--max-connections"},
        BadArgs{"BadLogLevel", {"--log-level", "loud"}, "--log-level"},
        BadArgs{"ControlTooLong", {"--control", std::string(108, 'p')}, "--control"},
        BadArgs{"ControlEmpty", {"--control="}, "--control"},
        BadArgs{"HistoryTooBig", {"--history", "1000001"}, "--history"},
        BadArgs{"HistoryNegative", {"--history", "-1"}, "--history"},
        BadArgs{"PingZero", {"--ping-interval", "0"}, "--ping-interval"},
        BadArgs{"IdleZero", {"--idle-timeout", "0ms"}, "--idle-timeout"},
        BadArgs{"HandshakeBad", {"--handshake-timeout", "fast"}, "--handshake-timeout"},
        BadArgs{"SendBufferSmall", {"--send-buffer", "1023"}, "--send-buffer"},
        BadArgs{"SendBufferHuge", {"--send-buffer", "3G"}, "--send-buffer"},
        BadArgs{"BooleanGivenSeparateValue", {"--http-stats", "false"}, "--http-stats"},
        BadArgs{"UnknownWithValue", {"--bogus=1"}, "--bogus"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ParseArgs, RangeEdgesAccepted) {
    Config cfg;
    std::string err;
    ASSERT_EQ(parse({"--send-buffer", "1K", "--max-message", "1G", "--history", "1000000"}, cfg, err), ArgsResult::kOk)
        << err;
    EXPECT_EQ(cfg.send_buffer, 1024u);
    EXPECT_EQ(cfg.max_message, 1u << 30);
    EXPECT_EQ(cfg.history, 1'000'000u);
}

// ------------------------------------------------------------------ boolean flags

struct BoolCase {
    const char* name;
    std::vector<std::string> args;
    bool ok;
    bool want = false;  // http_stats afterwards, when ok
};

void PrintTo(const BoolCase& c, std::ostream* os) { *os << c.name; }

class BooleanFlag : public ::testing::TestWithParam<BoolCase> {};

TEST_P(BooleanFlag, AcceptsOnlyTheFourSpellings) {
    Config cfg;
    std::string err;
    const ArgsResult r = parse(GetParam().args, cfg, err);
    if (GetParam().ok) {
        ASSERT_EQ(r, ArgsResult::kOk) << err;
        EXPECT_EQ(cfg.http_stats, GetParam().want);
    } else {
        ASSERT_EQ(r, ArgsResult::kError);
        EXPECT_NE(err.find("--http-stats"), std::string::npos) << err;
        EXPECT_EQ(err.find('\n'), std::string::npos) << "one line: " << err;
    }
}

INSTANTIATE_TEST_SUITE_P(
    Config, BooleanFlag,
    ::testing::Values(
        BoolCase{"Bare", {"--http-stats"}, true, true}, BoolCase{"True", {"--http-stats=true"}, true, true},
        BoolCase{"One", {"--http-stats=1"}, true, true}, BoolCase{"False", {"--http-stats=false"}, true, false},
        BoolCase{"Zero", {"--http-stats=0"}, true, false},
        BoolCase{"FalseAfterBare", {"--http-stats", "--http-stats=false"}, true, false},
        BoolCase{"BareAfterFalse", {"--http-stats=0", "--http-stats"}, true, true},
        BoolCase{"Empty", {"--http-stats="}, false}, BoolCase{"Yes", {"--http-stats=yes"}, false},
        BoolCase{"No", {"--http-stats=no"}, false}, BoolCase{"On", {"--http-stats=on"}, false},
        BoolCase{"Off", {"--http-stats=off"}, false}, BoolCase{"UpperTrue", {"--http-stats=TRUE"}, false},
        BoolCase{"CapitalFalse", {"--http-stats=False"}, false}, BoolCase{"Two", {"--http-stats=2"}, false},
        BoolCase{"PaddedZero", {"--http-stats=00"}, false}, BoolCase{"LeadingSpace", {"--http-stats= true"}, false},
        BoolCase{"TrailingSpace", {"--http-stats=true "}, false}, BoolCase{"Typo", {"--http-stats=flase"}, false},
        BoolCase{"SeparateFalse", {"--http-stats", "false"}, false},
        BoolCase{"SeparateZero", {"--http-stats", "0"}, false}),
    [](const auto& info) { return std::string(info.param.name); });

// ------------------------------------------------------------------ bounded numeric flags

struct BoundCase {
    const char* name;
    std::string flag;
    std::string value;
    bool ok;
    uint64_t want = 0;
};

void PrintTo(const BoundCase& c, std::ostream* os) { *os << c.name; }

uint64_t field_of(const Config& cfg, const std::string& flag) {
    if (flag == "--history-bytes") return cfg.history_bytes;
    if (flag == "--max-channels") return cfg.max_channels;
    if (flag == "--max-control") return cfg.max_control;
    if (flag == "--max-message") return cfg.max_message;
    if (flag == "--max-connections") return cfg.max_connections;
    ADD_FAILURE() << "no field for " << flag;
    return 0;
}

class BoundedFlag : public ::testing::TestWithParam<BoundCase> {};

TEST_P(BoundedFlag, TakesOnlyItsRange) {
    const BoundCase& c = GetParam();
    Config cfg;
    const uint64_t before = field_of(cfg, c.flag);
    std::string err;
    const ArgsResult r = parse({c.flag + "=" + c.value}, cfg, err);
    if (c.ok) {
        ASSERT_EQ(r, ArgsResult::kOk) << err;
        EXPECT_EQ(field_of(cfg, c.flag), c.want);
    } else {
        ASSERT_EQ(r, ArgsResult::kError);
        EXPECT_NE(err.find(c.flag), std::string::npos) << err;
        EXPECT_EQ(field_of(cfg, c.flag), before) << "untouched on error";
    }
}

INSTANTIATE_TEST_SUITE_P(
    Config, BoundedFlag,
    ::testing::Values(
        BoundCase{"HistoryBytesZero", "--history-bytes", "0", true, 0},
        BoundCase{"HistoryBytesPlain", "--history-bytes", "4096", true, 4096},
        BoundCase{"HistoryBytesMega", "--history-bytes", "8M", true, 8u << 20},
        BoundCase{"HistoryBytesGiga", "--history-bytes", "1G", true, 1ull << 30},
        BoundCase{"HistoryBytesGigaLower", "--history-bytes", "1g", true, 1ull << 30},
        BoundCase{"HistoryBytesOverGiga", "--history-bytes", "1073741825", false},
        BoundCase{"HistoryBytesTwoGiga", "--history-bytes", "2G", false},
        BoundCase{"HistoryBytesOverflow", "--history-bytes", "18446744073709551616", false},
        BoundCase{"HistoryBytesNegative", "--history-bytes", "-1", false},
        BoundCase{"HistoryBytesEmpty", "--history-bytes", "", false},
        BoundCase{"HistoryBytesBadSuffix", "--history-bytes", "1T", false},
        BoundCase{"MaxChannelsOne", "--max-channels", "1", true, 1},
        BoundCase{"MaxChannelsMax", "--max-channels", "1000000", true, 1'000'000},
        BoundCase{"MaxChannelsZero", "--max-channels", "0", false},
        BoundCase{"MaxChannelsOverMax", "--max-channels", "1000001", false},
        BoundCase{"MaxChannelsNoSuffix", "--max-channels", "4K", false},
        BoundCase{"MaxChannelsOverflow", "--max-channels", "4294967296", false},
        BoundCase{"MaxChannelsNegative", "--max-channels", "-1", false},
        BoundCase{"MaxControlOne", "--max-control", "1", true, 1},
        BoundCase{"MaxControlMax", "--max-control", "1024", true, 1024},
        BoundCase{"MaxControlZero", "--max-control", "0", false},
        BoundCase{"MaxControlOverMax", "--max-control", "1025", false},
        BoundCase{"MaxControlWord", "--max-control", "many", false},
        BoundCase{"MaxMessageOne", "--max-message", "1", true, 1},
        BoundCase{"MaxMessageGiga", "--max-message", "1G", true, 1ull << 30},
        BoundCase{"MaxMessageGigaLower", "--max-message", "1g", true, 1ull << 30},
        BoundCase{"MaxMessageKiloLower", "--max-message", "64k", true, 64u << 10},
        BoundCase{"MaxMessageOverGiga", "--max-message", "1073741825", false},
        BoundCase{"MaxMessageZero", "--max-message", "0K", false},
        BoundCase{"MaxConnectionsMax", "--max-connections", "10000000", true, 10'000'000},
        BoundCase{"MaxConnectionsOverMax", "--max-connections", "10000001", false}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ModeName, EveryMode) {
    EXPECT_STREQ(mode_name(Mode::kPush), "push");
    EXPECT_STREQ(mode_name(Mode::kEcho), "echo");
    EXPECT_STREQ(mode_name(Mode::kRelay), "relay");
}

}  // namespace
}  // namespace wspush::server
