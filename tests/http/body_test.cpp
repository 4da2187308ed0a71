#include "http/body.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "support/bytes.h"

namespace wspush::http {
namespace {

using wspush::testing::heap_copy;

constexpr uint64_t kBigLimit = 1u << 20;

enum class Mode : uint8_t { kChunked, kLength };

struct Case {
    const char* name;
    Mode mode;
    std::string input;
    BodyStatus status;
    std::string payload;     // decoded so far (kNeedMore, kError) or in full (kDone)
    size_t at = 0;           // kDone: where the body ends; kError: offending byte; kNeedMore: unused
    uint16_t http_status = 0;  // kError
    uint64_t limit = kBigLimit;
    uint64_t length = 0;     // kLength
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

// What one feeding produced, summed over the calls, so feedings can be compared.
struct Outcome {
    BodyStatus status = BodyStatus::kNeedMore;
    std::string payload;
    size_t at = 0;
    uint16_t http_status = 0;
    std::string reason;

    bool operator==(const Outcome&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Outcome& o) {
    return os << "status " << static_cast<int>(o.status) << " at " << o.at << " payload " << o.payload.size()
              << " bytes, " << o.http_status << " " << o.reason;
}

void start(BodyDecoder& d, const Case& c) {
    if (c.mode == Mode::kChunked) {
        d.start_chunked(c.limit);
    } else {
        d.start_length(c.length, c.limit);
    }
}

// Feeds input in pieces ending at each of `ends` (ascending, the last one input.size()),
// each piece in its own exact-size heap block, decoded into an exact-size output block (or
// in place). An empty piece is fed too.
Outcome feed(const Case& c, const std::vector<size_t>& ends, bool in_place = false) {
    BodyDecoder d;
    start(d, c);
    Outcome o;
    size_t begin = 0;
    for (const size_t end : ends) {
        const std::string_view piece = std::string_view(c.input).substr(begin, end - begin);
        auto in = heap_copy(piece);
        auto out = std::make_unique<char[]>(piece.size() + 1);
        char* dst = in_place ? in.get() : out.get();
        const BodyResult r = d.decode(in.get(), piece.size(), dst);
        o.payload.append(dst, r.produced);
        if (r.status == BodyStatus::kNeedMore) {
            EXPECT_EQ(r.consumed, piece.size());
            begin = end;
            continue;
        }
        o.status = r.status;
        o.at = begin + r.consumed;
        if (r.status == BodyStatus::kError) {
            o.http_status = d.error().http_status;
            o.reason = d.error().reason;
        }
        // Once decided, the decoder consumes nothing more and repeats itself.
        const BodyResult again = d.decode(in.get(), piece.size(), dst);
        EXPECT_EQ(again.status, r.status);
        EXPECT_EQ(again.consumed, 0u);
        EXPECT_EQ(again.produced, 0u);
        break;
    }
    EXPECT_EQ(d.size(), o.payload.size());
    return o;
}

const Case kCases[] = {
    // Chunked: accepted.
    {"ChunkedEmpty", Mode::kChunked, "0\r\n\r\n", BodyStatus::kDone, "", 5},
    {"ChunkedOneChunk", Mode::kChunked, "5\r\nhello\r\n0\r\n\r\n", BodyStatus::kDone, "hello", 15},
    {"ChunkedTwoChunks", Mode::kChunked, "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", BodyStatus::kDone, "hello world", 26},
    {"ChunkedHexDigits", Mode::kChunked, "a\r\n0123456789\r\nB\r\nabcdefghijk\r\n0\r\n\r\n", BodyStatus::kDone,
     "0123456789abcdefghijk", 36},
    {"ChunkedLeadingZeros", Mode::kChunked, "0005\r\nhello\r\n000\r\n\r\n", BodyStatus::kDone, "hello", 20},
    {"ChunkedExtensions", Mode::kChunked, "5;name=value\r\nhello\r\n0;last\r\n\r\n", BodyStatus::kDone, "hello", 31},
    {"ChunkedQuotedExtension", Mode::kChunked, "5;a=\"x;y\\\" z\"\r\nhello\r\n0\r\n\r\n", BodyStatus::kDone, "hello",
     27},
    {"ChunkedWhitespaceBeforeExtension", Mode::kChunked, "5 \t; a = b\r\nhello\r\n0\r\n\r\n", BodyStatus::kDone,
     "hello", 24},
    {"ChunkedTrailers", Mode::kChunked, "1\r\nx\r\n0\r\nExpires: never\r\nX-Sum: 1\r\n\r\n", BodyStatus::kDone, "x",
     37},
    {"ChunkedDataHoldsCrlf", Mode::kChunked, "2\r\n\r\n\r\n0\r\n\r\n", BodyStatus::kDone, "\r\n", 12},
    {"ChunkedBinaryData", Mode::kChunked, std::string("3\r\n\0\xff\n\r\n0\r\n\r\n", 13), BodyStatus::kDone,
     std::string("\0\xff\n", 3), 13},
    {"ChunkedNextRequestFollows", Mode::kChunked, "1\r\na\r\n0\r\n\r\nGET / HTTP/1.1\r\n", BodyStatus::kDone, "a", 11},
    {"ChunkedExactlyAtLimit", Mode::kChunked, "a\r\n0123456789\r\n0\r\n\r\n", BodyStatus::kDone, "0123456789", 20, 0,
     10},
    {"ChunkedLargestSizeWithoutLimit", Mode::kChunked, "FFFFFFFFFFFFFFFF\r\nab", BodyStatus::kNeedMore, "ab", 0, 0,
     UINT64_MAX},
    // Chunked: incomplete.
    {"ChunkedNothingYet", Mode::kChunked, "", BodyStatus::kNeedMore, ""},
    {"ChunkedInsideData", Mode::kChunked, "5\r\nhel", BodyStatus::kNeedMore, "hel"},
    {"ChunkedBeforeFinalCrlf", Mode::kChunked, "5\r\nhello\r\n0\r\n", BodyStatus::kNeedMore, "hello"},
    {"ChunkedInsideTrailer", Mode::kChunked, "0\r\nA: b\r\nC", BodyStatus::kNeedMore, ""},
    // Chunked: refused.
    {"SizeMissing", Mode::kChunked, "\r\n", BodyStatus::kError, "", 0, 400},
    {"SizeNotHex", Mode::kChunked, "g\r\n", BodyStatus::kError, "", 0, 400},
    {"SizeNegative", Mode::kChunked, "-5\r\n", BodyStatus::kError, "", 0, 400},
    {"SizePlus", Mode::kChunked, "+5\r\n", BodyStatus::kError, "", 0, 400},
    {"SizeHexPrefix", Mode::kChunked, "0x5\r\nhello", BodyStatus::kError, "", 1, 400},
    {"SizeLeadingSpace", Mode::kChunked, " 5\r\n", BodyStatus::kError, "", 0, 400},
    {"SizeTrailingSpace", Mode::kChunked, "5 \r\nhello", BodyStatus::kError, "", 2, 400},
    {"SizeThenGarbage", Mode::kChunked, "5x\r\nhello", BodyStatus::kError, "", 1, 400},
    {"SizeSecondChunkBad", Mode::kChunked, "1\r\na\r\nz\r\n", BodyStatus::kError, "a", 6, 400},
    {"SizeBareLf", Mode::kChunked, "5\nhello", BodyStatus::kError, "", 1, 400},
    {"SizeBareCr", Mode::kChunked, "5\rhello", BodyStatus::kError, "", 2, 400},
    {"ExtensionBareLf", Mode::kChunked, "5;a\nhello", BodyStatus::kError, "", 3, 400},
    {"ExtensionControlByte", Mode::kChunked, "5;a\x01\r\nhello", BodyStatus::kError, "", 3, 400},
    {"ExtensionDel", Mode::kChunked, "5;a\x7f\r\nhello", BodyStatus::kError, "", 3, 400},
    {"DataTooLong", Mode::kChunked, "5\r\nhelloX\r\n0\r\n\r\n", BodyStatus::kError, "hello", 8, 400},
    {"DataCrWithoutLf", Mode::kChunked, "5\r\nhello\rX", BodyStatus::kError, "hello", 9, 400},
    {"DataBareLf", Mode::kChunked, "5\r\nhello\n0\r\n\r\n", BodyStatus::kError, "hello", 8, 400},
    {"FinalCrWithoutLf", Mode::kChunked, "0\r\n\r\r", BodyStatus::kError, "", 4, 400},
    {"FinalBareLf", Mode::kChunked, "0\r\n\n", BodyStatus::kError, "", 3, 400},
    {"TrailerBareLf", Mode::kChunked, "0\r\nA: b\n\r\n", BodyStatus::kError, "", 7, 400},
    {"TrailerControlByte", Mode::kChunked, "0\r\nA: \x01\r\n\r\n", BodyStatus::kError, "", 6, 400},
    {"TrailerCrWithoutLf", Mode::kChunked, "0\r\nA: b\rX", BodyStatus::kError, "", 8, 400},
    {"SizeOverflow", Mode::kChunked, "10000000000000000\r\n", BodyStatus::kError, "", 16, 400, UINT64_MAX},
    {"SizeOverLimit", Mode::kChunked, "b\r\n0123456789a\r\n", BodyStatus::kError, "", 0, 413, 10},
    {"SizeOverLimitOnSecondDigit", Mode::kChunked, "1a\r\n", BodyStatus::kError, "", 1, 413, 16},
    {"ChunksOverLimitTogether", Mode::kChunked, "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", BodyStatus::kError, "hello",
     10, 413, 10},
    {"SizeLineTooLong", Mode::kChunked, std::string(4096, '0') + "5\r\nhello\r\n", BodyStatus::kError, "", 4096, 400},
    {"ExtensionTooLong", Mode::kChunked, "5;" + std::string(5000, 'a') + "\r\nhello\r\n", BodyStatus::kError, "",
     4096, 400},
    {"TrailersTooLarge", Mode::kChunked, "0\r\nA: " + std::string(9000, 'b') + "\r\n\r\n", BodyStatus::kError, "",
     3 + 8192, 400},
    // Content-Length.
    {"LengthZero", Mode::kLength, "", BodyStatus::kDone, "", 0, 0, kBigLimit, 0},
    {"LengthZeroNextRequestFollows", Mode::kLength, "GET", BodyStatus::kDone, "", 0, 0, kBigLimit, 0},
    {"LengthExact", Mode::kLength, "hello", BodyStatus::kDone, "hello", 5, 0, kBigLimit, 5},
    {"LengthNextRequestFollows", Mode::kLength, "helloGET /", BodyStatus::kDone, "hello", 5, 0, kBigLimit, 5},
    {"LengthShort", Mode::kLength, "hel", BodyStatus::kNeedMore, "hel", 0, 0, kBigLimit, 5},
    {"LengthAtLimit", Mode::kLength, "0123456789", BodyStatus::kDone, "0123456789", 10, 0, 10, 10},
    {"LengthOverLimit", Mode::kLength, "0123456789a", BodyStatus::kError, "", 0, 413, 10, 11},
};

class BodyCases : public ::testing::TestWithParam<Case> {};

Outcome expected(const Case& c) {
    Outcome o;
    o.status = c.status;
    o.payload = c.payload;
    o.at = c.status == BodyStatus::kNeedMore ? 0 : c.at;
    o.http_status = c.http_status;
    return o;
}

TEST_P(BodyCases, Whole) {
    const Case& c = GetParam();
    Outcome got = feed(c, {c.input.size()});
    EXPECT_FALSE(c.status == BodyStatus::kError && got.reason.empty());
    got.reason.clear();
    EXPECT_EQ(got, expected(c));
}

TEST_P(BodyCases, WholeInPlace) {
    const Case& c = GetParam();
    EXPECT_EQ(feed(c, {c.input.size()}, true), feed(c, {c.input.size()}));
}

TEST_P(BodyCases, ByteByByte) {
    const Case& c = GetParam();
    std::vector<size_t> ends;
    for (size_t n = 0; n <= c.input.size(); ++n) ends.push_back(n);
    EXPECT_EQ(feed(c, ends), feed(c, {c.input.size()}));
    EXPECT_EQ(feed(c, ends, true), feed(c, {c.input.size()}));
}

TEST_P(BodyCases, EverySplit) {
    const Case& c = GetParam();
    const Outcome whole = feed(c, {c.input.size()});
    for (size_t cut = 0; cut <= c.input.size(); ++cut) {
        ASSERT_EQ(feed(c, {cut, c.input.size()}), whole) << "cut=" << cut;
    }
}

INSTANTIATE_TEST_SUITE_P(Table, BodyCases, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

// A random payload in random chunks, with extensions and trailers now and then, decoded
// under random splits, whole and in place.
TEST(BodyDecoder, RandomChunkingRoundTrips) {
    std::mt19937 rng(9112);
    for (int round = 0; round < 200; ++round) {
        std::string payload(rng() % 3000, '\0');
        for (char& ch : payload) ch = static_cast<char>(rng());
        std::string wire;
        for (size_t pos = 0; pos < payload.size();) {
            const size_t n = std::min<size_t>(payload.size() - pos, 1 + rng() % 700);
            char size[32];
            std::snprintf(size, sizeof size, rng() % 2 ? "%zx" : "%zX", n);
            wire += size;
            if (rng() % 4 == 0) wire += ";ext=\"v\"";
            wire += "\r\n" + payload.substr(pos, n) + "\r\n";
            pos += n;
        }
        wire += rng() % 3 == 0 ? "0\r\nX-Trailer: t\r\n\r\n" : "0\r\n\r\n";
        const Case c{"random", Mode::kChunked, wire, BodyStatus::kDone, payload, wire.size()};
        std::vector<size_t> ends;
        for (size_t e = 0; e < wire.size(); e += rng() % 200) ends.push_back(e);
        ends.push_back(wire.size());
        const Outcome want = expected(c);
        ASSERT_EQ(feed(c, ends), want) << "round " << round;
        ASSERT_EQ(feed(c, ends, true), want) << "round " << round;
    }
}

// A limit error comes from the size line, before any byte of the oversized chunk.
TEST(BodyDecoder, LimitDecidedBeforeChunkData) {
    BodyDecoder d;
    d.start_chunked(20000);
    const std::string head = "4e21\r\n";  // 20001
    std::string buf = head;
    const BodyResult r = d.decode(buf.data(), buf.size(), buf.data());
    EXPECT_EQ(r.status, BodyStatus::kError);
    EXPECT_EQ(r.consumed, 3u);
    EXPECT_EQ(d.error().http_status, 413);
    EXPECT_STREQ(d.error().reason, "request body too large");
}

// start(): framing chosen from request heads (RFC 9112 section 6.3).
struct HeadCase {
    const char* name;
    std::string headers;  // header lines after the request line, each ending in CRLF
    bool ok;
    uint16_t http_status;  // !ok
    std::string body = "";     // ok: a body for the framing chosen
    std::string payload = "";  // ok: what it decodes to
    int minor = 1;
};

void PrintTo(const HeadCase& c, std::ostream* os) { *os << c.name; }

const HeadCase kHeads[] = {
    {"NoBody", "", true, 0, "", ""},
    {"ContentLength", "Content-Length: 5\r\n", true, 0, "hello", "hello"},
    {"ContentLengthZero", "Content-Length: 0\r\n", true, 0, "", ""},
    {"ContentLengthLeadingZeros", "Content-Length: 005\r\n", true, 0, "hello", "hello"},
    {"ContentLengthHttp10", "Content-Length: 2\r\n", true, 0, "hi", "hi", 0},
    {"Chunked", "Transfer-Encoding: chunked\r\n", true, 0, "2\r\nhi\r\n0\r\n\r\n", "hi"},
    {"ChunkedAnyCase", "transfer-encoding: ChUnKeD\r\n", true, 0, "2\r\nhi\r\n0\r\n\r\n", "hi"},
    {"ContentLengthOverLimit", "Content-Length: 21\r\n", false, 413},
    {"ContentLengthTwice", "Content-Length: 5\r\nContent-Length: 5\r\n", false, 400},
    {"ContentLengthList", "Content-Length: 5, 5\r\n", false, 400},
    {"ContentLengthNegative", "Content-Length: -1\r\n", false, 400},
    {"ContentLengthPlus", "Content-Length: +5\r\n", false, 400},
    {"ContentLengthHex", "Content-Length: 0x5\r\n", false, 400},
    {"ContentLengthEmpty", "Content-Length: \r\n", false, 400},
    {"ContentLengthOverflow", "Content-Length: 18446744073709551616\r\n", false, 400},
    {"BothFramings", "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", false, 400},
    {"BothFramingsOtherOrder", "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", false, 400},
    {"ChunkedInHttp10", "Transfer-Encoding: chunked\r\n", false, 400, "", "", 0},
    {"ChunkedNotLast", "Transfer-Encoding: chunked, gzip\r\n", false, 400},
    {"Identity", "Transfer-Encoding: identity\r\n", false, 400},
    {"ChunkedTwice", "Transfer-Encoding: chunked, chunked\r\n", false, 400},
    {"ChunkedTwiceOverTwoLines", "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", false, 400},
    {"GzipThenChunked", "Transfer-Encoding: gzip, chunked\r\n", false, 501},
    {"GzipThenChunkedOverTwoLines", "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n", false, 501},
    {"ChunkedWithParameter", "Transfer-Encoding: chunked;q=1\r\n", false, 400},
};

class BodyStart : public ::testing::TestWithParam<HeadCase> {};

TEST_P(BodyStart, ChoosesFraming) {
    const HeadCase& c = GetParam();
    const std::string head = std::string("POST /robot/send HTTP/1.") + static_cast<char>('0' + c.minor) +
                             "\r\nHost: gw\r\n" + c.headers + "\r\n";
    Request req;
    const ParseResult pr = parse_request(head.data(), head.size(), 0, req);
    ASSERT_EQ(pr.status, ParseStatus::kDone) << pr.reason;
    BodyDecoder d;
    const bool ok = d.start(req, 20);
    ASSERT_EQ(ok, c.ok) << d.error().reason;
    if (!ok) {
        EXPECT_EQ(d.error().http_status, c.http_status) << d.error().reason;
        std::string none = "x";
        EXPECT_EQ(d.decode(none.data(), 1, none.data()).status, BodyStatus::kError);
        return;
    }
    std::string body = c.body;
    const BodyResult r = d.decode(body.data(), body.size(), body.data());
    EXPECT_EQ(r.status, BodyStatus::kDone);
    EXPECT_EQ(r.consumed, c.body.size());
    EXPECT_EQ(body.substr(0, r.produced), c.payload);
}

INSTANTIATE_TEST_SUITE_P(Rfc9112, BodyStart, ::testing::ValuesIn(kHeads),
                         [](const auto& info) { return std::string(info.param.name); });

// A decoder can be started again for the next request on the connection.
TEST(BodyDecoder, RestartsForTheNextRequest) {
    BodyDecoder d;
    d.start_chunked(100);
    std::string a = "3\r\nabc\r\n0\r\n\r\n";
    ASSERT_EQ(d.decode(a.data(), a.size(), a.data()).status, BodyStatus::kDone);
    d.start_length(2, 100);
    EXPECT_EQ(d.size(), 0u);
    std::string b = "hi";
    const BodyResult r = d.decode(b.data(), b.size(), b.data());
    EXPECT_EQ(r.status, BodyStatus::kDone);
    EXPECT_EQ(d.size(), 2u);
}

}  // namespace
}  // namespace wspush::http
