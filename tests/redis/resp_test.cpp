// The RESP parser against every type, fed whole, byte by byte, at every split point and in
// random pieces (each piece an exact-size heap copy, so ASan sees a read past it); against
// each bound, just under and just over; against garbage. The encoder round-trips through it.
#include "redis/resp.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "redis/describe.h"
#include "support/bytes.h"

namespace wspush::redis {
namespace {

using testing::heap_copy;

struct Outcome {
    std::vector<std::string> replies;  // describe() of each complete reply
    std::vector<std::string> raws;     // each reply's bytes
    std::string error;                 // set on kError
    bool pending = false;              // ended inside a reply
};

// Feeds `in` cut at `ends` (increasing offsets, the last in.size()), each piece an exact
// heap copy; collects every reply.
Outcome feed_pieces(std::string_view in, const std::vector<size_t>& ends, const RespLimits& limits = {}) {
    RespParser p(limits);
    Outcome o;
    size_t start = 0;
    for (size_t end : ends) {
        const auto piece = heap_copy(in.substr(start, end - start));
        const size_t n = end - start;
        size_t pos = 0;
        do {
            size_t used = 0;
            const Parse r = p.feed(piece.get() + pos, n - pos, used);
            EXPECT_LE(used, n - pos);
            pos += used;
            if (r == Parse::kError) {
                o.error = p.error();
                return o;
            }
            if (r == Parse::kNeedMore) {
                EXPECT_EQ(pos, n) << "kNeedMore must take every byte";
                break;
            }
            o.replies.push_back(describe(p.reply()));
            o.raws.emplace_back(p.raw());
        } while (pos < n);
        start = end;
    }
    o.pending = p.mid_reply();
    return o;
}

Outcome feed_whole(std::string_view in, const RespLimits& limits = {}) { return feed_pieces(in, {in.size()}, limits); }

struct Case {
    const char* name;
    std::string bytes;
    std::string expect;  // describe() of the single reply
};

std::vector<Case> cases() {
    return {
        {"Simple", "+OK\r\n", "+OK"},
        {"SimpleEmpty", "+\r\n", "+"},
        {"Error", "-ERR unknown command 'FOO'\r\n", "-ERR unknown command 'FOO'"},
        {"Integer", ":1000\r\n", ":1000"},
        {"IntegerNegative", ":-42\r\n", ":-42"},
        {"IntegerMax", ":9223372036854775807\r\n", ":9223372036854775807"},
        {"IntegerMin", ":-9223372036854775808\r\n", ":-9223372036854775808"},
        {"Bulk", "$5\r\nhello\r\n", "\"hello\""},
        {"BulkEmpty", "$0\r\n\r\n", "\"\""},
        {"BulkBinary", std::string("$6\r\na\r\n\0b\n\r\n", 12), "\"a\\x0d\\x0a\\x00b\\x0a\""},
        {"BulkNullResp2", "$-1\r\n", "null"},
        {"ArrayNullResp2", "*-1\r\n", "null"},
        {"ArrayEmpty", "*0\r\n", "[]"},
        {"Array", "*3\r\n:1\r\n$3\r\nfoo\r\n+bar\r\n", "[:1, \"foo\", +bar]"},
        {"ArrayNested", "*2\r\n*2\r\n:1\r\n:2\r\n*1\r\n*0\r\n", "[[:1, :2], [[]]]"},
        {"ArrayWithNulls", "*3\r\n$-1\r\n_\r\n*-1\r\n", "[null, null, null]"},
        {"Null", "_\r\n", "null"},
        {"BooleanTrue", "#t\r\n", "true"},
        {"BooleanFalse", "#f\r\n", "false"},
        {"Double", ",3.14\r\n", ",3.14"},
        {"DoubleExponent", ",-1.5e-10\r\n", ",-1.5e-10"},
        {"DoubleInf", ",inf\r\n", ",inf"},
        {"DoubleMinusInf", ",-inf\r\n", ",-inf"},
        {"DoubleNan", ",nan\r\n", ",nan"},
        {"BigNumber", "(3492890328409238509324850943850943825024385\r\n", "(3492890328409238509324850943850943825024385"},
        {"BlobError", "!21\r\nSYNTAX invalid syntax\r\n", "-SYNTAX invalid syntax"},
        {"Verbatim", "=15\r\ntxt:Some string\r\n", "=txt:\"Some string\""},
        {"VerbatimEmpty", "=4\r\nmkd:\r\n", "=mkd:\"\""},
        {"Map", "%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n", "{+first: :1, +second: :2}"},
        {"MapEmpty", "%0\r\n", "{}"},
        {"Set", "~3\r\n+a\r\n+b\r\n#t\r\n", "~[+a, +b, true]"},
        {"Push", ">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n", ">[\"message\", \"news\", \"hello\"]"},
        {"Hello3",
         "%3\r\n$6\r\nserver\r\n$5\r\nredis\r\n$5\r\nproto\r\n:3\r\n$7\r\nmodules\r\n*0\r\n",
         "{\"server\": \"redis\", \"proto\": :3, \"modules\": []}"},
        {"AttributeSkipped",
         "|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n,0.0012\r\n*2\r\n:2039123\r\n:9543892\r\n",
         "[:2039123, :9543892]"},
        {"AttributeInsideArray", "*2\r\n:1\r\n|1\r\n+ttl\r\n:3600\r\n:2\r\n", "[:1, :2]"},
        {"AttributeEmpty", "|0\r\n+OK\r\n", "+OK"},
        {"AttributeNested", "|1\r\n|1\r\n+a\r\n+b\r\n+c\r\n+d\r\n+OK\r\n", "+OK"},
        {"Everything",
         "*4\r\n%1\r\n~1\r\n#f\r\n>1\r\n_\r\n=5\r\ntxt:x\r\n(-1\r\n!1\r\nE\r\n",
         "[{~[false]: >[null]}, =txt:\"x\", (-1, -E]"},
    };
}

class RespParseTest : public ::testing::TestWithParam<Case> {};

TEST_P(RespParseTest, Whole) {
    const Case& c = GetParam();
    Outcome o = feed_whole(c.bytes);
    EXPECT_EQ(o.error, "");
    ASSERT_EQ(o.replies.size(), 1u);
    EXPECT_EQ(o.replies[0], c.expect);
    EXPECT_EQ(o.raws[0], c.bytes);
    EXPECT_FALSE(o.pending);
}

TEST_P(RespParseTest, ByteByByte) {
    const Case& c = GetParam();
    std::vector<size_t> ends;
    for (size_t i = 1; i <= c.bytes.size(); ++i) ends.push_back(i);
    Outcome o = feed_pieces(c.bytes, ends);
    ASSERT_EQ(o.replies.size(), 1u) << o.error;
    EXPECT_EQ(o.replies[0], c.expect);
}

TEST_P(RespParseTest, EverySplitPoint) {
    const Case& c = GetParam();
    for (size_t cut = 0; cut <= c.bytes.size(); ++cut) {
        Outcome o = feed_pieces(c.bytes, {cut, c.bytes.size()});
        ASSERT_EQ(o.replies.size(), 1u) << "cut at " << cut << ": " << o.error;
        EXPECT_EQ(o.replies[0], c.expect) << "cut at " << cut;
    }
}

TEST_P(RespParseTest, Prefixes) {
    // Every proper prefix wants more, and says so without an error.
    const Case& c = GetParam();
    for (size_t n = 1; n < c.bytes.size(); ++n) {
        Outcome o = feed_whole(std::string_view(c.bytes).substr(0, n));
        EXPECT_EQ(o.error, "") << "prefix " << n;
        EXPECT_TRUE(o.replies.empty()) << "prefix " << n;
        EXPECT_TRUE(o.pending) << "prefix " << n;
    }
}

INSTANTIATE_TEST_SUITE_P(RespTypes, RespParseTest, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& i) { return std::string(i.param.name); });

TEST(RespParser, StreamOfEveryTypeInRandomPieces) {
    std::string stream;
    std::vector<std::string> expect;
    for (const Case& c : cases()) {
        stream += c.bytes;
        expect.push_back(c.expect);
    }
    std::mt19937 rng(1234);
    for (int round = 0; round < 200; ++round) {
        std::vector<size_t> ends;
        for (size_t e = 0; e < stream.size();) {
            e += rng() % 40;
            ends.push_back(std::min(e, stream.size()));
        }
        ends.push_back(stream.size());
        Outcome o = feed_pieces(stream, ends);
        ASSERT_EQ(o.error, "") << "round " << round;
        ASSERT_EQ(o.replies, expect) << "round " << round;
    }
}

TEST(RespParser, StopsAtTheEndOfTheFirstReply) {
    RespParser p;
    const std::string in = "+A\r\n:2\r\n$1\r\nx";
    size_t used = 0;
    ASSERT_EQ(p.feed(in.data(), in.size(), used), Parse::kDone);
    EXPECT_EQ(used, 4u);
    EXPECT_EQ(p.reply().str(), "A");
    size_t used2 = 0;
    ASSERT_EQ(p.feed(in.data() + used, in.size() - used, used2), Parse::kDone);
    EXPECT_EQ(used2, 4u);
    EXPECT_EQ(p.reply().integer(), 2);
    size_t used3 = 0;
    EXPECT_EQ(p.feed(in.data() + 8, in.size() - 8, used3), Parse::kNeedMore);
    EXPECT_EQ(used3, in.size() - 8);
    EXPECT_TRUE(p.mid_reply());
    const std::string rest = "\r\n";
    EXPECT_EQ(p.feed(rest.data(), rest.size(), used3), Parse::kDone);
    EXPECT_EQ(p.reply().str(), "x");
}

TEST(RespParser, ValueAccessors) {
    RespParser p;
    const std::string in = "*4\r\n$3\r\nGeT\r\n,2.5\r\n%1\r\n+k\r\n*2\r\n:7\r\n:8\r\n#t\r\n";
    size_t used = 0;
    ASSERT_EQ(p.feed(in.data(), in.size(), used), Parse::kDone);
    const Value v = p.reply();
    EXPECT_TRUE(v.is_aggregate());
    ASSERT_EQ(v.size(), 4u);
    EXPECT_TRUE(v.at(0).is("get"));
    EXPECT_FALSE(v.at(0).is("ge"));
    EXPECT_DOUBLE_EQ(v.at(1).number(), 2.5);
    EXPECT_EQ(v.at(2).type(), Type::kMap);
    EXPECT_EQ(v.at(2).size(), 2u);
    EXPECT_EQ(v.at(2).at(1).at(1).integer(), 8);
    EXPECT_TRUE(v.at(3).boolean());
    EXPECT_EQ(v.at(3).size(), 0u);
    EXPECT_STREQ(type_name(v.at(2).type()), "map");
}

// ---- bounds ----------------------------------------------------------------------------

TEST(RespParser, BulkLengthBound) {
    RespLimits l;
    l.max_bulk = 10;
    EXPECT_EQ(feed_whole("$10\r\n0123456789\r\n", l).replies.size(), 1u);
    EXPECT_EQ(feed_whole("$11\r\n", l).error, "bulk string longer than the limit");
    EXPECT_EQ(feed_whole("!11\r\n", l).error, "bulk string longer than the limit");
    EXPECT_EQ(feed_whole("=11\r\n", l).error, "bulk string longer than the limit");
    // Refused at the header: nothing of the payload is waited for.
    EXPECT_EQ(feed_whole("$99999999999\r\n").error, "bulk string longer than the limit");
}

TEST(RespParser, ElementsBound) {
    RespLimits l;
    l.max_elements = 4;
    EXPECT_EQ(feed_whole("*4\r\n:1\r\n:2\r\n:3\r\n:4\r\n", l).replies.size(), 1u);
    EXPECT_EQ(feed_whole("*5\r\n", l).error, "aggregate with more elements than the limit");
    EXPECT_EQ(feed_whole("~5\r\n", l).error, "aggregate with more elements than the limit");
    EXPECT_EQ(feed_whole(">5\r\n", l).error, "aggregate with more elements than the limit");
    EXPECT_EQ(feed_whole("%2\r\n:1\r\n:2\r\n:3\r\n:4\r\n", l).replies.size(), 1u);
    EXPECT_EQ(feed_whole("%3\r\n", l).error, "aggregate with more elements than the limit");
    EXPECT_EQ(feed_whole("|3\r\n", l).error, "aggregate with more elements than the limit");
    EXPECT_EQ(feed_whole("*4294967297\r\n").error, "aggregate with more elements than the limit");
    // A map's or attribute's count is doubled into elements: the largest counts must not overflow into
    // a negative (or empty) aggregate.
    EXPECT_EQ(feed_whole("%9223372036854775807\r\n").error, "aggregate with more elements than the limit");
    EXPECT_EQ(feed_whole("|9223372036854775807\r\n").error, "aggregate with more elements than the limit");
    EXPECT_EQ(feed_whole("%4611686018427387904\r\n").error, "aggregate with more elements than the limit");
}

TEST(RespParser, DepthBound) {
    RespLimits l;
    l.max_depth = 3;
    EXPECT_EQ(feed_whole("*1\r\n*1\r\n*1\r\n:1\r\n", l).replies.size(), 1u);
    EXPECT_EQ(feed_whole("*1\r\n*1\r\n*1\r\n*1\r\n", l).error, "aggregates nested deeper than the limit");
    EXPECT_EQ(feed_whole("*1\r\n%1\r\n|1\r\n+a\r\n*1\r\n", l).error, "aggregates nested deeper than the limit");
    // Empty aggregates open nothing.
    EXPECT_EQ(feed_whole("*1\r\n*1\r\n*1\r\n*0\r\n", l).replies.size(), 1u);
    // The default depth: deep nesting from a hostile peer ends in an error, not a stack.
    std::string deep;
    for (int i = 0; i < 100000; ++i) deep += "*1\r\n";
    EXPECT_EQ(feed_whole(deep).error, "aggregates nested deeper than the limit");
}

TEST(RespParser, ReplyBytesBound) {
    RespLimits l;
    l.max_reply = 20;
    const std::string twenty = "*2\r\n$1\r\na\r\n$3\r\nbcd\r\n";  // 20 bytes
    ASSERT_EQ(twenty.size(), 20u);
    EXPECT_EQ(feed_whole(twenty, l).replies.size(), 1u);
    EXPECT_EQ(feed_whole("*2\r\n$1\r\na\r\n$4\r\nbcde\r\n", l).error, "reply longer than the limit");
    // Attributes count.
    EXPECT_EQ(feed_whole("|1\r\n+aaaaaaaaaa\r\n+b\r\n+OK\r\n", l).error, "reply longer than the limit");
    // The bound is per reply: many replies within it pass.
    std::string many;
    for (int i = 0; i < 100; ++i) many += twenty;
    EXPECT_EQ(feed_whole(many, l).replies.size(), 100u);
}

TEST(RespParser, LineBound) {
    std::string at_limit = "+" + std::string(RespParser::kMaxLine, 'a') + "\r\n";
    EXPECT_EQ(feed_whole(at_limit).replies.size(), 1u);
    std::string over = "+" + std::string(RespParser::kMaxLine + 2, 'a');
    EXPECT_EQ(feed_whole(over).error, "line longer than the limit");
    // Fed in pieces, the line is refused as soon as it passes the bound.
    std::vector<size_t> ends;
    for (size_t e = 1000; e < over.size(); e += 1000) ends.push_back(e);
    ends.push_back(over.size());
    EXPECT_EQ(feed_pieces(over, ends).error, "line longer than the limit");
}

TEST(RespParser, StaysFailedUntilReset) {
    RespParser p;
    size_t used = 0;
    ASSERT_EQ(p.feed("?", 1, used), Parse::kError);
    EXPECT_EQ(p.feed("+OK\r\n", 5, used), Parse::kError);
    p.reset();
    EXPECT_EQ(p.feed("+OK\r\n", 5, used), Parse::kDone);
    EXPECT_EQ(p.reply().str(), "OK");
}

// ---- garbage ---------------------------------------------------------------------------

struct Bad {
    const char* bytes;
    const char* error;
};

TEST(RespParser, RefusesGarbage) {
    const Bad bad[] = {
        {"?", "not a RESP type byte"},
        {"OK\r\n", "not a RESP type byte"},
        {"\r\n", "not a RESP type byte"},
        {"+OK\n", "line not ended by CRLF"},
        {"+O\rK\r\n", "CR inside a line"},
        {":\r\n", "malformed integer"},
        {":12a\r\n", "malformed integer"},
        {":+1\r\n", "malformed integer"},
        {": 1\r\n", "malformed integer"},
        {":9223372036854775808\r\n", "malformed integer"},
        {":-9223372036854775809\r\n", "malformed integer"},
        {":12345678901234567890\r\n", "malformed integer"},
        {"$\r\n", "malformed length"},
        {"$-2\r\n", "malformed length"},
        {"$x\r\n", "malformed length"},
        {"!-1\r\n", "malformed length"},
        {"$?\r\n", "streamed strings are not supported"},
        {"*?\r\n", "streamed aggregates are not supported"},
        {"*-2\r\n", "malformed element count"},
        {"%-1\r\n", "malformed element count"},
        {"$3\r\nabcd\r\n", "string not ended by CRLF"},
        {"$3\r\nab\r\n\r\n", "string not ended by CRLF"},
        {"_x\r\n", "malformed null"},
        {"#x\r\n", "malformed boolean"},
        {"#tt\r\n", "malformed boolean"},
        {",\r\n", "malformed double"},
        {",1.5x\r\n", "malformed double"},
        {",0x10\r\n", "malformed double"},
        {",infinity\r\n", "malformed double"},
        {", 1\r\n", "malformed double"},
        {",1e\r\n", "malformed double"},
        {"(\r\n", "malformed big number"},
        {"(12x\r\n", "malformed big number"},
        {"=3\r\n", "verbatim string without a format"},
        {"=5\r\ntxt;x\r\n", "verbatim string without a format"},
        {"*1\r\nfoo\r\n", "not a RESP type byte"},
    };
    for (const Bad& b : bad) {
        Outcome o = feed_whole(b.bytes);
        EXPECT_EQ(o.error, b.error) << "input: " << testing::to_hex(std::string_view(b.bytes));
        EXPECT_TRUE(o.replies.empty()) << b.bytes;
    }
    // A NUL type byte.
    EXPECT_EQ(feed_whole(std::string_view("\0\r\n", 3)).error, "not a RESP type byte");
}

TEST(RespParser, RandomGarbageNeverCrashesOrOverreads) {
    // Random bytes from the RESP alphabet, whole and in pieces: the same verdict and replies.
    const std::string alphabet = "+-:$*_#,(!=%~>|0123456789-?.etfinaxtx:\r\n\r\n";
    std::mt19937 rng(99);
    for (int round = 0; round < 2000; ++round) {
        std::string in;
        const size_t len = rng() % 64;
        for (size_t i = 0; i < len; ++i) in += alphabet[rng() % alphabet.size()];
        Outcome whole = feed_whole(in);
        std::vector<size_t> ends;
        for (size_t e = 0; e < in.size();) {
            e += rng() % 5;
            ends.push_back(std::min(e, in.size()));
        }
        ends.push_back(in.size());
        Outcome pieces = feed_pieces(in, ends);
        EXPECT_EQ(pieces.replies, whole.replies) << testing::to_hex(in);
        EXPECT_EQ(pieces.error, whole.error) << testing::to_hex(in);
    }
}

// ---- encoder ---------------------------------------------------------------------------

TEST(RespEncoder, KnownAnswer) {
    const std::string_view args[] = {"SET", "key", ""};
    char buf[64];
    const size_t n = encode_command(args, buf, sizeof buf);
    EXPECT_EQ(std::string_view(buf, n), "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$0\r\n\r\n");
}

TEST(RespEncoder, SizesWithoutWritingWhenTooSmall) {
    const std::string_view args[] = {"PING"};
    char buf[14];
    memset(buf, 'z', sizeof buf);
    EXPECT_EQ(encode_command(args, nullptr, 0), 14u);
    EXPECT_EQ(encode_command(args, buf, 13), 14u);
    EXPECT_EQ(std::string_view(buf, 14), std::string(14, 'z'));
    EXPECT_EQ(encode_command(args, buf, 14), 14u);
    EXPECT_EQ(std::string_view(buf, 14), "*1\r\n$4\r\nPING\r\n");
}

TEST(RespEncoder, RoundTripsThroughTheParser) {
    std::mt19937 rng(7);
    for (int round = 0; round < 300; ++round) {
        std::vector<std::string> words(1 + rng() % 12);
        for (std::string& w : words) {
            const size_t len = rng() % 3 == 0 ? rng() % 2000 : rng() % 12;
            for (size_t i = 0; i < len; ++i) w += static_cast<char>(rng());  // any byte, CRLF and NUL too
        }
        std::vector<std::string_view> args(words.begin(), words.end());
        const size_t n = encode_command(args, nullptr, 0);
        std::string buf(n, '\0');
        ASSERT_EQ(encode_command(args, buf.data(), n), n);
        RespParser p;
        size_t used = 0;
        ASSERT_EQ(p.feed(buf.data(), buf.size(), used), Parse::kDone);
        ASSERT_EQ(used, n);
        const Value v = p.reply();
        ASSERT_EQ(v.type(), Type::kArray);
        ASSERT_EQ(v.size(), words.size());
        for (size_t i = 0; i < words.size(); ++i) {
            EXPECT_EQ(v.at(i).type(), Type::kBulk);
            EXPECT_EQ(v.at(i).str(), words[i]);
        }
    }
}

}  // namespace
}  // namespace wspush::redis
