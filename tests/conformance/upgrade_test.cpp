// RFC 6455 section 4.2: the opening handshake as the server sees it. Bad requests get the
// right HTTP status and the connection closes; subprotocol choice; Origin checks.
// Every request is sent whole and one byte per write.
#include <gtest/gtest.h>

#include "support/conformance.h"

namespace wspush::testing {
namespace {

using namespace std::string_literals;

// RFC 6455 section 1.3: the accept value for the key RawClient::upgrade_request sends.
constexpr std::string_view kAcceptLine = "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n";

struct HttpCase {
    std::string name;
    std::string request;
    int status;
    std::string must_have = {};      // a substring of the response head, if not empty
    std::string must_not_have = {};  // a substring the head must not contain, if not empty
};

void PrintTo(const HttpCase& c, std::ostream* os) { *os << c.name; }

// The standard upgrade request with `from` replaced by `to` (`from` must occur).
std::string edited(std::string_view from, std::string_view to, std::string_view extra = {}) {
    std::string r = RawClient::upgrade_request("/", extra);
    size_t at = r.find(from);
    if (at == std::string::npos) return "edit target not found: " + std::string(from);
    return r.replace(at, from.size(), to);
}

std::string with_headers(std::string_view extra) { return RawClient::upgrade_request("/", extra); }

using HttpParam = std::tuple<HttpCase, Delivery>;

std::string http_param_name(const ::testing::TestParamInfo<HttpParam>& info) {
    return std::get<0>(info.param).name + delivery_name(std::get<1>(info.param));
}

auto every_request(const std::vector<HttpCase>& cases) {
    return ::testing::Combine(::testing::ValuesIn(cases), whole_and_bytewise());
}

// Sends the request; checks status and headers. A 101 must carry the right accept value
// and then echo; any other status ends with the server closing the connection.
class HttpTest : public EchoSuite, public ::testing::WithParamInterface<HttpParam> {
protected:
    void run_case() {
        const auto& [hc, how] = GetParam();
        RawClient c;
        ASSERT_TRUE(c.connect(EchoServer::get()->port()));
        deliver(c, hc.request, how);  // an early error answer may cut the request short
        std::string head = c.read_http();
        ASSERT_GE(head.size(), 12u) << "no response head";
        EXPECT_EQ(std::atoi(head.c_str() + 9), hc.status) << head;
        EXPECT_NE(head.find(hc.must_have), std::string::npos) << head;  // "" is always found
        if (!hc.must_not_have.empty()) {
            EXPECT_EQ(head.find(hc.must_not_have), std::string::npos) << head;
        }
        if (hc.status == 101) {
            EXPECT_NE(head.find(kAcceptLine), std::string::npos) << head;
            ASSERT_TRUE(c.send_all(text("upgraded")));
            EXPECT_TRUE(expect_replies(c, {{kText, "upgraded"}}));
        } else {
            EXPECT_TRUE(c.wait_eof()) << "server kept the connection after " << hc.status;
            // The Origin is one that ConformanceOrigin allows; the other suites allow any.
            EXPECT_TRUE(expect_server_serves("Origin: http://a.example\r\n"));
        }
    }
};

std::vector<HttpCase> upgrade_cases() {
    const std::string key_line = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    return {
        {"ValidUpgrade", with_headers(""), 101},
        {"AnyPathUpgrades", RawClient::upgrade_request("/some/path?x=1"), 101},
        {"HeaderNamesAnyCase",
         "GET / HTTP/1.1\r\nhost: h\r\nUPGRADE: websocket\r\nconnection: Upgrade\r\n"
         "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nSEC-WEBSOCKET-VERSION: 13\r\n\r\n",
         101},
        {"TokenValuesAnyCase", edited("Upgrade: websocket\r\nConnection: Upgrade", "Upgrade: WebSocket\r\nConnection: upgrade"), 101},
        // Firefox sends a token list.
        {"ConnectionTokenList", edited("Connection: Upgrade", "Connection: keep-alive, Upgrade"), 101},
        {"HeaderValueWhitespace", edited("Upgrade: websocket", "Upgrade: \t websocket \t"), 101},
        {"NoSubprotocolOfferedNoneChosen", with_headers(""), 101, "", "Sec-WebSocket-Protocol"},
        {"MissingKey", edited(key_line, ""), 400},
        {"KeyTenBytes", edited(key_line, "Sec-WebSocket-Key: dGhlIHNhbXBsZQ==\r\n"), 400},
        {"KeySeventeenBytes", edited(key_line, "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAA=\r\n"), 400},
        {"KeyNotBase64", edited(key_line, "Sec-WebSocket-Key: !!!!!!!!!!!!!!!!!!!!!!==\r\n"), 400},
        {"KeyTwice", with_headers(key_line), 400},
        // RFC 6455 4.4: an unsupported version gets 426 and the versions we speak.
        {"Version8", edited("Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 8"), 426, "Sec-WebSocket-Version: 13\r\n"},
        {"Version14", edited("Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 14"), 426, "Sec-WebSocket-Version: 13\r\n"},
        {"MissingVersion", edited("Sec-WebSocket-Version: 13\r\n", ""), 426, "Sec-WebSocket-Version: 13\r\n"},
        {"MissingUpgrade", edited("Upgrade: websocket\r\n", ""), 400},
        {"MissingConnection", edited("Connection: Upgrade\r\n", ""), 400},
        {"ConnectionWithoutUpgradeToken", edited("Connection: Upgrade", "Connection: keep-alive"), 400},
        {"UpgradeNotWebsocket", edited("Upgrade: websocket", "Upgrade: h2c"), 400},
        {"MissingHost", edited("Host: 127.0.0.1\r\n", ""), 400},
        {"Post", edited("GET ", "POST "), 405},
        {"Put", edited("GET ", "PUT "), 405},
        // RFC 6455 4.1: HTTP/1.1 or later.
        {"Http10", edited("HTTP/1.1", "HTTP/1.0"), 400},
        {"HeadOver8KiB", with_headers("X-Padding: " + std::string(9000, 'p') + "\r\n"), 431},
        {"ManyHeadersOver8KiB", with_headers([] {
             std::string h;
             for (int i = 0; i < 400; ++i) h += "X-Header-" + std::to_string(i) + ": value\r\n";
             return h;
         }()),
         431},
        {"GarbageRequestLine", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 garbage\r\n\r\n"s, 400},
        {"GarbageHeaderLine", edited("Host: 127.0.0.1\r\n", "Host: 127.0.0.1\r\n\x01\x02\x03 no colon\r\n"), 400},
        {"BareLineFeeds", "GET / HTTP/1.1\nHost: h\nUpgrade: websocket\nConnection: Upgrade\n"
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\nSec-WebSocket-Version: 13\n\n",
         101},
        // Echo mode serves WebSocket only: a plain request learns it must upgrade.
        {"PlainGet", "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 426},
    };
}

class ConformanceUpgrade : public HttpTest {
public:
    static void SetUpTestSuite() { EchoServer::start({"--mode", "echo"}); }
};
TEST_P(ConformanceUpgrade, Response) { run_case(); }
INSTANTIATE_TEST_SUITE_P(Rfc6455, ConformanceUpgrade, every_request(upgrade_cases()), http_param_name);

// The server speaks chat and superchat; it takes the first protocol the CLIENT lists that
// it supports (RFC 6455 4.2.2 leaves the choice to the server).
std::vector<HttpCase> subprotocol_cases() {
    auto offer = [](std::string_view list) { return with_headers("Sec-WebSocket-Protocol: " + std::string(list) + "\r\n"); };
    return {
        {"SuperchatThenChat", offer("superchat, chat"), 101, "Sec-WebSocket-Protocol: superchat\r\n"},
        {"ChatThenSuperchat", offer("chat, superchat"), 101, "Sec-WebSocket-Protocol: chat\r\n"},
        {"NoSpacesInList", offer("superchat,chat"), 101, "Sec-WebSocket-Protocol: superchat\r\n"},
        {"UnknownThenChat", offer("v2.example, chat"), 101, "Sec-WebSocket-Protocol: chat\r\n"},
        {"RepeatedHeader",
         with_headers("Sec-WebSocket-Protocol: unknown\r\nSec-WebSocket-Protocol: superchat, chat\r\n"), 101,
         "Sec-WebSocket-Protocol: superchat\r\n"},
        {"NoMatch", offer("mqtt, v2.example"), 101, "", "Sec-WebSocket-Protocol"},
        {"NamesAreCaseSensitive", offer("Chat"), 101, "", "Sec-WebSocket-Protocol"},
        {"NoOffer", with_headers(""), 101, "", "Sec-WebSocket-Protocol"},
    };
}

class ConformanceSubprotocol : public HttpTest {
public:
    static void SetUpTestSuite() { EchoServer::start({"--mode", "echo", "--protocols", "chat,superchat"}); }
};
TEST_P(ConformanceSubprotocol, Response) { run_case(); }
INSTANTIATE_TEST_SUITE_P(Rfc6455, ConformanceSubprotocol, every_request(subprotocol_cases()), http_param_name);

// RFC 6455 4.2.2 item 4 and 10.2: only listed origins may connect; others get 403.
std::vector<HttpCase> origin_cases() {
    auto from = [](std::string_view origin) { return with_headers("Origin: " + std::string(origin) + "\r\n"); };
    return {
        {"ListedOrigin", from("http://a.example"), 101},
        {"ListedOriginAnyCase", from("HTTP://A.EXAMPLE"), 101},
        {"OtherOrigin", from("http://b.example"), 403},
        {"OtherPort", from("http://a.example:8080"), 403},
        {"OtherScheme", from("https://a.example"), 403},
        {"SuffixOfListed", from("http://a.example.evil.example"), 403},
        {"NullOrigin", from("null"), 403},
        {"NoOrigin", with_headers(""), 403},
    };
}

class ConformanceOrigin : public HttpTest {
public:
    static void SetUpTestSuite() { EchoServer::start({"--mode", "echo", "--origins", "http://a.example"}); }
};
TEST_P(ConformanceOrigin, Response) { run_case(); }
INSTANTIATE_TEST_SUITE_P(Rfc6455, ConformanceOrigin, every_request(origin_cases()), http_param_name);

// Frames that follow the request in the same write are not lost.
class ConformanceUpgradePipelining : public EchoDeliveryTest {};

TEST_P(ConformanceUpgradePipelining, FramesInSameWriteAsRequest) {
    RawClient c;
    ASSERT_TRUE(c.connect(EchoServer::get()->port()));
    ASSERT_TRUE(deliver(c, RawClient::upgrade_request("/") + text("early") + ping("bird"), GetParam()));
    std::string head = c.read_http();
    ASSERT_EQ(head.compare(0, 12, "HTTP/1.1 101"), 0) << head;
    EXPECT_NE(head.find(kAcceptLine), std::string::npos) << head;
    EXPECT_TRUE(expect_replies(c, {{kText, "early"}, {kPong, "bird"}}));
}

INSTANTIATE_TEST_SUITE_P(Rfc6455, ConformanceUpgradePipelining, whole_and_bytewise(), delivery_param_name);

}  // namespace
}  // namespace wspush::testing
