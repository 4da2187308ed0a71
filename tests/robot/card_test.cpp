#include "robot/card.h"

#include <gtest/gtest.h>

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "json/json.h"
#include "json/robot_messages.h"
#include "support/bytes.h"

namespace wspush::robot {
namespace {

using wspush::testing::heap_copy;

constexpr uint64_t kNow = 1700000000123;

struct Parsed {
    bool ok = false;
    Card card;
    CardError err;
};

// parse_card over an exact-size heap copy of body (ASan reports any read past its end).
Parsed run(std::string_view body, std::string_view robot = "bot") {
    const std::unique_ptr<char[]> copy = heap_copy(body);
    Parsed p;
    p.ok = parse_card(std::string_view(copy.get(), body.size()), robot, kNow, &p.card, &p.err);
    return p;
}

// A produced payload parsed back, for checking member order and values.
struct Json {
    std::vector<json::Token> tokens = std::vector<json::Token>(4096);
    json::Document doc;
    bool ok;

    explicit Json(std::string_view text) {
        ok = json::parse(text, tokens.data(), static_cast<uint32_t>(tokens.size()), &doc).ok();
    }

    std::vector<std::string> names(uint32_t obj) const {
        std::vector<std::string> out;
        if (!doc.is(obj, json::Type::kObject)) return {"<not an object>"};
        for (uint32_t k = 0, i = obj + 1; k < doc.tokens[obj].size; ++k, i = doc.tokens[i + 1].next)
            out.push_back(str(i));
        return out;
    }

    std::string str(uint32_t i) const {
        if (!doc.is(i, json::Type::kString)) return "<not a string>";
        std::string out(doc.tokens[i].size, '\0');
        EXPECT_EQ(doc.string(i, out.data(), out.size()), static_cast<ptrdiff_t>(out.size()));
        return out;
    }

    std::string at(std::initializer_list<std::string_view> path) const { return str(doc.path(0, path)); }
};

using Names = std::vector<std::string>;

std::string repeat(std::string_view s, size_t n) {
    std::string out;
    for (size_t i = 0; i < n; ++i) out += s;
    return out;
}

// n comma-separated copies of item, with "%" replaced by the index.
std::string list(std::string_view item, size_t n) {
    std::string out;
    for (size_t i = 0; i < n; ++i) {
        if (i > 0) out += ',';
        std::string one(item);
        const size_t at = one.find('%');
        if (at != std::string::npos) one.replace(at, 1, std::to_string(i));
        out += one;
    }
    return out;
}

TEST(RobotCard, TextRoundTrip) {
    const Parsed p = run(R"({"msgtype":"text","text":{"content":"hello\nworld"}})");
    ASSERT_TRUE(p.ok) << p.err.message;
    EXPECT_EQ(p.card.type, MsgType::kText);
    EXPECT_EQ(p.card.payload, R"({"msgtype":"text","text":{"content":"hello\nworld"},"robot":"bot","time":1700000000123})");
    const Json j(p.card.payload);
    ASSERT_TRUE(j.ok);
    EXPECT_EQ(j.names(0), (Names{"msgtype", "text", "robot", "time"}));
    EXPECT_EQ(j.at({"text", "content"}), "hello\nworld");
    EXPECT_EQ(p.card.summary, "hello");
    EXPECT_EQ(p.card.search_text, "hello\nworld");
    EXPECT_TRUE(p.card.mention_ids.empty());
    EXPECT_FALSE(p.card.at_all);
}

TEST(RobotCard, LinkRoundTripInPayloadOrder) {
    const Parsed p = run(R"({"link":{"picUrl":"https://p/i.png","messageUrl":"https://m/?a=1&b=2",)"
                         R"("text":"body","title":"T"},"msgtype":"link"})");
    ASSERT_TRUE(p.ok) << p.err.message;
    EXPECT_EQ(p.card.type, MsgType::kLink);
    EXPECT_EQ(p.card.payload, R"({"msgtype":"link","link":{"title":"T","text":"body","messageUrl":"https://m/?a=1&b=2",)"
                              R"("picUrl":"https://p/i.png"},"robot":"bot","time":1700000000123})");
    const Json j(p.card.payload);
    ASSERT_TRUE(j.ok);
    EXPECT_EQ(j.names(j.doc.get(0, "link")), (Names{"title", "text", "messageUrl", "picUrl"}));
    EXPECT_EQ(p.card.summary, "T");
    EXPECT_EQ(p.card.search_text, "T\nbody");
}

TEST(RobotCard, LinkWithoutPicUrl) {
    const Parsed p = run(R"({"msgtype":"link","link":{"title":"T","text":"x","messageUrl":"u"}})");
    ASSERT_TRUE(p.ok) << p.err.message;
    EXPECT_EQ(p.card.payload,
              R"({"msgtype":"link","link":{"title":"T","text":"x","messageUrl":"u"},"robot":"bot","time":1700000000123})");
}

TEST(RobotCard, MarkdownRoundTrip) {
    const Parsed p = run(R"({"msgtype":"markdown","markdown":{"text":"# H\n*b*","title":"Alert"}})");
    ASSERT_TRUE(p.ok) << p.err.message;
    EXPECT_EQ(p.card.type, MsgType::kMarkdown);
    EXPECT_EQ(p.card.payload,
              R"({"msgtype":"markdown","markdown":{"title":"Alert","text":"# H\n*b*"},"robot":"bot","time":1700000000123})");
    const Json j(p.card.payload);
    ASSERT_TRUE(j.ok);
    EXPECT_EQ(j.names(j.doc.get(0, "markdown")), (Names{"title", "text"}));
    EXPECT_EQ(p.card.summary, "Alert");
    EXPECT_EQ(p.card.search_text, "Alert\n# H\n*b*");
}

TEST(RobotCard, ActionCardSingleWithNumericFlags) {
    const Parsed p = run(R"({"msgtype":"actionCard","actionCard":{"hideAvatar":1,"btnOrientation":0,)"
                         R"("singleURL":"https://s","singleTitle":"Read","text":"t","title":"AC"}})");
    ASSERT_TRUE(p.ok) << p.err.message;
    EXPECT_EQ(p.card.type, MsgType::kActionCard);
    EXPECT_EQ(p.card.payload, R"({"msgtype":"actionCard","actionCard":{"title":"AC","text":"t","singleTitle":"Read",)"
                              R"("singleURL":"https://s","btnOrientation":"0","hideAvatar":"1"},"robot":"bot",)"
                              R"("time":1700000000123})");
    EXPECT_EQ(p.card.search_text, "AC\nt\nRead");
    EXPECT_EQ(p.card.summary, "AC");
}

TEST(RobotCard, ActionCardButtons) {
    const Parsed p = run(R"({"msgtype":"actionCard","actionCard":{"title":"AC","text":"t","btnOrientation":"1",)"
                         R"("btns":[{"actionURL":"u1","title":"Yes","x":1},{"title":"No","actionURL":"u2"}]}})");
    ASSERT_TRUE(p.ok) << p.err.message;
    EXPECT_EQ(p.card.payload, R"({"msgtype":"actionCard","actionCard":{"title":"AC","text":"t","btns":[)"
                              R"({"title":"Yes","actionURL":"u1"},{"title":"No","actionURL":"u2"}],)"
                              R"("btnOrientation":"1"},"robot":"bot","time":1700000000123})");
    const Json j(p.card.payload);
    ASSERT_TRUE(j.ok);
    const uint32_t btns = j.doc.path(0, {"actionCard", "btns"});
    ASSERT_TRUE(j.doc.is(btns, json::Type::kArray));
    EXPECT_EQ(j.names(j.doc.at(btns, 1)), (Names{"title", "actionURL"}));
    EXPECT_EQ(p.card.search_text, "AC\nt\nYes\nNo");
}

TEST(RobotCard, ActionCardSingleWinsOverButtons) {
    const Parsed p = run(R"({"msgtype":"actionCard","actionCard":{"title":"AC","text":"t","singleTitle":"S",)"
                         R"("singleURL":"u","btns":"not even an array"}})");
    ASSERT_TRUE(p.ok) << p.err.message;
    EXPECT_EQ(p.card.payload, R"({"msgtype":"actionCard","actionCard":{"title":"AC","text":"t","singleTitle":"S",)"
                              R"("singleURL":"u"},"robot":"bot","time":1700000000123})");
}

TEST(RobotCard, FeedCardRoundTrip) {
    const Parsed p = run(R"({"msgtype":"feedCard","feedCard":{"links":[{"title":"First","messageURL":"m1",)"
                         R"("picURL":"p1"},{"picURL":"","messageURL":"m2","title":"Second"}]}})");
    ASSERT_TRUE(p.ok) << p.err.message;
    EXPECT_EQ(p.card.type, MsgType::kFeedCard);
    EXPECT_EQ(p.card.payload, R"({"msgtype":"feedCard","feedCard":{"links":[{"title":"First","messageURL":"m1",)"
                              R"("picURL":"p1"},{"title":"Second","messageURL":"m2","picURL":""}]},"robot":"bot",)"
                              R"("time":1700000000123})");
    EXPECT_EQ(p.card.summary, "First");
    EXPECT_EQ(p.card.search_text, "First\nSecond");
    const Json j(p.card.payload);
    ASSERT_TRUE(j.ok);
    EXPECT_EQ(j.names(j.doc.get(0, "feedCard")), (Names{"links"}));
}

TEST(RobotCard, FeedCardLinkWithoutPicUrl) {
    const Parsed p = run(R"({"msgtype":"feedCard","feedCard":{"links":[{"title":"A","messageURL":"m"}]}})");
    ASSERT_TRUE(p.ok) << p.err.message;
    EXPECT_NE(p.card.payload.find(R"({"links":[{"title":"A","messageURL":"m"}]})"), std::string::npos) << p.card.payload;
}

TEST(RobotCard, ReEscapesStrings) {
    // Quote, backslash, \/, a control byte, tab, an emoji as a surrogate pair, and a tag.
    const Parsed p = run(R"({"msgtype":"text","text":{"content":"a\"b\\c\/d\u0001e\tf\ud83d\ude00</script>"}})");
    ASSERT_TRUE(p.ok) << p.err.message;
    EXPECT_NE(p.card.payload.find(R"("content":"a\"b\\c/d\u0001e\tf😀</script>")"), std::string::npos)
        << p.card.payload;
    const Json j(p.card.payload);
    ASSERT_TRUE(j.ok);
    EXPECT_EQ(j.at({"text", "content"}), "a\"b\\c/d\x01" "e\tf\xF0\x9F\x98\x80</script>");
    EXPECT_EQ(p.card.search_text, j.at({"text", "content"}));
}

TEST(RobotCard, EscapedNamesAndValuesAreRecognised) {
    const Parsed p = run(R"({"\u006dsgtype":"\u0074ext","text":{"cont\u0065nt":"x"}})");
    ASSERT_TRUE(p.ok) << p.err.message;
    EXPECT_EQ(p.card.payload, R"({"msgtype":"text","text":{"content":"x"},"robot":"bot","time":1700000000123})");
}

TEST(RobotCard, DropsUnknownFields) {
    const Parsed p = run(R"({"extra":{"deep":[1,2]},"msgtype":"markdown","markdown":{"title":"T","text":"x",)"
                         R"("color":"red","text2":null},"at":{"isAtAll":false,"who":"me"},"robot":"forged",)"
                         R"("time":1})");
    ASSERT_TRUE(p.ok) << p.err.message;
    EXPECT_EQ(p.card.payload, R"({"msgtype":"markdown","markdown":{"title":"T","text":"x"},"at":{"isAtAll":false},)"
                              R"("robot":"bot","time":1700000000123})");
}

TEST(RobotCard, EscapesRobotName) {
    const Parsed p = run(R"({"msgtype":"text","text":{"content":"x"}})", "a\"b");
    ASSERT_TRUE(p.ok) << p.err.message;
    EXPECT_NE(p.card.payload.find(R"("robot":"a\"b")"), std::string::npos) << p.card.payload;
    EXPECT_TRUE(Json(p.card.payload).ok);
}

TEST(RobotCard, LeavesOutputUntouchedOnError) {
    Card card;
    card.payload = "keep";
    CardError err;
    EXPECT_FALSE(parse_card(R"({"msgtype":"text","text":{}})", "bot", kNow, &card, &err));
    EXPECT_EQ(card.payload, "keep");
    EXPECT_EQ(err.code, kMissingField);
}

struct Refusal {
    const char* name;
    std::string_view body;
    ErrCode code;
    std::string_view message;
};

constexpr std::string_view kBadUtf8Body = "{\"msgtype\":\"text\",\"text\":{\"content\":\"a\xff\"}}";

// Bodies built around one markdown or actionCard object.
#define MD(inner) R"({"msgtype":"markdown","markdown":{)" inner "}}"
#define AC(inner) R"({"msgtype":"actionCard","actionCard":{"title":"T","text":"x",)" inner "}}"
#define AT(inner) R"({"msgtype":"text","text":{"content":"x"},"at":)" inner "}"

const Refusal kRefusals[] = {
    {"Empty", "", kBadJson, "body is not valid JSON: unexpected end of input at byte 0"},
    {"Unclosed", "{", kBadJson, "body is not valid JSON: unexpected end of input at byte 1"},
    {"InvalidUtf8", kBadUtf8Body, kBadJson, "body is not valid JSON: invalid UTF-8 at byte 38"},
    {"TrailingComma", R"({"msgtype":"text",})", kBadJson, "body is not valid JSON: trailing comma at byte 18"},
    {"DuplicateKey", R"({"msgtype":"text","msgtype":"link"})", kBadJson,
     "body is not valid JSON: duplicate member name at byte 18"},
    {"Array", R"([{"msgtype":"text"}])", kBadJson, "body must be a JSON object"},
    {"Number", "42", kBadJson, "body must be a JSON object"},
    {"String", R"("text")", kBadJson, "body must be a JSON object"},
    {"MissingMsgtype", R"({"text":{"content":"x"}})", kMissingField, "missing field msgtype"},
    {"MsgtypeNotString", R"({"msgtype":["text"]})", kBadField, "field msgtype must be a string"},
    {"UnknownMsgtype", R"({"msgtype":"image"})", kUnknownMsgtype, R"(unknown msgtype "image")"},
    {"MsgtypeWrongCase", R"({"msgtype":"Text"})", kUnknownMsgtype, R"(unknown msgtype "Text")"},
    {"UnknownMsgtypeEscaped", R"({"msgtype":"a\"b\n"})", kUnknownMsgtype, R"(unknown msgtype "a\"b\n")"},
    {"UnknownMsgtypeTruncated", R"({"msgtype":"0123456789abcdef0123456789abcdefXYZ"})", kUnknownMsgtype,
     R"(unknown msgtype "0123456789abcdef0123456789abcdef"...)"},
    {"UnknownMsgtypeCutOnUtf8", R"({"msgtype":"0123456789abcdef0123456789abcdeé"})", kUnknownMsgtype,
     R"(unknown msgtype "0123456789abcdef0123456789abcde"...)"},
    {"MissingTypeObject", R"({"msgtype":"markdown"})", kMissingField, "missing field markdown"},
    {"TypeObjectNotObject", R"({"msgtype":"markdown","markdown":"x"})", kBadField,
     "field markdown must be an object"},
    {"OtherTypesObjectOnly", R"({"msgtype":"text","markdown":{"title":"T","text":"x"}})", kMissingField,
     "missing field text"},
    {"MissingContent", R"({"msgtype":"text","text":{}})", kMissingField, "missing field text.content"},
    {"MissingTitle", MD(R"("text":"x")"), kMissingField, "missing field markdown.title"},
    {"TitleNotString", MD(R"("title":5,"text":"x")"), kBadField, "field markdown.title must be a string"},
    {"TitleNull", MD(R"("title":null,"text":"x")"), kBadField, "field markdown.title must be a string"},
    {"TitleEmpty", MD(R"("title":"","text":"x")"), kBadField, "field markdown.title must not be empty"},
    {"TextEmpty", MD(R"("title":"T","text":"")"), kBadField, "field markdown.text must not be empty"},
    {"LinkMissingUrl", R"({"msgtype":"link","link":{"title":"T","text":"x"}})", kMissingField,
     "missing field link.messageUrl"},
    {"LinkPicUrlNotString", R"({"msgtype":"link","link":{"title":"T","text":"x","messageUrl":"u","picUrl":1}})",
     kBadField, "field link.picUrl must be a string"},
    {"ActionCardNeither", AC(R"("btnOrientation":"0")"), kMissingField,
     "missing field actionCard.singleTitle or actionCard.btns"},
    {"ActionCardSingleNoUrl", AC(R"("singleTitle":"S")"), kMissingField, "missing field actionCard.singleURL"},
    {"ActionCardSingleNoTitle", AC(R"("singleURL":"u")"), kMissingField, "missing field actionCard.singleTitle"},
    {"ButtonsNotArray", AC(R"("btns":{})"), kBadField, "field actionCard.btns must be an array"},
    {"ButtonsEmpty", AC(R"("btns":[])"), kBadField, "field actionCard.btns must not be empty"},
    {"ButtonNotObject", AC(R"("btns":[{"title":"a","actionURL":"u"},"b"])"), kBadField,
     "field actionCard.btns[1] must be an object"},
    {"ButtonMissingUrl", AC(R"("btns":[{"title":"a","actionURL":"u"},{"title":"b"}])"), kMissingField,
     "missing field actionCard.btns[1].actionURL"},
    {"ButtonTitleEmpty", AC(R"("btns":[{"title":"","actionURL":"u"}])"), kBadField,
     "field actionCard.btns[0].title must not be empty"},
    {"OrientationTwo", AC(R"("singleTitle":"S","singleURL":"u","btnOrientation":"2")"), kBadField,
     R"(field actionCard.btnOrientation must be "0" or "1")"},
    {"OrientationFraction", AC(R"("singleTitle":"S","singleURL":"u","btnOrientation":1.0)"), kBadField,
     R"(field actionCard.btnOrientation must be "0" or "1")"},
    {"HideAvatarBool", AC(R"("singleTitle":"S","singleURL":"u","hideAvatar":true)"), kBadField,
     R"(field actionCard.hideAvatar must be "0" or "1")"},
    {"FeedCardNoLinks", R"({"msgtype":"feedCard","feedCard":{}})", kMissingField, "missing field feedCard.links"},
    {"FeedCardLinksEmpty", R"({"msgtype":"feedCard","feedCard":{"links":[]}})", kBadField,
     "field feedCard.links must not be empty"},
    {"FeedCardTitleEmpty", R"({"msgtype":"feedCard","feedCard":{"links":[{"title":"","messageURL":"m"}]}})",
     kBadField, "field feedCard.links[0].title must not be empty"},
    {"FeedCardPicNotString",
     R"({"msgtype":"feedCard","feedCard":{"links":[{"title":"t","messageURL":"m","picURL":[]}]}})", kBadField,
     "field feedCard.links[0].picURL must be a string"},
    {"AtNotObject", AT("[]"), kBadField, "field at must be an object"},
    {"AtUserIdsNotArray", AT(R"({"atUserIds":"u1"})"), kBadField, "field at.atUserIds must be an array"},
    {"AtUserIdNotString", AT(R"({"atUserIds":["a","b",3]})"), kBadField, "field at.atUserIds[2] must be a string"},
    {"AtMobileEmpty", AT(R"({"atMobiles":["138",""]})"), kBadField, "field at.atMobiles[1] must be 1 to 64 bytes"},
    {"IsAtAllString", AT(R"({"isAtAll":"true"})"), kBadField, "field at.isAtAll must be a boolean"},
};

#undef MD
#undef AC
#undef AT

void PrintTo(const Refusal& r, std::ostream* os) { *os << r.name; }

class RobotCardRefuses : public ::testing::TestWithParam<Refusal> {};

TEST_P(RobotCardRefuses, WithCodeAndMessage) {
    const Parsed p = run(GetParam().body);
    ASSERT_FALSE(p.ok) << p.card.payload;
    EXPECT_EQ(p.err.code, GetParam().code);
    EXPECT_EQ(p.err.message, GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(RobotCard, RobotCardRefuses, ::testing::ValuesIn(kRefusals),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(RobotCard, TooManyValuesIsBadJson) {
    const std::string body = R"({"msgtype":"text","text":{"content":"x"},"pad":[)" + list("0", 5000) + "]}";
    const Parsed p = run(body);
    ASSERT_FALSE(p.ok);
    EXPECT_EQ(p.err.code, kBadJson);
    EXPECT_EQ(p.err.message.rfind("body is not valid JSON: too many values at byte ", 0), 0u) << p.err.message;
}

TEST(RobotCard, TakesBodiesOverOneMebibyte) {
    const std::string content = repeat("a", 1536 * 1024);
    const Parsed p = run(R"({"msgtype":"text","text":{"content":")" + content + R"("}})");
    ASSERT_TRUE(p.ok) << p.err.message;
    EXPECT_EQ(p.card.search_text, content);
    EXPECT_EQ(p.card.summary, content.substr(0, 120));
}

TEST(RobotCard, UrlsUpTo2048Bytes) {
    const auto body = [](size_t n) {
        return R"({"msgtype":"link","link":{"title":"T","text":"x","messageUrl":")" + repeat("u", n) + R"("}})";
    };
    EXPECT_TRUE(run(body(2048)).ok);
    const Parsed p = run(body(2049));
    ASSERT_FALSE(p.ok);
    EXPECT_EQ(p.err.code, kBadField);
    EXPECT_EQ(p.err.message, "field link.messageUrl is longer than 2048 bytes");
}

TEST(RobotCard, AtMostTenButtonsAndLinks) {
    const auto buttons = [](size_t n) {
        return R"({"msgtype":"actionCard","actionCard":{"title":"T","text":"x","btns":[)" +
               list(R"({"title":"b%","actionURL":"u"})", n) + "]}}";
    };
    const auto links = [](size_t n) {
        return R"({"msgtype":"feedCard","feedCard":{"links":[)" + list(R"({"title":"l%","messageURL":"m"})", n) +
               "]}}";
    };
    EXPECT_TRUE(run(buttons(10)).ok);
    EXPECT_TRUE(run(links(10)).ok);
    const Parsed b = run(buttons(11));
    EXPECT_EQ(b.err.code, kBadField);
    EXPECT_EQ(b.err.message, "field actionCard.btns has more than 10 entries");
    const Parsed l = run(links(11));
    EXPECT_EQ(l.err.code, kBadField);
    EXPECT_EQ(l.err.message, "field feedCard.links has more than 10 entries");
}

TEST(RobotCard, MentionsUserIdsThenMobilesDeduplicated) {
    const Parsed p = run(R"({"msgtype":"text","text":{"content":"x"},"at":{"isAtAll":true,)"
                         R"("atMobiles":["138","u2","139","138"],"atUserIds":["u1","u2","u\u0031"]}})");
    ASSERT_TRUE(p.ok) << p.err.message;
    EXPECT_EQ(p.card.mention_ids, (std::vector<std::string>{"u1", "u2", "138", "139"}));
    EXPECT_TRUE(p.card.at_all);
    EXPECT_EQ(p.card.payload, R"({"msgtype":"text","text":{"content":"x"},"at":{"atUserIds":["u1","u2"],)"
                              R"("atMobiles":["138","139"],"isAtAll":true},"robot":"bot","time":1700000000123})");
    const Json j(p.card.payload);
    ASSERT_TRUE(j.ok);
    EXPECT_EQ(j.names(0), (Names{"msgtype", "text", "at", "robot", "time"}));
}

TEST(RobotCard, EmptyAtKeepsItsShape) {
    const Parsed p = run(R"({"msgtype":"text","text":{"content":"x"},"at":{"atUserIds":[]}})");
    ASSERT_TRUE(p.ok) << p.err.message;
    EXPECT_EQ(p.card.payload,
              R"({"msgtype":"text","text":{"content":"x"},"at":{"atUserIds":[]},"robot":"bot","time":1700000000123})");
    EXPECT_TRUE(p.card.mention_ids.empty());
}

TEST(RobotCard, AtMost64Mentions) {
    const auto body = [](size_t users, size_t mobiles) {
        return R"({"msgtype":"text","text":{"content":"x"},"at":{"atUserIds":[)" + list(R"("u%")", users) +
               R"(],"atMobiles":[)" + list(R"("m%")", mobiles) + "]}}";
    };
    const Parsed full = run(body(32, 32));
    ASSERT_TRUE(full.ok) << full.err.message;
    EXPECT_EQ(full.card.mention_ids.size(), kMaxMentions);
    const Parsed over = run(body(33, 32));
    ASSERT_FALSE(over.ok);
    EXPECT_EQ(over.err.code, kBadField);
    EXPECT_EQ(over.err.message, "at: more than 64 mentions");
    // Repeats are not mentions: 64 distinct ids named twice each are fine.
    const std::string twice = R"({"msgtype":"text","text":{"content":"x"},"at":{"atUserIds":[)" +
                              list(R"("u%")", 64) + "," + list(R"("u%")", 64) + "]}}";
    EXPECT_TRUE(run(twice).ok);
}

TEST(RobotCard, MentionIdsUpTo64Bytes) {
    const auto body = [](size_t n) {
        return R"({"msgtype":"text","text":{"content":"x"},"at":{"atUserIds":[")" + repeat("u", n) + R"("]}})";
    };
    const Parsed ok = run(body(64));
    ASSERT_TRUE(ok.ok) << ok.err.message;
    EXPECT_EQ(ok.card.mention_ids, (std::vector<std::string>{repeat("u", 64)}));
    const Parsed p = run(body(65));
    EXPECT_EQ(p.err.code, kBadField);
    EXPECT_EQ(p.err.message, "field at.atUserIds[0] must be 1 to 64 bytes");
}

TEST(RobotCard, TextSummaryIsFirstNonBlankLine) {
    const Parsed p = run(R"({"msgtype":"text","text":{"content":"\n \t\r\n  first line \r\nsecond"}})");
    ASSERT_TRUE(p.ok) << p.err.message;
    EXPECT_EQ(p.card.summary, "first line");
    const Parsed blank = run(R"({"msgtype":"text","text":{"content":" \n\t"}})");
    ASSERT_TRUE(blank.ok) << blank.err.message;
    EXPECT_EQ(blank.card.summary, "");
}

TEST(RobotCard, SummaryCutTo120BytesOnUtf8Boundary) {
    const auto title = [](const std::string& t) {
        const Parsed p = run(R"({"msgtype":"markdown","markdown":{"title":")" + t + R"(","text":"x"}})");
        EXPECT_TRUE(p.ok) << p.err.message;
        return p.card.summary;
    };
    const std::string a118 = repeat("a", 118);
    EXPECT_EQ(title(a118 + "é"), a118 + "é");                           // exactly 120
    EXPECT_EQ(title(a118 + "aé"), a118 + "a");                          // é would end at 121
    EXPECT_EQ(title(a118 + "\\ud83d\\ude00"), a118);                   // 4-byte emoji from 118
    EXPECT_EQ(title(repeat("磁", 41)), repeat("磁", 40));                // 3-byte characters
    EXPECT_EQ(title(repeat("a", 130)), repeat("a", 120));
}

TEST(RobotCard, MarkdownAlertSample) {
    const Parsed p = run(json::samples::kMarkdownAlert);
    ASSERT_TRUE(p.ok) << p.err.message;
    EXPECT_EQ(p.card.type, MsgType::kMarkdown);
    EXPECT_EQ(p.card.summary, "[FIRING:2] 磁盘空间不足 prod-db");
    EXPECT_EQ(p.card.mention_ids, (std::vector<std::string>{"dba-oncall", "13800138000"}));
    EXPECT_FALSE(p.card.at_all);
    const Json j(p.card.payload);
    ASSERT_TRUE(j.ok);
    EXPECT_EQ(j.names(0), (Names{"msgtype", "markdown", "at", "robot", "time"}));
    EXPECT_EQ(j.names(j.doc.get(0, "at")), (Names{"atUserIds", "atMobiles", "isAtAll"}));
    const std::string text = j.at({"markdown", "text"});
    EXPECT_EQ(text.rfind("#### 🔥 [FIRING:2]", 0), 0u) << text;
    EXPECT_NE(text.find("@13800138000 \"DBA\"\n"), std::string::npos);
    EXPECT_NE(p.card.search_text.find("使用率 93.4%"), std::string::npos);
}

TEST(RobotCard, DigestPayload) {
    DigestFacts facts;
    facts.count = 3;
    facts.first_ms = 1000;
    facts.last_ms = 2000;
    facts.omitted = 1;
    const std::string p = digest_payload("bot", kNow, "3 alerts \"held\"", "- a\n- b", facts);
    EXPECT_EQ(p, R"({"msgtype":"markdown","markdown":{"title":"3 alerts \"held\"","text":"- a\n- b"},)"
                 R"("digest":{"count":3,"first":1000,"last":2000,"omitted":1},"robot":"bot","time":1700000000123})");
    const Json j(p);
    ASSERT_TRUE(j.ok);
    EXPECT_EQ(j.names(0), (Names{"msgtype", "markdown", "digest", "robot", "time"}));
    EXPECT_EQ(j.names(j.doc.get(0, "digest")), (Names{"count", "first", "last", "omitted"}));
}

TEST(RobotCard, DigestPayloadCarriesTheMentionsOfWhatItFolds) {
    DigestFacts facts;
    facts.count = 2;
    facts.mention_ids = {"dba-oncall", "a\"b"};
    const std::string p = digest_payload("bot", kNow, "t", "x", facts);
    EXPECT_NE(p.find(R"("digest":{"count":2,"first":0,"last":0,"omitted":0},"at":{"atUserIds":["dba-oncall","a\"b"],"isAtAll":false},"robot":"bot")"),
              std::string::npos)
        << p;
    facts.mention_ids.clear();
    facts.at_all = true;
    EXPECT_NE(digest_payload("bot", kNow, "t", "x", facts).find(R"("at":{"atUserIds":[],"isAtAll":true})"),
              std::string::npos);
}

}  // namespace
}  // namespace wspush::robot
