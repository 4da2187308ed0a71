// FrameParser against RFC 6455 section 5, case by case in the Autobahn testsuite's
// categories. Every case is fed whole, byte by byte, at every split point and in random
// pieces, each piece an exact-size heap copy, and must give the same events each time.
#include "ws/frame_parser.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace wspush::ws {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr uint64_t kDefaultMax = 1 << 20;
constexpr uint64_t kUnlimited = ~0ull;

// ---- Building client frames -------------------------------------------------------------

// Each frame gets its own key so that a parser reusing a stale key fails.
uint8_t g_key_seed = 0;

void next_key(uint8_t (&key)[4]) {
    ++g_key_seed;
    key[0] = static_cast<uint8_t>(0x37 + g_key_seed);
    key[1] = static_cast<uint8_t>(0xFA - 3 * g_key_seed);
    key[2] = 0x21;
    key[3] = static_cast<uint8_t>(0x3D ^ g_key_seed);
}

// Appends the key and the payload masked byte by byte (RFC 6455 5.3, not unmask()).
Bytes masked_body(Bytes header, std::string_view payload) {
    uint8_t key[4];
    next_key(key);
    header.insert(header.end(), key, key + 4);
    for (size_t i = 0; i < payload.size(); ++i)
        header.push_back(static_cast<uint8_t>(payload[i] ^ key[i % 4]));
    return header;
}

// A masked client frame as a conforming client writes it.
Bytes frame(Opcode op, std::string_view payload, bool fin = true) {
    uint8_t key[4];
    next_key(key);
    uint8_t h[kMaxClientHeader];
    const size_t n = encode_client_header(h, op, payload.size(), key, fin);
    Bytes b(h, h + n);
    for (size_t i = 0; i < payload.size(); ++i)
        b.push_back(static_cast<uint8_t>(payload[i] ^ key[i % 4]));
    return b;
}

Bytes frame_op(uint8_t op, std::string_view payload) {
    return frame(static_cast<Opcode>(op), payload);
}

// The frame with extra bits ORed into byte 0 (RSV1 0x40, RSV2 0x20, RSV3 0x10).
Bytes with_bits(Bytes b, uint8_t bits) {
    b[0] |= bits;
    return b;
}

Bytes unmasked(Opcode op, std::string_view payload) {
    uint8_t h[kMaxServerHeader];
    const size_t n = encode_header(h, op, payload.size());
    Bytes b(h, h + n);
    b.insert(b.end(), payload.begin(), payload.end());
    return b;
}

Bytes cat(std::initializer_list<Bytes> parts) {
    Bytes all;
    for (const Bytes& p : parts) all.insert(all.end(), p.begin(), p.end());
    return all;
}

std::string close_body(uint16_t code, std::string_view reason = "") {
    std::string s{static_cast<char>(code >> 8), static_cast<char>(code & 0xFF)};
    return s.append(reason);
}

// n printable ASCII bytes.
std::string ascii(size_t n) {
    std::string s(n, ' ');
    for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('!' + i % 90);
    return s;
}

std::string random_string(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    return s;
}

// ---- Recording what the parser reports ----------------------------------------------------

// Short payloads are shown escaped; long ones by size and FNV-1a hash.
std::string show(std::string_view bytes) {
    char buf[64];
    if (bytes.size() > 64) {
        uint64_t h = 1469598103934665603ull;
        for (unsigned char c : bytes) h = (h ^ c) * 1099511628211ull;
        std::snprintf(buf, sizeof buf, "<%zu bytes, fnv %016llx>", bytes.size(),
                      static_cast<unsigned long long>(h));
        return buf;
    }
    std::string out;
    for (unsigned char c : bytes) {
        if (c >= 0x20 && c < 0x7F && c != '\\') {
            out += static_cast<char>(c);
        } else {
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        }
    }
    return out;
}

std::string text(std::string_view s) { return "text " + show(s); }
std::string binary(std::string_view s) { return "binary " + show(s); }
std::string ping(std::string_view s) { return "ping " + show(s); }
std::string pong(std::string_view s) { return "pong " + show(s); }
std::string closed(uint16_t code, std::string_view reason = "") {
    return "close " + std::to_string(code) + " " + show(reason);
}

std::string_view as_view(const uint8_t* p, size_t n) {
    return {reinterpret_cast<const char*>(p), n};
}

// Records events in order, assembling data messages; notes any broken FrameSink promise.
class Recorder final : public FrameSink {
public:
    std::vector<std::string> events;
    std::vector<std::string> violations;
    std::string message;   // bytes of the unfinished data message delivered so far
    std::string last;      // the last complete data message
    size_t data_calls = 0;
    const uint8_t* last_data = nullptr;
    const uint8_t* last_control = nullptr;

    void on_data(Opcode op, uint8_t* p, size_t n, bool end) noexcept override {
        ++data_calls;
        last_data = p;
        if (op != Opcode::kText && op != Opcode::kBinary) violations.push_back("data opcode");
        if (!message.empty() && op != op_) violations.push_back("opcode changed mid-message");
        if (n == 0 && !end) violations.push_back("empty chunk that does not end the message");
        op_ = op;
        message.append(as_view(p, n));
        if (!end) return;
        events.push_back(op == Opcode::kText ? text(message) : binary(message));
        last = std::move(message);
        message.clear();
    }
    void on_ping(const uint8_t* p, size_t n) noexcept override {
        last_control = p;
        check_control(n);
        events.push_back(ping(as_view(p, n)));
    }
    void on_pong(const uint8_t* p, size_t n) noexcept override {
        last_control = p;
        check_control(n);
        events.push_back(pong(as_view(p, n)));
    }
    void on_close(uint16_t code, std::string_view reason) noexcept override {
        events.push_back(closed(code, reason));
    }

private:
    void check_control(size_t n) {
        if (n > kMaxControlPayload) violations.push_back("control payload over 125");
    }
    Opcode op_ = Opcode::kText;
};

struct Outcome {
    std::vector<std::string> events;
    std::vector<std::string> violations;
    std::string partial;
    ParseStatus status = ParseStatus::kOk;
    FrameError error;
};

// Feeds input cut at the given ascending positions, each piece an exact-size heap copy.
// Once parse() has returned kClosed or kError, later pieces must give the same status and
// no events.
Outcome feed(const Bytes& input, const std::vector<size_t>& cuts, uint64_t max_message) {
    FrameParser parser;
    Recorder rec;
    Outcome out;
    size_t from = 0;
    size_t events_at_end = 0;
    for (size_t i = 0; i <= cuts.size(); ++i) {
        const size_t to = i < cuts.size() ? cuts[i] : input.size();
        auto piece = std::make_unique<uint8_t[]>(to - from);
        std::copy(input.begin() + static_cast<ptrdiff_t>(from),
                  input.begin() + static_cast<ptrdiff_t>(to), piece.get());
        const ParseStatus st = parser.parse(piece.get(), to - from, max_message, rec);
        if (out.status != ParseStatus::kOk) {
            if (st != out.status) rec.violations.push_back("status changed after the end");
            if (rec.events.size() != events_at_end) rec.violations.push_back("event after the end");
        } else {
            out.status = st;
            events_at_end = rec.events.size();
        }
        from = to;
    }
    out.events = std::move(rec.events);
    out.violations = std::move(rec.violations);
    out.partial = std::move(rec.message);
    if (out.status == ParseStatus::kError) out.error = parser.error();
    return out;
}

// ---- Table-driven cases --------------------------------------------------------------------

struct Case {
    std::string name;
    Bytes input;
    std::vector<std::string> events;
    ParseStatus status = ParseStatus::kOk;
    uint16_t code = 0;                 // error().code when status is kError
    std::string reason;                // error().reason when status is kError
    std::string partial;               // bytes of an unfinished message delivered at the end
    bool partial_is_bound = false;     // partial may then be any prefix of it (fail-fast cases)
    uint64_t max_message = kDefaultMax;
};

// gtest prints the case by name, not as raw bytes.
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

Case ok(std::string name, Bytes input, std::vector<std::string> events, std::string partial = "") {
    return {std::move(name), std::move(input), std::move(events), ParseStatus::kOk, 0, "",
            std::move(partial)};
}

Case fails(std::string name, Bytes input, std::vector<std::string> events, uint16_t code,
           std::string reason, std::string partial = "") {
    return {std::move(name), std::move(input), std::move(events), ParseStatus::kError, code,
            std::move(reason), std::move(partial)};
}

Case protocol_error(std::string name, Bytes input, std::string reason,
                    std::vector<std::string> events = {}, std::string partial = "") {
    return fails(std::move(name), std::move(input), std::move(events), kCloseProtocolError,
                 std::move(reason), std::move(partial));
}

// Invalid UTF-8 in a text message: the bytes before the bad one may or may not have been
// delivered (it depends on the split), the bad one never.
Case bad_utf8(std::string name, Bytes input, std::string valid_prefix,
              std::vector<std::string> events = {}) {
    Case c = fails(std::move(name), std::move(input), std::move(events), kCloseInvalidPayload,
                   "invalid UTF-8", std::move(valid_prefix));
    c.partial_is_bound = true;
    return c;
}

Case closes_with(Case c) {
    c.status = ParseStatus::kClosed;
    return c;
}

Case with_max(Case c, uint64_t max_message) {
    c.max_message = max_message;
    return c;
}

std::vector<Case> framing_cases() {
    const std::string all_bytes = [] {
        std::string s;
        for (int i = 0; i < 125; ++i) s += static_cast<char>(i * 2 + 3);
        return s;
    }();
    const std::string big = random_string(65536, 1);
    return {
        ok("TextEmpty", frame(Opcode::kText, ""), {text("")}),
        ok("TextHello", frame(Opcode::kText, "Hello"), {text("Hello")}),
        // RFC 6455 5.7, "A single-frame masked text message".
        ok("RfcExampleHello", {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58},
           {text("Hello")}),
        ok("Text125", frame(Opcode::kText, ascii(125)), {text(ascii(125))}),
        ok("Text126", frame(Opcode::kText, ascii(126)), {text(ascii(126))}),
        ok("Text65535", frame(Opcode::kText, ascii(65535)), {text(ascii(65535))}),
        ok("BinaryEmpty", frame(Opcode::kBinary, ""), {binary("")}),
        ok("Binary125AllByteValues", frame(Opcode::kBinary, all_bytes), {binary(all_bytes)}),
        ok("Binary65536", frame(Opcode::kBinary, big), {binary(big)}),
        ok("ThreeMessagesInOneBuffer",
           cat({frame(Opcode::kText, "a"), frame(Opcode::kBinary, std::string("\0\1\2", 3)),
                frame(Opcode::kText, "")}),
           {text("a"), binary(std::string("\0\1\2", 3)), text("")}),
        ok("TruncatedHeader", {0x81}, {}),
        ok("TruncatedExtendedLength",
           [] {
               Bytes b = frame(Opcode::kText, ascii(300));
               b.resize(3);
               return b;
           }(),
           {}),
        ok("TruncatedPayload",
           [] {
               Bytes b = frame(Opcode::kText, "Hello");
               b.resize(b.size() - 2);
               return b;
           }(),
           {}, "Hel"),
        protocol_error("TextNotMasked", unmasked(Opcode::kText, "Hello"), "frame not masked"),
        protocol_error("BinaryNotMaskedAfterValid",
                       cat({frame(Opcode::kText, "ok"), unmasked(Opcode::kBinary, "x")}),
                       "frame not masked", {text("ok")}),
        protocol_error("PingNotMasked", unmasked(Opcode::kPing, ""), "frame not masked"),
    };
}

std::vector<Case> pingpong_cases() {
    std::vector<Bytes> ten_pings;
    std::vector<std::string> ten_events;
    for (int i = 0; i < 10; ++i) {
        ten_pings.push_back(frame(Opcode::kPing, std::to_string(i)));
        ten_events.push_back(ping(std::to_string(i)));
    }
    Bytes pings;
    for (const Bytes& b : ten_pings) pings.insert(pings.end(), b.begin(), b.end());
    const std::string binary125 = random_string(125, 2);
    return {
        ok("PingEmpty", frame(Opcode::kPing, ""), {ping("")}),
        ok("PingHello", frame(Opcode::kPing, "Hello"), {ping("Hello")}),
        ok("Ping125Binary", frame(Opcode::kPing, binary125), {ping(binary125)}),
        protocol_error("Ping126", frame(Opcode::kPing, ascii(126)), "control frame too long"),
        protocol_error("Ping65536", frame(Opcode::kPing, ascii(65536)), "control frame too long"),
        ok("PongUnsolicited", frame(Opcode::kPong, "x"), {pong("x")}),
        ok("PongEmpty", frame(Opcode::kPong, ""), {pong("")}),
        protocol_error("PingNotFinal", frame(Opcode::kPing, "a", false), "fragmented control frame"),
        ok("TenPingsInOneBuffer", pings, ten_events),
        ok("PingTextPong",
           cat({frame(Opcode::kPing, "p"), frame(Opcode::kText, "t"), frame(Opcode::kPong, "q")}),
           {ping("p"), text("t"), pong("q")}),
    };
}

std::vector<Case> reserved_bits_cases() {
    return {
        protocol_error("Rsv1Text", with_bits(frame(Opcode::kText, "x"), 0x40), "reserved bits set"),
        protocol_error("Rsv2Binary", with_bits(frame(Opcode::kBinary, "x"), 0x20),
                       "reserved bits set"),
        protocol_error("Rsv3Ping", with_bits(frame(Opcode::kPing, "x"), 0x10), "reserved bits set"),
        protocol_error("Rsv123Close", with_bits(frame(Opcode::kClose, close_body(1000)), 0x70),
                       "reserved bits set"),
        protocol_error("Rsv1AfterValidText",
                       cat({frame(Opcode::kText, "hi"), with_bits(frame(Opcode::kText, "x"), 0x40)}),
                       "reserved bits set", {text("hi")}),
        protocol_error("Rsv2OnContinuation",
                       cat({frame(Opcode::kText, "ab", false),
                            with_bits(frame(Opcode::kContinuation, "c"), 0x20)}),
                       "reserved bits set", {}, "ab"),
    };
}

std::vector<Case> opcode_cases() {
    std::vector<Case> cases;
    for (uint8_t op : {3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF}) {
        char name[32];
        std::snprintf(name, sizeof name, "Opcode%X", op);
        cases.push_back(protocol_error(name, frame_op(op, "x"), "reserved opcode"));
    }
    cases.push_back(protocol_error("Opcode5AfterText",
                                   cat({frame(Opcode::kText, "a"), frame_op(5, "")}),
                                   "reserved opcode", {text("a")}));
    cases.push_back(protocol_error("OpcodeBBetweenFragments",
                                   cat({frame(Opcode::kText, "a", false), frame_op(0xB, "")}),
                                   "reserved opcode", {}, "a"));
    return cases;
}

std::vector<Case> fragmentation_cases() {
    Bytes many;
    std::vector<std::string> many_events;
    std::string many_text;
    for (int i = 0; i < 100; ++i) {
        const std::string piece(1, static_cast<char>('a' + i % 26));
        many_text += piece;
        Bytes f = frame(i == 0 ? Opcode::kText : Opcode::kContinuation, piece, i == 99);
        many.insert(many.end(), f.begin(), f.end());
        if (i % 10 == 5) {
            Bytes p = frame(Opcode::kPing, std::to_string(i));
            many.insert(many.end(), p.begin(), p.end());
            many_events.push_back(ping(std::to_string(i)));
        }
    }
    many_events.push_back(text(many_text));
    return {
        ok("TextTwoFragments",
           cat({frame(Opcode::kText, "Hel", false), frame(Opcode::kContinuation, "lo")}),
           {text("Hello")}),
        ok("BinaryThreeFragmentsEmptyMiddle",
           cat({frame(Opcode::kBinary, "ab", false), frame(Opcode::kContinuation, "", false),
                frame(Opcode::kContinuation, "cd")}),
           {binary("abcd")}),
        ok("EmptyFinalFragment",
           cat({frame(Opcode::kText, "abc", false), frame(Opcode::kContinuation, "")}),
           {text("abc")}),
        ok("AllFragmentsEmpty",
           cat({frame(Opcode::kText, "", false), frame(Opcode::kContinuation, "", false),
                frame(Opcode::kContinuation, "")}),
           {text("")}),
        ok("LargeFragments",
           cat({frame(Opcode::kBinary, ascii(300), false), frame(Opcode::kContinuation, ascii(70000))}),
           {binary(ascii(300) + ascii(70000))}),
        ok("PingBetweenFragments",
           cat({frame(Opcode::kText, "Hel", false), frame(Opcode::kPing, "p"),
                frame(Opcode::kContinuation, "lo")}),
           {ping("p"), text("Hello")}),
        ok("PongAndPingBetweenFragments",
           cat({frame(Opcode::kBinary, "a", false), frame(Opcode::kPong, "q"),
                frame(Opcode::kContinuation, "b", false), frame(Opcode::kPing, "p"),
                frame(Opcode::kContinuation, "c")}),
           {pong("q"), ping("p"), binary("abc")}),
        ok("HundredFragmentsWithPings", many, many_events),
        ok("UnfinishedMessage", frame(Opcode::kText, "abc", false), {}, "abc"),
        closes_with(ok("CloseBetweenFragments",
                       cat({frame(Opcode::kText, "He", false), frame(Opcode::kClose, close_body(1000)),
                            frame(Opcode::kContinuation, "llo")}),
                       {closed(1000)}, "He")),
        protocol_error("ContinuationWithoutMessage", frame(Opcode::kContinuation, "x"),
                       "continuation without message"),
        protocol_error("ContinuationAfterFinishedMessage",
                       cat({frame(Opcode::kText, "a"), frame(Opcode::kContinuation, "b")}),
                       "continuation without message", {text("a")}),
        protocol_error("TextDuringFragmentedText",
                       cat({frame(Opcode::kText, "a", false), frame(Opcode::kText, "b")}),
                       "message not finished", {}, "a"),
        protocol_error("BinaryDuringFragmentedText",
                       cat({frame(Opcode::kText, "a", false), frame(Opcode::kBinary, "b")}),
                       "message not finished", {}, "a"),
        protocol_error("CloseNotFinal", frame(Opcode::kClose, close_body(1000), false),
                       "fragmented control frame"),
    };
}

std::vector<Case> utf8_cases() {
    const std::string kosme = "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5";  // "kosme" in Greek
    const std::string long_ascii = ascii(100);
    return {
        ok("ValidGreek", frame(Opcode::kText, kosme), {text(kosme)}),
        ok("ValidFourByte", frame(Opcode::kText, "\xf0\x9f\x98\x80"), {text("\xf0\x9f\x98\x80")}),
        ok("ValidLimits", frame(Opcode::kText, "\x7f\xdf\xbf\xef\xbf\xbf\xf4\x8f\xbf\xbf"),
           {text("\x7f\xdf\xbf\xef\xbf\xbf\xf4\x8f\xbf\xbf")}),
        ok("CodePointSplitAcrossFragments",
           cat({frame(Opcode::kText, "\xce", false), frame(Opcode::kContinuation, "\xba")}),
           {text("\xce\xba")}),
        ok("FourByteSplitInThreeFragments",
           cat({frame(Opcode::kText, "a\xf0", false), frame(Opcode::kPing, ""),
                frame(Opcode::kContinuation, "\x9f\x98", false),
                frame(Opcode::kContinuation, "\x80z")}),
           {ping(""), text("a\xf0\x9f\x98\x80z")}),
        ok("BinaryNeedNotBeUtf8", frame(Opcode::kBinary, "\xff\xfe\xc0"), {binary("\xff\xfe\xc0")}),
        bad_utf8("InvalidByteFF", frame(Opcode::kText, "ab\xff" "cd"), "ab"),
        bad_utf8("InvalidMidLongFrame", frame(Opcode::kText, long_ascii + "\xc0\x80" + long_ascii),
                 long_ascii),
        bad_utf8("OverlongTwoByte", frame(Opcode::kText, "\xc0\xaf"), ""),
        bad_utf8("OverlongThreeByte", frame(Opcode::kText, "x\xe0\x80\xaf"), "x\xe0"),
        bad_utf8("Surrogate", frame(Opcode::kText, "\xed\xa0\x80"), "\xed"),
        bad_utf8("AboveMaxCodePoint", frame(Opcode::kText, "\xf4\x90\x80\x80"), "\xf4"),
        bad_utf8("ByteF5", frame(Opcode::kText, "\xf5\x80"), ""),
        bad_utf8("LoneContinuationByte", frame(Opcode::kText, "a\x80"), "a"),
        // The incomplete sequence is only known to be bad when the message ends.
        bad_utf8("TruncatedAtMessageEnd", frame(Opcode::kText, "a\xe2\x82"), "a\xe2"),
        fails("TruncatedAtEmptyFinalFragment",
              cat({frame(Opcode::kText, "a\xe2\x82", false), frame(Opcode::kContinuation, "")}), {},
              kCloseInvalidPayload, "invalid UTF-8", "a\xe2\x82"),
        bad_utf8("InvalidInSecondFragment",
                 cat({frame(Opcode::kText, "abc", false), frame(Opcode::kContinuation, "d\xff")}),
                 "abcd"),
        bad_utf8("InvalidAfterPingBetweenFragments",
                 cat({frame(Opcode::kText, "\xce", false), frame(Opcode::kPing, "p"),
                      frame(Opcode::kContinuation, "\xce")}),
                 "\xce", {ping("p")}),
        bad_utf8("InvalidInSecondMessage",
                 cat({frame(Opcode::kText, "\xce\xba"), frame(Opcode::kText, "\xba")}), "",
                 {text("\xce\xba")}),
    };
}

// Hand-built headers: 7-bit length field `len7`, then the extended length bytes.
Bytes binary_with_length(uint8_t len7, Bytes ext, std::string_view payload) {
    Bytes h{0x82, static_cast<uint8_t>(0x80 | len7)};
    h.insert(h.end(), ext.begin(), ext.end());
    return masked_body(std::move(h), payload);
}

// A header announcing `len` payload bytes (key 1, 2, 3, 4) followed by `payload`, masked:
// the payload need not be all there.
Bytes announced(Opcode op, uint64_t len, std::string_view payload = "", bool fin = true) {
    uint8_t key[4] = {1, 2, 3, 4};
    uint8_t h[kMaxClientHeader];
    Bytes b(h, h + encode_client_header(h, op, len, key, fin));
    for (size_t i = 0; i < payload.size(); ++i) b.push_back(static_cast<uint8_t>(payload[i] ^ key[i % 4]));
    return b;
}

std::vector<Case> limits_cases() {
    uint8_t key[4] = {1, 2, 3, 4};
    uint8_t huge[kMaxClientHeader];
    const size_t huge_len = encode_client_header(huge, Opcode::kBinary, (1ull << 32) + 5, key);
    constexpr uint64_t kGiB = uint64_t{1} << 30;
    constexpr uint64_t k4GiB = uint64_t{1} << 32;
    return {
        with_max(ok("TextExactlyMax", frame(Opcode::kText, ascii(10)), {text(ascii(10))}), 10),
        with_max(fails("TextOneOverMax", frame(Opcode::kText, ascii(11)), {}, kCloseMessageTooBig,
                       "message too big"),
                 10),
        with_max(fails("FragmentsOverMax",
                       cat({frame(Opcode::kText, ascii(6), false),
                            frame(Opcode::kContinuation, ascii(5))}),
                       {}, kCloseMessageTooBig, "message too big", ascii(6)),
                 10),
        with_max(ok("FragmentsExactlyMaxWithBigPing",
                    cat({frame(Opcode::kBinary, "abcdef", false), frame(Opcode::kPing, ascii(120)),
                         frame(Opcode::kContinuation, "ghij")}),
                    {ping(ascii(120)), binary("abcdefghij")}),
                 10),
        with_max(ok("SecondMessageCountsFromZero",
                    cat({frame(Opcode::kText, ascii(10)), frame(Opcode::kText, ascii(10))}),
                    {text(ascii(10)), text(ascii(10))}),
                 10),
        with_max(ok("MaxZeroAllowsEmptyAndControl",
                    cat({frame(Opcode::kText, ""), frame(Opcode::kPing, ascii(125))}),
                    {text(""), ping(ascii(125))}),
                 0),
        fails("HugeLengthOverMax", Bytes(huge, huge + huge_len), {}, kCloseMessageTooBig,
              "message too big"),
        // Lengths are counted in 32 bits: kMaxMessage (4 GiB - 1) is the limit of limits.
        with_max(fails("HugeLengthOverEveryMax", cat({Bytes(huge, huge + huge_len), Bytes{'a' ^ 1}}), {},
                       kCloseMessageTooBig, "message too big"),
                 kUnlimited),
        with_max(ok("LengthJustUnder4GiB", announced(Opcode::kBinary, k4GiB - 1, "ab"), {}, "ab"), kUnlimited),
        with_max(fails("Length4GiBOverEveryMax", announced(Opcode::kBinary, k4GiB, "ab"), {}, kCloseMessageTooBig,
                       "message too big"),
                 kUnlimited),
        with_max(fails("LengthHighHalfOverEveryMax",
                       binary_with_length(127, {0x7F, 0xFF, 0xFF, 0xFF, 0, 0, 0, 1}, ""), {},
                       kCloseMessageTooBig, "message too big"),
                 kUnlimited),
        with_max(fails("LengthLowByteOfHighHalfOverEveryMax",
                       binary_with_length(127, {0, 0, 0, 1, 0, 0, 0, 0}, ""), {}, kCloseMessageTooBig,
                       "message too big"),
                 kUnlimited),
        // Fragments add up in 32 bits without wrapping: 1 + (4 GiB - 2) fits, 1 + (4 GiB - 1)
        // does not (a sum that wrapped would make it 0).
        with_max(ok("FragmentsUpTo4GiBMinus1",
                    cat({frame(Opcode::kBinary, "a", false), announced(Opcode::kContinuation, k4GiB - 2, "b")}),
                    {}, "ab"),
                 kUnlimited),
        with_max(fails("FragmentsOver4GiBMinus1",
                       cat({frame(Opcode::kBinary, "a", false), announced(Opcode::kContinuation, k4GiB - 1, "b")}),
                       {}, kCloseMessageTooBig, "message too big", "a"),
                 kUnlimited),
        // --max-message's own limit, 1 GiB, both sides of it.
        with_max(ok("LengthExactlyOneGiB", announced(Opcode::kBinary, kGiB, "ab"), {}, "ab"), kGiB),
        with_max(fails("LengthOneGiBPlusOne", announced(Opcode::kBinary, kGiB + 1, "ab"), {}, kCloseMessageTooBig,
                       "message too big"),
                 kGiB),
        with_max(fails("FragmentsOverOneGiB",
                       cat({frame(Opcode::kText, "a", false), announced(Opcode::kContinuation, kGiB, "b")}), {},
                       kCloseMessageTooBig, "message too big", "a"),
                 kGiB),
        with_max(protocol_error("LengthTopBitSet",
                                binary_with_length(127, {0x80, 0, 0, 0, 0, 0, 0, 1}, ""),
                                "invalid length"),
                 kUnlimited),
        protocol_error("NonMinimal16For5", binary_with_length(126, {0, 5}, "hello"),
                       "non-minimal length"),
        protocol_error("NonMinimal16For125", binary_with_length(126, {0, 125}, ascii(125)),
                       "non-minimal length"),
        ok("Minimal16For126", binary_with_length(126, {0, 126}, ascii(126)), {binary(ascii(126))}),
        protocol_error("NonMinimal64For5", binary_with_length(127, {0, 0, 0, 0, 0, 0, 0, 5}, "hello"),
                       "non-minimal length"),
        protocol_error("NonMinimal64For65535",
                       binary_with_length(127, {0, 0, 0, 0, 0, 0, 0xFF, 0xFF}, ascii(65535)),
                       "non-minimal length"),
        ok("Minimal64For65536", binary_with_length(127, {0, 0, 0, 0, 0, 1, 0, 0}, ascii(65536)),
           {binary(ascii(65536))}),
    };
}

std::vector<Case> close_cases() {
    auto closes = [](std::string name, Bytes input, std::vector<std::string> events) {
        return closes_with(ok(std::move(name), std::move(input), std::move(events)));
    };
    std::vector<Case> cases = {
        closes("CloseEmpty", frame(Opcode::kClose, ""), {closed(kCloseNoStatus)}),
        closes("Close1000", frame(Opcode::kClose, close_body(1000)), {closed(1000)}),
        closes("Close1000Reason", frame(Opcode::kClose, close_body(1000, "bye")),
               {closed(1000, "bye")}),
        closes("CloseReasonUtf8", frame(Opcode::kClose, close_body(1001, "\xce\xba\xf0\x9f\x98\x80")),
               {closed(1001, "\xce\xba\xf0\x9f\x98\x80")}),
        closes("CloseReason123Bytes", frame(Opcode::kClose, close_body(1000, ascii(123))),
               {closed(1000, ascii(123))}),
        closes("CloseThenGarbage",
               cat({frame(Opcode::kClose, close_body(1000)), frame(Opcode::kText, "x"),
                    Bytes{0xFF, 0xFF, 0xFF}}),
               {closed(1000)}),
        closes("PingThenCloseThenPing",
               cat({frame(Opcode::kPing, "1"), frame(Opcode::kClose, close_body(3000)),
                    frame(Opcode::kPing, "2")}),
               {ping("1"), closed(3000)}),
        protocol_error("CloseLengthOne", frame(Opcode::kClose, "\x03"), "invalid close payload"),
        protocol_error("Close126", frame(Opcode::kClose, close_body(1000, ascii(124))),
                       "control frame too long"),
        fails("CloseReasonInvalidUtf8", frame(Opcode::kClose, close_body(1000, "a\xff")), {},
              kCloseInvalidPayload, "invalid close reason"),
        fails("CloseReasonTruncatedUtf8", frame(Opcode::kClose, close_body(1000, "\xe2\x82")), {},
              kCloseInvalidPayload, "invalid close reason"),
    };
    for (uint16_t code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999}) {
        cases.push_back(closes("CloseCode" + std::to_string(code),
                               frame(Opcode::kClose, close_body(code)), {closed(code)}));
    }
    for (uint16_t code : {0, 999, 1004, 1005, 1006, 1012, 1015, 1016, 2000, 2999, 5000, 65535}) {
        cases.push_back(protocol_error("CloseCode" + std::to_string(code) + "Invalid",
                                       frame(Opcode::kClose, close_body(code)), "invalid close code"));
    }
    return cases;
}

class FrameParserCase : public testing::TestWithParam<Case> {
protected:
    // Returns false (after recording a failure) when the outcome differs from the case.
    bool check(const std::vector<size_t>& cuts, const std::string& how) {
        const Case& c = GetParam();
        const Outcome o = feed(c.input, cuts, c.max_message);
        SCOPED_TRACE(how);
        EXPECT_EQ(o.violations, std::vector<std::string>{});
        EXPECT_EQ(o.events, c.events);
        EXPECT_EQ(o.status, c.status);
        if (c.status == ParseStatus::kError) {
            EXPECT_EQ(o.error.code, c.code);
            EXPECT_EQ(std::string(o.error.reason), c.reason);
        }
        if (c.partial_is_bound) {
            EXPECT_TRUE(c.partial.starts_with(o.partial))
                << show(o.partial) << " is not a prefix of " << show(c.partial);
        } else {
            EXPECT_EQ(show(o.partial), show(c.partial));
        }
        return !HasFailure();
    }
};

TEST_P(FrameParserCase, Whole) { check({}, "whole"); }

TEST_P(FrameParserCase, ByteByByte) {
    std::vector<size_t> cuts;
    for (size_t i = 1; i < GetParam().input.size(); ++i) cuts.push_back(i);
    check(cuts, "byte by byte");
}

TEST_P(FrameParserCase, EverySplitPoint) {
    // Exhaustive up to 2 KiB; for the few larger inputs (O(n^2) otherwise) every point in
    // the first and last 300 bytes, where the headers are, and every 257th in between.
    const size_t n = GetParam().input.size();
    for (size_t i = 0; i <= n; ++i) {
        if (n > 2048 && i > 300 && i + 300 < n && i % 257 != 0) continue;
        if (!check({i}, "split at " + std::to_string(i))) return;
    }
}

TEST_P(FrameParserCase, RandomPieces) {
    const size_t n = GetParam().input.size();
    std::mt19937 rng(static_cast<uint32_t>(n));
    for (int trial = 0; trial < 50; ++trial) {
        std::vector<size_t> cuts;
        const size_t max_piece = 1 + rng() % (trial % 2 ? 20 : 5000);
        for (size_t at = 1 + rng() % max_piece; at < n; at += 1 + rng() % max_piece)
            cuts.push_back(at);
        if (!check(cuts, "random pieces, trial " + std::to_string(trial))) return;
    }
}

std::string case_name(const testing::TestParamInfo<Case>& info) { return info.param.name; }

INSTANTIATE_TEST_SUITE_P(Framing, FrameParserCase, testing::ValuesIn(framing_cases()), case_name);
INSTANTIATE_TEST_SUITE_P(PingPong, FrameParserCase, testing::ValuesIn(pingpong_cases()), case_name);
INSTANTIATE_TEST_SUITE_P(ReservedBits, FrameParserCase, testing::ValuesIn(reserved_bits_cases()),
                         case_name);
INSTANTIATE_TEST_SUITE_P(Opcodes, FrameParserCase, testing::ValuesIn(opcode_cases()), case_name);
INSTANTIATE_TEST_SUITE_P(Fragmentation, FrameParserCase, testing::ValuesIn(fragmentation_cases()),
                         case_name);
INSTANTIATE_TEST_SUITE_P(Utf8, FrameParserCase, testing::ValuesIn(utf8_cases()), case_name);
INSTANTIATE_TEST_SUITE_P(Limits, FrameParserCase, testing::ValuesIn(limits_cases()), case_name);
INSTANTIATE_TEST_SUITE_P(Close, FrameParserCase, testing::ValuesIn(close_cases()), case_name);

// ---- Single-purpose tests ------------------------------------------------------------------

std::unique_ptr<uint8_t[]> heap_copy(const Bytes& b) {
    auto p = std::make_unique<uint8_t[]>(b.size());
    std::copy(b.begin(), b.end(), p.get());
    return p;
}

TEST(FrameParser, RejectsUnmaskedFrame) {
    const Bytes input = unmasked(Opcode::kText, "Hello");
    auto buf = heap_copy(input);
    FrameParser parser;
    Recorder rec;
    EXPECT_EQ(parser.parse(buf.get(), input.size(), kDefaultMax, rec), ParseStatus::kError);
    EXPECT_EQ(parser.error().code, kCloseProtocolError);
    EXPECT_STREQ(parser.error().reason, "frame not masked");
    EXPECT_EQ(rec.data_calls, 0u);
}

// A parser holds no pointer: a control payload split across reads waits in a table, per
// parser, until it is complete. Several parsers interleaved each get their own; one
// destroyed halfway gives its entry back.
TEST(FrameParser, SplitControlPayloadsOfSeveralParsers) {
    static_assert(sizeof(FrameParser) == 24);
    const std::string long_ping(125, 'b');
    const Bytes pa = frame(Opcode::kPing, "first ping payload");
    const Bytes pb = frame(Opcode::kPing, long_ping);
    auto part = [](const Bytes& b, size_t from, size_t to) { return Bytes(b.begin() + from, b.begin() + to); };
    auto parse = [](FrameParser& p, const Bytes& piece, Recorder& rec) {
        auto buf = heap_copy(piece);
        return p.parse(buf.get(), piece.size(), kDefaultMax, rec);
    };
    for (int round = 0; round < 3; ++round) {
        {
            FrameParser gone;
            Recorder rec;
            ASSERT_EQ(parse(gone, part(pb, 0, 40), rec), ParseStatus::kOk);
        }
        FrameParser a, b;
        Recorder ra, rb;
        ASSERT_EQ(parse(a, part(pa, 0, 10), ra), ParseStatus::kOk);
        ASSERT_EQ(parse(b, part(pb, 0, 50), rb), ParseStatus::kOk);
        ASSERT_EQ(parse(a, part(pa, 10, pa.size()), ra), ParseStatus::kOk);
        ASSERT_EQ(parse(b, part(pb, 50, 100), rb), ParseStatus::kOk);
        EXPECT_TRUE(rb.events.empty());
        ASSERT_EQ(parse(b, part(pb, 100, pb.size()), rb), ParseStatus::kOk);
        EXPECT_EQ(ra.events, std::vector<std::string>{ping("first ping payload")});
        EXPECT_EQ(rb.events, std::vector<std::string>{ping(long_ping)});
    }
}

TEST(FrameParser, ErrorIsSticky) {
    FrameParser parser;
    Recorder rec;
    Bytes bad = frame(Opcode::kContinuation, "x");
    auto b1 = heap_copy(bad);
    ASSERT_EQ(parser.parse(b1.get(), bad.size(), kDefaultMax, rec), ParseStatus::kError);
    const Bytes good = frame(Opcode::kText, "fine");
    for (int i = 0; i < 3; ++i) {
        auto b2 = heap_copy(good);
        EXPECT_EQ(parser.parse(b2.get(), good.size(), kDefaultMax, rec), ParseStatus::kError);
        EXPECT_EQ(parser.parse(nullptr, 0, kDefaultMax, rec), ParseStatus::kError);
    }
    EXPECT_EQ(parser.error().code, kCloseProtocolError);
    EXPECT_STREQ(parser.error().reason, "continuation without message");
    EXPECT_TRUE(rec.events.empty());
}

TEST(FrameParser, DeliversWholeMessageInPlaceInOneCall) {
    const std::string payload = ascii(1000);
    const Bytes input = frame(Opcode::kBinary, payload);
    auto buf = heap_copy(input);
    FrameParser parser;
    Recorder rec;
    ASSERT_EQ(parser.parse(buf.get(), input.size(), kDefaultMax, rec), ParseStatus::kOk);
    EXPECT_EQ(rec.data_calls, 1u);
    EXPECT_EQ(rec.last_data, buf.get() + 8);  // unmasked in place after the 8-byte header
    EXPECT_EQ(as_view(buf.get() + 8, payload.size()), payload);
    EXPECT_EQ(rec.last, payload);
}

TEST(FrameParser, DeliversWholeControlPayloadInPlace) {
    const Bytes input = frame(Opcode::kPing, "abc");
    auto buf = heap_copy(input);
    FrameParser parser;
    Recorder rec;
    ASSERT_EQ(parser.parse(buf.get(), input.size(), kDefaultMax, rec), ParseStatus::kOk);
    EXPECT_EQ(rec.last_control, buf.get() + 6);
    EXPECT_EQ(rec.events, std::vector<std::string>{ping("abc")});
}

TEST(FrameParser, SplitControlPayloadsReuseOneBuffer) {
    FrameParser parser;
    Recorder rec;
    std::vector<const uint8_t*> seen;
    for (const char* body : {"first ping", "second ping"}) {
        const Bytes input = frame(Opcode::kPing, body);
        for (size_t i = 0; i < input.size(); ++i) {
            auto b = heap_copy(Bytes{input[i]});
            ASSERT_EQ(parser.parse(b.get(), 1, kDefaultMax, rec), ParseStatus::kOk);
        }
        seen.push_back(rec.last_control);
    }
    EXPECT_EQ(rec.events, (std::vector<std::string>{ping("first ping"), ping("second ping")}));
    EXPECT_EQ(seen[0], seen[1]);
}

TEST(FrameParser, InMessageSpansFragmentsAndControlFrames) {
    FrameParser parser;
    Recorder rec;
    auto step = [&](const Bytes& b) {
        auto buf = heap_copy(b);
        EXPECT_EQ(parser.parse(buf.get(), b.size(), kDefaultMax, rec), ParseStatus::kOk);
        return parser.in_message();
    };
    EXPECT_FALSE(parser.in_message());
    EXPECT_TRUE(step(frame(Opcode::kText, "a", false)));
    EXPECT_TRUE(step(frame(Opcode::kPing, "")));
    EXPECT_TRUE(step(frame(Opcode::kContinuation, "b", false)));
    EXPECT_FALSE(step(frame(Opcode::kContinuation, "c")));
    EXPECT_FALSE(step(frame(Opcode::kBinary, "d")));
    EXPECT_EQ(rec.events, (std::vector<std::string>{ping(""), text("abc"), binary("d")}));
}

TEST(FrameParser, StateIsSmall) {
    // One parser lives in every connection.
    EXPECT_LE(sizeof(FrameParser), 48u);
}

// ---- Round trips and large messages ---------------------------------------------------------

class RoundTrip : public testing::TestWithParam<uint64_t> {};

TEST_P(RoundTrip, EncodeClientHeaderThenParse) {
    const std::string payload = random_string(GetParam(), static_cast<uint32_t>(GetParam()));
    const Bytes input = frame(Opcode::kBinary, payload);
    EXPECT_EQ(input.size(), server_header_size(payload.size()) + 4 + payload.size());
    for (size_t piece : {input.size(), size_t{1000}, size_t{7}}) {
        FrameParser parser;
        Recorder rec;
        for (size_t at = 0; at < input.size(); at += piece) {
            const size_t n = std::min(piece, input.size() - at);
            auto buf = heap_copy(Bytes(input.begin() + at, input.begin() + at + n));
            ASSERT_EQ(parser.parse(buf.get(), n, kDefaultMax, rec), ParseStatus::kOk);
        }
        ASSERT_EQ(rec.events.size(), 1u) << "pieces of " << piece;
        EXPECT_TRUE(rec.last == payload) << "pieces of " << piece;
    }
}

INSTANTIATE_TEST_SUITE_P(Lengths, RoundTrip, testing::Values(0, 125, 126, 65535, 65536),
                         [](const testing::TestParamInfo<uint64_t>& i) {
                             return "Length" + std::to_string(i.param);
                         });

TEST(RoundTrip, Length4GiBMinus1StreamsWithoutEnd) {
    // The payload is not materialised: 1 MiB of it must arrive unmasked, the message open.
    // 4 GiB - 1 is the longest length the parser admits (kMaxMessage).
    uint8_t key[4] = {9, 8, 7, 6};
    uint8_t h[kMaxClientHeader];
    const size_t hn = encode_client_header(h, Opcode::kBinary, FrameParser::kMaxMessage, key);
    ASSERT_EQ(hn, 14u);
    const std::string payload = random_string(1 << 20, 5);
    Bytes input(h, h + hn);
    for (size_t i = 0; i < payload.size(); ++i)
        input.push_back(static_cast<uint8_t>(payload[i] ^ key[i % 4]));
    auto buf = heap_copy(input);
    FrameParser parser;
    Recorder rec;
    ASSERT_EQ(parser.parse(buf.get(), input.size(), kUnlimited, rec), ParseStatus::kOk);
    EXPECT_TRUE(rec.events.empty());
    EXPECT_TRUE(parser.in_message());
    EXPECT_TRUE(rec.message == payload);
}

struct Stream {
    Bytes bytes;
    std::vector<std::string> events;
};

// payload as a message of random-size fragments (all three length forms), with a ping
// after some fragments.
Stream fragmented(Opcode op, const std::string& payload, std::mt19937& rng) {
    Stream s;
    size_t at = 0;
    bool first = true;
    for (;;) {  // ends with a final fragment, empty or not
        static constexpr size_t kSizes[] = {0, 125, 126, 65535, 65536, 1 << 20};
        const size_t limit = kSizes[rng() % std::size(kSizes)];
        const size_t n = std::min(payload.size() - at, limit == 0 ? 0 : 1 + rng() % limit);
        const bool fin = at + n == payload.size() && rng() % 4 != 0;
        Bytes f = frame(first ? op : Opcode::kContinuation, std::string_view(payload).substr(at, n), fin);
        s.bytes.insert(s.bytes.end(), f.begin(), f.end());
        at += n;
        first = false;
        if (fin) break;
        if (rng() % 3 == 0) {
            Bytes p = frame(Opcode::kPing, std::to_string(at));
            s.bytes.insert(s.bytes.end(), p.begin(), p.end());
            s.events.push_back(ping(std::to_string(at)));
        }
    }
    s.events.push_back(op == Opcode::kText ? text(payload) : binary(payload));
    return s;
}

// Feeds the stream in random chunks (1 byte to 256 KiB, log-uniform), exact-size copies.
Recorder feed_random_chunks(const Bytes& stream, uint64_t max_message, std::mt19937& rng,
                            ParseStatus expect) {
    FrameParser parser;
    Recorder rec;
    ParseStatus st = ParseStatus::kOk;
    for (size_t at = 0; at < stream.size() && st == ParseStatus::kOk;) {
        const size_t take = std::min(stream.size() - at, 1 + rng() % (size_t{1} << (rng() % 19)));
        auto buf = heap_copy(Bytes(stream.begin() + at, stream.begin() + at + take));
        st = parser.parse(buf.get(), take, max_message, rec);
        at += take;
    }
    EXPECT_EQ(st, expect);
    EXPECT_EQ(rec.violations, std::vector<std::string>{});
    return rec;
}

TEST(FrameParserLarge, SixteenMiBBinaryInRandomFragmentsAndChunks) {
    constexpr size_t kSize = 16 << 20;
    const std::string payload = random_string(kSize, 16);
    std::mt19937 rng(1);
    for (int trial = 0; trial < 3; ++trial) {
        const Stream s = fragmented(Opcode::kBinary, payload, rng);
        const Recorder rec = feed_random_chunks(s.bytes, kSize, rng, ParseStatus::kOk);
        EXPECT_EQ(rec.events, s.events);
        EXPECT_TRUE(rec.last == payload) << "trial " << trial;
    }
}

TEST(FrameParserLarge, SixteenMiBOverLimitByOneByte) {
    constexpr size_t kSize = 16 << 20;
    const std::string payload = random_string(kSize, 17);
    std::mt19937 rng(2);
    const Stream s = fragmented(Opcode::kBinary, payload, rng);
    const Recorder rec = feed_random_chunks(s.bytes, kSize - 1, rng, ParseStatus::kError);
    EXPECT_LT(rec.message.size(), kSize);
    EXPECT_TRUE(std::string_view(payload).starts_with(rec.message));
}

TEST(FrameParserLarge, MultiByteTextSplitAnywhere) {
    // 1 MiB of 1- to 4-byte code points; fragments and chunks cut through them.
    std::string payload;
    const char* kPoints[] = {"a", "\xce\xba", "\xe1\xbd\xb9", "\xf0\x9f\x98\x80", "\xef\xbf\xbf"};
    std::mt19937 rng(3);
    while (payload.size() < (1 << 20)) payload += kPoints[rng() % std::size(kPoints)];
    for (int trial = 0; trial < 5; ++trial) {
        const Stream s = fragmented(Opcode::kText, payload, rng);
        const Recorder rec = feed_random_chunks(s.bytes, kDefaultMax * 2, rng, ParseStatus::kOk);
        EXPECT_EQ(rec.events, s.events);
        EXPECT_TRUE(rec.last == payload) << "trial " << trial;
    }
}

}  // namespace
}  // namespace wspush::ws
