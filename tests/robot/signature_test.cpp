// Signed robot requests: references from python3's hmac/base64/urllib, encodings, the
// timestamp window, and every refusal.
#include "robot/signature.h"

#include <gtest/gtest.h>

#include <cctype>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support/test_server.h"

namespace wspush::robot {
namespace {

constexpr std::string_view kSecret = "SECc0ffee5ee4d2a1b0f9e8d7c6b5a49382716051f2e3d4c5b6a79881";
constexpr uint64_t kNow = 1'577'262'236'757;  // 2019-12-25 08:23:56.757 UTC
constexpr uint64_t kHour = kSignatureWindowMs;

// What python3 computes for one timestamp text.
struct Reference {
    std::string timestamp;     // as sent
    std::string base64;        // Base64(HMAC-SHA256)
    std::string once;          // urllib.parse.quote_plus(base64)
    std::string twice;         // quote_plus(quote_plus(base64))
};

// References for the given timestamp texts, then one more for the first timestamp from
// kNow on whose signature holds a '+' (so that sending it unencoded matters). Empty when
// python3 cannot run.
std::vector<Reference> python_references(const std::vector<std::string>& stamps) {
    std::string args = " " + std::string(kSecret);
    for (const std::string& s : stamps) args += " " + s;
    int status = -1;
    const std::string out = wspush::testing::run_command(
        "python3 -S -c 'import base64, hashlib, hmac, sys, urllib.parse as u\n"
        "s = sys.argv[1]\n"
        "def sig(t): return base64.b64encode(hmac.new(s.encode(), (t + \"\\n\" + s).encode(), hashlib.sha256).digest()).decode()\n"
        "def show(t): b = sig(t); print(t, b, u.quote_plus(b), u.quote_plus(u.quote_plus(b)))\n"
        "for t in sys.argv[2:]: show(t)\n"
        "t = " + std::to_string(kNow) + "\n"
        "while \"+\" not in sig(str(t)): t += 1\n"
        "show(str(t))'" + args,
        &status);
    std::vector<Reference> refs;
    if (status != 0) return refs;
    std::istringstream lines(out);
    Reference r;
    while (lines >> r.timestamp >> r.base64 >> r.once >> r.twice) refs.push_back(r);
    return refs;
}

std::string query(std::string_view timestamp, std::string_view sign) {
    return "access_token=abcdefgh&timestamp=" + std::string(timestamp) + "&sign=" + std::string(sign);
}

std::string now_text() { return std::to_string(kNow); }

// URL-encoded once, as quote_plus would: '+' "%2B", '/' "%2F", '=' "%3D".
std::string encode(std::string_view b64) {
    std::string out;
    for (char c : b64) {
        if (c == '+') out += "%2B";
        else if (c == '/') out += "%2F";
        else if (c == '=') out += "%3D";
        else out += c;
    }
    return out;
}

TEST(Signature, MatchesPythonOnceEncodedUnencodedAndRefusesTwice) {
    const std::vector<std::string> stamps = {now_text(), "0" + now_text(), "1", "9999999999999"};
    const std::vector<Reference> refs = python_references(stamps);
    if (refs.empty()) GTEST_SKIP() << "python3 not usable";
    ASSERT_EQ(refs.size(), stamps.size() + 1);
    for (const Reference& r : refs) {
        SCOPED_TRACE("timestamp " + r.timestamp);
        const uint64_t ts = std::stoull(r.timestamp);
        if (r.timestamp[0] != '0') {
            EXPECT_EQ(make_signature(kSecret, ts), r.base64);
        }
        EXPECT_EQ(check_signature(query(r.timestamp, r.once), kSecret, ts), SignCheck::kOk);
        EXPECT_EQ(check_signature(query(r.timestamp, r.base64), kSecret, ts), SignCheck::kOk);
        ASSERT_NE(r.twice, r.once);  // every signature ends in '=', so encoding twice shows
        EXPECT_EQ(check_signature(query(r.timestamp, r.twice), kSecret, ts), SignCheck::kDoubleEncoded);
        EXPECT_EQ(check_signature(query(r.timestamp, r.once), "SECwrong", ts), SignCheck::kMismatch);
    }
    // The last one has a '+': unencoded it stays '+', encoded it is "%2B".
    const Reference& plus = refs.back();
    ASSERT_NE(plus.base64.find('+'), std::string::npos);
    EXPECT_NE(plus.once.find("%2B"), std::string::npos);
    EXPECT_NE(plus.twice.find("%252B"), std::string::npos);
}

// The MAC covers the timestamp as sent: leading zeros change it.
TEST(Signature, TimestampTextExactlyAsSent) {
    const std::string sign = make_signature(kSecret, kNow);
    EXPECT_EQ(check_signature(query(now_text(), sign), kSecret, kNow), SignCheck::kOk);
    EXPECT_EQ(check_signature(query("0" + now_text(), sign), kSecret, kNow), SignCheck::kMismatch);
}

TEST(Signature, LowerCaseEscapesAndParameterOrder) {
    const std::string sign = make_signature(kSecret, kNow);
    std::string lower = encode(sign);
    for (size_t i = lower.find('%'); i != std::string::npos; i = lower.find('%', i + 1))
        lower[i + 2] = static_cast<char>(std::tolower(static_cast<unsigned char>(lower[i + 2])));
    EXPECT_EQ(check_signature(query(now_text(), lower), kSecret, kNow), SignCheck::kOk);
    EXPECT_EQ(check_signature("sign=" + encode(sign) + "&x=1&timestamp=" + now_text(), kSecret, kNow),
              SignCheck::kOk);
}

TEST(Signature, WindowIsOneHourEachWayInclusive) {
    for (const uint64_t ts : {kNow - kHour, kNow + kHour, kNow - kHour + 1, kNow + kHour - 1}) {
        EXPECT_EQ(check_signature(query(std::to_string(ts), encode(make_signature(kSecret, ts))), kSecret, kNow),
                  SignCheck::kOk)
            << ts;
    }
    for (const uint64_t ts : {kNow - kHour - 1, kNow + kHour + 1, uint64_t{0}, uint64_t{9'999'999'999'999'999'999u}}) {
        EXPECT_EQ(check_signature(query(std::to_string(ts), encode(make_signature(kSecret, ts))), kSecret, kNow),
                  SignCheck::kOutOfRange)
            << ts;
    }
    // Near zero on our side too: no wrap-around.
    EXPECT_EQ(check_signature(query("5", encode(make_signature(kSecret, 5))), kSecret, 0), SignCheck::kOk);
    EXPECT_EQ(check_signature(query(std::to_string(kHour + 1), "x"), kSecret, 0), SignCheck::kOutOfRange);
}

TEST(Signature, BadTimestamps) {
    const std::string sign = encode(make_signature(kSecret, kNow));
    for (const std::string bad : {"", "12a4", "-5", "+5", " 123", "1.5", "0x10", "%31", "12345678901234567890",
                                  "1577262236757 "}) {
        EXPECT_EQ(check_signature(query(bad, sign), kSecret, kNow), SignCheck::kBadTimestamp) << '"' << bad << '"';
    }
    EXPECT_EQ(check_signature("timestamp&sign=" + sign, kSecret, kNow), SignCheck::kBadTimestamp);
    // 19 digits is the most, and is well-formed.
    EXPECT_EQ(check_signature(query("0000000000000000005", "x"), kSecret, 5), SignCheck::kBadEncoding);
}

TEST(Signature, MissingAndDuplicate) {
    const std::string sign = encode(make_signature(kSecret, kNow));
    const std::string ts = now_text();
    EXPECT_EQ(check_signature("", kSecret, kNow), SignCheck::kMissing);
    EXPECT_EQ(check_signature("timestamp=" + ts, kSecret, kNow), SignCheck::kMissing);
    EXPECT_EQ(check_signature("sign=" + sign, kSecret, kNow), SignCheck::kMissing);
    EXPECT_EQ(check_signature("Timestamp=" + ts + "&sign=" + sign, kSecret, kNow), SignCheck::kMissing);
    EXPECT_EQ(check_signature(query(ts, sign) + "&timestamp=" + ts, kSecret, kNow), SignCheck::kDuplicate);
    EXPECT_EQ(check_signature(query(ts, sign) + "&sign=" + sign, kSecret, kNow), SignCheck::kDuplicate);
    EXPECT_EQ(check_signature(query(ts, sign) + "&sign=", kSecret, kNow), SignCheck::kDuplicate);
}

TEST(Signature, BadEncodings) {
    const std::string ts = now_text();
    const std::string sign = make_signature(kSecret, kNow);
    EXPECT_EQ(check_signature(query(ts, ""), kSecret, kNow), SignCheck::kBadEncoding);
    EXPECT_EQ(check_signature(query(ts, "%zz" + sign.substr(1)), kSecret, kNow), SignCheck::kBadEncoding);
    EXPECT_EQ(check_signature(query(ts, sign.substr(0, 40) + "%2"), kSecret, kNow), SignCheck::kBadEncoding);
    EXPECT_EQ(check_signature(query(ts, sign.substr(0, 43)), kSecret, kNow), SignCheck::kBadEncoding);
    EXPECT_EQ(check_signature(query(ts, sign + "AAAA"), kSecret, kNow), SignCheck::kBadEncoding);
    // Base64 of 32 zero bytes is well-formed (and wrong); of 31 and 33 bytes it is not a MAC.
    EXPECT_EQ(check_signature(query(ts, std::string(40, 'A') + "AAA="), kSecret, kNow), SignCheck::kMismatch);
    EXPECT_EQ(check_signature(query(ts, std::string(40, 'A') + "AA=="), kSecret, kNow), SignCheck::kBadEncoding);
    EXPECT_EQ(check_signature(query(ts, std::string(44, 'A')), kSecret, kNow), SignCheck::kBadEncoding);
    // A space is no Base64 character.
    EXPECT_EQ(check_signature(query(ts, "%20" + encode(sign.substr(1))), kSecret, kNow), SignCheck::kBadEncoding);
    // Far too long, every byte escaped.
    std::string long_sign;
    for (int i = 0; i < 200; ++i) long_sign += "%41";
    EXPECT_EQ(check_signature(query(ts, long_sign), kSecret, kNow), SignCheck::kBadEncoding);
    // Every byte escaped, but the right length: still fine.
    std::string all_escaped;
    for (char c : sign) {
        static constexpr char kHex[] = "0123456789ABCDEF";
        all_escaped += '%';
        all_escaped += kHex[static_cast<unsigned char>(c) >> 4];
        all_escaped += kHex[c & 15];
    }
    EXPECT_EQ(check_signature(query(ts, all_escaped), kSecret, kNow), SignCheck::kOk);
}

TEST(Signature, WrongSecretOrAlteredSign) {
    const std::string ts = now_text();
    const std::string sign = make_signature(kSecret, kNow);
    EXPECT_EQ(check_signature(query(ts, encode(sign)), std::string(kSecret) + "x", kNow), SignCheck::kMismatch);
    EXPECT_EQ(check_signature(query(ts, encode(sign)), "", kNow), SignCheck::kMismatch);
    std::string altered = sign;
    altered[10] = altered[10] == 'A' ? 'B' : 'A';
    EXPECT_EQ(check_signature(query(ts, encode(altered)), kSecret, kNow), SignCheck::kMismatch);
    // Signed for another time.
    EXPECT_EQ(check_signature(query(ts, encode(make_signature(kSecret, kNow + 1))), kSecret, kNow),
              SignCheck::kMismatch);
}

TEST(Signature, MakeSignatureShape) {
    const std::string s = make_signature(kSecret, kNow);
    EXPECT_EQ(s.size(), 44u);
    EXPECT_EQ(s.back(), '=');
    EXPECT_NE(s, make_signature("other", kNow));
    EXPECT_EQ(s, make_signature(kSecret, kNow));
}

TEST(Signature, DescribeEveryResult) {
    EXPECT_STREQ(describe(SignCheck::kOk), "ok");
    std::set<std::string> seen;
    for (SignCheck c : {SignCheck::kMissing, SignCheck::kDuplicate, SignCheck::kBadTimestamp, SignCheck::kOutOfRange,
                        SignCheck::kDoubleEncoded, SignCheck::kBadEncoding, SignCheck::kMismatch}) {
        const std::string text = describe(c);
        EXPECT_FALSE(text.empty());
        EXPECT_NE(text, "ok");
        EXPECT_TRUE(seen.insert(text).second) << text;
    }
}

}  // namespace
}  // namespace wspush::robot
