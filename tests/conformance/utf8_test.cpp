// RFC 6455 sections 5.6 and 8.1: text messages must be valid UTF-8, checked across
// fragments, failing fast (Autobahn TestSuite category 6), against `wspushd --mode echo`.
#include <gtest/gtest.h>

#include "support/conformance.h"

namespace wspush::testing {
namespace {

using namespace std::string_literals;

struct Sample {
    const char* name;
    std::string bytes;
};

// Valid UTF-8, boundary code points of each sequence length (Unicode table 3-7).
const std::vector<Sample>& valid_samples() {
    static const std::vector<Sample> v = {
        {"Kosme", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"},  // "κόσμε", Autobahn 6.2
        {"U0080", "\xc2\x80"},
        {"U07FF", "\xdf\xbf"},
        {"U0800", "\xe0\xa0\x80"},
        {"UD7FF", "\xed\x9f\xbf"},  // last code point before the surrogates
        {"UE000", "\xee\x80\x80"},  // first after them
        {"UFFFD", "\xef\xbf\xbd"},
        {"UFFFF", "\xef\xbf\xbf"},  // a noncharacter, still valid UTF-8
        {"U10000", "\xf0\x90\x80\x80"},
        {"MusicalSymbolGClef", "\xf0\x9d\x84\x9e"},
        {"U10FFFF", "\xf4\x8f\xbf\xbf"},
        {"Mixed", "a\xc2\xa9\xe2\x82\xac\xf0\x9f\x98\x80z"},  // 1-, 2-, 3- and 4-byte sequences
    };
    return v;
}

// Invalid UTF-8: each must fail the connection with 1007 (RFC 6455 8.1).
const std::vector<Sample>& invalid_samples() {
    static const std::vector<Sample> v = {
        {"OverlongNul2", "\xc0\x80"},
        {"OverlongSlash2", "\xc0\xaf"},
        {"OverlongC1", "\xc1\xbf"},
        {"OverlongSlash3", "\xe0\x80\xaf"},
        {"OverlongU07FF3", "\xe0\x9f\xbf"},
        {"OverlongSlash4", "\xf0\x80\x80\xaf"},
        {"OverlongUFFFF4", "\xf0\x8f\xbf\xbf"},
        {"SurrogateD800", "\xed\xa0\x80"},
        {"SurrogateDFFF", "\xed\xbf\xbf"},
        {"SurrogatePair", "\xed\xa0\x80\xed\xb0\x80"},
        {"Above10FFFF", "\xf4\x90\x80\x80"},
        {"LeadF5", "\xf5\x80\x80\x80"},
        {"FiveByteForm", "\xf8\x88\x80\x80\x80"},
        {"ByteFE", "\xfe"},
        {"ByteFF", "\xff"},
        {"LoneContinuation", "\x80"},
        {"LoneContinuationBF", "\xbf"},
        {"ContinuationInAscii", "a\x80z"},
        {"TwoByteLeadThenAscii", "\xc2z"},
        {"ThreeByteLeadCutByAscii", "\xe2\x82z"},
        {"InvalidAfterValidText", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80" "edited"},
        // Truncated at the end of the message: each prefix could still be completed.
        {"TruncatedTwoByte", "\xce"},
        {"TruncatedThreeByte", "\xe1\xbd"},
        {"TruncatedFourByte", "\xf0\x9d\x84"},
        {"TruncatedAfterKosm", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce"},
    };
    return v;
}

std::string kosme_and_more() {
    return "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5 \xf0\x9d\x84\x9e \xf4\x8f\xbf\xbf";
}

std::vector<WireCase> utf8_cases() {
    std::vector<WireCase> v;
    for (const Sample& s : valid_samples()) {
        v.push_back(echoes(std::string("Valid") + s.name, text(s.bytes), {{kText, s.bytes}}));
        v.push_back(echoes(std::string("Valid") + s.name + "OneByteFragments", [&] {
            std::string frames = text(s.bytes.substr(0, 1), false);
            for (size_t i = 1; i < s.bytes.size(); ++i) frames += cont(s.bytes.substr(i, 1), i + 1 == s.bytes.size());
            return frames;
        }(), {{kText, s.bytes}}));
    }
    // Two fragments split at every byte position, so every code point is cut every way.
    const std::string m = kosme_and_more();
    for (size_t k = 0; k <= m.size(); ++k)
        v.push_back(echoes("ValidSplitAt" + std::to_string(k), text(m.substr(0, k), false) + cont(m.substr(k)), {{kText, m}}));
    // Binary messages carry any bytes.
    v.push_back(echoes("BinaryNotValidated", binary("\xff\xfe\xc0\x80\xed\xa0\x80"s), {{kBinary, "\xff\xfe\xc0\x80\xed\xa0\x80"s}}));
    for (const Sample& s : invalid_samples()) {
        v.push_back(fails(std::string("Invalid") + s.name, text(s.bytes), 1007));
        v.push_back(fails(std::string("Invalid") + s.name + "AfterValidMessage", text("ok") + text(s.bytes), 1007,
                          {{kText, "ok"}}));
    }
    // Invalid only when the fragments are put together.
    v.push_back(fails("InvalidAcrossFragments", text("\xf4"s, false) + cont("\x90\x80\x80"s), 1007));
    v.push_back(fails("SurrogateAcrossFragments", text("ab\xed"s, false) + cont("\xa0\x80"s), 1007));
    v.push_back(fails("TruncatedAtFinalFragment", text("\xf0\x9d"s, false) + cont("\x84"s), 1007));
    v.push_back(fails("TruncatedBeforeEmptyFinalFragment", text("\xce"s, false) + cont(""), 1007));
    // Control frames between fragments have their own payloads: they neither see nor change
    // the text message's UTF-8 state.
    v.push_back(echoes("SequenceSplitAroundPing", text("\xce"s, false) + ping("\xff") + cont("\xba"s), {{kPong, "\xff"}, {kText, "\xce\xba"}}));
    v.push_back(echoes("SequenceSplitAroundPong", text("\xf0\x9d"s, false) + pong("x") + cont("\x84\x9e"s), {{kText, "\xf0\x9d\x84\x9e"}}));
    v.push_back(fails("InvalidAfterPingBetweenFragments", text("ab", false) + ping("p") + cont("\xff"s), 1007, {{kPong, "p"}}));
    v.push_back(fails("CloseReasonValidatedAloneMidSequence", text("\xce"s, false) + close_with(1000, "ok"), 1000));
    v.push_back(fails("CloseReasonCompletingSequenceInvalid", text("\xce"s, false) + close_with(1000, "\xba"), 1007));
    // A valid message then an invalid one: the valid one is echoed first.
    v.push_back(fails("InvalidAfterFragmentedValid", text(m.substr(0, 3), false) + cont(m.substr(3)) + text("\xc0\xaf"s), 1007,
                      {{kText, m}}));
    return v;
}

class ConformanceUtf8 : public EchoWireTest {};
TEST_P(ConformanceUtf8, Exchange) { run_case(); }
INSTANTIATE_TEST_SUITE_P(Rfc6455, ConformanceUtf8, whole_and_bytewise(utf8_cases()), wire_param_name);

// Fail fast: the server rejects invalid text as soon as the bad bytes arrive, without
// waiting for the rest of the frame or message (RFC 6455 8.1; Autobahn 6.4).
class ConformanceUtf8FailFast : public EchoDeliveryTest {};

TEST_P(ConformanceUtf8FailFast, InvalidFirstFragment) {
    RawClient c;
    ASSERT_TRUE(open_client(c));
    // No FIN: the message is unfinished, yet no continuation can make it valid.
    ASSERT_TRUE(deliver(c, text("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80"s, false), GetParam()));
    EXPECT_TRUE(expect_close(c, 1007));
}

TEST_P(ConformanceUtf8FailFast, InvalidSecondFragment) {
    RawClient c;
    ASSERT_TRUE(open_client(c));
    ASSERT_TRUE(deliver(c, text("valid start ", false) + cont("\xed\xa0\x80 then more", false), GetParam()));
    EXPECT_TRUE(expect_close(c, 1007));
}

TEST_P(ConformanceUtf8FailFast, InvalidWithinFrame) {
    RawClient c;
    ASSERT_TRUE(open_client(c));
    // One frame of 40 payload bytes; only the header and the first 10 are sent, and they
    // already hold 0xC0 0xAF.
    std::string frame = text("valid \xc0\xaf"s + std::string(32, 'x'));
    ASSERT_TRUE(deliver(c, frame.substr(0, 2 + 4 + 10), GetParam()));
    EXPECT_TRUE(expect_close(c, 1007));
}

TEST_P(ConformanceUtf8FailFast, TruncatedSequenceWaitsForMore) {
    RawClient c;
    ASSERT_TRUE(open_client(c));
    // A sequence cut at a fragment end is not an error yet: the next fragment completes it.
    ASSERT_TRUE(deliver(c, text("\xf0\x9d"s, false), GetParam()));
    ASSERT_TRUE(expect_still_open(c));
    ASSERT_TRUE(deliver(c, cont("\x84\x9e"s), GetParam()));
    EXPECT_TRUE(expect_replies(c, {{kText, "\xf0\x9d\x84\x9e"}}));
}

INSTANTIATE_TEST_SUITE_P(Rfc6455, ConformanceUtf8FailFast, whole_and_bytewise(), delivery_param_name);

}  // namespace
}  // namespace wspush::testing
