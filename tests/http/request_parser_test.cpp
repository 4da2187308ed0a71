#include "http/request_parser.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace wspush::http {
namespace {

// What one feeding of an input produced, copied out of the (freed) buffers so that feedings
// can be compared.
struct Parsed {
    ParseStatus status = ParseStatus::kNeedMore;
    uint16_t http_status = 0;
    uint32_t consumed = 0;
    std::string reason;
    std::string method;
    std::string target;
    int minor_version = -1;
    std::vector<std::pair<std::string, std::string>> headers;
    size_t decided_at = 0;  // buffer length of the call that did not return kNeedMore

    bool operator==(const Parsed&) const = default;
};

// Calls parse_request on input[0, lens[i]) for each i, with last_len the previous length,
// each time on a fresh heap copy of exactly that many bytes so ASan reports a read past len.
// Stops at the first answer other than kNeedMore.
Parsed feed(const std::string& input, const std::vector<size_t>& lens) {
    Parsed p;
    size_t last_len = 0;
    for (const size_t len : lens) {
        auto buf = std::make_unique<char[]>(len);
        std::memcpy(buf.get(), input.data(), len);
        Request req;
        const ParseResult r = parse_request(buf.get(), len, last_len, req);
        last_len = len;
        if (r.status == ParseStatus::kNeedMore) continue;
        p.status = r.status;
        p.http_status = r.http_status;
        p.consumed = r.consumed;
        p.reason = r.reason;
        p.decided_at = len;
        if (r.status == ParseStatus::kDone) {
            p.method = req.method;
            p.target = req.target;
            p.minor_version = req.minor_version;
            for (size_t i = 0; i < req.num_headers; ++i) {
                p.headers.emplace_back(req.headers[i].name, req.headers[i].value);
                EXPECT_GE(req.headers[i].name.data(), buf.get());
                EXPECT_LE(req.headers[i].value.data() + req.headers[i].value.size(),
                          buf.get() + r.consumed);
            }
        }
        break;
    }
    return p;
}

std::vector<size_t> byte_by_byte(size_t n) {
    std::vector<size_t> lens;
    for (size_t len = 1; len <= n; ++len) lens.push_back(len);
    return lens;
}

struct ParseCase {
    std::string name;
    std::string input;
    ParseStatus status = ParseStatus::kNeedMore;
    size_t num_headers = 0;   // kDone
    size_t consumed = 0;      // kDone; 0: the whole input
    uint16_t http_status = 0; // kError
    std::string reason;       // kError
    size_t decided_at = 0;    // kError: shortest prefix that decides; 0: the whole input
};

void PrintTo(const ParseCase& c, std::ostream* os) { *os << c.name; }

constexpr auto kDone = ParseStatus::kDone;
constexpr auto kError = ParseStatus::kError;
constexpr auto kNeedMore = ParseStatus::kNeedMore;

ParseCase done(std::string name, std::string input, size_t num_headers, size_t consumed = 0) {
    ParseCase c;
    c.name = std::move(name);
    c.input = std::move(input);
    c.status = kDone;
    c.num_headers = num_headers;
    c.consumed = consumed;
    return c;
}

ParseCase need_more(std::string name, std::string input) {
    ParseCase c;
    c.name = std::move(name);
    c.input = std::move(input);
    c.status = kNeedMore;
    return c;
}

ParseCase error(std::string name, std::string input, uint16_t http_status, std::string reason,
                size_t decided_at = 0) {
    ParseCase c;
    c.name = std::move(name);
    c.input = std::move(input);
    c.status = kError;
    c.http_status = http_status;
    c.reason = std::move(reason);
    c.decided_at = decided_at;
    return c;
}

const std::string kGetLine = "GET /ws/news?x=1 HTTP/1.1\r\n";

// "X-Hn: v\r\n" lines, n from 0.
std::string numbered_headers(size_t n) {
    std::string s;
    for (size_t i = 0; i < n; ++i) s += "X-H" + std::to_string(i) + ": v\r\n";
    return s;
}

// A complete head of exactly `size` bytes: one header whose value pads it out.
std::string head_of_size(size_t size) {
    const std::string start = kGetLine + "X-Pad: ";
    return start + std::string(size - start.size() - 4, 'p') + "\r\n\r\n";
}

std::vector<ParseCase> parse_cases() {
    const std::string simple = kGetLine + "Host: a\r\n\r\n";
    const std::string bad_name = "invalid header name";
    const std::string bad_target = "invalid request-target";
    const std::string bad_version = "invalid HTTP version";
    const std::string ctl = "control character in head";
    const std::string too_large = "request head too large";
    return {
        done("Simple", simple, 1),
        done("NoHeaders", "GET / HTTP/1.1\r\n\r\n", 0),
        done("BareLfLineEnds", "GET / HTTP/1.1\nHost: a\n\n", 1),
        done("MixedLineEnds", "GET / HTTP/1.1\r\nHost: a\n\r\n", 1),
        done("CrlfThenBareLf", "GET / HTTP/1.1\r\nHost: a\r\n\n", 1),
        done("Http10", "GET / HTTP/1.0\r\n\r\n", 0),
        done("PipelinedBytesStayUnread", simple + "GET /next HTTP/1.1\r\n\r\n", 1,
             simple.size()),
        done("EarlyFrameBytesStayUnread", simple + "\x81\x80\x01\x02\x03\x04", 1, simple.size()),
        done("EmptyValues", "GET / HTTP/1.1\r\nX-Empty:\r\nX-Spaces:  \t \r\n\r\n", 2),
        done("ObsTextInValue", "GET / HTTP/1.1\r\nX-Name: J\xc3\xbcrgen\r\n\r\n", 1),
        done("ExactlyMaxHeaders", kGetLine + numbered_headers(kMaxHeaders) + "\r\n", kMaxHeaders),
        done("HeadExactlyAtLimit", head_of_size(kMaxHeadBytes), 1),
        need_more("Incomplete", kGetLine + "Host: a\r\n"),
        need_more("IncompleteAfterCr", kGetLine + "Host: a\r\n\r"),
        error("TooManyHeaders", kGetLine + numbered_headers(kMaxHeaders + 1) + "\r\n", 431,
              "too many headers"),
        error("HeadOneOverLimit", head_of_size(kMaxHeadBytes + 1), 431, too_large, kMaxHeadBytes),
        error("HeadNeverEnds", kGetLine + "X-Pad: " + std::string(kMaxHeadBytes, 'p'), 431,
              too_large, kMaxHeadBytes),
        error("Http20", "GET / HTTP/2.0\r\n\r\n", 505, "HTTP version not supported"),
        error("Http2Preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505,
              "HTTP version not supported", 18),
        error("Http11Lowercase", "GET / http/1.1\r\n\r\n", 400, bad_version),
        error("VersionTwoDigitMinor", "GET / HTTP/1.10\r\n\r\n", 400, bad_version),
        error("VersionWithoutMinor", "GET / HTTP/1\r\n\r\n", 400, bad_version),
        error("VersionGarbage", "GET / HTTP/x.y\r\n\r\n", 400, bad_version),
        error("TrailingSpaceAfterVersion", "GET / HTTP/1.1 \r\n\r\n", 400, bad_version),
        error("VersionMissing", "GET /\r\n\r\n", 400, bad_target),
        error("EmptyTarget", "GET  HTTP/1.1\r\n\r\n", 400, bad_target),
        error("DoubleSpaceBeforeTarget", "GET  / HTTP/1.1\r\n\r\n", 400, bad_target),
        error("NonAsciiTarget", "GET /\xc3\xa9 HTTP/1.1\r\n\r\n", 400, bad_target),
        error("EmptyMethod", " / HTTP/1.1\r\n\r\n", 400, "invalid method"),
        error("MethodWithSlash", "GE/T / HTTP/1.1\r\n\r\n", 400, "invalid method"),
        error("LeadingEmptyLine", "\r\nGET / HTTP/1.1\r\n\r\n", 400, "invalid method"),
        error("OnlyBlankLine", "\r\n\r\n", 400, "invalid method"),
        error("SpaceBeforeColon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400,
              "whitespace before colon"),
        error("TabBeforeColon", "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400,
              "whitespace before colon"),
        error("HeaderWithoutColon", "GET / HTTP/1.1\r\nHost\r\n\r\n", 400, bad_name),
        error("EmptyHeaderName", "GET / HTTP/1.1\r\n: a\r\n\r\n", 400, bad_name),
        error("NonTokenHeaderName", "GET / HTTP/1.1\r\nX(a): b\r\n\r\n", 400, bad_name),
        error("ObsoleteLineFolding", "GET / HTTP/1.1\r\nX-A: b\r\n c\r\n\r\n", 400,
              "obsolete line folding"),
        error("ObsoleteFoldingWithTab", "GET / HTTP/1.1\r\nX-A: b\r\n\tc\r\n\r\n", 400,
              "obsolete line folding"),
        error("NulInValue", std::string("GET / HTTP/1.1\r\nX-A: b\0c\r\n\r\n", 28), 400, ctl, 23),
        error("DelInValue", "GET / HTTP/1.1\r\nX-A: b\x7f\r\n\r\n", 400, ctl, 23),
        error("EscapeInTarget", "GET /\x1b HTTP/1.1\r\n\r\n", 400, ctl, 6),
        error("BareCrInValue", "GET / HTTP/1.1\r\nX-A: b\rc\r\n\r\n", 400, "CR without LF", 24),
        error("BareCrBeforeBlankLine", "GET / HTTP/1.1\r\n\r\r\n", 400, "CR without LF", 18),
        error("TlsClientHello", "\x16\x03\x01\x02\x31\x01\x02\x2d\x03\x03", 400, ctl, 1),
    };
}

class ParseCases : public ::testing::TestWithParam<ParseCase> {
protected:
    // Checks the outcome of feeding the whole input at once against the table.
    static void expect_table(const ParseCase& c, const Parsed& p) {
        EXPECT_EQ(p.status, c.status);
        if (c.status == kError) {
            EXPECT_EQ(p.http_status, c.http_status);
            EXPECT_EQ(p.reason, c.reason);
        }
        if (c.status == kDone) {
            EXPECT_EQ(p.consumed, c.consumed != 0 ? c.consumed : c.input.size());
            EXPECT_EQ(p.headers.size(), c.num_headers);
        }
    }
};

TEST_P(ParseCases, Whole) {
    const ParseCase& c = GetParam();
    const Parsed p = feed(c.input, {c.input.size()});
    expect_table(c, p);
}

TEST_P(ParseCases, ByteByByte) {
    const ParseCase& c = GetParam();
    const Parsed whole = feed(c.input, {c.input.size()});
    const Parsed bytes = feed(c.input, byte_by_byte(c.input.size()));
    expect_table(c, bytes);
    // kNeedMore on every call until the deciding byte, then the same answer as whole.
    size_t decided_at = c.decided_at != 0 ? c.decided_at : c.input.size();
    if (c.status == kDone) decided_at = bytes.consumed;
    if (c.status != kNeedMore) {
        EXPECT_EQ(bytes.decided_at, decided_at);
    }
    Parsed expected = whole;
    expected.decided_at = bytes.decided_at;
    EXPECT_EQ(bytes, expected);
}

TEST_P(ParseCases, EverySplitPoint) {
    const ParseCase& c = GetParam();
    const Parsed whole = feed(c.input, {c.input.size()});
    for (size_t split = 1; split < c.input.size(); ++split) {
        Parsed two = feed(c.input, {split, c.input.size()});
        two.decided_at = whole.decided_at;
        ASSERT_EQ(two, whole) << "split at " << split;
    }
}

INSTANTIATE_TEST_SUITE_P(RequestParser, ParseCases, ::testing::ValuesIn(parse_cases()),
                         [](const ::testing::TestParamInfo<ParseCase>& info) {
                             return info.param.name;
                         });

TEST(RequestParser, ReturnsTrimmedViewsIntoBuffer) {
    const std::string head =
        "OPTIONS /a/b?c=d&e HTTP/1.1\r\n"
        "host:  example.com \r\n"
        "X-Tabs:\t\tx\ty\t\r\n"
        "X-Empty:\r\n"
        "\r\n";
    const auto buf = std::make_unique<char[]>(head.size());
    std::memcpy(buf.get(), head.data(), head.size());
    Request req;
    const ParseResult r = parse_request(buf.get(), head.size(), 0, req);
    ASSERT_EQ(r.status, kDone);
    EXPECT_EQ(r.consumed, head.size());
    EXPECT_EQ(req.method, "OPTIONS");
    EXPECT_EQ(req.target, "/a/b?c=d&e");
    EXPECT_EQ(req.minor_version, 1);
    ASSERT_EQ(req.num_headers, 3u);
    EXPECT_EQ(req.headers[0].name, "host");
    EXPECT_EQ(req.headers[0].value, "example.com");
    EXPECT_EQ(req.headers[0].value.data(), buf.get() + head.find("example.com"));
    EXPECT_EQ(req.headers[1].value, "x\ty");
    EXPECT_EQ(req.headers[2].name, "X-Empty");
    EXPECT_EQ(req.headers[2].value, "");
}

TEST(RequestParser, ReadsMinorVersionZero) {
    Request req;
    const std::string head = "GET / HTTP/1.0\r\n\r\n";
    ASSERT_EQ(parse_request(head.data(), head.size(), 0, req).status, kDone);
    EXPECT_EQ(req.minor_version, 0);
}

TEST(RequestParser, ReportsHeadTooLargeAtTheLimit) {
    const std::string endless = kGetLine + "X-Pad: " + std::string(kMaxHeadBytes, 'p');
    Request req;
    EXPECT_EQ(parse_request(endless.data(), kMaxHeadBytes - 1, 0, req).status, kNeedMore);
    const ParseResult r = parse_request(endless.data(), kMaxHeadBytes, kMaxHeadBytes - 1, req);
    EXPECT_EQ(r.status, kError);
    EXPECT_EQ(r.http_status, 431);
}

// Values are scanned 8 bytes at a time: put each forbidden byte at each offset of two words,
// after plain ASCII and after obs-text.
TEST(RequestParser, RejectsEveryControlByteAtEveryOffset) {
    for (int ctl = 0; ctl < 0x80; ++ctl) {
        if ((ctl >= 0x20 && ctl < 0x7f) || ctl == '\t' || ctl == '\r' || ctl == '\n') continue;
        for (const char filler : {'v', '\xe9'}) {
            for (size_t offset = 0; offset < 16; ++offset) {
                std::string value(24, filler);
                value[offset] = static_cast<char>(ctl);
                const std::string h = "GET / HTTP/1.1\r\nX-V: " + value + "\r\n\r\n";
                const Parsed p = feed(h, {h.size()});
                ASSERT_EQ(p.status, kError) << "byte " << ctl << " at " << offset;
                ASSERT_EQ(p.reason, "control character in head");
            }
        }
    }
}

TEST(RequestParser, AcceptsEveryFieldValueByte) {
    std::string value;
    for (int c = 0x21; c < 0x100; ++c) {
        if (c == 0x7f) continue;
        value += static_cast<char>(c);
        if (c % 16 == 0) value += c % 32 == 0 ? ' ' : '\t';
    }
    const std::string h = "GET / HTTP/1.1\r\nX-V: \t" + value + " \t\r\n\r\n";
    const Parsed p = feed(h, {h.size()});
    ASSERT_EQ(p.status, kDone) << p.reason;
    ASSERT_EQ(p.headers.size(), 1u);
    EXPECT_EQ(p.headers[0].second, value);
}

TEST(RequestParser, FindsHeaderCaseInsensitively) {
    const std::string head =
        "GET / HTTP/1.1\r\nHOST: a\r\nx-dup: 1\r\nX-Dup: 2\r\nX-DUP: 3\r\n\r\n";
    Request req;
    ASSERT_EQ(parse_request(head.data(), head.size(), 0, req).status, kDone);
    EXPECT_EQ(req.header("host"), "a");
    EXPECT_EQ(req.header("X-DUP"), "1");
    EXPECT_EQ(req.count_header("x-Dup"), 3u);
    EXPECT_TRUE(req.has_header("Host"));
    EXPECT_FALSE(req.has_header("Hos"));
    EXPECT_EQ(req.count_header("Origin"), 0u);
    EXPECT_EQ(req.header("Origin"), "");
}

TEST(RequestParser, ComparesAsciiCaseInsensitively) {
    EXPECT_TRUE(iequals("Sec-WebSocket-Key", "sec-websocket-key"));
    EXPECT_TRUE(iequals("", ""));
    EXPECT_FALSE(iequals("Upgrade", "Upgrad"));
    EXPECT_FALSE(iequals("a", "b"));
    // Only ASCII letters fold: '@' (0x40) and '`' (0x60) differ by the case bit too.
    EXPECT_FALSE(iequals("@", "`"));
    EXPECT_FALSE(iequals("[", "{"));
}

struct ListCase {
    const char* name;
    std::string_view list;
    std::string_view token;
    bool has;
};

class TokenLists : public ::testing::TestWithParam<ListCase> {};

TEST_P(TokenLists, FindsToken) {
    EXPECT_EQ(list_has_token(GetParam().list, GetParam().token), GetParam().has);
}

INSTANTIATE_TEST_SUITE_P(
    RequestParser, TokenLists,
    ::testing::Values(ListCase{"Single", "Upgrade", "upgrade", true},
                      ListCase{"KeepAliveUpgrade", "keep-alive, Upgrade", "upgrade", true},
                      ListCase{"UpgradeKeepAlive", "Upgrade,keep-alive", "upgrade", true},
                      ListCase{"TabsAndEmptyElements", ",\tkeep-alive ,, UPGRADE\t,", "upgrade",
                               true},
                      ListCase{"Prefix", "Upgraded", "upgrade", false},
                      ListCase{"Suffix", "xUpgrade", "upgrade", false},
                      ListCase{"InnerSpace", "up grade", "upgrade", false},
                      ListCase{"Empty", "", "upgrade", false},
                      ListCase{"OnlyCommas", " , ,", "upgrade", false}),
    [](const ::testing::TestParamInfo<ListCase>& info) { return info.param.name; });

TEST(RequestParser, SplitsListElementsInOrder) {
    std::string_view rest = " chat.v2 ,\tchat,, superchat ";
    EXPECT_EQ(next_list_element(rest), "chat.v2");
    EXPECT_EQ(next_list_element(rest), "chat");
    EXPECT_EQ(next_list_element(rest), "superchat");
    EXPECT_EQ(next_list_element(rest), "");
    EXPECT_TRUE(rest.empty());
}

}  // namespace
}  // namespace wspush::http
