// Robot specs: parsing, --robots files, table checks, token lookup, channel patterns.
#include "robot/robot.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <ostream>
#include <string>
#include <unistd.h>
#include <vector>

#include "push/names.h"
#include "support/bytes.h"

namespace wspush::robot {
namespace {

using wspush::testing::heap_copy;

constexpr std::string_view kToken = "TOKENabc123_.~-x";
constexpr std::string_view kSecret = "SECsecretvalue42";

// Parses spec from an exact-size heap copy (ASan catches a read past its end).
bool parse(std::string_view spec, Robot& r, std::string& err, size_t index = 1) {
    const auto copy = heap_copy(spec);
    return parse_robot(std::string_view(copy.get(), spec.size()), index, r, err);
}

// Files for load_robots go in a temporary directory, made on first use and removed afterwards.
class RobotSpec : public ::testing::Test {
protected:
    void TearDown() override {
        for (const std::string& p : files_) unlink(p.c_str());
        if (!dir_.empty()) rmdir(dir_.c_str());
    }
    const std::string& dir() {
        if (dir_.empty()) {
            char tmpl[] = "/tmp/robot_test.XXXXXX";
            if (mkdtemp(tmpl) != nullptr) dir_ = tmpl;
            EXPECT_FALSE(dir_.empty()) << "mkdtemp failed";
        }
        return dir_;
    }
    std::string write(const std::string& name, const std::string& text) {
        const std::string path = dir() + "/" + name;
        std::FILE* f = std::fopen(path.c_str(), "w");
        EXPECT_NE(f, nullptr) << path;
        if (f == nullptr) return path;
        std::fwrite(text.data(), 1, text.size(), f);
        std::fclose(f);
        files_.push_back(path);
        return path;
    }

private:
    std::string dir_;
    std::vector<std::string> files_;
};

TEST_F(RobotSpec, ParsesEveryOption) {
    Robot r;
    std::string err;
    ASSERT_TRUE(parse(std::string(kToken) + " alerts name=ops secret=" + std::string(kSecret) +
                          " keywords=disk,告警 allow=10.0.0.0/8,::1 rate=5/30s throttle=2m overflow=refuse",
                      r, err))
        << err;
    EXPECT_EQ(r.token, kToken);
    EXPECT_EQ(r.channel, "alerts");
    EXPECT_EQ(r.name, "ops");
    EXPECT_EQ(r.secret, kSecret);
    EXPECT_EQ(r.keywords, (std::vector<std::string>{"disk", "告警"}));
    ASSERT_EQ(r.allow.size(), 2u);
    EXPECT_FALSE(r.allow[0].v6);
    EXPECT_EQ(r.allow[0].prefix, 8);
    EXPECT_TRUE(r.allow[1].v6);
    EXPECT_EQ(r.allow[1].prefix, 128);
    EXPECT_EQ(r.rate, 5u);
    EXPECT_EQ(r.window_ms, 30'000u);
    EXPECT_EQ(r.throttle_ms, 120'000u);
    EXPECT_EQ(r.overflow, Overflow::kRefuse);
    EXPECT_FALSE(r.is_pattern());
}

TEST_F(RobotSpec, DefaultsAndNumberedName) {
    Robot r;
    std::string err;
    ASSERT_TRUE(parse("abcdefgh news", r, err, 7)) << err;
    EXPECT_EQ(r.name, "robot7");
    EXPECT_TRUE(r.secret.empty());
    EXPECT_TRUE(r.keywords.empty());
    EXPECT_TRUE(r.allow.empty());
    EXPECT_EQ(r.rate, 20u);
    EXPECT_EQ(r.window_ms, 60'000u);
    EXPECT_EQ(r.throttle_ms, 600'000u);
    EXPECT_EQ(r.overflow, Overflow::kDigest);
}

TEST_F(RobotSpec, FieldsSeparatedByAnyBlanks) {
    Robot r;
    std::string err;
    ASSERT_TRUE(parse("  \tabcdefgh\t\tnews   overflow=digest \r\n", r, err)) << err;
    EXPECT_EQ(r.token, "abcdefgh");
    EXPECT_EQ(r.channel, "news");
    EXPECT_EQ(r.overflow, Overflow::kDigest);
}

TEST_F(RobotSpec, TokenLengthAndCharset) {
    Robot r;
    std::string err;
    EXPECT_TRUE(parse(std::string(kMinTokenLength, 'a') + " c", r, err)) << err;
    EXPECT_FALSE(parse(std::string(kMinTokenLength - 1, 'a') + " c", r, err));
    EXPECT_TRUE(parse(std::string(kMaxTokenLength, 'Z') + " c", r, err)) << err;
    EXPECT_FALSE(parse(std::string(kMaxTokenLength + 1, 'Z') + " c", r, err));
    EXPECT_TRUE(parse("azAZ09_.~- c", r, err)) << err;
    for (const char* bad : {"abcdefg+", "abcdefg/", "abcdefg=", "abcdefg%", "abcdefg\xc3\xa9"}) {
        EXPECT_FALSE(parse(std::string(bad) + " c", r, err)) << bad;
        EXPECT_NE(err.find("token"), std::string::npos) << err;
    }
}

TEST_F(RobotSpec, ChannelNamesAndPatterns) {
    Robot r;
    std::string err;
    for (const char* ok : {"a", "a.b-c_D", "*", "a.*", "a.b.*", "x."}) {
        EXPECT_TRUE(parse(std::string("abcdefgh ") + ok, r, err)) << ok << ": " << err;
        EXPECT_EQ(r.channel, ok);
    }
    const std::string long_name(push::kMaxNameLength + 1, 'n');
    for (const std::string bad : {"*.*", ".*", "a*", "a.**", "**", "a/b", "a.*.b", long_name.c_str()}) {
        EXPECT_FALSE(parse("abcdefgh " + bad, r, err)) << bad;
        EXPECT_EQ(err.rfind("channel", 0), 0u) << err;
    }
}

TEST_F(RobotSpec, Durations) {
    struct Case {
        const char* text;
        uint32_t ms;
    };
    for (const Case c : {Case{"500ms", 500}, Case{"60s", 60'000}, Case{"10m", 600'000}, Case{"1h", 3'600'000},
                         Case{"60", 60'000}, Case{"0", 0}, Case{"24h", 86'400'000}, Case{"1440m", 86'400'000},
                         Case{"86400000ms", 86'400'000}}) {
        Robot r;
        std::string err;
        ASSERT_TRUE(parse(std::string("abcdefgh c throttle=") + c.text, r, err)) << c.text << ": " << err;
        EXPECT_EQ(r.throttle_ms, c.ms) << c.text;
        if (c.ms == 0) continue;
        ASSERT_TRUE(parse(std::string("abcdefgh c rate=3/") + c.text, r, err)) << c.text << ": " << err;
        EXPECT_EQ(r.window_ms, c.ms) << c.text;
        EXPECT_EQ(r.rate, 3u);
    }
    Robot r;
    std::string err;
    ASSERT_TRUE(parse("abcdefgh c rate=1000/1ms", r, err)) << err;
    EXPECT_EQ(r.rate, kMaxRate);
    EXPECT_EQ(r.window_ms, 1u);
}

struct ErrorCase {
    const char* name;
    std::string spec;  // after "TOKEN " (the token is added unless the case is about it)
    std::string want;  // a substring of the message
};

void PrintTo(const ErrorCase& c, std::ostream* os) { *os << c.name; }

std::string twelve(char c) { return std::string(12, c); }

std::string many(const char* item, size_t n) {
    std::string s;
    for (size_t i = 0; i < n; ++i) s += (i ? "," : "") + std::string(item) + std::to_string(i);
    return s;
}

const ErrorCase kErrors[] = {
    {"MissingChannel", "", "missing channel"},
    {"BadChannel", "a/b", "channel"},
    {"BadPatternPrefix", "-/.*", "channel"},
    {"FieldWithoutValue", "c stray", "unexpected field"},
    {"UnknownOption", "c colour=red", "unknown option colour"},
    {"SecretLikeKeyNotEchoed", "c SECxyz=abc", "unknown option"},
    {"DuplicateOption", "c rate=1/1s rate=2/1s", "option rate given twice"},
    {"DuplicateSecret", "c secret=abcd secret=abcd", "option secret given twice"},
    {"NameEmpty", "c name=", "name:"},
    {"NameBadChar", "c name=a/b", "name:"},
    {"NameTooLong", "c name=" + std::string(65, 'n'), "name:"},
    {"SecretEmpty", "c secret=", "secret: empty"},
    {"KeywordsEmpty", "c keywords=", "keywords: empty"},
    {"KeywordsEmptyItem", "c keywords=a,,b", "keywords: empty"},
    {"KeywordsTrailingComma", "c keywords=a,", "keywords: empty"},
    {"KeywordsTooMany", "c keywords=" + many("k", kMaxKeywords + 1), "keywords: more than 10"},
    {"KeywordTooLong", "c keywords=" + std::string(kMaxKeywordLength + 1, 'k'), "over 64 bytes"},
    {"KeywordNotUtf8", "c keywords=ok,\xff\xfe", "not UTF-8"},
    {"KeywordTruncatedUtf8", "c keywords=\xe5\x91", "not UTF-8"},
    {"AllowEmpty", "c allow=", "allow:"},
    {"AllowBad", "c allow=10.0.0.0/8,10.300.0.1", "\"10.300.0.1\""},
    {"AllowHostBits", "c allow=10.1.0.0/8", "allow:"},
    {"AllowTooMany", "c allow=" + many("10.0.0.", kMaxAllow + 1), "allow: more than 32"},
    {"RateNoWindow", "c rate=20", "rate:"},
    {"RateZero", "c rate=0/60s", "rate:"},
    {"RateOverMax", "c rate=1001/60s", "rate:"},
    {"RateNegative", "c rate=-1/60s", "rate:"},
    {"RateSign", "c rate=+1/60s", "rate:"},
    {"RateZeroWindow", "c rate=20/0", "rate:"},
    {"RateEmptyWindow", "c rate=20/", "rate:"},
    {"RateBadUnit", "c rate=20/60x", "rate:"},
    {"RateWindowTooLong", "c rate=20/25h", "rate:"},
    {"RateFraction", "c rate=20/1.5s", "rate:"},
    {"ThrottleTooLong", "c throttle=86400001ms", "throttle:"},
    {"ThrottleTooLongMinutes", "c throttle=1441m", "throttle:"},
    {"ThrottleHuge", "c throttle=99999999999999999999999h", "throttle:"},
    {"ThrottleEmpty", "c throttle=", "throttle:"},
    {"ThrottleUnitOnly", "c throttle=ms", "throttle:"},
    {"ThrottleNegative", "c throttle=-5s", "throttle:"},
    {"OverflowBad", "c overflow=drop", "overflow:"},
};

class RobotSpecError : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(RobotSpecError, RefusedWithReasonAndNoSecrets) {
    const ErrorCase& c = GetParam();
    // A secret after the fields, unless that would make it the channel.
    const std::string secret = c.spec.empty() ? "" : " secret=" + std::string(kSecret);
    const std::string spec = std::string(kToken) + " " + c.spec + secret;
    Robot r;
    r.name = "untouched";
    std::string err;
    EXPECT_FALSE(parse(spec, r, err));
    EXPECT_NE(err.find(c.want), std::string::npos) << err;
    EXPECT_EQ(err.find(kToken), std::string::npos) << err;
    EXPECT_EQ(err.find(kSecret), std::string::npos) << err;
    EXPECT_EQ(err.find("SECxyz"), std::string::npos) << err;
    EXPECT_EQ(err.find('\n'), std::string::npos) << err;
    EXPECT_EQ(r.name, "untouched");  // out is written only on success
}

INSTANTIATE_TEST_SUITE_P(Specs, RobotSpecError, ::testing::ValuesIn(kErrors),
                         [](const auto& info) { return std::string(info.param.name); });

TEST_F(RobotSpec, EmptySpecIsMissingToken) {
    Robot r;
    std::string err;
    EXPECT_FALSE(parse(" \t ", r, err));
    EXPECT_EQ(err, "missing token");
}

// A spec with token and channel swapped must not repeat the token as a bad channel.
TEST_F(RobotSpec, SwappedFieldsDoNotEchoToken) {
    Robot r;
    std::string err;
    const std::string token = "tok~" + twelve('t');
    EXPECT_FALSE(parse("alerts.all " + token, r, err));
    EXPECT_EQ(err.find(token), std::string::npos) << err;
    EXPECT_FALSE(parse("alerts " + token, r, err));
    EXPECT_EQ(err.find(token), std::string::npos) << err;
}

TEST_F(RobotSpec, LimitsAreInclusive) {
    Robot r;
    std::string err;
    EXPECT_TRUE(parse("abcdefgh c keywords=" + many("k", kMaxKeywords), r, err)) << err;
    EXPECT_EQ(r.keywords.size(), kMaxKeywords);
    // 64 bytes of three-byte characters less one, plus one ASCII byte.
    std::string kw;
    for (int i = 0; i < 21; ++i) kw += "\xe5\x91\x8a";
    kw += "k";
    EXPECT_TRUE(parse("abcdefgh c keywords=" + kw, r, err)) << err;
    EXPECT_TRUE(parse("abcdefgh c allow=" + many("10.0.0.", kMaxAllow), r, err)) << err;
    EXPECT_EQ(r.allow.size(), kMaxAllow);
    EXPECT_TRUE(parse("abcdefgh c name=" + std::string(64, 'n'), r, err)) << err;
}

TEST_F(RobotSpec, SecretKeepsEqualsSigns) {
    Robot r;
    std::string err;
    ASSERT_TRUE(parse("abcdefgh c secret=a=b==", r, err)) << err;
    EXPECT_EQ(r.secret, "a=b==");
}

TEST_F(RobotSpec, Covers) {
    struct Case {
        const char* pattern;
        const char* channel;
        bool covered;
    };
    const Case cases[] = {
        {"*", "a", true},          {"*", "a.b.c", true},
        {"a.*", "a.x", true},      {"a.*", "a.x.y", true},    {"a.*", "a", false},
        {"a.*", "a.", false},      {"a.*", "ab.x", false},    {"a.*", "b.a.x", false},
        {"a.*", "A.x", false},     {"a.b.*", "a.b.c", true},  {"a.b.*", "a.bc", false},
        {"a.b.*", "a.c.d", false}, {"news", "news", true},    {"news", "news.x", false},
        {"news", "new", false},    {"news", "newsy", false},
    };
    Robot r;
    for (const Case& c : cases) {
        r.channel = c.pattern;
        EXPECT_EQ(r.covers(c.channel), c.covered) << c.pattern << " " << c.channel;
        EXPECT_EQ(r.is_pattern(), std::string_view(c.pattern).ends_with('*')) << c.pattern;
    }
}

TEST_F(RobotSpec, SkipsCommentsAndBlankLinesAndNumbersFromExisting) {
    const std::string path = write("robots",
                                   "# robots for the test\n"
                                   "\n"
                                   "first-token-1 alerts\n"
                                   "   # indented comment\n"
                                   " \t \n"
                                   "second-token-2 ops.* name=ops rate=5/10s\r\n"
                                   "third-token-3 *");  // no final newline
    std::vector<Robot> robots(1);
    robots[0].name = "cli";
    std::string err;
    ASSERT_TRUE(load_robots(path, robots, err)) << err;
    ASSERT_EQ(robots.size(), 4u);
    EXPECT_EQ(robots[1].token, "first-token-1");
    EXPECT_EQ(robots[1].name, "robot2");
    EXPECT_EQ(robots[2].name, "ops");
    EXPECT_EQ(robots[2].rate, 5u);
    EXPECT_EQ(robots[2].window_ms, 10'000u);
    EXPECT_EQ(robots[3].channel, "*");
    EXPECT_EQ(robots[3].name, "robot4");
}

TEST_F(RobotSpec, ErrorNamesPathAndLine) {
    const std::string path = write("robots",
                                   "# header\n"
                                   "good-token-1 a\n"
                                   "\n"
                                   "good-token-2 b throttle=forever\n"
                                   "good-token-3 c\n");
    std::vector<Robot> robots(2);
    std::string err;
    EXPECT_FALSE(load_robots(path, robots, err));
    EXPECT_EQ(err.rfind(path + ":4: throttle:", 0), 0u) << err;
    EXPECT_EQ(robots.size(), 2u);  // nothing appended on failure
}

TEST_F(RobotSpec, ErrorDoesNotShowTokenOrSecret) {
    const std::string path = write("robots", "\n\nshort secret-channel secret=hunter2hunter2\n");
    std::vector<Robot> robots;
    std::string err;
    EXPECT_FALSE(load_robots(path, robots, err));
    EXPECT_EQ(err.rfind(path + ":3: token", 0), 0u) << err;
    EXPECT_EQ(err.find("short"), std::string::npos) << err;
    EXPECT_EQ(err.find("hunter2"), std::string::npos) << err;
}

TEST_F(RobotSpec, MissingFile) {
    std::vector<Robot> robots;
    std::string err;
    const std::string path = dir() + "/absent";
    EXPECT_FALSE(load_robots(path, robots, err));
    EXPECT_EQ(err.rfind(path + ": ", 0), 0u) << err;
    EXPECT_TRUE(robots.empty());
}

TEST_F(RobotSpec, EmptyFileAddsNothing) {
    std::vector<Robot> robots;
    std::string err;
    EXPECT_TRUE(load_robots(write("empty", "# nothing\n\n"), robots, err)) << err;
    EXPECT_TRUE(robots.empty());
}

TEST_F(RobotSpec, StopsPastMaxRobots) {
    std::string text;
    for (size_t i = 0; i <= kMaxRobots; ++i) text += "token-" + std::to_string(100000 + i) + " c\n";
    std::vector<Robot> robots;
    std::string err;
    EXPECT_FALSE(load_robots(write("many", text), robots, err));
    EXPECT_NE(err.find(":" + std::to_string(kMaxRobots + 1) + ": more than"), std::string::npos) << err;
    EXPECT_TRUE(robots.empty());
}

std::vector<Robot> numbered(size_t n) {
    std::vector<Robot> robots(n);
    for (size_t i = 0; i < n; ++i) {
        robots[i].token = "token-" + std::to_string(100000 + i);
        robots[i].name = "robot" + std::to_string(i + 1);
        robots[i].channel = "c";
    }
    return robots;
}

TEST_F(RobotSpec, CheckRobots) {
    std::string err;
    EXPECT_TRUE(check_robots({}, err));
    std::vector<Robot> robots = numbered(kMaxRobots);
    EXPECT_TRUE(check_robots(robots, err)) << err;

    robots[700].token = robots[3].token;
    EXPECT_FALSE(check_robots(robots, err));
    EXPECT_EQ(err, "duplicate token (robots 4 and 701)");

    robots = numbered(5);
    robots[4].name = robots[1].name;
    EXPECT_FALSE(check_robots(robots, err));
    EXPECT_EQ(err, "duplicate name \"robot2\" (robots 2 and 5)");

    robots = numbered(kMaxRobots + 1);
    EXPECT_FALSE(check_robots(robots, err));
    EXPECT_NE(err.find("at most 1024"), std::string::npos) << err;
}

TEST_F(RobotSpec, FindRobotAmongMany) {
    const std::vector<Robot> robots = numbered(1000);
    for (size_t i : {0u, 1u, 499u, 998u, 999u})
        EXPECT_EQ(find_robot(robots, robots[i].token), static_cast<ptrdiff_t>(i)) << i;
    const std::string first = robots[0].token;
    EXPECT_EQ(find_robot(robots, "token-101000"), -1);
    EXPECT_EQ(find_robot(robots, first.substr(0, first.size() - 1)), -1);
    EXPECT_EQ(find_robot(robots, first + "0"), -1);
    EXPECT_EQ(find_robot(robots, "TOKEN-100000"), -1);
    // The server's form: digests computed once, the same answers.
    const auto digests = token_digests(robots);
    ASSERT_EQ(digests.size(), robots.size());
    for (size_t i = 0; i < robots.size(); i += 97)
        EXPECT_EQ(find_token(digests, robots[i].token), static_cast<ptrdiff_t>(i)) << i;
    EXPECT_EQ(find_token(digests, "TOKEN-100000"), -1);
    EXPECT_EQ(find_robot(robots, ""), -1);
    EXPECT_EQ(find_robot({}, first), -1);
}

TEST_F(RobotSpec, FindRobotFirstOfEqualTokens) {
    std::vector<Robot> robots = numbered(4);
    robots[3].token = robots[1].token;
    EXPECT_EQ(find_robot(robots, robots[1].token), 1);
}

}  // namespace
}  // namespace wspush::robot
