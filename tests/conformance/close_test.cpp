// RFC 6455 sections 5.5.1 and 7: the closing handshake and close codes (Autobahn TestSuite
// category 7), against `wspushd --mode echo`. In every case the server answers the client's
// Close with its own and then closes TCP (expect_close checks both).
#include <gtest/gtest.h>

#include "support/conformance.h"

namespace wspush::testing {
namespace {

using namespace std::string_literals;

std::vector<WireCase> close_cases() {
    std::vector<WireCase> v;
    // No status code sent: the answer carries none either (RFC 6455 5.5.1: "typically
    // echoes the status code it received").
    v.push_back(fails("EmptyClose", close_raw(""), kEmptyClose));
    v.push_back(fails("Close1000", close_with(1000), 1000));
    v.push_back(fails("Close1000WithReason", close_with(1000, "bye"), 1000));
    v.push_back(fails("Close1000WithUtf8Reason", close_with(1000, "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"), 1000));
    v.push_back(fails("CloseWithLongestReason", close_with(1000, std::string(123, 'r')), 1000));
    // 2 + 124 = 126 bytes: too long for a control frame.
    v.push_back(fails("CloseReasonTooLong", close_with(1000, std::string(124, 'r')), 1002));
    v.push_back(fails("CloseOneBytePayload", close_raw("\x03"s), 1002));
    v.push_back(fails("CloseReasonInvalidUtf8", close_with(1000, "\xce\xba\xe1\xbd\xb9\xed\xa0\x80"), 1007));
    v.push_back(fails("CloseReasonTruncatedUtf8", close_with(1000, "ok\xf0\x9d\x84"), 1007));
    v.push_back(fails("DataAfterCloseIgnored", close_with(1000) + text("ignored") + binary("ignored"), 1000));
    v.push_back(fails("PingAfterCloseIgnored", close_with(1000) + ping("ignored"), 1000));
    v.push_back(fails("SecondCloseIgnored", close_with(1000) + close_with(1001), 1000));
    v.push_back(fails("GarbageAfterCloseIgnored", close_with(1000) + "\xff\xff\xff\xff"s, 1000));
    v.push_back(fails("EchoesBeforeClose", text("last words") + ping("p") + close_with(1000), 1000,
                      {{kText, "last words"}, {kPong, "p"}}));
    v.push_back(fails("LargeEchoBeforeClose", binary(all_bytes(200000)) + close_with(1000), 1000,
                      {{kBinary, all_bytes(200000)}}));
    // 7.4.1 and 7.4.2: codes an endpoint may send, echoed as received.
    for (uint16_t code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999})
        v.push_back(fails("ValidCode" + std::to_string(code), close_with(code, "reason"), code));
    // Reserved, never-on-the-wire or unassigned codes: a protocol error.
    for (uint16_t code : {0, 999, 1004, 1005, 1006, 1012, 1013, 1014, 1015, 1016, 1100, 2000, 2999, 5000, 65535})
        v.push_back(fails("InvalidCode" + std::to_string(code), close_with(code), 1002));
    return v;
}

class ConformanceClose : public EchoWireTest {};
TEST_P(ConformanceClose, Exchange) { run_case(); }
INSTANTIATE_TEST_SUITE_P(Rfc6455, ConformanceClose, whole_and_bytewise(close_cases()), wire_param_name);

class ConformanceClosingHandshake : public EchoDeliveryTest {};

// After its own Close (here for a protocol error) the server ignores what still arrives.
TEST_P(ConformanceClosingHandshake, ClientCloseAfterServerCloseIgnored) {
    RawClient c;
    ASSERT_TRUE(open_client(c));
    ASSERT_TRUE(deliver(c, RawClient::frame(0x3, "reserved"), GetParam()));
    auto f = c.read_frame();
    ASSERT_TRUE(f);
    EXPECT_EQ(f->close_code(), 1002);
    // The client completes the handshake late; no second Close and no echo may follow.
    EXPECT_TRUE(deliver(c, close_with(1002) + text("late"), GetParam()));
    EXPECT_FALSE(c.read_frame());
    EXPECT_TRUE(c.wait_eof(0));
}

INSTANTIATE_TEST_SUITE_P(Rfc6455, ConformanceClosingHandshake, whole_and_bytewise(), delivery_param_name);

}  // namespace
}  // namespace wspush::testing
