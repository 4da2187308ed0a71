#include "http/query.h"

#include <gtest/gtest.h>

#include <memory>
#include <ostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "codec/base64.h"
#include "codec/hmac.h"
#include "support/bytes.h"
#include "support/test_server.h"

namespace wspush::http {
namespace {

using wspush::testing::heap_copy;

struct TargetCase {
    const char* name;
    const char* target;
    const char* path;
    const char* query;
};

void PrintTo(const TargetCase& c, std::ostream* os) { *os << c.name; }

const TargetCase kTargets[] = {
    {"NoQuery", "/robot/send", "/robot/send", ""},
    {"Query", "/robot/send?access_token=abc", "/robot/send", "access_token=abc"},
    {"EmptyQuery", "/robot/send?", "/robot/send", ""},
    {"Fragment", "/robot/send?a=1#frag", "/robot/send", "a=1"},
    {"FragmentWithoutQuery", "/robot/send#x?y", "/robot/send", "y"},
    {"SecondQuestionMarkIsData", "/p?a=?b", "/p", "a=?b"},
    {"AbsoluteForm", "http://gw:8080/robot/send?x=1", "http://gw:8080/robot/send", "x=1"},
};

class QueryTargets : public ::testing::TestWithParam<TargetCase> {};

TEST_P(QueryTargets, PathAndQuery) {
    const TargetCase& c = GetParam();
    EXPECT_EQ(path_of(c.target), c.path);
    EXPECT_EQ(query_of(c.target), c.query);
}

INSTANTIATE_TEST_SUITE_P(Rfc3986, QueryTargets, ::testing::ValuesIn(kTargets),
                         [](const auto& info) { return std::string(info.param.name); });

std::vector<std::pair<std::string, std::string>> all_params(std::string_view query) {
    std::vector<std::pair<std::string, std::string>> v;
    QueryParam p;
    while (next_param(query, &p)) v.emplace_back(p.name, p.value);
    return v;
}

using Pairs = std::vector<std::pair<std::string, std::string>>;

TEST(QueryParams, SplitsOnAmpersandAndFirstEquals) {
    EXPECT_EQ(all_params("a=1&b=2"), (Pairs{{"a", "1"}, {"b", "2"}}));
    EXPECT_EQ(all_params("&&a=1&&"), (Pairs{{"a", "1"}}));
    EXPECT_EQ(all_params("flag&x="), (Pairs{{"flag", ""}, {"x", ""}}));
    EXPECT_EQ(all_params("=v"), (Pairs{{"", "v"}}));
    EXPECT_EQ(all_params("sign=ab+/cd=="), (Pairs{{"sign", "ab+/cd=="}}));
    EXPECT_EQ(all_params(""), Pairs{});
}

TEST(QueryParams, FindCountsEveryCopy) {
    std::string_view v = "untouched";
    EXPECT_EQ(find_param("a=1&b=2", "c", &v), 0u);
    EXPECT_EQ(v, "untouched");
    EXPECT_EQ(find_param("access_token=t1&timestamp=5&access_token=t2", "access_token", &v), 2u);
    EXPECT_EQ(v, "t1");
    EXPECT_EQ(find_param("timestamp=1577262236757", "timestamp", &v), 1u);
    EXPECT_EQ(v, "1577262236757");
    EXPECT_EQ(find_param("Sign=x", "sign", &v), 0u) << "names are case-sensitive";
    EXPECT_EQ(find_param("signature=x", "sign", &v), 0u) << "a longer name is another name";
}

struct DecodeCase {
    const char* name;
    std::string in;
    DecodeStatus status;
    std::string out;  // kOk, kDoubleEncoded
    Plus plus = Plus::kLiteral;
};

void PrintTo(const DecodeCase& c, std::ostream* os) { *os << c.name; }

const DecodeCase kDecode[] = {
    {"Empty", "", DecodeStatus::kOk, ""},
    {"Plain", "abc-._~", DecodeStatus::kOk, "abc-._~"},
    {"UpperHex", "%2B%2F%3D", DecodeStatus::kOk, "+/="},
    {"LowerHex", "%2b%2f%3d", DecodeStatus::kOk, "+/="},
    {"PlusLiteral", "a+b", DecodeStatus::kOk, "a+b"},
    {"PlusAsSpace", "a+b%2B", DecodeStatus::kOk, "a b+", Plus::kSpace},
    {"Utf8", "%E4%B8%AD", DecodeStatus::kOk, "\xE4\xB8\xAD"},
    {"Nul", "a%00b", DecodeStatus::kOk, std::string("a\0b", 3)},
    {"PercentSignAlone", "100%25", DecodeStatus::kOk, "100%"},
    {"PercentThenNonHex", "%25zz", DecodeStatus::kOk, "%zz"},
    {"Base64SentRaw", "ab+/cd==", DecodeStatus::kOk, "ab+/cd=="},
    {"Base64EncodedOnce", "ab%2B%2Fcd%3D%3D", DecodeStatus::kOk, "ab+/cd=="},
    {"Base64EncodedTwice", "ab%252B%252Fcd%253D%253D", DecodeStatus::kDoubleEncoded, "ab%2B%2Fcd%3D%3D"},
    {"EncodedTwiceLowerHex", "%252b", DecodeStatus::kDoubleEncoded, "%2b"},
    {"EscapeBuiltFromEscapes", "%25%34%31", DecodeStatus::kDoubleEncoded, "%41"},
    {"TruncatedEscape", "ab%2", DecodeStatus::kBadEscape, ""},
    {"BarePercent", "%", DecodeStatus::kBadEscape, ""},
    {"NonHexEscape", "%4G", DecodeStatus::kBadEscape, ""},
    {"DoublePercent", "%%41", DecodeStatus::kBadEscape, ""},
};

class QueryDecode : public ::testing::TestWithParam<DecodeCase> {};

// Decodes from an exact-size copy into an exact-size buffer (for a refusal, one as long as
// the input), then into one byte less.
TEST_P(QueryDecode, IntoExactBuffer) {
    const DecodeCase& c = GetParam();
    auto in = heap_copy(c.in);
    const bool decodes = c.status == DecodeStatus::kOk || c.status == DecodeStatus::kDoubleEncoded;
    const size_t cap = decodes ? c.out.size() : c.in.size();
    auto out = std::make_unique<char[]>(cap ? cap : 1);
    const Decoded d = percent_decode(std::string_view(in.get(), c.in.size()), out.get(), cap, c.plus);
    EXPECT_EQ(d.status, c.status);
    if (!decodes) return;
    EXPECT_EQ(std::string(out.get(), d.len), c.out);
    if (cap > 0) {
        EXPECT_EQ(percent_decode(std::string_view(in.get(), c.in.size()), out.get(), cap - 1, c.plus).status,
                  DecodeStatus::kTooLong);
    }
}

INSTANTIATE_TEST_SUITE_P(Rfc3986, QueryDecode, ::testing::ValuesIn(kDecode),
                         [](const auto& info) { return std::string(info.param.name); });

std::string sign(const std::string& secret, const std::string& timestamp) {
    const codec::Sha256Digest mac = codec::hmac_sha256(secret, timestamp + "\n" + secret);
    std::string b64(codec::base64_encoded_size(mac.size()), '\0');
    (void)codec::base64_encode(mac.data(), mac.size(), b64.data());
    return b64;
}

// The group robots' signed URL as their documented Python sample builds it
// (urllib.parse.quote_plus of the Base64 HMAC), computed now by python3: sent once encoded,
// not encoded, and encoded twice (the common mistake), each decoded here with Plus::kLiteral.
TEST(QueryRobotSignature, MatchesPythonSample) {
    const std::string secret = "SECb1d6c7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6071829";
    const std::vector<std::string> stamps = {"1577262236757", "1717200000000", "1717203599999", "1"};
    std::string args;
    for (const std::string& t : stamps) args += " " + t;
    int status = -1;
    const std::string out = wspush::testing::run_command(
        "python3 -S -c 'import base64, hashlib, hmac, sys, urllib.parse as u\n"
        "s = sys.argv[1].encode()\n"
        "for t in sys.argv[2:]:\n"
        "    b = base64.b64encode(hmac.new(s, (t + \"\\n\").encode() + s, hashlib.sha256).digest()).decode()\n"
        "    print(b, u.quote_plus(b), u.quote_plus(u.quote_plus(b)))' " +
            secret + args,
        &status);
    if (status != 0) GTEST_SKIP() << "python3 not usable: status " << status;
    std::istringstream lines(out);
    size_t n = 0;
    for (std::string raw, once, twice; lines >> raw >> once >> twice; ++n) {
        ASSERT_LT(n, stamps.size());
        const std::string want = sign(secret, stamps[n]);
        EXPECT_EQ(raw, want) << "HMAC-SHA256 and Base64 against python3, timestamp " << stamps[n];
        char buf[128];
        for (const std::string& sent : {raw, once}) {
            const Decoded d = percent_decode(sent, buf, sizeof buf);
            EXPECT_EQ(d.status, DecodeStatus::kOk) << sent;
            EXPECT_EQ(std::string(buf, d.len), want) << sent;
        }
        const Decoded d = percent_decode(twice, buf, sizeof buf);
        EXPECT_EQ(d.status, want.find_first_of("+/=") == std::string::npos ? DecodeStatus::kOk
                                                                            : DecodeStatus::kDoubleEncoded)
            << twice;
    }
    EXPECT_EQ(n, stamps.size());
}

}  // namespace
}  // namespace wspush::http
