#include "http/response.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <ostream>
#include <string>

namespace wspush::http {
namespace {

constexpr char kAccept[28] = {'s', '3', 'p', 'P', 'L', 'M', 'B', 'i', 'T', 'x',
                              'a', 'Q', '9', 'k', 'Y', 'G', 'z', 'z', 'h', 'Z',
                              'R', 'b', 'K', '+', 'x', 'O', 'o', '='};

struct ResponseCase {
    const char* name;
    std::string expected;
    std::function<size_t(char*, size_t)> write;
};

void PrintTo(const ResponseCase& c, std::ostream* os) { *os << c.name; }

class Responses : public ::testing::TestWithParam<ResponseCase> {};

TEST_P(Responses, WritesExactBytes) {
    const ResponseCase& c = GetParam();
    const auto buf = std::make_unique<char[]>(c.expected.size());
    ASSERT_EQ(c.write(buf.get(), c.expected.size()), c.expected.size());
    EXPECT_EQ(std::string(buf.get(), c.expected.size()), c.expected);
}

TEST_P(Responses, LeavesRoomUnused) {
    const ResponseCase& c = GetParam();
    std::string buf(c.expected.size() + 16, '#');
    ASSERT_EQ(c.write(buf.data(), buf.size()), c.expected.size());
    EXPECT_EQ(buf.substr(0, c.expected.size()), c.expected);
    EXPECT_EQ(buf.substr(c.expected.size()), std::string(16, '#'));
}

// Every capacity short of the full response: 0 and no write past the exact-size buffer.
TEST_P(Responses, ReturnsZeroWhenCapIsShort) {
    const ResponseCase& c = GetParam();
    for (size_t cap = 0; cap < c.expected.size(); ++cap) {
        const auto buf = std::make_unique<char[]>(cap);
        ASSERT_EQ(c.write(buf.get(), cap), 0u) << "cap " << cap;
    }
}

INSTANTIATE_TEST_SUITE_P(
    Response, Responses,
    ::testing::Values(
        ResponseCase{"SwitchingProtocols",
                     "HTTP/1.1 101 Switching Protocols\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                     "\r\n",
                     [](char* out, size_t cap) {
                         return write_upgrade_response(out, cap, kAccept, "");
                     }},
        ResponseCase{"SwitchingProtocolsWithProtocol",
                     "HTTP/1.1 101 Switching Protocols\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                     "Sec-WebSocket-Protocol: chat\r\n"
                     "\r\n",
                     [](char* out, size_t cap) {
                         return write_upgrade_response(out, cap, kAccept, "chat");
                     }},
        ResponseCase{"BadRequest",
                     "HTTP/1.1 400 Bad Request\r\n"
                     "Content-Type: text/plain\r\n"
                     "Content-Length: 13\r\n"
                     "Connection: close\r\n"
                     "\r\n"
                     "missing Host\n",
                     [](char* out, size_t cap) {
                         return write_error_response(out, cap, 400, "missing Host");
                     }},
        ResponseCase{"UpgradeRequiredNamesVersion",
                     "HTTP/1.1 426 Upgrade Required\r\n"
                     "Content-Type: text/plain\r\n"
                     "Content-Length: 34\r\n"
                     "Connection: close\r\n"
                     "Sec-WebSocket-Version: 13\r\n"
                     "\r\n"
                     "unsupported Sec-WebSocket-Version\n",
                     [](char* out, size_t cap) {
                         return write_error_response(out, cap, 426,
                                                     "unsupported Sec-WebSocket-Version");
                     }},
        ResponseCase{"MethodNotAllowedListsGet",
                     "HTTP/1.1 405 Method Not Allowed\r\n"
                     "Content-Type: text/plain\r\n"
                     "Content-Length: 19\r\n"
                     "Connection: close\r\n"
                     "Allow: GET\r\n"
                     "\r\n"
                     "method not allowed\n",
                     [](char* out, size_t cap) {
                         return write_error_response(out, cap, 405, "method not allowed");
                     }},
        ResponseCase{"HeaderFieldsTooLargeEmptyReason",
                     "HTTP/1.1 431 Request Header Fields Too Large\r\n"
                     "Content-Type: text/plain\r\n"
                     "Content-Length: 1\r\n"
                     "Connection: close\r\n"
                     "\r\n"
                     "\n",
                     [](char* out, size_t cap) { return write_error_response(out, cap, 431, ""); }},
        ResponseCase{"UnknownStatus",
                     "HTTP/1.1 599 Unknown\r\n"
                     "Content-Type: text/plain\r\n"
                     "Content-Length: 2\r\n"
                     "Connection: close\r\n"
                     "\r\n"
                     "x\n",
                     [](char* out, size_t cap) { return write_error_response(out, cap, 599, "x"); }},
        // The widest length: 20 digits with a 64-bit size_t, 10 on a 32-bit target.
        ResponseCase{"OkHead",
                     "HTTP/1.1 200 OK\r\n"
                     "Content-Type: text/html; charset=utf-8\r\n"
                     "Content-Length: " + std::string(sizeof(size_t) == 8 ? "18446744073709551615" : "4294967295") + "\r\n"
                     "Connection: close\r\n"
                     "\r\n",
                     [](char* out, size_t cap) {
                         ResponseHead h = ok_head("text/html; charset=utf-8");
                         h.content_length = SIZE_MAX;
                         return write_head(out, cap, h);
                     }},
        ResponseCase{"OkHeadEmptyBody",
                     "HTTP/1.1 200 OK\r\n"
                     "Content-Type: text/plain\r\n"
                     "Content-Length: 0\r\n"
                     "Connection: close\r\n"
                     "\r\n",
                     [](char* out, size_t cap) { return write_head(out, cap, ok_head("text/plain")); }}),
    [](const ::testing::TestParamInfo<ResponseCase>& info) { return info.param.name; });

TEST(Response, NamesEveryStatusWeSend) {
    EXPECT_EQ(status_text(101), "Switching Protocols");
    EXPECT_EQ(status_text(200), "OK");
    EXPECT_EQ(status_text(400), "Bad Request");
    EXPECT_EQ(status_text(403), "Forbidden");
    EXPECT_EQ(status_text(404), "Not Found");
    EXPECT_EQ(status_text(405), "Method Not Allowed");
    EXPECT_EQ(status_text(410), "Gone");
    EXPECT_EQ(status_text(408), "Request Timeout");
    EXPECT_EQ(status_text(426), "Upgrade Required");
    EXPECT_EQ(status_text(431), "Request Header Fields Too Large");
    EXPECT_EQ(status_text(500), "Internal Server Error");
    EXPECT_EQ(status_text(503), "Service Unavailable");
    EXPECT_EQ(status_text(505), "HTTP Version Not Supported");
    EXPECT_EQ(status_text(0), "Unknown");
    EXPECT_EQ(status_text(402), "Unknown");
}

std::string head_of(const ResponseHead& h) {
    char buf[512];
    return std::string(buf, write_head(buf, sizeof buf, h));
}

TEST(Response, WriteHeadExactBytes) {
    ResponseHead json = ok_head("application/json; charset=utf-8");
    json.content_length = 27;
    json.keep_alive = true;
    EXPECT_EQ(head_of(json),
              "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: 27\r\n"
              "Connection: keep-alive\r\n\r\n");
    ResponseHead busy = ok_head("application/json");
    busy.status = 429;
    busy.retry_after_s = 600;
    busy.content_length = 2;
    EXPECT_EQ(head_of(busy),
              "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
              "Connection: close\r\nRetry-After: 600\r\n\r\n");
    ResponseHead who = ok_head("application/json");
    who.status = 401;
    who.authenticate = "Bearer";
    EXPECT_EQ(head_of(who),
              "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: 0\r\n"
              "Connection: close\r\nWWW-Authenticate: Bearer\r\n\r\n");
}

TEST(Response, NoContentLengthIn204) {
    // RFC 9110 8.6: a 204 (or 1xx) must not carry Content-Length.
    ResponseHead h = allow_head(204, "POST, OPTIONS");
    h.keep_alive = true;
    EXPECT_EQ(head_of(h), "HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\nAllow: POST, OPTIONS\r\n\r\n");
    EXPECT_EQ(head_of(allow_head(405, "POST, OPTIONS")),
              "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\nAllow: POST, OPTIONS\r\n\r\n");
    EXPECT_EQ(kContinue, "HTTP/1.1 100 Continue\r\n\r\n");
}

TEST(Response, AcceptsNullBufferWithZeroCap) {
    EXPECT_EQ(write_error_response(nullptr, 0, 400, "x"), 0u);
    EXPECT_EQ(write_upgrade_response(nullptr, 0, kAccept, "chat"), 0u);
    EXPECT_EQ(write_head(nullptr, 0, ok_head("text/plain")), 0u);
}

}  // namespace
}  // namespace wspush::http
