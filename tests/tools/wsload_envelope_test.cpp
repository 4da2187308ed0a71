#include "wsload/envelope.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <ostream>
#include <string>

namespace wspush::wsload {
namespace {

// parse_envelope on an exact-size heap copy, so ASan sees any read past the end.
const char* parse_copy(std::string_view json, Envelope& e) {
    auto copy = std::make_unique<char[]>(json.size());
    std::memcpy(copy.get(), json.data(), json.size());
    return parse_envelope(std::string_view(copy.get(), json.size()), e);
}

TEST(WsloadEnvelope, ParsesAChannelMessage) {
    Envelope e;
    ASSERT_EQ(parse_copy(R"({"type":"msg","channel":"news","seq":42,"data":"hello"})", e), nullptr);
    EXPECT_EQ(e.type, "msg");
    EXPECT_EQ(e.channel, "news");
    EXPECT_TRUE(e.has_seq);
    EXPECT_EQ(e.seq, 42u);
    EXPECT_EQ(e.data, "hello");
    EXPECT_FALSE(e.binary);
}

// The servers' shape (src/push/envelope.cpp): read without the general walk, and with the
// same fields as the walk gives; a reused envelope keeps nothing of the one before.
TEST(WsloadEnvelope, ParsesTheServersShape) {
    Envelope e;
    ASSERT_EQ(parse_copy(R"({"type":"msg","channel":"c.1","seq":1,"binary":true,"data":"AA=="})", e), nullptr);
    EXPECT_TRUE(e.binary);
    ASSERT_EQ(parse_copy(R"({"type":"msg","channel":"fan","seq":18446744073709551615,"epoch":"0001-7f3a","data":"a b"})", e),
              nullptr);
    EXPECT_EQ(e.type, "msg");
    EXPECT_EQ(e.channel, "fan");
    EXPECT_TRUE(e.has_seq);
    EXPECT_EQ(e.seq, UINT64_MAX);
    EXPECT_EQ(e.data, "a b");
    EXPECT_FALSE(e.binary);
    ASSERT_EQ(parse_copy(R"({"type":"msg","channel":"","seq":0,"data":""})", e), nullptr);
    EXPECT_EQ(e.channel, "");
    EXPECT_EQ(e.seq, 0u);
    EXPECT_EQ(e.data, "");
    // Left mid-way (an escape in data, whitespace at the end): the general walk reads it.
    ASSERT_EQ(parse_copy(R"({"type":"msg","channel":"c","seq":7,"epoch":"e","data":"q\"x\u00e9"} )", e), nullptr);
    EXPECT_EQ(e.data, "q\"x\xc3\xa9");
    EXPECT_EQ(e.seq, 7u);
}

TEST(WsloadEnvelope, DecodesEveryJsonEscape) {
    Envelope e;
    const char* json =
        R"({"type":"msg","channel":"a.b-c_d","seq":1,"data":"q\" b\\ s\/ \b\f\n\r\t \u0041\u00e9\u20ac \ud83d\ude00 \u0000"})";
    ASSERT_EQ(parse_copy(json, e), nullptr);
    EXPECT_EQ(e.channel, "a.b-c_d");
    static constexpr char kWant[] = "q\" b\\ s/ \b\f\n\r\t A\xc3\xa9\xe2\x82\xac \xf0\x9f\x98\x80 \0";
    EXPECT_EQ(e.data, std::string(kWant, sizeof kWant - 1));
}

TEST(WsloadEnvelope, KeyOrderAndWhitespaceDoNotMatter) {
    Envelope e;
    ASSERT_EQ(parse_copy(" {\n \"data\" : \"x\" , \"seq\": 18446744073709551615,\"channel\":\"c\", \"type\":\"msg\" } ", e),
              nullptr);
    EXPECT_EQ(e.seq, UINT64_MAX);
    EXPECT_EQ(e.channel, "c");
    EXPECT_EQ(e.data, "x");
}

TEST(WsloadEnvelope, ReadsTheBinaryFlag) {
    Envelope e;
    ASSERT_EQ(parse_copy(R"({"type":"msg","channel":"c","seq":3,"binary":true,"data":"AAEC"})", e), nullptr);
    EXPECT_TRUE(e.binary);
    EXPECT_EQ(e.data, "AAEC");
    ASSERT_EQ(parse_copy(R"({"type":"msg","channel":"c","seq":3,"binary":false,"data":""})", e), nullptr);
    EXPECT_FALSE(e.binary);
}

TEST(WsloadEnvelope, ParsesOtherTypesWithoutSeq) {
    Envelope e;
    ASSERT_EQ(parse_copy(R"({"type":"direct","data":"hi"})", e), nullptr);
    EXPECT_EQ(e.type, "direct");
    EXPECT_FALSE(e.has_seq);
    EXPECT_TRUE(e.channel.empty());
    ASSERT_EQ(parse_copy(R"({"type":"gap","channel":"c","since":5,"first":9})", e), nullptr);
    EXPECT_EQ(e.type, "gap");
    EXPECT_FALSE(e.has_seq);
}

TEST(WsloadEnvelope, ReusedEnvelopeIsReset) {
    Envelope e;
    ASSERT_EQ(parse_copy(R"({"type":"msg","channel":"c","seq":3,"binary":true,"data":"x"})", e), nullptr);
    ASSERT_EQ(parse_copy(R"({"type":"broadcast","data":"y"})", e), nullptr);
    EXPECT_FALSE(e.has_seq);
    EXPECT_FALSE(e.binary);
    EXPECT_TRUE(e.channel.empty());
    EXPECT_EQ(e.data, "y");
}

struct BadCase {
    const char* name;
    const char* json;
};

std::ostream& operator<<(std::ostream& os, const BadCase& c) { return os << c.name; }

class WsloadEnvelopeReject : public ::testing::TestWithParam<BadCase> {};

TEST_P(WsloadEnvelopeReject, IsAnError) {
    Envelope e;
    EXPECT_NE(parse_copy(GetParam().json, e), nullptr);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, WsloadEnvelopeReject,
    ::testing::Values(BadCase{"Empty", ""}, BadCase{"NotAnObject", R"(["msg"])"},
                      BadCase{"NoType", R"({"channel":"c","seq":1})"},
                      BadCase{"Unterminated", R"({"type":"msg","data":"abc)"},
                      BadCase{"MissingBrace", R"({"type":"msg")"},
                      BadCase{"TrailingBytes", R"({"type":"msg"}x)"},
                      BadCase{"TrailingComma", R"({"type":"msg",})"},
                      BadCase{"BadEscape", R"({"type":"msg","data":"\x"})"},
                      BadCase{"ShortUnicodeEscape", R"({"type":"msg","data":"\u12"})"},
                      BadCase{"LoneHighSurrogate", R"({"type":"msg","data":"\ud83d"})"},
                      BadCase{"LoneLowSurrogate", R"({"type":"msg","data":"\ude00"})"},
                      BadCase{"HighThenNonLow", R"({"type":"msg","data":"\ud83d\u0041"})"},
                      BadCase{"RawControlChar", "{\"type\":\"msg\",\"data\":\"a\nb\"}"},
                      BadCase{"NegativeSeq", R"({"type":"msg","seq":-1})"},
                      BadCase{"FractionalSeq", R"({"type":"msg","seq":1.5})"},
                      BadCase{"ExponentSeq", R"({"type":"msg","seq":1e3})"},
                      BadCase{"LeadingZeroSeq", R"({"type":"msg","seq":01})"},
                      BadCase{"SeqOverflow", R"({"type":"msg","seq":18446744073709551616})"},
                      BadCase{"StringSeq", R"({"type":"msg","seq":"1"})"},
                      BadCase{"NestedObject", R"({"type":"msg","x":{}})"},
                      BadCase{"MissingColon", R"({"type" "msg"})"},
                      // The servers' own shape, which is read without the general walk: what
                      // the walk refuses is refused there too.
                      BadCase{"ShapeLeadingZeroSeq", R"({"type":"msg","channel":"c","seq":012,"epoch":"e","data":"x"})"},
                      BadCase{"ShapeSeqOverflow",
                              R"({"type":"msg","channel":"c","seq":18446744073709551616,"epoch":"e","data":"x"})"},
                      BadCase{"ShapeTrailingBytes", R"({"type":"msg","channel":"c","seq":1,"epoch":"e","data":"x"}x)"},
                      BadCase{"ShapeRawControlChar", "{\"type\":\"msg\",\"channel\":\"c\",\"seq\":1,\"data\":\"a\tb\"}"},
                      BadCase{"ShapeUnterminatedData", R"({"type":"msg","channel":"c","seq":1,"epoch":"e","data":"x)"},
                      BadCase{"ShapeBadEscape", R"({"type":"msg","channel":"c","seq":1,"epoch":"e","data":"\x"})"},
                      BadCase{"ShapeFractionalSeq", R"({"type":"msg","channel":"c","seq":1.5,"data":"x"})"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(WsloadWebhookBody, PushReply) {
    WebhookBody b;
    ASSERT_EQ(parse_webhook_body(R"({"errcode":0,"errmsg":"ok","seq":42,"delivered":3})", b), nullptr);
    EXPECT_EQ(b.errcode, 0u);
    EXPECT_EQ(b.errmsg, "ok");
    EXPECT_TRUE(b.has_seq);
    EXPECT_EQ(b.seq, 42u);
    EXPECT_TRUE(b.has_delivered);
    EXPECT_EQ(b.delivered, 3u);
}

TEST(WsloadWebhookBody, RobotReplyAndErrors) {
    WebhookBody b;
    ASSERT_EQ(parse_webhook_body(R"({"errcode":0,"errmsg":"ok"})", b), nullptr);
    EXPECT_FALSE(b.has_seq);
    EXPECT_FALSE(b.has_delivered);
    ASSERT_EQ(parse_webhook_body(R"( { "errcode" : 130101 , "errmsg":"send too fast","digest":true } )", b), nullptr);
    EXPECT_EQ(b.errcode, 130101u);
    EXPECT_EQ(b.errmsg, "send too fast");
}

TEST(WsloadWebhookBody, Rejects) {
    WebhookBody b;
    EXPECT_NE(parse_webhook_body(R"({"errmsg":"ok"})", b), nullptr) << "no errcode";
    EXPECT_NE(parse_webhook_body(R"({"errcode":-1})", b), nullptr);
    EXPECT_NE(parse_webhook_body(R"({"errcode":0)", b), nullptr);
    EXPECT_NE(parse_webhook_body("", b), nullptr);
    EXPECT_NE(parse_webhook_body(R"({"errcode":0,"seq":"1"})", b), nullptr);
}

}  // namespace
}  // namespace wspush::wsload
