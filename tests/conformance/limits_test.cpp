// Message size limits (--max-message, RFC 6455 7.4.1 code 1009) and large messages
// (Autobahn TestSuite categories 9.1 and 9.2), against `wspushd --mode echo`.
#include <gtest/gtest.h>

#include <thread>

#include "support/conformance.h"

namespace wspush::testing {
namespace {

using namespace std::string_literals;

constexpr size_t kLimit = 64 * 1024;
constexpr size_t kMiB = 1024 * 1024;
constexpr int kLargeTimeoutMs = 60000;

// The header of a masked frame announcing `len` payload bytes, masking key included:
// everything a server needs to decide before any payload arrives. The length takes the
// shortest form, as RFC 6455 5.2 requires.
std::string header_only(uint8_t op, uint64_t len, bool fin = true) {
    std::string h;
    h += static_cast<char>((fin ? 0x80 : 0) | op);
    int bytes = len < 126 ? 0 : len <= 0xFFFF ? 2 : 8;
    h += static_cast<char>(0x80 | (bytes == 0 ? len : bytes == 2 ? 126 : 127));
    for (int i = bytes - 1; i >= 0; --i) h += static_cast<char>(len >> (8 * i));
    h += "\x37\xfa\x21\x3d"s;
    return h;
}

std::vector<WireCase> limit_cases() {
    std::vector<WireCase> v;
    v.push_back(echoes("TextAtLimit", text(ascii_bytes(kLimit)), {{kText, ascii_bytes(kLimit)}}));
    v.push_back(echoes("BinaryAtLimit", binary(all_bytes(kLimit)), {{kBinary, all_bytes(kLimit)}}));
    v.push_back(echoes("FragmentsSumToLimit", fragmented(kBinary, all_bytes(kLimit), 4000), {{kBinary, all_bytes(kLimit)}}));
    v.push_back(echoes("AtLimitThenEmptyFinalFragment", text(ascii_bytes(kLimit), false) + cont(""), {{kText, ascii_bytes(kLimit)}}));
    // Control frames are not part of the message: they do not count against the limit.
    v.push_back(echoes("PingInsideMessageAtLimit", binary(all_bytes(kLimit), false) + ping(all_bytes(125)) + cont(""),
                       {{kPong, all_bytes(125)}, {kBinary, all_bytes(kLimit)}}));
    v.push_back(echoes("LimitIsPerMessage", binary(all_bytes(kLimit)) + binary(all_bytes(kLimit)),
                       {{kBinary, all_bytes(kLimit)}, {kBinary, all_bytes(kLimit)}}));
    v.push_back(fails("TextOverLimit", text(ascii_bytes(kLimit + 1)), 1009));
    v.push_back(fails("BinaryOverLimit", binary(all_bytes(kLimit + 1)), 1009));
    v.push_back(fails("FragmentsOverLimit", fragmented(kBinary, all_bytes(kLimit + 1), 4000), 1009));
    v.push_back(fails("OverLimitAfterValidMessage", text("fits") + binary(all_bytes(kLimit + 1)), 1009, {{kText, "fits"}}));
    // Header only: the server must decide from the length field, before any payload.
    v.push_back(fails("HeaderOnlyOverLimit", header_only(kBinary, kLimit + 1), 1009));
    v.push_back(fails("HeaderOnlyTextOverLimit", header_only(kText, kLimit + 1), 1009));
    v.push_back(fails("HeaderOnlyHugeLength", header_only(kBinary, uint64_t{1} << 62), 1009));
    v.push_back(fails("HeaderOnlyNonFinalOverLimit", header_only(kBinary, kLimit + 1, false), 1009));
    v.push_back(fails("HeaderOnlySecondFragmentOverLimit", binary(all_bytes(40000), false) + header_only(kCont, kLimit - 40000 + 1),
                      1009));
    return v;
}

class ConformanceLimit : public WireTest {
public:
    static void SetUpTestSuite() { EchoServer::start({"--mode", "echo", "--max-message", "64K"}); }
};
TEST_P(ConformanceLimit, Exchange) { run_case(); }
INSTANTIATE_TEST_SUITE_P(Rfc6455, ConformanceLimit, whole_and_bytewise(limit_cases()), wire_param_name);

// Without --max-message the limit is 1 MiB (the documented default).
class ConformanceDefaultLimit : public EchoDeliveryTest {};

TEST_P(ConformanceDefaultLimit, OneMiBPlusOneRefusedFromHeader) {
    RawClient c;
    ASSERT_TRUE(open_client(c));
    ASSERT_TRUE(deliver(c, header_only(kText, kMiB + 1), GetParam()));
    EXPECT_TRUE(expect_close(c, 1009));
}

INSTANTIATE_TEST_SUITE_P(Rfc6455, ConformanceDefaultLimit, whole_and_bytewise(), delivery_param_name);

// Megabyte payloads go whole and chunked (the first KiB, every header byte, one byte per
// write, then 4093-byte writes): one byte per write would be millions of system calls.
class ConformanceDefaultLimitEcho : public EchoDeliveryTest {};

TEST_P(ConformanceDefaultLimitEcho, OneMiBEchoes) {
    RawClient c;
    ASSERT_TRUE(open_client(c));
    ASSERT_TRUE(deliver(c, binary(all_bytes(kMiB)), GetParam()));
    EXPECT_TRUE(expect_replies(c, {{kBinary, all_bytes(kMiB)}}));
}

// A message as large as the default --send-buffer (1 MiB) with a Ping right behind it, both
// arriving in one read: the client reads everything, so it must get the echo, then the
// Pong. It is no slow consumer: the server has not yet offered it the echo.
TEST_P(ConformanceDefaultLimitEcho, OneMiBThenPingInSameWrite) {
    RawClient c;
    ASSERT_TRUE(open_client(c));
    ASSERT_TRUE(deliver(c, binary(all_bytes(kMiB)) + ping("right behind"), GetParam()));
    EXPECT_TRUE(expect_replies(c, {{kBinary, all_bytes(kMiB)}, {kPong, "right behind"}}));
}

INSTANTIATE_TEST_SUITE_P(Rfc6455, ConformanceDefaultLimitEcho, whole_and_chunked(), delivery_param_name);

// RFC 6455 5.2: "the most significant bit MUST be 0" in a 64-bit length. Either a protocol
// error or message-too-big is a correct answer; silence or an echo is not.
class ConformanceLengthMsb : public EchoSuite, public ::testing::WithParamInterface<Delivery> {
public:
    static void SetUpTestSuite() { EchoServer::start({"--mode", "echo", "--max-message", "64K"}); }
};

TEST_P(ConformanceLengthMsb, RefusedFromHeader) {
    RawClient c;
    ASSERT_TRUE(open_client(c));
    ASSERT_TRUE(deliver(c, header_only(kBinary, (uint64_t{1} << 63) | 5), GetParam()));
    auto f = c.read_frame();
    ASSERT_TRUE(f) << "no answer to a length with its top bit set";
    ASSERT_EQ(f->opcode, kClose);
    EXPECT_TRUE(f->close_code() == 1002 || f->close_code() == 1009) << f->close_code();
    EXPECT_TRUE(c.wait_eof());
}

INSTANTIATE_TEST_SUITE_P(Rfc6455, ConformanceLengthMsb, whole_and_bytewise(), delivery_param_name);

// Suites against `wspushd --mode echo --max-message 64M`.
class LargeServerTest : public EchoSuite, public ::testing::WithParamInterface<Delivery> {
public:
    static void SetUpTestSuite() { EchoServer::start({"--mode", "echo", "--max-message", "64M"}); }
};

class ConformanceLargeLimit : public LargeServerTest {};

TEST_P(ConformanceLargeLimit, HeaderOverLimitRefused) {
    RawClient c;
    ASSERT_TRUE(open_client(c));
    ASSERT_TRUE(deliver(c, header_only(kBinary, 64 * kMiB + 1), GetParam()));
    EXPECT_TRUE(expect_close(c, 1009));
}

INSTANTIATE_TEST_SUITE_P(Rfc6455, ConformanceLargeLimit, whole_and_bytewise(), delivery_param_name);

class ConformanceLargeBackToBack : public LargeServerTest {};

// A large echo followed at once by more traffic: every reply arrives, in order.
TEST_P(ConformanceLargeBackToBack, EchoThenPingAndTextInSameWrite) {
    RawClient c;
    ASSERT_TRUE(open_client(c));
    const std::string big = all_bytes(4 * kMiB);
    ASSERT_TRUE(deliver(c, binary(big) + ping("after") + text("and a message"), GetParam()));
    EXPECT_TRUE(expect_replies(c, {{kBinary, big}, {kPong, "after"}, {kText, "and a message"}}, kLargeTimeoutMs));
}

// A client that pipelines far more than --send-buffer while it reads gets every echo, in
// order: the server may stop reading it for a while, but does not drop it.
TEST_P(ConformanceLargeBackToBack, PipelinedMessagesWhileReading) {
    RawClient c;
    ASSERT_TRUE(open_client(c));
    std::string wire;
    std::vector<Reply> want;
    for (int i = 0; i < 8; ++i) {
        std::string m = all_bytes(4 * kMiB - i);
        wire += binary(m) + ping(std::to_string(i));
        want.push_back({kBinary, std::move(m)});
        want.push_back({kPong, std::to_string(i)});
    }
    bool sent = false;
    std::thread sender([&] { sent = deliver(c, wire, GetParam()); });
    EXPECT_TRUE(expect_replies(c, want, kLargeTimeoutMs));
    sender.join();
    EXPECT_TRUE(sent);
}

// A Close right behind a large message: the echo, then the Close.
TEST_P(ConformanceLargeBackToBack, EchoThenCloseInSameWrite) {
    RawClient c;
    ASSERT_TRUE(open_client(c));
    const std::string big = all_bytes(4 * kMiB);
    ASSERT_TRUE(deliver(c, binary(big) + close_with(1000), GetParam()));
    EXPECT_TRUE(expect_replies(c, {{kBinary, big}}, kLargeTimeoutMs));
    EXPECT_TRUE(expect_close(c, 1000));
}

INSTANTIATE_TEST_SUITE_P(Rfc6455, ConformanceLargeBackToBack, whole_and_chunked(), delivery_param_name);

// Large messages are built in the test body: table rows hold sizes, not megabytes.
struct LargeCase {
    const char* name;
    uint8_t opcode;
    size_t size;
    size_t fragment;  // 0: one frame
};

void PrintTo(const LargeCase& c, std::ostream* os) { *os << c.name; }

// Whole and chunked, as ConformanceDefaultLimitEcho.
class ConformanceLargeMessage : public EchoSuite, public ::testing::WithParamInterface<std::tuple<LargeCase, Delivery>> {
public:
    static void SetUpTestSuite() { EchoServer::start({"--mode", "echo", "--max-message", "64M"}); }
};

TEST_P(ConformanceLargeMessage, EchoedByteExact) {
    const auto& [lc, how] = GetParam();
    std::string message = lc.opcode == kText ? utf8_text(lc.size) : all_bytes(lc.size);
    std::string wire = lc.fragment ? fragmented(lc.opcode, message, lc.fragment) : RawClient::frame(lc.opcode, message);
    RawClient c;
    ASSERT_TRUE(open_client(c));
    ASSERT_TRUE(deliver(c, wire, how));
    ASSERT_TRUE(expect_replies(c, {{lc.opcode, message}}, kLargeTimeoutMs));
    EXPECT_TRUE(expect_still_open(c));
}

INSTANTIATE_TEST_SUITE_P(
    Rfc6455, ConformanceLargeMessage,
    ::testing::Combine(::testing::Values(LargeCase{"Binary1MiB", kBinary, kMiB, 0}, LargeCase{"Text1MiB", kText, kMiB, 0},
                                         LargeCase{"Binary4MiB", kBinary, 4 * kMiB, 0}, LargeCase{"Text4MiB", kText, 4 * kMiB, 0},
                                         LargeCase{"Binary16MiB", kBinary, 16 * kMiB, 0}, LargeCase{"Text16MiB", kText, 16 * kMiB, 0},
                                         LargeCase{"Text4MiBIn1KiBFragments", kText, 4 * kMiB, 1024},
                                         LargeCase{"Binary16MiBIn1MiBFragments", kBinary, 16 * kMiB, kMiB},
                                         LargeCase{"Text16MiBIn65535ByteFragments", kText, 16 * kMiB, 65535}),
                       whole_and_chunked()),
    [](const auto& info) { return std::string(std::get<0>(info.param).name) + delivery_name(std::get<1>(info.param)); });

}  // namespace
}  // namespace wspush::testing
