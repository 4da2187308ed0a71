// RFC 6455 section 5.4: fragmented messages and control frames between fragments
// (Autobahn TestSuite category 5), against `wspushd --mode echo`.
#include <gtest/gtest.h>

#include "support/conformance.h"

namespace wspush::testing {
namespace {

using namespace std::string_literals;

std::vector<WireCase> fragmentation_cases() {
    std::vector<WireCase> v;
    v.push_back(echoes("TextTwoFragments", text("Hello, ", false) + cont("world"), {{kText, "Hello, world"}}));
    v.push_back(echoes("BinaryTwoFragments", binary("\x00\x01"s, false) + cont("\x02\xff"s), {{kBinary, "\x00\x01\x02\xff"s}}));
    v.push_back(echoes("TextOneByteFragments", fragmented(kText, "fragmented one byte each", 1),
                       {{kText, "fragmented one byte each"}}));
    v.push_back(echoes("BinaryHundredFragments", fragmented(kBinary, all_bytes(1000), 10), {{kBinary, all_bytes(1000)}}));
    v.push_back(echoes("BinaryThreeLargeFragments", fragmented(kBinary, all_bytes(3 * 65536 + 7), 65536),
                       {{kBinary, all_bytes(3 * 65536 + 7)}}));
    v.push_back(echoes("TextWithEmptyFragments", text("", false) + cont("", false) + cont("abc", false) + cont("", false) + cont(""),
                       {{kText, "abc"}}));
    v.push_back(echoes("TextAllFragmentsEmpty", text("", false) + cont("", false) + cont(""), {{kText, ""}}));
    v.push_back(echoes("BinaryEmptyFirstFragment", binary("", false) + cont("\x00\x00"s), {{kBinary, "\x00\x00"s}}));
    // RFC 6455 5.4: control frames MAY be injected in the middle of a fragmented message.
    v.push_back(echoes("PingBetweenFragments", text("frag1", false) + ping("between") + cont("frag2"),
                       {{kPong, "between"}, {kText, "frag1frag2"}}));
    v.push_back(echoes("PingsBetweenEveryFragment",
                       binary("a", false) + ping("1") + cont("b", false) + ping("2") + cont("c", false) + ping("3") + cont("d"),
                       {{kPong, "1"}, {kPong, "2"}, {kPong, "3"}, {kBinary, "abcd"}}));
    v.push_back(echoes("PongBetweenFragmentsIgnored", text("frag1", false) + pong("unsolicited") + cont("frag2"),
                       {{kText, "frag1frag2"}}));
    v.push_back(echoes("MessagesAfterFragmentedMessage", text("a", false) + cont("b") + binary("c") + text("d", false) + cont("e"),
                       {{kText, "ab"}, {kBinary, "c"}, {kText, "de"}}));
    // A Close in the middle of a fragmented message ends the connection; the partial
    // message is never echoed.
    v.push_back(fails("CloseBetweenFragments", text("partial", false) + close_with(1000) + cont("never"), 1000));
    v.push_back(fails("ContinuationWithoutStart", cont("orphan"), 1002));
    v.push_back(fails("ContinuationWithoutStartNotFinal", cont("orphan", false) + cont("end"), 1002));
    v.push_back(fails("ContinuationAfterFinalFragment", text("a", false) + cont("b") + cont("c"), 1002, {{kText, "ab"}}));
    v.push_back(fails("ContinuationAfterWholeMessage", text("whole") + cont("late"), 1002, {{kText, "whole"}}));
    v.push_back(fails("TextInsideFragmentedText", text("a", false) + text("b") + cont("c"), 1002));
    v.push_back(fails("BinaryInsideFragmentedText", text("a", false) + binary("b") + cont("c"), 1002));
    v.push_back(fails("TextInsideFragmentedBinary", binary("a", false) + text("b", false) + cont("c"), 1002));
    v.push_back(fails("FragmentedPing", RawClient::frame(kPing, "fr", false) + cont("ag"), 1002));
    v.push_back(fails("FragmentedPingInsideMessage", text("a", false) + RawClient::frame(kPing, "p", false) + cont("b"), 1002));
    v.push_back(fails("FragmentedPong", RawClient::frame(kPong, "fr", false) + cont("ag"), 1002));
    v.push_back(fails("FragmentedClose", RawClient::frame(kClose, "\x03\xe8"s, false) + cont("bye"), 1002));
    return v;
}

class ConformanceFragmentation : public EchoWireTest {};
TEST_P(ConformanceFragmentation, Exchange) { run_case(); }
INSTANTIATE_TEST_SUITE_P(Rfc6455, ConformanceFragmentation, whole_and_bytewise(fragmentation_cases()), wire_param_name);

// The Pong to a Ping between fragments comes at once, not after the message completes.
class ConformanceInterleavedPing : public EchoDeliveryTest {};

TEST_P(ConformanceInterleavedPing, PongArrivesBeforeMessageEnds) {
    RawClient c;
    ASSERT_TRUE(open_client(c));
    ASSERT_TRUE(deliver(c, text("first half, ", false) + ping("now"), GetParam()));
    ASSERT_TRUE(expect_replies(c, {{kPong, "now"}}));
    ASSERT_TRUE(deliver(c, cont("second half"), GetParam()));
    ASSERT_TRUE(expect_replies(c, {{kText, "first half, second half"}}));
    EXPECT_TRUE(expect_still_open(c));
}

TEST_P(ConformanceInterleavedPing, NothingEchoedBeforeFinalFragment) {
    RawClient c;
    ASSERT_TRUE(open_client(c));
    ASSERT_TRUE(deliver(c, binary("start", false) + cont("middle", false), GetParam()));
    // The probe's Pong must be the very next frame: no partial echo went out.
    ASSERT_TRUE(expect_still_open(c));
    ASSERT_TRUE(deliver(c, cont("end"), GetParam()));
    EXPECT_TRUE(expect_replies(c, {{kBinary, "startmiddleend"}}));
}

INSTANTIATE_TEST_SUITE_P(Rfc6455, ConformanceInterleavedPing, whole_and_bytewise(), delivery_param_name);

}  // namespace
}  // namespace wspush::testing
