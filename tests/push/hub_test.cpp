// Hub: channels, members, per-channel seq, the history ring and replay, the wspush.v1
// envelope, names. No sockets: deliveries are recorded by a callback.
#include "push/hub.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <ostream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "codec/base64.h"
#include "support/push_support.h"

namespace wspush::push {
namespace {

using testing::parse_json;

std::string payload_of(const Message* m) {
    return std::string(reinterpret_cast<const char*>(m->payload()), m->payload_size());
}

std::string text_for(uint64_t seq) { return "m" + std::to_string(seq); }

// Every test ends with no Message alive that it made (the hub frees its history).
class HubTest : public ::testing::Test {
protected:
    void SetUp() override { live_before_ = Message::live(); }
    void TearDown() override { EXPECT_EQ(Message::live(), live_before_) << "Message leak"; }

    // Publishes text_for(seq) to ch with no members to record.
    static uint64_t publish_text(Hub& hub, Channel& ch) {
        std::string t = text_for(ch.next_seq);
        return hub.publish(ch, ws::Opcode::kText, t.data(), t.size(), nullptr,
                           [](Subscription&, Publication&) {})
            .seq();
    }

private:
    size_t live_before_ = 0;
};

TEST_F(HubTest, PublishNumbersFromOnePerChannel) {
    Hub hub(10);
    Channel& a = hub.channel("a");
    Channel& b = hub.channel("b");
    EXPECT_EQ(publish_text(hub, a), 1u);
    EXPECT_EQ(publish_text(hub, a), 2u);
    EXPECT_EQ(publish_text(hub, b), 1u);
    EXPECT_EQ(publish_text(hub, a), 3u);
    EXPECT_EQ(a.next_seq, 4u);
    EXPECT_EQ(b.next_seq, 2u);
    EXPECT_EQ(&hub.channel("a"), &a) << "same name, same channel";
    EXPECT_EQ(hub.find("a"), &a);
    EXPECT_EQ(hub.find("c"), nullptr);
    EXPECT_EQ(hub.channels().size(), 2u);
}

TEST_F(HubTest, PublishDeliversToEveryMemberButTheSender) {
    Hub hub(4);
    Channel& ch = hub.channel("room");
    Subscription s[3];
    for (uint32_t i = 0; i < 3; ++i) {
        s[i].owner = 100 + i;
        hub.join(ch, s[i]);
    }
    std::vector<uint32_t> got;
    Publication& pub = hub.publish(ch, ws::Opcode::kText, "hi", 2, &s[1],
                                   [&](Subscription& to, Publication& p) {
                                       EXPECT_EQ(p.seq(), 1u);
                                       got.push_back(to.owner);
                                   });
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, (std::vector<uint32_t>{100, 102}));
    EXPECT_EQ(payload_of(pub.raw()), "hi");
    EXPECT_EQ(pub.raw()->opcode(), ws::Opcode::kText);
    for (auto& sub : s) hub.leave(sub);
    EXPECT_TRUE(ch.members.empty());
}

TEST_F(HubTest, EmptyChannelKeepsNothing) {
    Hub hub(5);
    Channel& ch = hub.channel("x");
    EXPECT_EQ(ch.first_kept(), 1u);
    int calls = 0;
    EXPECT_TRUE(hub.replay(ch, 0, [&](Publication&) { ++calls; }));
    EXPECT_EQ(calls, 0);
    EXPECT_FALSE(hub.replay(ch, 1, [&](Publication&) { ++calls; })) << "since beyond the last seq";
    EXPECT_EQ(calls, 0);
}

// Replay against a model: with history N and P publications, seqs max(1, P-N+1)..P are
// kept; replay(since) succeeds iff first_kept-1 <= since <= P and then yields exactly the
// kept seqs above since, oldest first, each with its own payload.
struct RingCase {
    uint32_t history;
    uint64_t published;
};

void PrintTo(const RingCase& c, std::ostream* os) { *os << "history " << c.history << ", published " << c.published; }

class HubReplay : public HubTest, public ::testing::WithParamInterface<RingCase> {};

TEST_P(HubReplay, MatchesModelForEverySince) {
    const auto [history, published] = GetParam();
    Hub hub(history);
    Channel& ch = hub.channel("ring");
    for (uint64_t i = 0; i < published; ++i) ASSERT_EQ(publish_text(hub, ch), i + 1);
    uint64_t kept = std::min<uint64_t>(history, published);
    uint64_t first = published - kept + 1;
    EXPECT_EQ(ch.first_kept(), first);
    EXPECT_EQ(ch.ring_count, kept);
    for (uint64_t since = 0; since <= published + 2; ++since) {
        std::vector<uint64_t> seqs;
        bool ok = hub.replay(ch, since, [&](Publication& p) {
            seqs.push_back(p.seq());
            EXPECT_EQ(payload_of(p.raw()), text_for(p.seq()));
        });
        bool want_ok = since + 1 >= first && since <= published;
        EXPECT_EQ(ok, want_ok) << "since=" << since;
        std::vector<uint64_t> want;
        if (want_ok)
            for (uint64_t s = std::max(first, since + 1); s <= published; ++s) want.push_back(s);
        EXPECT_EQ(seqs, want) << "since=" << since;
    }
}

std::vector<RingCase> ring_cases() {
    std::vector<RingCase> out;
    for (uint32_t h : {0u, 1u, 3u, 8u})
        for (uint64_t p : {0ull, 1ull, 2ull, 3ull, 7ull, 8ull, 9ull, 17ull, 24ull, 25ull}) out.push_back({h, p});
    return out;
}

INSTANTIATE_TEST_SUITE_P(Ring, HubReplay, ::testing::ValuesIn(ring_cases()),
                         [](const auto& info) {
                             return "History" + std::to_string(info.param.history) + "Published" +
                                    std::to_string(info.param.published);
                         });

TEST_F(HubTest, HistoryZeroStillReturnsTheLastPublication) {
    Hub hub(0);
    Channel& ch = hub.channel("now");
    Publication& p1 = hub.publish(ch, ws::Opcode::kText, "one", 3, nullptr, [](Subscription&, Publication&) {});
    EXPECT_EQ(p1.seq(), 1u);
    EXPECT_EQ(payload_of(p1.envelope()), R"({"type":"msg","channel":"now","seq":1,"data":"one"})");
    Publication& p2 = hub.publish(ch, ws::Opcode::kText, "two", 3, nullptr, [](Subscription&, Publication&) {});
    EXPECT_EQ(p2.seq(), 2u);
    EXPECT_EQ(payload_of(p2.raw()), "two");
    EXPECT_FALSE(hub.replay(ch, 1, [](Publication&) { FAIL() << "nothing is kept"; }));
}

// Many joins and leaves in random order against a std::set model: after every step each
// member's index is its slot, and a publish reaches exactly the model's members.
TEST_F(HubTest, LeaveSwapRemoveKeepsIndicesRight) {
    constexpr size_t kSubs = 200;
    Hub hub(1);
    Channel& ch = hub.channel("churn");
    std::vector<Subscription> subs(kSubs);
    for (size_t i = 0; i < kSubs; ++i) subs[i].owner = static_cast<uint32_t>(i);
    std::set<uint32_t> model;
    std::mt19937 rng(12345);
    for (int step = 0; step < 5000; ++step) {
        uint32_t who = static_cast<uint32_t>(rng() % kSubs);
        Subscription& s = subs[who];
        if (model.count(who)) {
            hub.leave(s);
            model.erase(who);
            EXPECT_EQ(s.channel, nullptr);
        } else {
            hub.join(ch, s);
            model.insert(who);
            EXPECT_EQ(s.channel, &ch);
        }
        ASSERT_EQ(ch.members.size(), model.size()) << "step " << step;
        for (size_t i = 0; i < ch.members.size(); ++i) ASSERT_EQ(ch.members[i]->index, i) << "step " << step;
        if (step % 97 == 0) {
            std::set<uint32_t> got;
            hub.publish(ch, ws::Opcode::kText, "x", 1, nullptr,
                        [&](Subscription& to, Publication&) { EXPECT_TRUE(got.insert(to.owner).second); });
            ASSERT_EQ(got, model) << "step " << step;
        }
    }
    for (uint32_t who : model) hub.leave(subs[who]);
    EXPECT_TRUE(ch.members.empty());
    hub.leave(subs[0]);  // not a member: nothing happens
    EXPECT_TRUE(ch.members.empty());
}

TEST_F(HubTest, MembersOfOtherChannelsAreUntouched) {
    Hub hub(1);
    Channel& a = hub.channel("a");
    Channel& b = hub.channel("b");
    Subscription sa[2], sb[2];
    hub.join(a, sa[0]);
    hub.join(b, sb[0]);
    hub.join(a, sa[1]);
    hub.join(b, sb[1]);
    hub.leave(sa[0]);
    EXPECT_EQ(a.members, (std::vector<Subscription*>{&sa[1]}));
    EXPECT_EQ(sa[1].index, 0u);
    EXPECT_EQ(b.members, (std::vector<Subscription*>{&sb[0], &sb[1]}));
    hub.leave(sa[1]);
    hub.leave(sb[1]);
    hub.leave(sb[0]);
}

// ------------------------------------------------------------------ envelope

struct EnvelopeCase {
    const char* name;
    std::string data;
    std::string json;  // the exact envelope expected
};

void PrintTo(const EnvelopeCase& c, std::ostream* os) { *os << c.name; }

class HubEnvelope : public HubTest, public ::testing::WithParamInterface<EnvelopeCase> {};

TEST_P(HubEnvelope, TextIsEscapedExactly) {
    Hub hub(2);
    Channel& ch = hub.channel("news");
    const std::string& data = GetParam().data;
    Publication& pub =
        hub.publish(ch, ws::Opcode::kText, data.data(), data.size(), nullptr, [](Subscription&, Publication&) {});
    Message* env = pub.envelope();
    EXPECT_EQ(env->opcode(), ws::Opcode::kText);
    EXPECT_EQ(payload_of(env), GetParam().json);
    EXPECT_EQ(pub.envelope(), env) << "built once, then shared";
    auto j = parse_json(payload_of(env));
    ASSERT_TRUE(j) << payload_of(env);
    EXPECT_EQ(j->keys(), (std::vector<std::string>{"type", "channel", "seq", "data"}));
    EXPECT_EQ(j->get("data")->text, data) << "round trip";
}

INSTANTIATE_TEST_SUITE_P(
    Escapes, HubEnvelope,
    ::testing::Values(
        EnvelopeCase{"Plain", "door open", R"({"type":"msg","channel":"news","seq":1,"data":"door open"})"},
        EnvelopeCase{"Empty", "", R"({"type":"msg","channel":"news","seq":1,"data":""})"},
        EnvelopeCase{"Quote", "say \"hi\"", R"({"type":"msg","channel":"news","seq":1,"data":"say \"hi\""})"},
        EnvelopeCase{"Backslash", "a\\b", R"({"type":"msg","channel":"news","seq":1,"data":"a\\b"})"},
        EnvelopeCase{"Newlines", "l1\nl2\r\n\t", R"({"type":"msg","channel":"news","seq":1,"data":"l1\nl2\r\n\t"})"},
        EnvelopeCase{"ControlChars", std::string("\x00\x01\x1f\x7f", 4),
                     "{\"type\":\"msg\",\"channel\":\"news\",\"seq\":1,\"data\":\"\\u0000\\u0001\\u001f\x7f\"}"},
        EnvelopeCase{"Utf8Untouched", "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80",
                     "{\"type\":\"msg\",\"channel\":\"news\",\"seq\":1,\"data\":\"h\xc3\xa9llo \xe2\x82\xac "
                     "\xf0\x9f\x98\x80\"}"},
        EnvelopeCase{"Slash", "a/b</script>", R"({"type":"msg","channel":"news","seq":1,"data":"a/b</script>"})"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(HubTest, EnvelopeRoundTripsEveryByteBelow0x80) {
    std::string all;
    for (int c = 0; c < 0x80; ++c) all += static_cast<char>(c);
    Hub hub(1);
    Channel& ch = hub.channel("ascii");
    Publication& pub = hub.publish(ch, ws::Opcode::kText, all.data(), all.size(), nullptr,
                                   [](Subscription&, Publication&) {});
    auto j = parse_json(payload_of(pub.envelope()));
    ASSERT_TRUE(j) << payload_of(pub.envelope());
    EXPECT_EQ(j->get("data")->text, all);
}

TEST_F(HubTest, BinaryEnvelopeIsBase64) {
    Hub hub(2);
    Channel& ch = hub.channel("bin");
    const uint8_t three[] = {0x00, 0x01, 0x02};
    hub.publish(ch, ws::Opcode::kText, "t", 1, nullptr, [](Subscription&, Publication&) {});
    Publication& pub = hub.publish(ch, ws::Opcode::kBinary, three, 3, nullptr, [](Subscription&, Publication&) {});
    EXPECT_EQ(pub.raw()->opcode(), ws::Opcode::kBinary);
    EXPECT_EQ(pub.envelope()->opcode(), ws::Opcode::kText);
    EXPECT_EQ(payload_of(pub.envelope()), R"({"type":"msg","channel":"bin","seq":2,"binary":true,"data":"AAEC"})");

    std::string bytes;
    for (int i = 0; i < 1000; ++i) bytes += static_cast<char>((i * 7) & 0xFF);
    Publication& big = hub.publish(ch, ws::Opcode::kBinary, bytes.data(), bytes.size(), nullptr,
                                   [](Subscription&, Publication&) {});
    auto j = parse_json(payload_of(big.envelope()));
    ASSERT_TRUE(j);
    EXPECT_EQ(j->keys(), (std::vector<std::string>{"type", "channel", "seq", "binary", "data"}));
    EXPECT_EQ(j->get("seq")->uint(), 3u);
    ASSERT_EQ(j->get("binary")->kind, testing::Json::Kind::kBool);
    EXPECT_TRUE(j->get("binary")->boolean);
    const std::string& b64 = j->get("data")->text;
    std::vector<uint8_t> back(bytes.size() + 3);
    ptrdiff_t n = codec::base64_decode(b64, back.data(), back.size());
    ASSERT_EQ(n, static_cast<ptrdiff_t>(bytes.size()));
    EXPECT_EQ(std::string(back.begin(), back.begin() + n), bytes);
}

TEST_F(HubTest, EnvelopeSurvivesInHistory) {
    Hub hub(3);
    Channel& ch = hub.channel("keep");
    for (int i = 0; i < 5; ++i) publish_text(hub, ch);
    std::vector<std::string> got;
    EXPECT_TRUE(hub.replay(ch, 3, [&](Publication& p) { got.push_back(payload_of(p.envelope())); }));
    EXPECT_EQ(got, (std::vector<std::string>{R"({"type":"msg","channel":"keep","seq":4,"data":"m4"})",
                                             R"({"type":"msg","channel":"keep","seq":5,"data":"m5"})"}));
}

TEST(JsonEscape, AppendsWithoutQuotes) {
    std::string out = "x";
    json_escape(out, "a\"b\\c\x02");
    EXPECT_EQ(out, "xa\\\"b\\\\c\\u0002");
}

// ------------------------------------------------------------------ names

struct NameCase {
    const char* name;
    std::string input;
    bool valid;
};

void PrintTo(const NameCase& c, std::ostream* os) { *os << c.name; }

class ValidName : public ::testing::TestWithParam<NameCase> {};

TEST_P(ValidName, Classifies) {
    // An exact-size heap copy: a read past the end is an ASan error.
    const std::string& in = GetParam().input;
    std::unique_ptr<char[]> copy(new char[in.size() ? in.size() : 1]);
    std::copy(in.begin(), in.end(), copy.get());
    EXPECT_EQ(valid_name(std::string_view(copy.get(), in.size())), GetParam().valid);
}

INSTANTIATE_TEST_SUITE_P(
    Names, ValidName,
    ::testing::Values(NameCase{"Empty", "", false}, NameCase{"OneChar", "a", true},
                      NameCase{"AllClasses", "AZaz09_.-", true}, NameCase{"Max64", std::string(64, 'x'), true},
                      NameCase{"Over64", std::string(65, 'x'), false}, NameCase{"Space", "a b", false},
                      NameCase{"Slash", "a/b", false}, NameCase{"Colon", "a:b", false},
                      NameCase{"Query", "a?b", false}, NameCase{"Percent", "a%20", false},
                      NameCase{"Plus", "a+b", false}, NameCase{"Nul", std::string("a\0b", 3), false},
                      NameCase{"Utf8", "caf\xc3\xa9", false}, NameCase{"HighByte", "\xff", false},
                      NameCase{"Dots", "..", true}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace wspush::push
