// Table-driven RFC 6455 conformance cases against a running `wspushd --mode echo`.
//
// A WireCase is the bytes a client sends after the upgrade and what the server must answer:
// frames in order, then either nothing more (the connection stays open) or a Close with a
// given code followed by the server closing TCP. Every case runs once per Delivery, so the
// server sees it in one write and one byte per write. Each test suite starts one server in
// SetUpTestSuite and stops it in TearDownTestSuite; all waits are bounded.
#pragma once
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "support/test_server.h"

namespace wspush::testing {

// How the client writes a case's bytes.
enum class Delivery {
    kWhole,     // one write
    kBytewise,  // one byte per write (TCP_NODELAY): every split point reaches the server
    kChunked,   // first 1 KiB one byte per write, then 4093-byte writes (large messages)
};

void PrintTo(Delivery how, std::ostream* os);

// Writes bytes the given way. False once the peer stopped accepting them.
bool deliver(RawClient& c, std::string_view bytes, Delivery how);

// Opcodes, named as RFC 6455 section 5.2 does.
inline constexpr uint8_t kCont = 0x0, kText = 0x1, kBinary = 0x2, kClose = 0x8, kPing = 0x9,
                         kPong = 0xA;

// Masked client frames (RawClient::frame with readable names).
std::string text(std::string_view payload, bool fin = true);
std::string binary(std::string_view payload, bool fin = true);
std::string cont(std::string_view payload, bool fin = true);
std::string ping(std::string_view payload);
std::string pong(std::string_view payload);
// A Close frame carrying exactly `payload` (no code when empty).
std::string close_raw(std::string_view payload);
// A Close frame with code and reason.
std::string close_with(uint16_t code, std::string_view reason = {});
// `message` as fragments of `size` bytes (the last may be shorter; an empty message is one
// empty frame), the first with opcode `op`.
std::string fragmented(uint8_t op, std::string_view message, size_t size);
// n bytes: printable ASCII for text, every byte value for binary, deterministic.
std::string ascii_bytes(size_t n);
std::string all_bytes(size_t n);
// n bytes of valid UTF-8 mixing 1- to 4-byte sequences.
std::string utf8_text(size_t n);

// A frame the server must send.
struct Reply {
    uint8_t opcode;
    std::string payload;
};

inline constexpr int kStaysOpen = -1;  // WireCase::close: no Close; the connection lives on
inline constexpr int kEmptyClose = 0;  // WireCase::close: a Close with an empty payload

struct WireCase {
    std::string name;            // a test name part: letters and digits only
    std::string send;            // client bytes after the upgrade
    std::vector<Reply> replies;  // frames the server sends first, in this order
    int close = kStaysOpen;      // kStaysOpen, kEmptyClose or the code of the server's Close
};
void PrintTo(const WireCase& c, std::ostream* os);

// Shorthands for table rows.
WireCase echoes(std::string name, std::string send, std::vector<Reply> replies);
WireCase fails(std::string name, std::string send, uint16_t code, std::vector<Reply> replies = {});

using WireParam = std::tuple<WireCase, Delivery>;
// "<case name><Whole|Bytewise|Chunked>" for INSTANTIATE_TEST_SUITE_P.
std::string wire_param_name(const ::testing::TestParamInfo<WireParam>& info);
std::string delivery_name(Delivery how);
// Every case once whole and once one byte per write.
inline auto whole_and_bytewise() { return ::testing::Values(Delivery::kWhole, Delivery::kBytewise); }
inline auto whole_and_bytewise(const std::vector<WireCase>& cases) {
    return ::testing::Combine(::testing::ValuesIn(cases), whole_and_bytewise());
}
// Megabyte messages: once whole and once chunked.
inline auto whole_and_chunked() { return ::testing::Values(Delivery::kWhole, Delivery::kChunked); }
// "Whole" / "Bytewise" / "Chunked" for suites parametrized by Delivery alone.
std::string delivery_param_name(const ::testing::TestParamInfo<Delivery>& info);

// The server of the running test suite. A suite class calls start() from its own
// SetUpTestSuite; TearDownTestSuite (inherited from the fixtures below) stops it.
class EchoServer {
public:
    static void start(std::vector<std::string> args);
    // Stops the server with SIGTERM and expects exit status 0.
    static void stop();
    // Null when start() failed; log() then tells why.
    static ServerProcess* get() { return server_.get(); }
    static std::string log();

private:
    inline static std::unique_ptr<ServerProcess> server_;
    inline static std::string failed_log_;
};

// Connects and upgrades a client to the suite's server. Reports failures via gtest.
::testing::AssertionResult open_client(RawClient& c, std::string_view extra_headers = {});

// True when the next frames are exactly `want`, each unmasked, FIN, RSV clear (echo mode
// never fragments). Reads with timeout_ms per frame.
::testing::AssertionResult expect_replies(RawClient& c, const std::vector<Reply>& want,
                                          int timeout_ms = 5000);
// After the replies: the connection is still open and quiet (a Ping's Pong is the next
// frame), or a Close with the expected code (kEmptyClose: no payload; a reason must be valid
// UTF-8) arrives, nothing after it, and the server closes TCP.
::testing::AssertionResult expect_still_open(RawClient& c, int timeout_ms = 5000);
::testing::AssertionResult expect_close(RawClient& c, int code, int timeout_ms = 5000);
// A new client (upgrading with extra_headers) on the suite's server still gets a text
// message echoed.
::testing::AssertionResult expect_server_serves(std::string_view extra_headers = {});

// Base of table-driven suites: upgrade, deliver the case, check the answer; after a Close,
// check that the server still serves a fresh client.
class WireTest : public ::testing::TestWithParam<WireParam> {
public:
    static void TearDownTestSuite() { EchoServer::stop(); }

protected:
    void SetUp() override;
    void run_case(int timeout_ms = 5000);
};

// A WireTest suite against a plain `wspushd --mode echo`.
class EchoWireTest : public WireTest {
public:
    static void SetUpTestSuite() { EchoServer::start({"--mode", "echo"}); }
};

// Base of suites that are not WireCase tables but share one server per suite.
class EchoSuite : public ::testing::Test {
public:
    static void TearDownTestSuite() { EchoServer::stop(); }

protected:
    void SetUp() override;
};

// An EchoSuite parametrized by Delivery, against a plain `wspushd --mode echo`.
class EchoDeliveryTest : public EchoSuite, public ::testing::WithParamInterface<Delivery> {
public:
    static void SetUpTestSuite() { EchoServer::start({"--mode", "echo"}); }
};

}  // namespace wspush::testing
