#include "wsload/handshake.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <ostream>
#include <string>

namespace wspush::wsload {
namespace {

// RFC 6455 section 1.3: the sample nonce, its key and the server's answer.
constexpr std::string_view kSampleKey = "dGhlIHNhbXBsZSBub25jZQ==";
constexpr std::string_view kSampleAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

std::string response(std::string_view extra_headers,
                     std::string_view accept = kSampleAccept,
                     std::string_view status = "HTTP/1.1 101 Switching Protocols") {
    std::string r(status);
    r += "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n";
    if (!accept.empty()) r.append("Sec-WebSocket-Accept: ").append(accept).append("\r\n");
    r += extra_headers;
    r += "\r\n";
    return r;
}

// check_response on an exact-size heap copy, so ASan sees any read past the end. The copy
// lives as long as the result, whose views point into it.
struct Checked {
    std::unique_ptr<char[]> copy;
    HandshakeResult r;
};

Checked check_copy(std::string_view buf, std::string_view offered = {}) {
    Checked c{std::make_unique<char[]>(buf.size()), {}};
    std::memcpy(c.copy.get(), buf.data(), buf.size());
    c.r = check_response(std::string_view(c.copy.get(), buf.size()), kSampleKey, offered);
    return c;
}

TEST(WsloadHandshake, ExpectedAcceptMatchesRfcSample) {
    const WsAccept a = expected_accept(kSampleKey);
    EXPECT_EQ(std::string_view(a.data(), a.size()), kSampleAccept);
}

TEST(WsloadHandshake, MakeKeyIsBase64OfTheNonce) {
    const uint8_t nonce[16] = {'t', 'h', 'e', ' ', 's', 'a', 'm', 'p', 'l', 'e', ' ', 'n', 'o', 'n', 'c', 'e'};
    const WsKey k = make_key(nonce);
    EXPECT_EQ(std::string_view(k.data(), k.size()), kSampleKey);
}

TEST(WsloadHandshake, RequestCarriesTheUpgradeHeaders) {
    const std::string r = build_request("127.0.0.1:8080", "/ws/news", kSampleKey, "wspush.v1");
    EXPECT_TRUE(r.starts_with("GET /ws/news HTTP/1.1\r\n"));
    EXPECT_NE(r.find("\r\nHost: 127.0.0.1:8080\r\n"), std::string::npos);
    EXPECT_NE(r.find("\r\nUpgrade: websocket\r\n"), std::string::npos);
    EXPECT_NE(r.find("\r\nConnection: Upgrade\r\n"), std::string::npos);
    EXPECT_NE(r.find("\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"), std::string::npos);
    EXPECT_NE(r.find("\r\nSec-WebSocket-Version: 13\r\n"), std::string::npos);
    EXPECT_NE(r.find("\r\nSec-WebSocket-Protocol: wspush.v1\r\n"), std::string::npos);
    EXPECT_TRUE(r.ends_with("\r\n\r\n"));
    EXPECT_EQ(build_request("h", "/", kSampleKey, "").find("Sec-WebSocket-Protocol"), std::string::npos);
}

TEST(WsloadHandshake, AcceptsTheRightAnswerOnlyWhenComplete) {
    const std::string frames = "\x81\x02hi";
    const std::string full = response("Server: x\r\n") + frames;
    const size_t head = full.size() - frames.size();
    for (size_t n = 0; n < head; ++n) {
        EXPECT_EQ(check_copy(std::string_view(full).substr(0, n)).r.status, HandshakeStatus::kNeedMore) << n;
    }
    for (size_t n = head; n <= full.size(); ++n) {
        const Checked c = check_copy(std::string_view(full).substr(0, n));
        const HandshakeResult& r = c.r;
        ASSERT_EQ(r.status, HandshakeStatus::kOk) << n << ": " << r.error;
        EXPECT_EQ(r.head_len, head);
        EXPECT_TRUE(r.protocol.empty());
    }
}

TEST(WsloadHandshake, ReportsTheChosenSubprotocol) {
    const Checked c = check_copy(response("Sec-WebSocket-Protocol: wspush.v1\r\n"), "wspush.v1");
    const HandshakeResult& r = c.r;
    ASSERT_EQ(r.status, HandshakeStatus::kOk) << r.error;
    EXPECT_EQ(r.protocol, "wspush.v1");
}

TEST(WsloadHandshake, HeaderNamesAndTokensAreCaseInsensitive) {
    const std::string r =
        "HTTP/1.1 101 Switching Protocols\r\nupgrade: WebSocket\r\nconnection: keep-alive, UPGRADE\r\n"
        "sec-websocket-accept: " + std::string(kSampleAccept) + "\r\n\r\n";
    EXPECT_EQ(check_copy(r).r.status, HandshakeStatus::kOk);
}

struct RejectCase {
    const char* name;
    std::string head;
    std::string_view offered;
};

std::ostream& operator<<(std::ostream& os, const RejectCase& c) { return os << c.name; }

class WsloadHandshakeReject : public ::testing::TestWithParam<RejectCase> {};

TEST_P(WsloadHandshakeReject, IsAnError) {
    const RejectCase& c = GetParam();
    const HandshakeResult r = check_copy(c.head, c.offered).r;
    EXPECT_EQ(r.status, HandshakeStatus::kError);
    EXPECT_STRNE(r.error, "");
}

std::string replace_once(std::string s, std::string_view from, std::string_view to) {
    const size_t at = s.find(from);
    if (at != std::string::npos) s.replace(at, from.size(), to);
    return s;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, WsloadHandshakeReject,
    ::testing::Values(
        // The sample answer with its last character changed.
        RejectCase{"WrongAccept", response("", "s3pPLMBiTxaQ9kYGzzhZRbK+xOp="), {}},
        // Base64 is case-sensitive: no case folding when comparing.
        RejectCase{"AcceptInOtherCase", response("", "S3PPLMBITXAQ9KYGZZHZRBK+XOO="), {}},
        RejectCase{"AcceptTruncated", response("", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo"), {}},
        RejectCase{"NoAccept", response("", ""), {}},
        RejectCase{"TwoAccepts", response("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"), {}},
        RejectCase{"Status200", response("", kSampleAccept, "HTTP/1.1 200 OK"), {}},
        RejectCase{"Status400", response("", kSampleAccept, "HTTP/1.1 400 Bad Request"), {}},
        RejectCase{"Http10", response("", kSampleAccept, "HTTP/1.0 101 Switching Protocols"), {}},
        RejectCase{"NoUpgrade", replace_once(response(""), "Upgrade: websocket\r\n", ""), {}},
        RejectCase{"UpgradeNotWebsocket", replace_once(response(""), "Upgrade: websocket", "Upgrade: h2c"), {}},
        RejectCase{"NoConnection", replace_once(response(""), "Connection: Upgrade\r\n", ""), {}},
        RejectCase{"ConnectionKeepAlive", replace_once(response(""), "Connection: Upgrade", "Connection: keep-alive"), {}},
        RejectCase{"ExtensionNotRequested", response("Sec-WebSocket-Extensions: permessage-deflate\r\n"), {}},
        RejectCase{"ProtocolNotOffered", response("Sec-WebSocket-Protocol: chat\r\n"), {}},
        RejectCase{"OtherProtocol", response("Sec-WebSocket-Protocol: chat\r\n"), "wspush.v1"},
        RejectCase{"TwoProtocols",
                   response("Sec-WebSocket-Protocol: wspush.v1\r\nSec-WebSocket-Protocol: wspush.v1\r\n"),
                   "wspush.v1"},
        RejectCase{"HeaderWithoutColon", response("Bogus\r\n"), {}},
        RejectCase{"HeadTooLong", response("X-Pad: " + std::string(kMaxResponseHead, 'a') + "\r\n"), {}},
        RejectCase{"NoBlankLineWithinLimit", std::string(kMaxResponseHead + 1, 'a'), {}}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace wspush::wsload
