// RFC 6455 section 5: base framing, control frames, reserved bits, opcodes and masking
// (Autobahn TestSuite categories 1 to 4), against `wspushd --mode echo`.
#include <gtest/gtest.h>

#include "support/conformance.h"

namespace wspush::testing {
namespace {

using namespace std::string_literals;

// Server frames are never masked and always final in echo mode; expect_replies checks both.
std::vector<WireCase> framing_cases() {
    std::vector<WireCase> v;
    // 125/126 and 65535/65536 straddle the 7-bit, 16-bit and 64-bit length encodings.
    for (size_t n : {0, 1, 125, 126, 127, 65535, 65536}) {
        v.push_back(echoes("Text" + std::to_string(n), text(ascii_bytes(n)), {{kText, ascii_bytes(n)}}));
        v.push_back(echoes("Binary" + std::to_string(n), binary(all_bytes(n)), {{kBinary, all_bytes(n)}}));
    }
    v.push_back(echoes("SeveralFramesInOneWrite", text("one") + binary("\x00\xff"s) + text("") + binary("") + text("five"),
                       {{kText, "one"}, {kBinary, "\x00\xff"s}, {kText, ""}, {kBinary, ""}, {kText, "five"}}));
    std::string many;
    std::vector<Reply> many_replies;
    for (int i = 0; i < 100; ++i) {
        std::string m = "message " + std::to_string(i);
        many += i % 2 ? binary(m) : text(m);
        many_replies.push_back({static_cast<uint8_t>(i % 2 ? kBinary : kText), m});
    }
    v.push_back(echoes("HundredMessagesInOneWrite", many, many_replies));
    v.push_back(echoes("TextWithNulBytes", text("a\0b\0"s), {{kText, "a\0b\0"s}}));
    return v;
}

std::vector<WireCase> ping_cases() {
    std::vector<WireCase> v;
    v.push_back(echoes("PingEmpty", ping(""), {{kPong, ""}}));
    v.push_back(echoes("PingText", ping("Hello, world!"), {{kPong, "Hello, world!"}}));
    v.push_back(echoes("PingBinaryPayload", ping("\x00\xff\xfe\xfd\xfc\xfb\x00\xff"s), {{kPong, "\x00\xff\xfe\xfd\xfc\xfb\x00\xff"s}}));
    v.push_back(echoes("Ping125", ping(all_bytes(125)), {{kPong, all_bytes(125)}}));
    // RFC 6455 5.5: control frames carry at most 125 payload bytes and are never fragmented.
    v.push_back(fails("Ping126", ping(all_bytes(126)), 1002));
    v.push_back(fails("Ping65536", ping(all_bytes(65536)), 1002));
    v.push_back(fails("PingFragmented", RawClient::frame(kPing, "frag", false) + cont("ment"), 1002));
    v.push_back(fails("Pong126", pong(all_bytes(126)), 1002));
    // RFC 6455 5.5.3: an unsolicited Pong is a heartbeat; no response is expected.
    v.push_back(echoes("UnsolicitedPongIgnored", pong("unsolicited") + text("after pong"), {{kText, "after pong"}}));
    v.push_back(echoes("UnsolicitedEmptyPongIgnored", pong("") + text("after pong"), {{kText, "after pong"}}));
    v.push_back(echoes("Pong125Ignored", pong(all_bytes(125)) + binary("x"), {{kBinary, "x"}}));
    std::string pings;
    std::vector<Reply> pongs;
    for (int i = 0; i < 10; ++i) {
        pings += ping("ping " + std::to_string(i));
        pongs.push_back({kPong, "ping " + std::to_string(i)});
    }
    v.push_back(echoes("TenPingsTenPongsInOrder", pings, pongs));
    for (int i = 10; i < 1000; ++i) {
        pings += ping(std::to_string(i));
        pongs.push_back({kPong, std::to_string(i)});
    }
    v.push_back(echoes("ThousandPingsInOneWrite", pings, pongs));
    v.push_back(echoes("PingsBetweenMessages", text("a") + ping("1") + binary("b") + ping("2"),
                       {{kText, "a"}, {kPong, "1"}, {kBinary, "b"}, {kPong, "2"}}));
    return v;
}

// RSV bit values as RawClient::frame takes them: 4 = RSV1, 2 = RSV2, 1 = RSV3.
std::vector<WireCase> reserved_bit_cases() {
    struct Op {
        const char* name;
        uint8_t opcode;
        std::string payload;
    };
    const Op ops[] = {{"Text", kText, "reserved"}, {"Binary", kBinary, "\x01\x02"s}, {"Ping", kPing, "p"},
                      {"Pong", kPong, "p"}, {"Close", kClose, "\x03\xe8"s}};
    const std::pair<const char*, uint8_t> bits[] = {{"Rsv1", 4}, {"Rsv2", 2}, {"Rsv3", 1}, {"AllRsv", 7}};
    std::vector<WireCase> v;
    // No extension is negotiated, so RFC 6455 5.2: any nonzero RSV bit fails the connection.
    for (const auto& [bit_name, bit] : bits)
        for (const Op& op : ops)
            v.push_back(fails(std::string(bit_name) + op.name, RawClient::frame(op.opcode, op.payload, true, bit), 1002));
    v.push_back(fails("Rsv1AfterValidText", text("valid") + RawClient::frame(kText, "bad", true, 4) + text("never"), 1002,
                      {{kText, "valid"}}));
    v.push_back(fails("Rsv2OnContinuation", text("start", false) + RawClient::frame(kCont, "end", true, 2), 1002));
    v.push_back(fails("Rsv3OnEmptyText", RawClient::frame(kText, "", true, 1), 1002));
    return v;
}

std::vector<WireCase> opcode_cases() {
    std::vector<WireCase> v;
    // 3-7 are reserved data opcodes, 0xB-0xF reserved control opcodes (RFC 6455 5.2).
    for (uint8_t op : {3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF}) {
        std::string name = "Opcode" + std::to_string(op);
        v.push_back(fails(name, RawClient::frame(op, ""), 1002));
        v.push_back(fails(name + "WithPayload", RawClient::frame(op, "reserved opcode"), 1002));
        v.push_back(fails(name + "AfterText", text("before") + RawClient::frame(op, "x") + ping("never"), 1002,
                          {{kText, "before"}}));
        v.push_back(fails(name + "InsideFragmentedMessage", text("frag", false) + RawClient::frame(op, "x") + cont("end"),
                          1002));
    }
    return v;
}

std::vector<WireCase> masking_cases() {
    auto unmasked = [](uint8_t op, std::string_view payload, bool fin = true) {
        return RawClient::frame(op, payload, fin, 0, false);
    };
    // RFC 6455 5.1: a server MUST close the connection upon receiving an unmasked frame.
    return {
        fails("UnmaskedText", unmasked(kText, "hello"), 1002),
        fails("UnmaskedEmptyText", unmasked(kText, ""), 1002),
        fails("UnmaskedBinary", unmasked(kBinary, "\x00\x01"s), 1002),
        fails("UnmaskedBinary65536", unmasked(kBinary, all_bytes(65536)), 1002),
        fails("UnmaskedPing", unmasked(kPing, "p"), 1002),
        fails("UnmaskedPong", unmasked(kPong, "p"), 1002),
        fails("UnmaskedClose", unmasked(kClose, "\x03\xe8"s), 1002),
        fails("UnmaskedContinuation", text("start", false) + unmasked(kCont, "end"), 1002),
        fails("UnmaskedAfterMasked", text("masked") + unmasked(kText, "unmasked"), 1002, {{kText, "masked"}}),
    };
}

class ConformanceFraming : public EchoWireTest {};
TEST_P(ConformanceFraming, Exchange) { run_case(); }
INSTANTIATE_TEST_SUITE_P(Rfc6455, ConformanceFraming, whole_and_bytewise(framing_cases()), wire_param_name);

class ConformancePing : public EchoWireTest {};
TEST_P(ConformancePing, Exchange) { run_case(); }
INSTANTIATE_TEST_SUITE_P(Rfc6455, ConformancePing, whole_and_bytewise(ping_cases()), wire_param_name);

class ConformanceReservedBits : public EchoWireTest {};
TEST_P(ConformanceReservedBits, Exchange) { run_case(); }
INSTANTIATE_TEST_SUITE_P(Rfc6455, ConformanceReservedBits, whole_and_bytewise(reserved_bit_cases()), wire_param_name);

class ConformanceOpcode : public EchoWireTest {};
TEST_P(ConformanceOpcode, Exchange) { run_case(); }
INSTANTIATE_TEST_SUITE_P(Rfc6455, ConformanceOpcode, whole_and_bytewise(opcode_cases()), wire_param_name);

class ConformanceMasking : public EchoWireTest {};
TEST_P(ConformanceMasking, Exchange) { run_case(); }
INSTANTIATE_TEST_SUITE_P(Rfc6455, ConformanceMasking, whole_and_bytewise(masking_cases()), wire_param_name);

}  // namespace
}  // namespace wspush::testing
