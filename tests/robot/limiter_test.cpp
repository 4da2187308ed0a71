// The per-robot rate limit and throttle (time injected), and the digest of throttled
// messages: bounds, UTF-8 cuts, markdown escaping.
#include "robot/limiter.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "codec/utf8.h"

namespace wspush::robot {
namespace {

constexpr uint64_t kT0 = 1'700'000'000'000;  // any clock value; not zero

TEST(Limiter, TwentyPassTheTwentyFirstThrottles) {
    Limiter l(20, 60'000, 600'000);
    EXPECT_EQ(l.throttled_until(), 0u);
    for (uint64_t i = 0; i < 20; ++i) EXPECT_TRUE(l.admit(kT0 + i * 1000)) << i;
    EXPECT_FALSE(l.throttled(kT0 + 20'000));
    EXPECT_FALSE(l.admit(kT0 + 20'000));
    EXPECT_TRUE(l.throttled(kT0 + 20'000));
    EXPECT_EQ(l.throttled_until(), kT0 + 20'000 + 600'000);
    EXPECT_EQ(l.retry_after_s(kT0 + 20'000), 600u);
}

TEST(Limiter, AdmissionsNotedFromElsewhereCount) {
    Limiter l(3, 60'000, 600'000);
    l.note(kT0);
    l.note(kT0 + 1);
    EXPECT_TRUE(l.admit(kT0 + 2));
    EXPECT_FALSE(l.admit(kT0 + 3)) << "two noted and one admitted here fill the rate";
    EXPECT_EQ(l.throttled_until(), kT0 + 3 + 600'000);
    l.note(kT0 + 4);  // ignored while throttled: the throttle stays as it was
    EXPECT_EQ(l.throttled_until(), kT0 + 3 + 600'000);
}

TEST(Limiter, ANotedAdmissionOverTheRateThrottles) {
    Limiter l(2, 60'000, 1000);
    EXPECT_TRUE(l.admit(kT0));
    EXPECT_TRUE(l.admit(kT0 + 1));
    l.note(kT0 + 2);  // admitted elsewhere at the same time: the rate was exceeded together
    EXPECT_TRUE(l.throttled(kT0 + 2));
    EXPECT_EQ(l.throttled_until(), kT0 + 2 + 1000);
    // Without a throttle the log stays full with the newest times.
    Limiter free(2, 1000, 0);
    EXPECT_TRUE(free.admit(kT0));
    EXPECT_TRUE(free.admit(kT0 + 10));
    free.note(kT0 + 500);
    EXPECT_FALSE(free.admit(kT0 + 1005)) << "the admission at +10 and the noted one at +500 are in the window";
    EXPECT_TRUE(free.admit(kT0 + 1010));
}

TEST(Limiter, AThrottleFromElsewhereIsTakenWhenLonger) {
    Limiter l(5, 60'000, 600'000);
    EXPECT_TRUE(l.admit(kT0));
    l.throttle_until(kT0 + 5000);
    EXPECT_TRUE(l.throttled(kT0 + 4999));
    EXPECT_FALSE(l.admit(kT0 + 100));
    l.throttle_until(kT0 + 1000);  // an earlier end changes nothing
    EXPECT_EQ(l.throttled_until(), kT0 + 5000);
    for (int i = 0; i < 5; ++i) EXPECT_TRUE(l.admit(kT0 + 5000 + i)) << "the log started empty";
}

TEST(Limiter, ThrottleLastsExactlyThrottleMs) {
    Limiter l(2, 1000, 5000);
    EXPECT_TRUE(l.admit(kT0));
    EXPECT_TRUE(l.admit(kT0));
    EXPECT_FALSE(l.admit(kT0 + 10));  // throttle until kT0 + 5010
    const uint64_t until = kT0 + 5010;
    EXPECT_EQ(l.throttled_until(), until);
    // Refusals during the throttle neither pass nor extend it, even long after the window.
    for (uint64_t t = kT0 + 11; t < until; t += 499) EXPECT_FALSE(l.admit(t)) << t - kT0;
    EXPECT_FALSE(l.admit(until - 1));
    EXPECT_TRUE(l.throttled(until - 1));
    EXPECT_EQ(l.throttled_until(), until);
    EXPECT_FALSE(l.throttled(until));
    // Afterwards the log starts empty: `rate` more pass at once, then a new throttle.
    EXPECT_TRUE(l.admit(until));
    EXPECT_TRUE(l.admit(until));
    EXPECT_FALSE(l.admit(until));
    EXPECT_EQ(l.throttled_until(), until + 5000);
}

// A throttle shorter than the window: what was admitted before it no longer counts after it.
TEST(Limiter, LogStartsEmptyAfterThrottle) {
    Limiter l(2, 60'000, 1000);
    EXPECT_TRUE(l.admit(kT0));
    EXPECT_TRUE(l.admit(kT0 + 1));
    EXPECT_FALSE(l.admit(kT0 + 10));
    EXPECT_FALSE(l.admit(kT0 + 1009));
    EXPECT_TRUE(l.admit(kT0 + 1010));
    EXPECT_TRUE(l.admit(kT0 + 1011));
    EXPECT_FALSE(l.admit(kT0 + 1012));
    EXPECT_EQ(l.throttled_until(), kT0 + 2012);
}

TEST(Limiter, SlidingWindowIsExactAtItsEdges) {
    Limiter l(3, 1000, 0);  // no throttle: over-rate messages are simply refused
    EXPECT_TRUE(l.admit(kT0));
    EXPECT_TRUE(l.admit(kT0 + 400));
    EXPECT_TRUE(l.admit(kT0 + 800));
    EXPECT_FALSE(l.admit(kT0 + 999));  // kT0 still inside (kT0 + 999 - kT0 < 1000)
    EXPECT_TRUE(l.admit(kT0 + 1000));  // kT0 has left
    EXPECT_FALSE(l.admit(kT0 + 1399));
    EXPECT_TRUE(l.admit(kT0 + 1400));
    EXPECT_FALSE(l.admit(kT0 + 1799));
    EXPECT_TRUE(l.admit(kT0 + 1800));
    EXPECT_EQ(l.throttled_until(), 0u);
    EXPECT_FALSE(l.throttled(kT0 + 1800));
    // A long pause empties the log altogether.
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(l.admit(kT0 + 10'000)) << i;
    EXPECT_FALSE(l.admit(kT0 + 10'000));
}

TEST(Limiter, RefusedMessagesAreNotRecorded) {
    Limiter l(2, 1000, 0);
    EXPECT_TRUE(l.admit(kT0));
    EXPECT_TRUE(l.admit(kT0 + 1));
    for (uint64_t t = kT0 + 2; t < kT0 + 1000; t += 100) EXPECT_FALSE(l.admit(t));
    EXPECT_TRUE(l.admit(kT0 + 1000));
    EXPECT_TRUE(l.admit(kT0 + 1001));
    EXPECT_FALSE(l.admit(kT0 + 1002));
}

TEST(Limiter, RingWrapsManyTimes) {
    Limiter l(5, 100, 0);
    // One message every 20 ms is exactly the rate: all pass, the ring wraps 200 times.
    for (uint64_t i = 0; i < 1000; ++i) ASSERT_TRUE(l.admit(kT0 + i * 20)) << i;
    // One more in the same ms as the last is one too many.
    EXPECT_FALSE(l.admit(kT0 + 999 * 20));
}

TEST(Limiter, RetryAfterWhileThrottled) {
    Limiter l(1, 60'000, 90'500);
    EXPECT_TRUE(l.admit(kT0));
    EXPECT_FALSE(l.admit(kT0));
    const uint64_t until = kT0 + 90'500;
    EXPECT_EQ(l.retry_after_s(kT0), 91u);  // 90.5 s rounds up
    EXPECT_EQ(l.retry_after_s(until - 1001), 2u);
    EXPECT_EQ(l.retry_after_s(until - 1000), 1u);
    EXPECT_EQ(l.retry_after_s(until - 1), 1u);
    EXPECT_EQ(l.retry_after_s(until), 1u);  // at least 1
}

TEST(Limiter, RetryAfterWithoutThrottleIsWhenTheOldestLeaves) {
    Limiter l(3, 10'000, 0);
    EXPECT_EQ(l.retry_after_s(kT0), 1u);  // nothing logged
    EXPECT_TRUE(l.admit(kT0));
    EXPECT_TRUE(l.admit(kT0 + 4000));
    EXPECT_EQ(l.retry_after_s(kT0 + 4000), 1u);  // not full: may pass now
    EXPECT_TRUE(l.admit(kT0 + 5000));
    EXPECT_FALSE(l.admit(kT0 + 2500 + 5000));
    EXPECT_EQ(l.retry_after_s(kT0 + 7500), 3u);   // 2.5 s until kT0 leaves
    EXPECT_EQ(l.retry_after_s(kT0 + 7000), 3u);   // 3 s exactly
    EXPECT_EQ(l.retry_after_s(kT0 + 6999), 4u);   // 3.001 s
    EXPECT_EQ(l.retry_after_s(kT0 + 9999), 1u);   // 1 ms
    EXPECT_EQ(l.retry_after_s(kT0 + 10'000), 1u); // gone: at least 1
    // What it said holds: refused 1 ms before, admitted at that time.
    EXPECT_FALSE(l.admit(kT0 + 9999));
    EXPECT_TRUE(l.admit(kT0 + 10'000));
}

// The "- " items of a rendered digest, without the marker.
std::vector<std::string> items(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);)
        if (line.rfind("- ", 0) == 0) out.push_back(line.substr(2));
    return out;
}

struct Rendered {
    std::string title, text;
    std::vector<std::string> items;
};

Rendered render(const Digest& d, std::string_view name = "r") {
    Rendered out;
    d.render(name, out.title, out.text);
    out.items = items(out.text);
    return out;
}

// A reload's new rate keeps the newest admissions that fit; the window and the throttle
// take their new lengths, a throttle in force measured from when it began.
TEST(Limiter, RetuneKeepsTheNewestAdmissions) {
    Limiter l(4, 10'000, 0);
    for (uint64_t i = 0; i < 4; ++i) EXPECT_TRUE(l.admit(kT0 + i * 1000)) << i;
    l.retune(2, 10'000, 0, kT0 + 3000);  // keeps kT0 + 2000 and kT0 + 3000
    EXPECT_FALSE(l.admit(kT0 + 4000));
    EXPECT_EQ(l.retry_after_s(kT0 + 4000), 8u);  // kT0 + 2000 leaves at kT0 + 12000
    EXPECT_TRUE(l.admit(kT0 + 12'000));
    l.retune(3, 1000, 0, kT0 + 13'000);  // a shorter window: both old admissions are out of it
    EXPECT_TRUE(l.admit(kT0 + 13'500));
    EXPECT_TRUE(l.admit(kT0 + 13'500));
    EXPECT_TRUE(l.admit(kT0 + 13'500));
    EXPECT_FALSE(l.admit(kT0 + 13'500));
}

TEST(Limiter, RetuneMeasuresAThrottleInForceWithItsNewLength) {
    Limiter l(1, 60'000, 600'000);
    EXPECT_TRUE(l.admit(kT0));
    EXPECT_FALSE(l.admit(kT0 + 1000));  // throttled until kT0 + 601000
    l.retune(5, 60'000, 10'000, kT0 + 2000);  // began at kT0 + 1000: ends at kT0 + 11000
    EXPECT_EQ(l.throttled_until(), kT0 + 11'000);
    EXPECT_FALSE(l.admit(kT0 + 10'999));
    EXPECT_TRUE(l.admit(kT0 + 11'000));
    // Raised without a throttle in force: the admissions stay counted.
    Limiter m(2, 60'000, 0);
    EXPECT_TRUE(m.admit(kT0));
    EXPECT_TRUE(m.admit(kT0));
    m.retune(3, 60'000, 0, kT0);
    EXPECT_EQ(m.throttled_until(), 0u);
    EXPECT_TRUE(m.admit(kT0 + 1));
    EXPECT_FALSE(m.admit(kT0 + 2));
}

// A throttle that has ended is not revived by a reload that lengthens throttle=.
TEST(Limiter, RetuneLeavesAnEndedThrottleEnded) {
    Limiter l(1, 1000, 60'000);
    EXPECT_TRUE(l.admit(kT0));
    EXPECT_FALSE(l.admit(kT0 + 1));  // throttled until kT0 + 60001
    const uint64_t later = kT0 + 600'000;
    EXPECT_FALSE(l.throttled(later));
    EXPECT_TRUE(l.admit(later));
    l.retune(1, 1000, 3'600'000, later + 1);  // throttle=1h
    EXPECT_FALSE(l.throttled(later + 1));
    EXPECT_EQ(l.retry_after_s(later + 1), 1u);
    EXPECT_TRUE(l.admit(later + 1000));
    // A throttle shortened to before now ends at once.
    EXPECT_FALSE(l.admit(later + 1001));  // throttled until later + 1001 + 1h
    l.retune(1, 1000, 1000, later + 5000);
    EXPECT_FALSE(l.throttled(later + 5000));
    EXPECT_TRUE(l.admit(later + 5000));
}

TEST(Digest, EmptyAtFirst) {
    Digest d;
    EXPECT_TRUE(d.empty());
    EXPECT_EQ(d.count(), 0u);
    EXPECT_EQ(d.omitted(), 0u);
}

TEST(Digest, ThousandAddsKeepTwentyLines) {
    Digest d;
    for (int i = 0; i < 1000; ++i) d.add(kT0 + static_cast<uint64_t>(i) * 1000, "message " + std::to_string(i));
    EXPECT_FALSE(d.empty());
    EXPECT_EQ(d.count(), 1000u);
    EXPECT_EQ(d.omitted(), 980u);
    EXPECT_EQ(d.first_ms(), kT0);
    EXPECT_EQ(d.last_ms(), kT0 + 999'000);
    const Rendered out = render(d, "ops");
    EXPECT_NE(out.title.find("ops"), std::string::npos) << out.title;
    EXPECT_NE(out.title.find("1000"), std::string::npos) << out.title;
    EXPECT_NE(out.text.find("1000 messages"), std::string::npos) << out.text;
    const std::vector<std::string>& kept = out.items;
    ASSERT_EQ(kept.size(), Digest::kMaxLines);
    EXPECT_EQ(kept.front(), "message 0");
    EXPECT_EQ(kept.back(), "message 19");
    EXPECT_NE(out.text.find("... and 980 more"), std::string::npos) << out.text;
    EXPECT_LE(out.text.size(), 4096u);
}

TEST(Digest, TimesInUtc) {
    Digest d;
    d.add(1'577'262'236'757, "a");
    d.add(1'577'265'836'000, "b");
    const Rendered out = render(d);
    EXPECT_NE(out.text.find("2019-12-25 08:23:56 UTC"), std::string::npos) << out.text;
    EXPECT_NE(out.text.find("2019-12-25 09:23:56 UTC"), std::string::npos) << out.text;
    EXPECT_EQ(out.text.find("more"), std::string::npos) << out.text;
    EXPECT_NE(out.text.find("2 messages"), std::string::npos) << out.text;
}

TEST(Digest, SingularCount) {
    Digest d;
    d.add(kT0, "only");
    const Rendered out = render(d);
    EXPECT_NE(out.text.find("1 message "), std::string::npos) << out.text;
    EXPECT_EQ(out.items, std::vector<std::string>{"only"});
}

TEST(Digest, LinesCutOnUtf8Boundaries) {
    const std::string a119(119, 'a');
    const std::string a118(118, 'a');
    const std::string e = "\xc3\xa9";              // 2 bytes
    const std::string han = "\xe5\x91\x8a";         // 3 bytes
    const std::string emoji = "\xf0\x9f\x94\xa5";   // 4 bytes
    Digest d;
    d.add(kT0, a119 + e);          // 121 bytes: the é goes
    d.add(kT0, a118 + e + "b");    // 121 bytes: é fits exactly, the b goes
    d.add(kT0, a118 + han);        // 121 bytes: the whole character goes
    d.add(kT0, std::string(117, 'a') + emoji);  // 121 bytes: all four go
    d.add(kT0, std::string(116, 'a') + emoji);  // 120 bytes: kept whole
    std::string han40;
    for (int i = 0; i < 41; ++i) han40 += han;  // 123 bytes: 40 characters fit
    d.add(kT0, han40);
    const Rendered out = render(d);
    const std::vector<std::string>& kept = out.items;
    ASSERT_EQ(kept.size(), 6u);
    EXPECT_EQ(kept[0], a119);
    EXPECT_EQ(kept[1], a118 + e);
    EXPECT_EQ(kept[2], a118);
    EXPECT_EQ(kept[3], std::string(117, 'a'));
    EXPECT_EQ(kept[4], std::string(116, 'a') + emoji);
    EXPECT_EQ(kept[5], han40.substr(0, 120));
    EXPECT_TRUE(codec::utf8_valid(out.text));
    EXPECT_EQ(d.omitted(), 0u);
}

TEST(Digest, NewlinesBecomeSpaces) {
    Digest d;
    d.add(kT0, "one\ntwo\r\nthree");
    d.add(kT0, "\n- injected item");
    const Rendered out = render(d);
    const std::vector<std::string>& kept = out.items;
    ASSERT_EQ(kept.size(), 2u);
    EXPECT_EQ(kept[0], "one two  three");
    EXPECT_EQ(kept[1], "\\- injected item");
}

TEST(Digest, EscapesMarkdown) {
    struct Case {
        const char* in;
        const char* out;
    };
    const Case cases[] = {
        {"**bold** _it_", "\\*\\*bold\\*\\* \\_it\\_"},
        {"[link](http://x)", "\\[link\\](http://x)"},
        {"`code` # h <b> a\\b", "\\`code\\` \\# h \\<b\\> a\\\\b"},
        {"- item", "\\- item"},
        {"  - indented", "\\- indented"},
        {"1. first", "1\\. first"},
        {"12) twelfth", "12\\) twelfth"},
        {"2024. a year", "2024\\. a year"},
        {"a - b 1. c", "a - b 1. c"},
        {"# heading", "\\# heading"},
        {"> quote", "\\> quote"},
        {"plain text, 3.5 ok", "plain text, 3.5 ok"},
        {"\xe5\x91\x8a\xe8\xad\xa6 *", "\xe5\x91\x8a\xe8\xad\xa6 \\*"},
    };
    Digest d;
    for (const Case& c : cases) d.add(kT0, c.in);
    const Rendered out = render(d);
    const std::vector<std::string>& kept = out.items;
    ASSERT_EQ(kept.size(), std::size(cases));
    for (size_t i = 0; i < kept.size(); ++i) EXPECT_EQ(kept[i], cases[i].out) << cases[i].in;
}

TEST(Digest, RobotNameEscapedInText) {
    Digest d;
    d.add(kT0, "x");
    const Rendered out = render(d, "ci_bot");
    EXPECT_NE(out.text.find("ci\\_bot"), std::string::npos) << out.text;
    EXPECT_NE(out.title.find("ci_bot"), std::string::npos) << out.title;
}

TEST(Digest, RenderBoundedForWorstCaseLines) {
    Digest d;
    for (int i = 0; i < 1000; ++i) d.add(kT0, std::string(200, '*'));
    EXPECT_EQ(d.omitted(), 980u);
    const Rendered out = render(d);
    EXPECT_LE(out.text.size(), 4096u);
    EXPECT_LE(out.title.size(), 200u);
    // Lines that did not fit are counted with the omitted ones, none are lost.
    const std::vector<std::string>& kept = out.items;
    EXPECT_GT(kept.size(), 0u);
    EXPECT_LT(kept.size(), Digest::kMaxLines);
    std::string escaped;
    for (size_t i = 0; i < Digest::kMaxLineBytes; ++i) escaped += "\\*";
    for (const std::string& k : kept) EXPECT_EQ(k, escaped);
    const std::string more = "... and " + std::to_string(1000 - kept.size()) + " more";
    EXPECT_NE(out.text.find(more), std::string::npos) << out.text;
}

TEST(Digest, ClearStartsOver) {
    Digest d;
    for (int i = 0; i < 30; ++i) d.add(kT0 + static_cast<uint64_t>(i), "old " + std::to_string(i));
    d.clear();
    EXPECT_TRUE(d.empty());
    EXPECT_EQ(d.count(), 0u);
    EXPECT_EQ(d.omitted(), 0u);
    d.add(kT0 + 5000, "new");
    EXPECT_EQ(d.first_ms(), kT0 + 5000);
    EXPECT_EQ(d.last_ms(), kT0 + 5000);
    const Rendered out = render(d);
    EXPECT_EQ(out.items, std::vector<std::string>{"new"});
    EXPECT_EQ(out.text.find("old"), std::string::npos) << out.text;
}

}  // namespace
}  // namespace wspush::robot
