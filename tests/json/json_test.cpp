#include "json/json.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "json/robot_messages.h"
#include "support/bytes.h"

namespace wspush::json {
namespace {

using wspush::testing::heap_copy;

// A parse of an exact-size heap copy of the input (ASan reports any read past its end),
// with the document and tokens kept alive for lookups.
struct Parsed {
    std::unique_ptr<char[]> copy;
    std::vector<Token> tokens;
    Document doc;
    Result result;

    explicit Parsed(std::string_view input, uint32_t capacity = 512, const Limits& limits = {})
        : copy(heap_copy(input)), tokens(capacity) {
        result = parse(std::string_view(copy.get(), input.size()), tokens.data(), capacity, &doc, limits);
    }
};

std::string text(const Document& doc, uint32_t i) {
    if (!doc.is(i, Type::kString)) return "<not a string>";
    std::string out(doc.tokens[i].size, '\0');
    const ptrdiff_t n = doc.string(i, out.data(), out.size());
    EXPECT_EQ(n, static_cast<ptrdiff_t>(out.size()));
    return out;
}

int64_t integer(const Document& doc, uint32_t i) {
    int64_t v = -1;
    EXPECT_TRUE(doc.integer(i, &v)) << "token " << i;
    return v;
}

// RFC 8259 section 13, first example.
constexpr std::string_view kImage = R"({
      "Image": {
          "Width":  800,
          "Height": 600,
          "Title":  "View from 15th Floor",
          "Thumbnail": {
              "Url":    "http://www.example.com/image/481989943",
              "Height": 125,
              "Width":  100
          },
          "Animated" : false,
          "IDs": [116, 943, 234, 38793]
        }
    })";

// RFC 8259 section 13, second example.
constexpr std::string_view kPlaces = R"([
        {
           "precision": "zip",
           "Latitude":  37.7668,
           "Longitude": -122.3959,
           "Address":   "",
           "City":      "SAN FRANCISCO",
           "State":     "CA",
           "Zip":       "94107",
           "Country":   "US"
        },
        {
           "precision": "zip",
           "Latitude":  37.371991,
           "Longitude": -122.026020,
           "Address":   "",
           "City":      "SUNNYVALE",
           "State":     "CA",
           "Zip":       "94085",
           "Country":   "US"
        }
    ])";

TEST(JsonRfc8259, ImageExample) {
    Parsed p(kImage);
    ASSERT_TRUE(p.result.ok()) << describe(p.result.error) << " at " << p.result.offset;
    const Document& d = p.doc;
    EXPECT_EQ(p.result.count, 25u);  // 3 objects, 1 array, 10 names, 11 scalars
    const uint32_t image = d.get(0, "Image");
    ASSERT_TRUE(d.is(image, Type::kObject));
    EXPECT_EQ(d.tokens[image].size, 6u);
    EXPECT_EQ(integer(d, d.get(image, "Width")), 800);
    EXPECT_EQ(integer(d, d.get(image, "Height")), 600);
    EXPECT_EQ(text(d, d.get(image, "Title")), "View from 15th Floor");
    EXPECT_EQ(text(d, d.path(0, {"Image", "Thumbnail", "Url"})), "http://www.example.com/image/481989943");
    EXPECT_EQ(integer(d, d.path(0, {"Image", "Thumbnail", "Width"})), 100);
    EXPECT_TRUE(d.is(d.get(image, "Animated"), Type::kFalse));
    const uint32_t ids = d.get(image, "IDs");
    ASSERT_TRUE(d.is(ids, Type::kArray));
    EXPECT_EQ(d.tokens[ids].size, 4u);
    EXPECT_EQ(integer(d, d.at(ids, 0)), 116);
    EXPECT_EQ(integer(d, d.at(ids, 3)), 38793);
    EXPECT_EQ(d.at(ids, 4), kNone);
    EXPECT_EQ(d.tokens[0].end, kImage.size());
    EXPECT_EQ(d.tokens[0].next, p.result.count);
}

TEST(JsonRfc8259, PlacesExample) {
    Parsed p(kPlaces);
    ASSERT_TRUE(p.result.ok()) << describe(p.result.error) << " at " << p.result.offset;
    const Document& d = p.doc;
    ASSERT_TRUE(d.is(0, Type::kArray));
    EXPECT_EQ(d.tokens[0].size, 2u);
    const uint32_t second = d.at(0, 1);
    EXPECT_EQ(text(d, d.get(second, "City")), "SUNNYVALE");
    EXPECT_EQ(d.raw(d.get(second, "Longitude")), "-122.026020");
    EXPECT_EQ(text(d, d.get(d.at(0, 0), "Address")), "");
    int64_t v;
    EXPECT_FALSE(d.integer(d.get(second, "Latitude"), &v)) << "a fraction is not an integer";
}

// Section 2's scalar texts: any value may be the whole document.
TEST(JsonRfc8259, ScalarRoots) {
    EXPECT_TRUE(Parsed(R"("Hello world!")").doc.equals(0, "Hello world!"));
    EXPECT_EQ(integer(Parsed("42").doc, 0), 42);
    EXPECT_TRUE(Parsed("true").doc.is(0, Type::kTrue));
}

// Accepted documents (JSONTestSuite y_ style): how many tokens each makes.
struct Accept {
    const char* name;
    std::string input;
    uint32_t count;
};

const Accept kAccept[] = {
    {"ArrayEmpty", "[]", 1},
    {"ArrayOfEmptyString", R"([""])", 2},
    {"ArrayNested", "[[[]],[]]", 4},
    {"ArrayWhitespaceEverywhere", " \t\r\n[ 1 ,\n\t2 ]\r\n ", 3},
    {"ObjectEmpty", "{}", 1},
    {"ObjectOneMember", R"({"a":1})", 3},
    {"ObjectSameNameInNestedObjects", R"({"a":{"a":{"a":null}}})", 7},
    {"ObjectSameNameInSiblingObjects", R"([{"a":1},{"a":2}])", 7},
    {"ObjectEmptyName", R"({"":0})", 3},
    {"ObjectNamesDifferingByCase", R"({"a":1,"A":2})", 5},
    {"ObjectNamesSameHashPrefix", R"({"ab":1,"ab ":2,"a":3})", 7},
    {"NumberZero", "0", 1},
    {"NumberMinusZero", "-0", 1},
    {"NumberNegative", "-123", 1},
    {"NumberFraction", "0.5", 1},
    {"NumberExponent", "1e10", 1},
    {"NumberExponentUpperPlus", "1E+2", 1},
    {"NumberExponentMinus", "-0.5e-7", 1},
    {"NumberExponentLeadingZeros", "1e007", 1},
    {"NumberHuge", "123456789012345678901234567890e999", 1},
    {"StringEmpty", R"("")", 1},
    {"StringEveryTwoCharEscape", R"("\"\\\/\b\f\n\r\t")", 1},
    {"StringUnicodeEscape", R"("\u0041\u00e9\u4E2D")", 1},
    {"StringNulEscape", R"("\u0000")", 1},
    {"StringSurrogatePair", R"("\uD83D\uDE00")", 1},
    {"StringLastScalarValue", R"("\uDBFF\uDFFF")", 1},
    {"StringUtf8TwoThreeFourBytes", "\"\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80\"", 1},
    {"StringDelUnescaped", "\"\x7F\"", 1},
    {"StringEscapedNonCharacter", R"("\uFFFF")", 1},
    {"LiteralTrue", "true", 1},
    {"LiteralFalse", " false ", 1},
    {"LiteralNull", "null", 1},
    {"LiteralsInArray", "[true,false,null]", 4},
};

// gtest names the failing case by its name, not its bytes.
void PrintTo(const Accept& c, std::ostream* os) { *os << c.name; }

class JsonAccepts : public ::testing::TestWithParam<Accept> {};

TEST_P(JsonAccepts, TokenCount) {
    const Accept& c = GetParam();
    Parsed p(c.input);
    ASSERT_TRUE(p.result.ok()) << describe(p.result.error) << " at " << p.result.offset;
    EXPECT_EQ(p.result.count, c.count);
    EXPECT_EQ(p.doc.count, c.count);
}

// Tokens tile the input: each lies inside its parent, after the previous sibling, and
// `next` skips exactly its descendants.
TEST_P(JsonAccepts, TokensAreWellFormed) {
    Parsed p(GetParam().input);
    ASSERT_TRUE(p.result.ok());
    const Document& d = p.doc;
    EXPECT_EQ(d.tokens[0].parent, kNone);
    for (uint32_t i = 0; i < d.count; ++i) {
        const Token& t = d.tokens[i];
        ASSERT_LE(t.start, t.end);
        ASSERT_LE(t.end, d.text.size());
        ASSERT_GT(t.next, i);
        ASSERT_LE(t.next, d.count);
        for (uint32_t k = i + 1; k < t.next; ++k) ASSERT_GE(d.tokens[k].start, t.start) << i << " " << k;
        if (i > 0) {
            const Token& parent = d.tokens[t.parent];
            ASSERT_LT(t.parent, i);
            ASSERT_LE(t.next, parent.next);
            ASSERT_GE(t.start, parent.start);
            ASSERT_LE(t.end, parent.end);
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Valid, JsonAccepts, ::testing::ValuesIn(kAccept),
                         [](const auto& info) { return std::string(info.param.name); });

// Refused documents (JSONTestSuite n_ style): the reason and the offset of the offending byte.
struct Refuse {
    const char* name;
    std::string input;
    Error error;
    uint32_t offset;
};

const Refuse kRefuse[] = {
    {"Empty", "", Error::kUnexpectedEnd, 0},
    {"WhitespaceOnly", " \n", Error::kUnexpectedEnd, 2},
    {"ByteOrderMark", "\xEF\xBB\xBF[]", Error::kUnexpectedByte, 0},
    {"Utf8OutsideString", "[\xC3\xA9]", Error::kUnexpectedByte, 1},
    {"TwoValues", "1 2", Error::kTrailingData, 2},
    {"ArrayThenGarbage", "[] x", Error::kTrailingData, 3},
    {"LineComment", "[1]//c", Error::kTrailingData, 3},
    {"BlockComment", "/**/[1]", Error::kUnexpectedByte, 0},
    {"ArrayUnclosed", "[1", Error::kUnexpectedEnd, 2},
    {"ArrayUnclosedAfterComma", "[1,", Error::kUnexpectedEnd, 3},
    {"ArrayTrailingComma", "[1,]", Error::kTrailingComma, 3},
    {"ArrayLeadingComma", "[,1]", Error::kUnexpectedByte, 1},
    {"ArrayDoubleComma", "[1,,2]", Error::kUnexpectedByte, 3},
    {"ArrayMissingComma", "[1 2]", Error::kExpectedCommaOrEnd, 3},
    {"ArrayClosedByBrace", "[1}", Error::kExpectedCommaOrEnd, 2},
    {"ArrayColon", "[1:2]", Error::kExpectedCommaOrEnd, 2},
    {"ArraySingleQuotes", "['a']", Error::kUnexpectedByte, 1},
    {"ObjectUnclosed", R"({"a":1)", Error::kUnexpectedEnd, 6},
    {"ObjectTrailingComma", R"({"a":1,})", Error::kTrailingComma, 7},
    {"ObjectUnquotedName", "{a:1}", Error::kExpectedName, 1},
    {"ObjectSingleQuotedName", "{'a':1}", Error::kExpectedName, 1},
    {"ObjectNumberName", "{1:1}", Error::kExpectedName, 1},
    {"ObjectClosedByBracket", R"({"a":1])", Error::kExpectedCommaOrEnd, 6},
    {"ObjectEmptyClosedByBracket", "{]", Error::kExpectedName, 1},
    {"ObjectMissingColon", R"({"a" 1})", Error::kExpectedColon, 5},
    {"ObjectEqualsForColon", R"({"a"=1})", Error::kExpectedColon, 4},
    {"ObjectMissingValue", R"({"a":})", Error::kUnexpectedByte, 5},
    {"ObjectNameOnly", R"({"a"})", Error::kExpectedColon, 4},
    {"ObjectDuplicateName", R"({"a":1,"a":2})", Error::kDuplicateName, 7},
    {"ObjectDuplicateNameEscaped", R"({"text":1,"\u0074ext":2})", Error::kDuplicateName, 10},
    {"ObjectDuplicateNameBothEscaped", R"({"\u00e9":1,"\u00E9":2})", Error::kDuplicateName, 12},
    {"ObjectDuplicateNameUtf8VsEscape", "{\"\xC3\xA9\":1,\"\\u00e9\":2}", Error::kDuplicateName, 8},
    {"ObjectDuplicateNameAfterNested", R"({"a":{"b":[1,{"a":2}]},"c":3,"a":4})", Error::kDuplicateName, 29},
    {"ObjectDuplicateEmptyName", R"({"":1,"":2})", Error::kDuplicateName, 6},
    {"NumberLeadingZero", "01", Error::kLeadingZero, 1},
    {"NumberMinusLeadingZero", "-01", Error::kLeadingZero, 2},
    {"NumberDoubleZero", "[00]", Error::kLeadingZero, 2},
    {"NumberPlus", "+1", Error::kUnexpectedByte, 0},
    {"NumberMinusOnly", "-", Error::kBadNumber, 1},
    {"NumberMinusLetter", "-x", Error::kBadNumber, 1},
    {"NumberMinusSpace", "- 1", Error::kBadNumber, 1},
    {"NumberDotFirst", ".5", Error::kUnexpectedByte, 0},
    {"NumberDotLast", "1.", Error::kBadNumber, 2},
    {"NumberDotThenExponent", "1.e5", Error::kBadNumber, 2},
    {"NumberExponentEmpty", "1e", Error::kBadNumber, 2},
    {"NumberExponentSignOnly", "1e+", Error::kBadNumber, 3},
    {"NumberExponentLetter", "[1E-x]", Error::kBadNumber, 4},
    {"NumberHex", "0x1F", Error::kTrailingData, 1},
    {"NumberInfinity", "Infinity", Error::kUnexpectedByte, 0},
    {"NumberMinusInfinity", "-Infinity", Error::kBadNumber, 1},
    {"NumberNaN", "NaN", Error::kUnexpectedByte, 0},
    {"NumberTwoDots", "1.2.3", Error::kTrailingData, 3},
    {"LiteralTruncated", "tru", Error::kUnexpectedEnd, 3},
    {"LiteralMisspelt", "[trux]", Error::kBadLiteral, 1},
    {"LiteralCapital", "True", Error::kUnexpectedByte, 0},
    {"LiteralTooLong", "nulll", Error::kTrailingData, 4},
    {"StringUnterminated", R"("abc)", Error::kUnexpectedEnd, 4},
    {"StringTab", "\"a\tb\"", Error::kControlInString, 2},
    {"StringNewline", "[\"a\nb\"]", Error::kControlInString, 3},
    {"StringNul", std::string("\"a\0b\"", 5), Error::kControlInString, 2},
    {"StringUnitSeparator", "\"\x1F\"", Error::kControlInString, 1},
    {"StringBadEscapeX", R"("\x41")", Error::kBadEscape, 1},
    {"StringBadEscapeApostrophe", R"("\'")", Error::kBadEscape, 1},
    {"StringBadEscapeCapitalU", R"("\U0041")", Error::kBadEscape, 1},
    {"StringBadEscapeZero", R"("\0")", Error::kBadEscape, 1},
    {"StringEscapedNewline", "\"\\\n\"", Error::kBadEscape, 1},
    {"StringBackslashAtEnd", "\"\\", Error::kUnexpectedEnd, 2},
    {"StringUnicodeShort", R"("\u12")", Error::kBadUnicodeEscape, 1},
    {"StringUnicodeNotHex", R"("\uG000")", Error::kBadUnicodeEscape, 1},
    {"StringUnicodeTruncated", R"("\u12)", Error::kUnexpectedEnd, 5},
    {"StringLoneHighSurrogate", R"("\uD800")", Error::kLoneSurrogate, 1},
    {"StringLoneLowSurrogate", R"(["\uDC00"])", Error::kLoneSurrogate, 2},
    {"StringTwoHighSurrogates", R"("\uD800\uD800")", Error::kLoneSurrogate, 1},
    {"StringReversedPair", R"("\uDE00\uD83D")", Error::kLoneSurrogate, 1},
    {"StringHighSurrogateThenLetter", R"("\uD83Dx")", Error::kLoneSurrogate, 1},
    {"StringHighSurrogateThenSimpleEscape", R"("\uD83D\n")", Error::kLoneSurrogate, 1},
    {"StringHighSurrogateAtEnd", R"("\uD83D)", Error::kLoneSurrogate, 1},
    {"StringLoneSurrogateInName", R"({"\uDFFF":1})", Error::kLoneSurrogate, 2},
    {"Utf8Overlong", "\"\xC0\xAF\"", Error::kBadUtf8, 1},
    {"Utf8OverlongThreeByte", "\"\xE0\x80\xAF\"", Error::kBadUtf8, 2},
    {"Utf8EncodedSurrogate", "\"\xED\xA0\x80\"", Error::kBadUtf8, 2},
    {"Utf8AboveMaximum", "\"\xF4\x90\x80\x80\"", Error::kBadUtf8, 2},
    {"Utf8StrayContinuation", "\"a\x80\"", Error::kBadUtf8, 2},
    {"Utf8ByteFF", "\"\xFF\"", Error::kBadUtf8, 1},
    {"Utf8CutByQuote", "\"\xE4\xB8\"", Error::kBadUtf8, 3},
    {"Utf8CutByEscape", "\"\xE4\xB8\\n\"", Error::kBadUtf8, 3},
    {"Utf8CutAtEnd", "\"\xE4\xB8", Error::kBadUtf8, 3},
    {"Utf8InName", "{\"\xC3\x28\":1}", Error::kBadUtf8, 3},
};

// gtest names the failing case by its name, not its bytes.
void PrintTo(const Refuse& c, std::ostream* os) { *os << c.name; }

class JsonRefuses : public ::testing::TestWithParam<Refuse> {};

TEST_P(JsonRefuses, ReasonAndOffset) {
    const Refuse& c = GetParam();
    Parsed p(c.input);
    EXPECT_EQ(p.result.error, c.error) << "got " << describe(p.result.error);
    EXPECT_EQ(p.result.offset, c.offset);
    EXPECT_EQ(p.doc.tokens, nullptr) << "a failed parse leaves the document untouched";
}

INSTANTIATE_TEST_SUITE_P(Invalid, JsonRefuses, ::testing::ValuesIn(kRefuse),
                         [](const auto& info) { return std::string(info.param.name); });

// Every proper prefix of every accepted document is parsed from an exact-size copy without
// reading past it; each is refused (with an offset inside it) unless it is a document itself.
TEST(Json, EveryPrefixStaysInBounds) {
    std::vector<std::string> inputs = {std::string(kImage), std::string(kPlaces), std::string(samples::kMarkdownAlert)};
    for (const Accept& c : kAccept) inputs.push_back(c.input);
    for (const std::string& in : inputs) {
        for (size_t n = 0; n < in.size(); ++n) {
            Parsed p(std::string_view(in).substr(0, n));
            if (!p.result.ok()) {
                ASSERT_LE(p.result.offset, n) << in.substr(0, n);
            }
        }
    }
}

TEST(JsonLimits, DepthAtLimitIsAccepted) {
    const std::string doc = std::string(32, '[') + std::string(32, ']');
    Parsed p(doc);
    ASSERT_TRUE(p.result.ok()) << describe(p.result.error);
    EXPECT_EQ(p.result.count, 32u);
}

TEST(JsonLimits, DepthBombIsRefusedAtTheFirstByteTooDeep) {
    const std::string bomb(100000, '[');
    Parsed p(bomb);
    EXPECT_EQ(p.result.error, Error::kTooDeep);
    EXPECT_EQ(p.result.offset, 32u);
}

TEST(JsonLimits, ObjectDepthCountsToo) {
    std::string doc;
    for (int i = 0; i < 5; ++i) doc += R"({"a":)";
    doc += "1}}}}}";
    Limits limits;
    limits.max_depth = 4;
    Parsed p(doc, 512, limits);
    EXPECT_EQ(p.result.error, Error::kTooDeep);
    EXPECT_EQ(p.result.offset, 20u);
    limits.max_depth = 5;
    EXPECT_TRUE(Parsed(doc, 512, limits).result.ok());
}

// The token array's capacity bounds names and values together.
TEST(JsonLimits, TokenCapacity) {
    EXPECT_TRUE(Parsed("[1,2,3]", 4).result.ok());
    Parsed p("[1,2,3]", 3);
    EXPECT_EQ(p.result.error, Error::kTooManyTokens);
    EXPECT_EQ(p.result.offset, 5u);
    Parsed names(R"({"a":1})", 2);
    EXPECT_EQ(names.result.error, Error::kTooManyTokens);
    EXPECT_EQ(names.result.offset, 5u);
    Parsed none("true", 0);
    EXPECT_EQ(none.result.error, Error::kTooManyTokens);
    EXPECT_EQ(none.result.offset, 0u);
}

TEST(JsonLimits, InputSize) {
    Limits limits;
    limits.max_bytes = 10;
    EXPECT_TRUE(Parsed("[1,2,3,45]", 512, limits).result.ok());
    Parsed p("[1,2,3,456]", 512, limits);
    EXPECT_EQ(p.result.error, Error::kTooLarge);
    EXPECT_EQ(p.result.offset, 10u);
}

// Many members make the duplicate check quadratic in pairs but not in bytes compared: 2,000
// distinct names that share a length and a long prefix still parse at once.
TEST(JsonLimits, ManyMembersWithSimilarNames) {
    std::string doc = "{";
    for (int i = 0; i < 2000; ++i) {
        doc += (i ? ",\"" : "\"") + std::string(40, 'k') + std::to_string(10000 + i) + "\":0";
    }
    doc += "}";
    Parsed p(doc, 4001);
    ASSERT_TRUE(p.result.ok()) << describe(p.result.error);
    EXPECT_EQ(p.doc.tokens[0].size, 2000u);
    EXPECT_EQ(p.doc.get(0, std::string(40, 'k') + "11999"), 4000u);
    EXPECT_EQ(p.doc.get(0, std::string(40, 'k') + "12000"), kNone);
}

TEST(JsonDocument, RobotMarkdownMessage) {
    Parsed p(samples::kMarkdownAlert);
    ASSERT_TRUE(p.result.ok()) << describe(p.result.error) << " at " << p.result.offset;
    const Document& d = p.doc;
    EXPECT_TRUE(d.equals(d.get(0, "msgtype"), "markdown"));
    EXPECT_EQ(text(d, d.path(0, {"markdown", "title"})), "[FIRING:2] 磁盘空间不足 prod-db");
    const uint32_t body = d.path(0, {"markdown", "text"});
    ASSERT_TRUE(d.is(body, Type::kString));
    EXPECT_EQ(d.tokens[body].size, 394u);  // as python3's json.loads decodes it
    EXPECT_TRUE(d.tokens[body].flags & kEscaped);
    const std::string decoded = text(d, body);
    EXPECT_EQ(decoded.substr(0, 10), "#### \xF0\x9F\x94\xA5 ");
    EXPECT_NE(decoded.find("@13800138000 \"DBA\"\n"), std::string::npos);
    EXPECT_TRUE(d.equals(d.at(d.path(0, {"at", "atMobiles"}), 0), "13800138000"));
    EXPECT_TRUE(d.is(d.path(0, {"at", "isAtAll"}), Type::kFalse));
    EXPECT_EQ(d.path(0, {"text", "content"}), kNone);
}

TEST(JsonDocument, LookupsMissAcrossTypes) {
    Parsed p(R"({"a":[1,{"b":"x"}],"s":"str"})");
    const Document& d = p.doc;
    ASSERT_TRUE(p.result.ok());
    EXPECT_EQ(d.get(d.get(0, "a"), "b"), kNone) << "get on an array";
    EXPECT_EQ(d.get(kNone, "a"), kNone);
    EXPECT_EQ(d.at(0, 0), kNone) << "at on an object";
    EXPECT_EQ(d.path(0, {"a", "b"}), kNone);
    EXPECT_TRUE(d.equals(d.get(d.at(d.get(0, "a"), 1), "b"), "x"));
    EXPECT_FALSE(d.equals(d.get(0, "a"), "")) << "equals on an array";
    EXPECT_FALSE(d.equals(kNone, ""));
    EXPECT_EQ(d.get(0, "st"), kNone) << "a prefix of a name";
    EXPECT_EQ(d.get(0, "S"), kNone) << "names are case-sensitive";
    char buf[8];
    EXPECT_EQ(d.string(d.get(0, "a"), buf, sizeof buf), -1);
}

// Names and values compare unescaped, and a wanted string holding a backslash is literal.
TEST(JsonDocument, EscapedNamesAndValues) {
    Parsed p(R"({"\u0074ext":{"con\u0074ent":"a\\b\u00e9"},"\\":1})");
    const Document& d = p.doc;
    ASSERT_TRUE(p.result.ok()) << describe(p.result.error);
    const uint32_t content = d.path(0, {"text", "content"});
    EXPECT_TRUE(d.equals(content, "a\\b\xC3\xA9"));
    EXPECT_FALSE(d.equals(content, "a\\\\b\xC3\xA9"));
    EXPECT_FALSE(d.equals(content, "a\\b\xC3"));
    EXPECT_EQ(d.raw(content), R"(a\\b\u00e9)");
    EXPECT_EQ(d.tokens[content].size, 5u);
    EXPECT_EQ(integer(d, d.get(0, "\\")), 1);
}

TEST(JsonDocument, StringNeedsExactCapacity) {
    Parsed p(R"(["plain","\u4e2d\u6587"])");
    const Document& d = p.doc;
    ASSERT_TRUE(p.result.ok());
    for (const uint32_t i : {d.at(0, 0), d.at(0, 1)}) {
        const size_t n = d.tokens[i].size;
        auto exact = std::make_unique<char[]>(n);
        EXPECT_EQ(d.string(i, exact.get(), n), static_cast<ptrdiff_t>(n));
        auto small = std::make_unique<char[]>(n - 1);
        EXPECT_EQ(d.string(i, small.get(), n - 1), -1);
    }
    EXPECT_EQ(text(d, d.at(0, 1)), "\xE4\xB8\xAD\xE6\x96\x87");
}

TEST(JsonDocument, Integers) {
    Parsed p(R"([0,-0,9223372036854775807,-9223372036854775808,9223372036854775808,1.0,1e3,"1"])");
    const Document& d = p.doc;
    ASSERT_TRUE(p.result.ok());
    EXPECT_EQ(integer(d, d.at(0, 0)), 0);
    EXPECT_EQ(integer(d, d.at(0, 1)), 0);
    EXPECT_EQ(integer(d, d.at(0, 2)), INT64_MAX);
    EXPECT_EQ(integer(d, d.at(0, 3)), INT64_MIN);
    int64_t v = 7;
    for (uint32_t k = 4; k < 8; ++k) EXPECT_FALSE(d.integer(d.at(0, k), &v)) << d.raw(d.at(0, k));
    EXPECT_EQ(v, 7);
}

struct UnescapeCase {
    const char* name;
    std::string escaped;
    bool ok;
    std::string decoded;
};

const UnescapeCase kUnescape[] = {
    {"Empty", "", true, ""},
    {"Plain", "hello", true, "hello"},
    {"TwoCharEscapes", R"(\"\\\/\b\f\n\r\t)", true, "\"\\/\b\f\n\r\t"},
    {"OneByte", R"(\u0041)", true, "A"},
    {"Nul", R"(\u0000)", true, std::string(1, '\0')},
    {"TwoBytesLast", R"(\u07FF)", true, "\xDF\xBF"},
    {"ThreeBytesFirst", R"(\u0800)", true, "\xE0\xA0\x80"},
    {"BeforeSurrogates", R"(\uD7FF)", true, "\xED\x9F\xBF"},
    {"AfterSurrogates", R"(\uE000)", true, "\xEE\x80\x80"},
    {"LowestPair", R"(\uD800\uDC00)", true, "\xF0\x90\x80\x80"},
    {"HighestPair", R"(\uDBFF\uDFFF)", true, "\xF4\x8F\xBF\xBF"},
    {"MixedCaseHex", R"(\u00e9\u00E9)", true, "\xC3\xA9\xC3\xA9"},
    {"RawUtf8", "\xE4\xB8\xAD", true, "\xE4\xB8\xAD"},
    {"UnescapedQuote", "a\"b", false, ""},
    {"ControlChar", "a\nb", false, ""},
    {"TrailingBackslash", "ab\\", false, ""},
    {"TruncatedUnicode", R"(\u00E)", false, ""},
    {"LoneHigh", R"(\uD800)", false, ""},
    {"LoneLow", R"(x\uDC00)", false, ""},
    {"BadUtf8", "\xC3", false, ""},
    {"BadEscape", R"(\v)", false, ""},
};

// gtest names the failing case by its name, not its bytes.
void PrintTo(const UnescapeCase& c, std::ostream* os) { *os << c.name; }

class JsonUnescape : public ::testing::TestWithParam<UnescapeCase> {};

TEST_P(JsonUnescape, DecodesIntoExactBuffer) {
    const UnescapeCase& c = GetParam();
    auto in = heap_copy(c.escaped);
    auto out = std::make_unique<char[]>(c.decoded.empty() ? 1 : c.decoded.size());
    const ptrdiff_t n = unescape(std::string_view(in.get(), c.escaped.size()), out.get(), c.decoded.size());
    if (!c.ok) {
        EXPECT_EQ(n, -1);
        return;
    }
    ASSERT_EQ(n, static_cast<ptrdiff_t>(c.decoded.size()));
    EXPECT_EQ(std::string(out.get(), static_cast<size_t>(n)), c.decoded);
    if (!c.decoded.empty()) {
        EXPECT_EQ(unescape(std::string_view(in.get(), c.escaped.size()), out.get(), c.decoded.size() - 1), -1);
    }
    // The same content as a quoted document decodes the same through the token.
    Parsed p("\"" + c.escaped + "\"");
    ASSERT_TRUE(p.result.ok()) << describe(p.result.error);
    EXPECT_EQ(text(p.doc, 0), c.decoded);
    EXPECT_TRUE(p.doc.equals(0, c.decoded));
}

INSTANTIATE_TEST_SUITE_P(Strings, JsonUnescape, ::testing::ValuesIn(kUnescape),
                         [](const auto& info) { return std::string(info.param.name); });

// Every \u escape of a non-surrogate BMP code point decodes as UTF-8 the validator accepts,
// and round-trips through the token path.
TEST(JsonUnescapeAll, EveryBmpEscape) {
    char in[7];
    char out[4];
    for (uint32_t cp = 0; cp < 0x10000; ++cp) {
        if (cp >= 0xD800 && cp <= 0xDFFF) continue;
        std::snprintf(in, sizeof in, "\\u%04X", cp);
        const ptrdiff_t n = unescape(std::string_view(in, 6), out, sizeof out);
        ASSERT_EQ(n, cp < 0x80 ? 1 : cp < 0x800 ? 2 : 3) << cp;
        uint32_t back = static_cast<uint8_t>(out[0]);
        if (n == 2) back = (back & 0x1F) << 6 | (out[1] & 0x3F);
        if (n == 3) back = (back & 0x0F) << 12 | (out[1] & 0x3F) << 6 | (out[2] & 0x3F);
        ASSERT_EQ(back, cp);
    }
}

TEST(Json, DescribeNamesEveryError) {
    for (int e = 0; e <= static_cast<int>(Error::kTooLarge); ++e) {
        EXPECT_STRNE(describe(static_cast<Error>(e)), "unknown error") << e;
    }
}

}  // namespace
}  // namespace wspush::json
