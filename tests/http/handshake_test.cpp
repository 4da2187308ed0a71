#include "http/handshake.h"
#include "http/captured_requests.h"

#include <gtest/gtest.h>

#include <cstring>
#include <initializer_list>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

namespace wspush::http {
namespace {

constexpr std::string_view kChromium = captured::kChromium;
// base64(SHA-1(key + GUID)) computed independently with Python's hashlib.
constexpr std::string_view kChromiumAccept = "KbiSaX9xf5th2dOuDq0mljf8uYg=";

// Captured over loopback from python3-websockets 10.4:
// websockets.connect("ws://127.0.0.1:18765/chat?room=1", subprotocols=["chat.v2", "chat"]).
constexpr std::string_view kPython =
    "GET /chat?room=1 HTTP/1.1\r\n"
    "Host: 127.0.0.1:18765\r\n"
    "Upgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    "Sec-WebSocket-Key: MY1xAOFMSePZaK7psc2hSg==\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
    "Sec-WebSocket-Protocol: chat.v2, chat\r\n"
    "User-Agent: Python/3.11 websockets/10.4\r\n"
    "\r\n";
constexpr std::string_view kPythonAccept = "dO7eKhsw0wiKOY5DVpnxGnch9SY=";

// RFC 6455 section 1.3 sample nonce and its answer.
constexpr std::string_view kSampleAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

constexpr std::string_view kHost = "Host: server.example.com";
constexpr std::string_view kUpgrade = "Upgrade: websocket";
constexpr std::string_view kConnection = "Connection: Upgrade";
constexpr std::string_view kKey = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==";
constexpr std::string_view kVersion = "Sec-WebSocket-Version: 13";

// A head from a request line and header lines.
std::string head(std::string_view request_line, std::initializer_list<std::string_view> lines) {
    std::string s(request_line);
    s += "\r\n";
    for (const std::string_view line : lines) {
        s += line;
        s += "\r\n";
    }
    return s + "\r\n";
}

// The RFC 6455 section 1.2 request with one line replaced (or dropped, when `with` is
// empty) and `extra` lines added.
std::string sample(std::string_view line, std::string_view with,
                   std::initializer_list<std::string_view> extra = {}) {
    std::string s = "GET /chat HTTP/1.1\r\n";
    for (const std::string_view l : {kHost, kUpgrade, kConnection, kKey, kVersion}) {
        if (l != line) {
            s += l;
            s += "\r\n";
        } else if (!with.empty()) {
            s += with;
            s += "\r\n";
        }
    }
    for (const std::string_view l : extra) {
        s += l;
        s += "\r\n";
    }
    return s + "\r\n";
}

constexpr std::string_view kChat[] = {"chat"};
constexpr std::string_view kChatAndV2[] = {"chat", "chat.v2"};
constexpr std::string_view kSuperchat[] = {"chat.v2", "superchat"};
constexpr std::string_view kOrigins[] = {"https://example.com", "http://127.0.0.1:18767"};
constexpr std::string_view kOtherOrigins[] = {"https://example.com"};
const HandshakeOptions kAnything{};
const HandshakeOptions kChatOnly{.protocols = kChat, .origins = {}};
const HandshakeOptions kBoth{.protocols = kChatAndV2, .origins = {}};
const HandshakeOptions kSuper{.protocols = kSuperchat, .origins = {}};
const HandshakeOptions kOriginList{.protocols = {}, .origins = kOrigins};
const HandshakeOptions kOtherOrigin{.protocols = {}, .origins = kOtherOrigins};

struct UpgradeCase {
    std::string name;
    std::string request;
    const HandshakeOptions* options = &kAnything;
    uint16_t status = 101;
    std::string reason;    // status != 101
    std::string accept;    // status == 101
    std::string protocol;  // status == 101
    std::string path;
    std::string query;
};

void PrintTo(const UpgradeCase& c, std::ostream* os) { *os << c.name; }

UpgradeCase accepts(std::string name, std::string request, std::string_view accept,
                    const HandshakeOptions& options = kAnything, std::string_view protocol = {},
                    std::string_view path = "/chat", std::string_view query = {}) {
    UpgradeCase c;
    c.name = std::move(name);
    c.request = std::move(request);
    c.options = &options;
    c.accept = accept;
    c.protocol = protocol;
    c.path = path;
    c.query = query;
    return c;
}

UpgradeCase refuses(std::string name, std::string request, uint16_t status,
                    std::string_view reason, const HandshakeOptions& options = kAnything,
                    std::string_view path = "/chat") {
    UpgradeCase c = accepts(std::move(name), std::move(request), "", options, "", path);
    c.status = status;
    c.reason = reason;
    return c;
}

// RFC 9112 6.3: a request that announces a body, or whose framing is invalid, is refused;
// so are Upgrade lines that differ.
std::vector<UpgradeCase> body_and_upgrade_cases() {
    const std::string body = "request body not allowed on upgrade";
    const std::string invalid = "invalid Content-Length";
    const std::string conflict = "conflicting Upgrade headers";
    return {
        refuses("ContentLengthFive", sample("", "", {"Content-Length: 5"}), 400, body),
        refuses("ContentLengthFiveLowercase", sample("", "", {"content-length: 5"}), 400, body),
        refuses("ContentLengthDoubleZero", sample("", "", {"Content-Length: 00"}), 400, body),
        refuses("ContentLengthHuge", sample("", "", {"Content-Length: 99999999999999999999999"}),
                400, body),
        refuses("ContentLengthNegative", sample("", "", {"Content-Length: -1"}), 400, invalid),
        refuses("ContentLengthWord", sample("", "", {"Content-Length: abc"}), 400, invalid),
        refuses("ContentLengthList", sample("", "", {"Content-Length: 1,1"}), 400, invalid),
        refuses("ContentLengthZeroList", sample("", "", {"Content-Length: 0, 0"}), 400, invalid),
        refuses("ContentLengthEmpty", sample("", "", {"Content-Length:"}), 400, invalid),
        refuses("ContentLengthPlus", sample("", "", {"Content-Length: +0"}), 400, invalid),
        refuses("ContentLengthHex", sample("", "", {"Content-Length: 0x0"}), 400, invalid),
        refuses("ContentLengthInnerSpace", sample("", "", {"Content-Length: 1 0"}), 400, invalid),
        refuses("ContentLengthTwoZeros", sample("", "", {"Content-Length: 0", "Content-Length: 0"}),
                400, "duplicate Content-Length"),
        refuses("ContentLengthTwoValues",
                sample("", "", {"Content-Length: 0", "Content-Length: 5"}), 400,
                "duplicate Content-Length"),
        refuses("TransferEncodingChunked", sample("", "", {"Transfer-Encoding: chunked"}), 400,
                body),
        refuses("TransferEncodingIdentity", sample("", "", {"Transfer-Encoding: identity"}), 400,
                body),
        refuses("TransferEncodingEmpty", sample("", "", {"Transfer-Encoding:"}), 400, body),
        refuses("TransferEncodingLowercase", sample("", "", {"transfer-encoding: chunked"}), 400,
                body),
        refuses("TransferEncodingAndContentLengthZero",
                sample("", "", {"Content-Length: 0", "Transfer-Encoding: chunked"}), 400, body),
        refuses("UpgradeWebsocketThenH2c", sample("", "", {"Upgrade: h2c"}), 400, conflict),
        refuses("UpgradeH2cThenWebsocket", sample(kUpgrade, "Upgrade: h2c", {kUpgrade}), 400,
                conflict),
        refuses("UpgradeListThenSingle", sample(kUpgrade, "Upgrade: websocket, h2c", {kUpgrade}),
                400, conflict),
        refuses("UpgradeSecondEmpty", sample("", "", {"Upgrade:"}), 400, conflict),
        // Whichever rule comes first answers: the method is checked before the body.
        refuses("PostWithBody",
                head("POST /chat HTTP/1.1",
                     {kHost, kUpgrade, kConnection, kKey, kVersion, "Content-Length: 5"}),
                405, "method not allowed"),
    };
}

std::vector<UpgradeCase> upgrade_cases() {
    const std::string chromium(kChromium);
    const std::string python(kPython);
    const std::string key = "Sec-WebSocket-Key";
    const std::string bad_key = "Sec-WebSocket-Key must decode to 16 bytes";
    const std::string upgrade_reason = "Upgrade must list websocket";
    const std::string connection_reason = "Connection must list upgrade";
    const std::string version_reason = "unsupported Sec-WebSocket-Version";
    std::vector<UpgradeCase> cases = {
        accepts("Chromium", chromium, kChromiumAccept, kAnything, "", "/ws/news"),
        accepts("ChromiumListedOrigin", chromium, kChromiumAccept, kOriginList, "", "/ws/news"),
        accepts("PythonWebsockets", python, kPythonAccept, kAnything, "", "/chat", "room=1"),
        accepts("PythonOffersChatV2ThenChat", python, kPythonAccept, kChatOnly, "chat", "/chat",
                "room=1"),
        accepts("ClientOrderWinsOverOurs", python, kPythonAccept, kBoth, "chat.v2", "/chat",
                "room=1"),
        accepts("RfcSample", sample("", "", {"Origin: http://example.com",
                                             "Sec-WebSocket-Protocol: chat, superchat"}),
                kSampleAccept, kSuper, "superchat"),
        accepts("LowercaseHeaderNames",
                head("GET /chat HTTP/1.1", {"host: a", "upgrade: websocket",
                                            "connection: upgrade",
                                            "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==",
                                            "sec-websocket-version: 13"}),
                kSampleAccept),
        accepts("MixedCaseNamesAndTokens",
                head("GET /chat HTTP/1.1", {"HOST: a", "UpGrade: WebSocket",
                                            "CONNECTION: UPGRADE",
                                            "SEC-WEBSOCKET-KEY: dGhlIHNhbXBsZSBub25jZQ==",
                                            "Sec-Websocket-Version: 13"}),
                kSampleAccept),
        accepts("ConnectionKeepAliveUpgrade",
                sample(kConnection, "Connection: keep-alive, Upgrade"), kSampleAccept),
        accepts("ConnectionOnTwoLines",
                sample(kConnection, "Connection: keep-alive", {"Connection: Upgrade"}),
                kSampleAccept),
        accepts("ConnectionUpgradeThenKeepAlive",
                sample(kConnection, "Connection: Upgrade", {"Connection: keep-alive"}),
                kSampleAccept),
        accepts("UpgradeList", sample(kUpgrade, "Upgrade: h2c, websocket"), kSampleAccept),
        accepts("UpgradeRepeated", sample("", "", {kUpgrade}), kSampleAccept),
        accepts("UpgradeRepeatedOtherCase", sample("", "", {"Upgrade: WebSocket"}), kSampleAccept),
        accepts("ContentLengthZero", sample("", "", {"Content-Length: 0"}), kSampleAccept),
        accepts("ContentLengthZeroLowercase", sample("", "", {"content-length: 0"}), kSampleAccept),
        accepts("ProtocolsOnRepeatedLines",
                sample("", "", {"Sec-WebSocket-Protocol: mqtt", "Sec-WebSocket-Protocol: x, chat"}),
                kSampleAccept, kChatOnly, "chat"),
        accepts("ProtocolNamesAreCaseSensitive",
                sample("", "", {"Sec-WebSocket-Protocol: CHAT, chat.v2"}), kSampleAccept, kBoth,
                "chat.v2"),
        accepts("NoCommonProtocol", sample("", "", {"Sec-WebSocket-Protocol: mqtt, stomp"}),
                kSampleAccept, kChatOnly),
        accepts("ProtocolOfferedButNoneSupported",
                sample("", "", {"Sec-WebSocket-Protocol: chat"}), kSampleAccept),
        accepts("OriginCaseInsensitive", sample("", "", {"Origin: HTTPS://Example.COM"}),
                kSampleAccept, kOriginList),
        accepts("QueryAfterFirstQuestionMark",
                head("GET /ws/a?x=1?y HTTP/1.1", {kHost, kUpgrade, kConnection, kKey, kVersion}),
                kSampleAccept, kAnything, "", "/ws/a", "x=1?y"),
        accepts("EmptyQuery",
                head("GET /ws? HTTP/1.1", {kHost, kUpgrade, kConnection, kKey, kVersion}),
                kSampleAccept, kAnything, "", "/ws", ""),
        refuses("Post", head("POST /chat HTTP/1.1", {kHost, kUpgrade, kConnection, kKey, kVersion}),
                405, "method not allowed"),
        refuses("LowercaseGet",
                head("get /chat HTTP/1.1", {kHost, kUpgrade, kConnection, kKey, kVersion}), 405,
                "method not allowed"),
        refuses("Http10", head("GET /chat HTTP/1.0", {kHost, kUpgrade, kConnection, kKey, kVersion}),
                400, "HTTP/1.1 or later required"),
        refuses("MissingHost", sample(kHost, ""), 400, "missing Host"),
        refuses("EmptyHost", sample(kHost, "Host:"), 400, "missing Host"),
        refuses("DuplicateHost", sample("", "", {"Host: other.example.com"}), 400,
                "duplicate Host"),
        refuses("MissingUpgrade", sample(kUpgrade, ""), 400, upgrade_reason),
        refuses("UpgradeH2c", sample(kUpgrade, "Upgrade: h2c"), 400, upgrade_reason),
        refuses("UpgradeTokenPrefix", sample(kUpgrade, "Upgrade: websockets"), 400,
                upgrade_reason),
        refuses("MissingConnection", sample(kConnection, ""), 400, connection_reason),
        refuses("ConnectionKeepAlive", sample(kConnection, "Connection: keep-alive"), 400,
                connection_reason),
        refuses("ConnectionUpgraded", sample(kConnection, "Connection: upgraded"), 400,
                connection_reason),
        refuses("MissingVersion", sample(kVersion, ""), 426, "missing Sec-WebSocket-Version"),
        refuses("Version8", sample(kVersion, "Sec-WebSocket-Version: 8"), 426, version_reason),
        refuses("Version13Padded", sample(kVersion, "Sec-WebSocket-Version: 013"), 426,
                version_reason),
        refuses("VersionList", sample(kVersion, "Sec-WebSocket-Version: 13, 8"), 426,
                version_reason),
        refuses("DuplicateVersion", sample("", "", {kVersion}), 426, version_reason),
        // A hybi-08 style request without our key format still learns we speak 13.
        refuses("VersionCheckedBeforeKey",
                head("GET /chat HTTP/1.1",
                     {kHost, kUpgrade, kConnection, "Sec-WebSocket-Version: 8"}),
                426, version_reason),
        refuses("MissingKey", sample(kKey, ""), 400, "missing Sec-WebSocket-Key"),
        refuses("DuplicateKey", sample("", "", {"Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA=="}),
                400, "duplicate Sec-WebSocket-Key"),
        refuses("KeyOf15Bytes", sample(kKey, key + ": AAAAAAAAAAAAAAAAAAAA"), 400, bad_key),
        refuses("KeyOf17Bytes", sample(kKey, key + ": AAAAAAAAAAAAAAAAAAAAAAA="), 400, bad_key),
        refuses("KeyWithNonZeroPadBits", sample(kKey, key + ": dGhlIHNhbXBsZSBub25jZR=="), 400,
                bad_key),
        refuses("KeyNotBase64", sample(kKey, key + ": dGhlIHNhbXBsZSBub25j*Q=="), 400, bad_key),
        refuses("KeyUnpadded", sample(kKey, key + ": dGhlIHNhbXBsZSBub25jZQ"), 400, bad_key),
        refuses("ChromiumUnlistedOrigin", chromium, 403, "origin not allowed", kOtherOrigin,
                "/ws/news"),
        refuses("MissingOrigin", sample("", ""), 403, "origin not allowed", kOriginList),
        refuses("TwoOrigins",
                sample("", "", {"Origin: https://example.com", "Origin: https://example.com"}),
                403, "origin not allowed", kOriginList),
    };
    for (UpgradeCase& c : body_and_upgrade_cases()) cases.push_back(std::move(c));
    return cases;
}

// check_upgrade's answer, copied out of the parsed buffer so feedings can be compared.
struct Answer {
    size_t parsed_at = 0;  // buffer length at which parse_request said kDone; 0: never
    uint16_t status = 0;
    std::string reason;
    std::string accept;
    std::string protocol;
    std::string path;
    std::string query;

    bool operator==(const Answer&) const = default;
};

// Delivers `request` as growing prefixes ending at each of `lens` (each an exact-size heap
// copy, so ASan sees a read past the end), until parse_request completes; then validates.
Answer upgrade_in_pieces(const UpgradeCase& c, const std::vector<size_t>& lens) {
    Answer a;
    size_t last_len = 0;
    for (const size_t len : lens) {
        auto buf = std::make_unique<char[]>(len);
        std::memcpy(buf.get(), c.request.data(), len);
        Request req;
        const ParseResult r = parse_request(buf.get(), len, last_len, req);
        last_len = len;
        if (r.status == ParseStatus::kNeedMore) continue;
        EXPECT_EQ(r.status, ParseStatus::kDone) << r.reason;
        EXPECT_EQ(r.consumed, c.request.size());
        const Handshake hs = check_upgrade(req, *c.options);
        a = {.parsed_at = len, .status = hs.status, .reason = hs.reason,
             .accept = std::string(hs.accept, sizeof hs.accept), .protocol = std::string(hs.protocol),
             .path = std::string(hs.path), .query = std::string(hs.query)};
        if (hs.status != 101) a.accept.clear();
        break;
    }
    return a;
}

class UpgradeCases : public ::testing::TestWithParam<UpgradeCase> {};

TEST_P(UpgradeCases, Whole) {
    const UpgradeCase& c = GetParam();
    const Answer a = upgrade_in_pieces(c, {c.request.size()});
    EXPECT_EQ(a.parsed_at, c.request.size());
    EXPECT_EQ(a.status, c.status);
    EXPECT_EQ(a.reason, c.status == 101 ? "" : c.reason);
    EXPECT_EQ(a.accept, c.accept);
    EXPECT_EQ(a.protocol, c.protocol);
    EXPECT_EQ(a.path, c.path);
    EXPECT_EQ(a.query, c.query);
}

TEST_P(UpgradeCases, ByteByByte) {
    const UpgradeCase& c = GetParam();
    std::vector<size_t> lens;
    for (size_t len = 1; len <= c.request.size(); ++len) lens.push_back(len);
    // kNeedMore until the last byte of the head, then the same answer.
    EXPECT_EQ(upgrade_in_pieces(c, lens), upgrade_in_pieces(c, {c.request.size()}));
}

TEST_P(UpgradeCases, EverySplitPoint) {
    const UpgradeCase& c = GetParam();
    const Answer whole = upgrade_in_pieces(c, {c.request.size()});
    for (size_t split = 1; split < c.request.size(); ++split) {
        ASSERT_EQ(upgrade_in_pieces(c, {split, c.request.size()}), whole) << "split at " << split;
    }
}

INSTANTIATE_TEST_SUITE_P(Handshake, UpgradeCases, ::testing::ValuesIn(upgrade_cases()),
                         [](const ::testing::TestParamInfo<UpgradeCase>& info) {
                             return info.param.name;
                         });

Request parsed(std::string_view head) {
    Request req;
    EXPECT_EQ(parse_request(head.data(), head.size(), 0, req).status, ParseStatus::kDone);
    return req;
}

TEST(Handshake, AcceptKeyMatchesRfc6455Sample) {
    const char key[24] = {'d', 'G', 'h', 'l', 'I', 'H', 'N', 'h', 'b', 'X', 'B', 's',
                          'Z', 'S', 'B', 'u', 'b', '2', '5', 'j', 'Z', 'Q', '=', '='};
    char out[28];
    std::memset(out, '#', sizeof out);
    accept_key(key, out);
    EXPECT_EQ(std::string_view(out, sizeof out), kSampleAccept);
}

TEST(Handshake, ChosenProtocolPointsIntoOptions) {
    const std::string h = sample("", "", {"Sec-WebSocket-Protocol: chat.v2"});
    const Request req = parsed(h);
    const Handshake hs = check_upgrade(req, kBoth);
    ASSERT_EQ(hs.status, 101);
    EXPECT_EQ(hs.protocol.data(), kChatAndV2[1].data());
}

TEST(Handshake, PathAndQueryAreSetOnRefusal) {
    const std::string h =
        head("POST /ws/x?y=1 HTTP/1.1", {kHost, kUpgrade, kConnection, kKey, kVersion});
    const Request req = parsed(h);
    const Handshake hs = check_upgrade(req, kAnything);
    EXPECT_EQ(hs.status, 405);
    EXPECT_EQ(hs.path, "/ws/x");
    EXPECT_EQ(hs.query, "y=1");
}

TEST(Handshake, WantsUpgradeOnlyWhenAsked) {
    const std::string plain = head("GET / HTTP/1.1", {kHost, "Connection: keep-alive"});
    EXPECT_FALSE(wants_upgrade(parsed(plain)));
    const std::string upgrade_only = head("GET / HTTP/1.1", {kHost, "Upgrade: h2c"});
    EXPECT_TRUE(wants_upgrade(parsed(upgrade_only)));
    const std::string connection_only = head("GET / HTTP/1.1", {kHost, "Connection: x, upgrade"});
    EXPECT_TRUE(wants_upgrade(parsed(connection_only)));
    EXPECT_TRUE(wants_upgrade(parsed(kChromium)));
}

}  // namespace
}  // namespace wspush::http
