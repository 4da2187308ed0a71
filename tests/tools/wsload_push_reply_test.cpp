#include "wsload/push_reply.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>

namespace wspush::wsload {
namespace {

constexpr std::string_view kPushReply =
    "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: 49\r\n\r\n"
    R"({"errcode":0,"errmsg":"ok","seq":7,"delivered":1})";

// Parses an exact-size heap copy, so that ASan catches a read past the end. The reply's
// views point into the copy, which lives until the next call (or the end of the test).
ptrdiff_t parse_copy(std::string_view bytes, HttpReply& out, const char** why) {
    static std::unique_ptr<char[]> copy;
    copy = std::make_unique<char[]>(bytes.size());
    if (!bytes.empty()) std::memcpy(copy.get(), bytes.data(), bytes.size());
    return parse_http_reply(std::string_view(copy.get(), bytes.size()), out, why);
}

TEST(WsloadPubReply, Parses) {
    uint64_t seq = 0;
    uint64_t delivered = 0;
    ASSERT_TRUE(parse_pub_reply("OK seq=12 delivered=3", seq, delivered));
    EXPECT_EQ(seq, 12u);
    EXPECT_EQ(delivered, 3u);
    EXPECT_FALSE(parse_pub_reply("ERR unknown command", seq, delivered));
    EXPECT_FALSE(parse_pub_reply("OK seq=12", seq, delivered));
    EXPECT_FALSE(parse_pub_reply("OK seq= delivered=3", seq, delivered));
    EXPECT_FALSE(parse_pub_reply("OK seq=12 delivered=3x", seq, delivered));
    EXPECT_FALSE(parse_pub_reply("OK seq=12  delivered=3", seq, delivered));
}

TEST(WsloadHttpReply, WholeReply) {
    HttpReply r;
    const char* why = nullptr;
    ASSERT_EQ(parse_copy(kPushReply, r, &why), static_cast<ptrdiff_t>(kPushReply.size())) << why;
    EXPECT_EQ(r.status, 200);
    EXPECT_FALSE(r.close);
    EXPECT_EQ(r.body, R"({"errcode":0,"errmsg":"ok","seq":7,"delivered":1})");
}

TEST(WsloadHttpReply, EveryPrefixNeedsMore) {
    for (size_t n = 0; n < kPushReply.size(); ++n) {
        HttpReply r;
        const char* why = nullptr;
        EXPECT_EQ(parse_copy(kPushReply.substr(0, n), r, &why), 0) << "prefix of " << n << " bytes";
    }
}

TEST(WsloadHttpReply, PipelinedRepliesOneAtATime) {
    const std::string two = std::string(kPushReply) +
                            "HTTP/1.1 401 Unauthorized\r\ncontent-length: 2\r\nWWW-Authenticate: Bearer\r\n"
                            "connection:  Close \r\n\r\n{}";
    HttpReply r;
    const char* why = nullptr;
    const ptrdiff_t first = parse_copy(two, r, &why);
    ASSERT_EQ(first, static_cast<ptrdiff_t>(kPushReply.size()));
    ASSERT_EQ(parse_copy(std::string_view(two).substr(static_cast<size_t>(first)), r, &why),
              static_cast<ptrdiff_t>(two.size()) - first)
        << why;
    EXPECT_EQ(r.status, 401);
    EXPECT_TRUE(r.close);
    EXPECT_EQ(r.body, "{}");
}

TEST(WsloadHttpReply, EmptyReasonAndBody) {
    HttpReply r;
    const char* why = nullptr;
    EXPECT_EQ(parse_copy("HTTP/1.0 204\r\nContent-Length: 0\r\n\r\n", r, &why), 35);
    EXPECT_EQ(r.status, 204);
    EXPECT_TRUE(r.body.empty());
}

struct BadReply {
    const char* name;
    std::string bytes;
};

std::ostream& operator<<(std::ostream& os, const BadReply& c) { return os << c.name; }

class WsloadHttpReplyReject : public ::testing::TestWithParam<BadReply> {};

TEST_P(WsloadHttpReplyReject, IsAnError) {
    HttpReply r;
    const char* why = nullptr;
    EXPECT_EQ(parse_copy(GetParam().bytes, r, &why), -1);
    EXPECT_NE(why, nullptr);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, WsloadHttpReplyReject,
    ::testing::Values(BadReply{"NotHttp", "SSH-2.0-OpenSSH\r\n\r\n"},
                      BadReply{"ShortCode", "HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n"},
                      BadReply{"NoSpaceAfterCode", "HTTP/1.1 2000K\r\nContent-Length: 0\r\n\r\n"},
                      BadReply{"NoContentLength", "HTTP/1.1 200 OK\r\n\r\n"},
                      BadReply{"TwoContentLengths", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx"},
                      BadReply{"BadContentLength", "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\nx"},
                      BadReply{"Chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
                      BadReply{"HeaderWithoutColon", "HTTP/1.1 200 OK\r\nContent-Length 0\r\n\r\n"},
                      BadReply{"HeadTooLarge", "HTTP/1.1 200 OK\r\nX: " + std::string(kMaxReplyHead, 'a')}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace wspush::wsload
