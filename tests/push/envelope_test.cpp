// The wspush.v1 texts: the "msg" envelope (escaping, base64, key order, epoch) built by
// a publication, and the "gap" notice.
#include "push/envelope.h"

#include <gtest/gtest.h>

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "codec/base64.h"
#include "push/hub.h"
#include "push/test_util.h"
#include "support/push_support.h"

namespace wspush::push {
namespace {

using testing::payload_of;
using wspush::testing::parse_json;

constexpr uint64_t kBase = 0x9f2c1a7700000000ULL;
const std::string kEpoch = "9f2c1a7700000001";  // the first channel a hub with kBase makes

// The envelope of seq 1 on "news" with this data part (`"data":"..."` and what precedes).
std::string msg(const std::string& tail) {
    return R"({"type":"msg","channel":"news","seq":1,"epoch":")" + kEpoch + "\"," + tail + "}";
}

class HubEnvelopeTest : public testing::LeakCheckedTest {
protected:
    void TearDown() override {
        hub_.reset();  // its history goes before the leak check
        LeakCheckedTest::TearDown();
    }

    // Publishes data to a channel `name` with one member, recording the publication's
    // envelope payload as delivered.
    std::string envelope_of(const std::string& data, ws::Opcode op = ws::Opcode::kText) {
        Subscription member;
        Channel* ch = hub_->channel("news");
        EXPECT_TRUE(hub_->join(*ch, member));
        std::string got;
        hub_->publish(*ch, op, data.data(), data.size(), nullptr, [&](Subscription&, Publication& p) {
            Message* env = p.envelope();
            EXPECT_EQ(env->opcode(), ws::Opcode::kText);
            EXPECT_EQ(p.envelope(), env) << "built once, then shared";
            got = payload_of(env);
        });
        hub_->leave(member);
        return got;
    }

    std::optional<Hub> hub_{std::in_place, HubLimits{.history = 10, .epoch_base = kBase}};
};

struct EnvelopeCase {
    const char* name;
    std::string data;
    std::string json;  // the exact envelope expected
};

void PrintTo(const EnvelopeCase& c, std::ostream* os) { *os << c.name; }

class HubEnvelope : public HubEnvelopeTest, public ::testing::WithParamInterface<EnvelopeCase> {};

TEST_P(HubEnvelope, TextIsEscapedExactly) {
    const std::string& data = GetParam().data;
    std::string env = envelope_of(data);
    EXPECT_EQ(env, GetParam().json);
    auto j = parse_json(env);
    ASSERT_TRUE(j) << env;
    EXPECT_EQ(j->keys(), (std::vector<std::string>{"type", "channel", "seq", "epoch", "data"}));
    EXPECT_EQ(j->get("data")->text, data) << "round trip";
}

INSTANTIATE_TEST_SUITE_P(
    Escapes, HubEnvelope,
    ::testing::Values(
        EnvelopeCase{"Plain", "door open", msg(R"("data":"door open")")},
        EnvelopeCase{"Empty", "", msg(R"("data":"")")},
        EnvelopeCase{"Quote", "say \"hi\"", msg(R"("data":"say \"hi\"")")},
        EnvelopeCase{"Backslash", "a\\b", msg(R"("data":"a\\b")")},
        EnvelopeCase{"Newlines", "l1\nl2\r\n\t", msg(R"("data":"l1\nl2\r\n\t")")},
        EnvelopeCase{"ControlChars", std::string("\x00\x01\x1f\x7f", 4), msg("\"data\":\"\\u0000\\u0001\\u001f\x7f\"")},
        EnvelopeCase{"Utf8Untouched", "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80",
                     msg("\"data\":\"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80\"")},
        EnvelopeCase{"Slash", "a/b</script>", msg(R"("data":"a/b</script>")")}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(HubEnvelopeTest, RoundTripsEveryByteBelow0x80) {
    std::string all;
    for (int c = 0; c < 0x80; ++c) all += static_cast<char>(c);
    auto j = parse_json(envelope_of(all));
    ASSERT_TRUE(j);
    EXPECT_EQ(j->get("data")->text, all);
}

TEST_F(HubEnvelopeTest, BinaryIsBase64) {
    const std::string three("\x00\x01\x02", 3);
    EXPECT_EQ(envelope_of(three, ws::Opcode::kBinary), msg(R"("binary":true,"data":"AAEC")"));

    std::string bytes;
    for (int i = 0; i < 1000; ++i) bytes += static_cast<char>((i * 7) & 0xFF);
    auto j = parse_json(envelope_of(bytes, ws::Opcode::kBinary));
    ASSERT_TRUE(j);
    EXPECT_EQ(j->keys(), (std::vector<std::string>{"type", "channel", "seq", "epoch", "binary", "data"}));
    EXPECT_EQ(j->get("seq")->uint(), 2u);
    EXPECT_EQ(j->get("epoch")->text, kEpoch) << "the channel is kept: same epoch";
    ASSERT_EQ(j->get("binary")->kind, wspush::testing::Json::Kind::kBool);
    EXPECT_TRUE(j->get("binary")->boolean);
    const std::string& b64 = j->get("data")->text;
    std::vector<uint8_t> back(bytes.size() + 3);
    ptrdiff_t n = codec::base64_decode(b64, back.data(), back.size());
    ASSERT_EQ(n, static_cast<ptrdiff_t>(bytes.size()));
    EXPECT_EQ(std::string(back.begin(), back.begin() + n), bytes);
}

// Envelopes of kept publications are built on replay too, and carry their own seq.
TEST_F(HubEnvelopeTest, ReplayedEnvelopesCarrySeqAndEpoch) {
    Subscription member;
    Channel* ch = hub_->channel("keep");
    ASSERT_TRUE(hub_->join(*ch, member));
    for (int i = 1; i <= 5; ++i) {
        std::string t = "m" + std::to_string(i);
        hub_->publish(*ch, ws::Opcode::kText, t.data(), t.size(), nullptr, [](Subscription&, Publication&) {});
    }
    std::vector<std::string> got;
    uint64_t before = hub_->history_bytes();
    EXPECT_TRUE(hub_->replay(*ch, Since{3, 0, false}, [&](Publication& p) { got.push_back(payload_of(p.envelope())); }));
    EXPECT_EQ(got, (std::vector<std::string>{R"({"type":"msg","channel":"keep","seq":4,"epoch":")" + kEpoch +
                                                 R"(","data":"m4"})",
                                             R"({"type":"msg","channel":"keep","seq":5,"epoch":")" + kEpoch +
                                                 R"(","data":"m5"})"}));
    EXPECT_GT(hub_->history_bytes(), before) << "the envelopes are charged";
    hub_->leave(member);
}

TEST_F(HubEnvelopeTest, GapNoticeNamesTheCurrentEpoch) {
    Subscription member;
    Channel* ch = hub_->channel("alerts");
    ASSERT_TRUE(hub_->join(*ch, member));
    for (int i = 0; i < 25; ++i) hub_->publish(*ch, ws::Opcode::kText, "x", 1, nullptr, [](Subscription&, Publication&) {});
    EXPECT_FALSE(hub_->covers(*ch, Since{7, 0, false}));
    Message* gap = hub_->gap_notice(*ch, 7);
    ASSERT_NE(gap, nullptr);
    EXPECT_EQ(gap->opcode(), ws::Opcode::kText);
    EXPECT_EQ(payload_of(gap), R"({"type":"gap","channel":"alerts","epoch":")" + kEpoch + R"(","since":7,"first":16})");
    gap->unref();
    hub_->leave(member);
}

TEST(HubEnvelopeBuild, LargestSeqAndEpochFit) {
    Message* raw = Message::make(ws::Opcode::kText, "d", 1);
    Message* env = make_envelope("c", UINT64_MAX, UINT64_MAX, *raw);
    EXPECT_EQ(payload_of(env),
              R"({"type":"msg","channel":"c","seq":18446744073709551615,"epoch":"ffffffffffffffff","data":"d"})");
    env->unref();
    raw->unref();
}

}  // namespace
}  // namespace wspush::push
