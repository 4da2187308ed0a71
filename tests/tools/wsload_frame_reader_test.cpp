#include "wsload/frame_reader.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

namespace wspush::wsload {
namespace {

// Records every event as text, e.g. "text:hi", "ping:", "close:1000:bye".
class Recorder final : public MessageSink {
public:
    std::vector<std::string> events;

    void on_message(ws::Opcode op, std::string_view p) override {
        events.push_back((op == ws::Opcode::kText ? "text:" : "binary:") + std::string(p));
    }
    void on_ping(std::string_view p) override { events.push_back("ping:" + std::string(p)); }
    void on_pong(std::string_view p) override { events.push_back("pong:" + std::string(p)); }
    void on_close(uint16_t code, std::string_view reason) override {
        events.push_back("close:" + std::to_string(code) + ":" + std::string(reason));
    }
};

// An unmasked server frame with the minimal length encoding.
std::string frame(uint8_t b0, std::string_view payload) {
    std::string f(1, static_cast<char>(b0));
    const uint64_t n = payload.size();
    if (n < 126) {
        f += static_cast<char>(n);
    } else if (n <= 0xFFFF) {
        f += static_cast<char>(126);
        f += static_cast<char>(n >> 8);
        f += static_cast<char>(n & 0xFF);
    } else {
        f += static_cast<char>(127);
        for (int i = 7; i >= 0; --i) f += static_cast<char>((n >> (8 * i)) & 0xFF);
    }
    return f.append(payload);
}

constexpr uint8_t kFinText = 0x81;
constexpr uint8_t kFinBinary = 0x82;
constexpr uint8_t kFinClose = 0x88;
constexpr uint8_t kFinPing = 0x89;
constexpr uint8_t kFinPong = 0x8A;

std::string close_payload(uint16_t code, std::string_view reason = {}) {
    std::string p;
    p += static_cast<char>(code >> 8);
    p += static_cast<char>(code & 0xFF);
    return p.append(reason);
}

struct Outcome {
    std::vector<std::string> events;
    ReadStatus status = ReadStatus::kOk;
};

// Feeds `wire` in pieces ending at each of `cuts`, each piece an exact-size heap copy.
Outcome feed_pieces(std::string_view wire, const std::vector<size_t>& cuts, uint64_t max_message) {
    ServerFrameReader reader(max_message);
    Recorder rec;
    Outcome out;
    size_t at = 0;
    for (size_t cut : cuts) {
        const size_t n = cut - at;
        auto piece = std::make_unique<uint8_t[]>(n);
        std::memcpy(piece.get(), wire.data() + at, n);
        out.status = reader.feed(piece.get(), n, rec);
        at = cut;
    }
    out.events = rec.events;
    return out;
}

struct ReadCase {
    const char* name;
    std::string wire;
    std::vector<std::string> events;
    ReadStatus status;
    uint64_t max_message = uint64_t{1} << 20;
};

std::ostream& operator<<(std::ostream& os, const ReadCase& c) { return os << c.name; }

class WsloadFrameReader : public ::testing::TestWithParam<ReadCase> {};

// Every split point for inputs up to this size; above it, every split in the first and last
// 300 bytes and a stride through the middle (a 64-bit-length frame is 64 KB long).
constexpr size_t kEverySplitUpTo = 4096;

std::vector<size_t> split_points(size_t n) {
    std::vector<size_t> s;
    for (size_t i = 0; i <= n; ++i) {
        if (n <= kEverySplitUpTo || i < 300 || i + 300 > n || i % 997 == 0) s.push_back(i);
    }
    return s;
}

TEST_P(WsloadFrameReader, Whole) {
    const ReadCase& c = GetParam();
    const Outcome o = feed_pieces(c.wire, {c.wire.size()}, c.max_message);
    EXPECT_EQ(o.events, c.events);
    EXPECT_EQ(o.status, c.status);
}

TEST_P(WsloadFrameReader, ByteByByte) {
    const ReadCase& c = GetParam();
    std::vector<size_t> cuts;
    for (size_t i = 1; i <= c.wire.size(); ++i) cuts.push_back(i);
    const Outcome o = feed_pieces(c.wire, cuts, c.max_message);
    EXPECT_EQ(o.events, c.events);
    EXPECT_EQ(o.status, c.status);
}

TEST_P(WsloadFrameReader, AtEverySplit) {
    const ReadCase& c = GetParam();
    for (size_t cut : split_points(c.wire.size())) {
        const Outcome o = feed_pieces(c.wire, {cut, c.wire.size()}, c.max_message);
        ASSERT_EQ(o.events, c.events) << "split at " << cut;
        ASSERT_EQ(o.status, c.status) << "split at " << cut;
    }
}

const std::string k125(125, 'a');
const std::string k126(126, 'b');
const std::string k65535(65535, 'c');
const std::string k65536(65536, 'd');

std::string with_mask_bit(std::string f) {
    f[1] = static_cast<char>(f[1] | 0x80);
    return f + "\x01\x02\x03\x04";
}

INSTANTIATE_TEST_SUITE_P(
    Frames, WsloadFrameReader,
    ::testing::Values(
        ReadCase{"SmallText", frame(kFinText, "hello"), {"text:hello"}, ReadStatus::kOk},
        ReadCase{"EmptyBinary", frame(kFinBinary, ""), {"binary:"}, ReadStatus::kOk},
        ReadCase{"Length125", frame(kFinBinary, k125), {"binary:" + k125}, ReadStatus::kOk},
        ReadCase{"Length126Uses16Bits", frame(kFinBinary, k126), {"binary:" + k126}, ReadStatus::kOk},
        ReadCase{"Length65535Uses16Bits", frame(kFinText, k65535), {"text:" + k65535}, ReadStatus::kOk},
        ReadCase{"Length65536Uses64Bits", frame(kFinBinary, k65536), {"binary:" + k65536}, ReadStatus::kOk},
        ReadCase{"Utf8Text", frame(kFinText, "caf\xc3\xa9 \xf0\x9f\x98\x80"), {"text:caf\xc3\xa9 \xf0\x9f\x98\x80"},
                 ReadStatus::kOk},
        ReadCase{"SeveralFrames",
                 frame(kFinText, "a") + frame(kFinPing, "p") + frame(kFinBinary, "b") + frame(kFinPong, ""),
                 {"text:a", "ping:p", "binary:b", "pong:"}, ReadStatus::kOk},
        // 5.4: fragments joined, control frames allowed in between.
        ReadCase{"FragmentedWithPingInside",
                 frame(0x01, "fra") + frame(kFinPing, "x") + frame(0x00, "gm") + frame(0x80, "ent"),
                 {"ping:x", "text:fragment"}, ReadStatus::kOk},
        // A UTF-8 character split across fragments is valid once joined.
        ReadCase{"Utf8SplitAcrossFragments", frame(0x01, "\xc3") + frame(0x80, "\xa9"), {"text:\xc3\xa9"},
                 ReadStatus::kOk},
        ReadCase{"CloseWithCodeAndReason", frame(kFinClose, close_payload(1001, "bye")), {"close:1001:bye"},
                 ReadStatus::kClosed},
        ReadCase{"CloseWithoutPayloadIs1005", frame(kFinClose, ""), {"close:1005:"}, ReadStatus::kClosed},
        ReadCase{"BytesAfterCloseIgnored", frame(kFinClose, close_payload(1000)) + frame(kFinText, "late"),
                 {"close:1000:"}, ReadStatus::kClosed},
        // Rejections; events before the bad frame are still delivered.
        ReadCase{"MaskedFrame", frame(kFinText, "ok") + with_mask_bit(frame(kFinText, "abcd")), {"text:ok"},
                 ReadStatus::kError},
        ReadCase{"MaskedControlFrame", with_mask_bit(frame(kFinPing, "")), {}, ReadStatus::kError},
        ReadCase{"ReservedBit", frame(kFinText | 0x40, "x"), {}, ReadStatus::kError},
        ReadCase{"ReservedDataOpcode", frame(0x83, "x"), {}, ReadStatus::kError},
        ReadCase{"ReservedControlOpcode", frame(0x8B, "x"), {}, ReadStatus::kError},
        ReadCase{"ControlFrameOf126Bytes", frame(kFinPing, k126), {}, ReadStatus::kError},
        ReadCase{"FragmentedPing", frame(0x09, "x"), {}, ReadStatus::kError},
        ReadCase{"ContinuationWithoutStart", frame(0x80, "x"), {}, ReadStatus::kError},
        ReadCase{"TextInsideFragmentedMessage", frame(0x01, "a") + frame(kFinText, "b"), {}, ReadStatus::kError},
        ReadCase{"NonMinimal16BitLength", std::string("\x81\x7e\x00\x05", 4) + "hello", {}, ReadStatus::kError},
        ReadCase{"NonMinimal64BitLength", std::string("\x81\x7f\x00\x00\x00\x00\x00\x00\x00\x05", 10) + "hello",
                 {}, ReadStatus::kError},
        ReadCase{"Length64WithTopBit", std::string("\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x00", 10), {},
                 ReadStatus::kError},
        ReadCase{"InvalidUtf8Text", frame(kFinText, "\xc3\x28"), {}, ReadStatus::kError},
        ReadCase{"InvalidUtf8AcrossFragments", frame(0x01, "\xc3") + frame(0x80, "\x28"), {}, ReadStatus::kError},
        ReadCase{"OneByteClosePayload", frame(kFinClose, "\x03"), {}, ReadStatus::kError},
        ReadCase{"Close1005OnTheWire", frame(kFinClose, close_payload(1005)), {}, ReadStatus::kError},
        ReadCase{"CloseReasonNotUtf8", frame(kFinClose, close_payload(1000, "\xff")), {}, ReadStatus::kError},
        ReadCase{"MessageOverLimit", frame(kFinBinary, std::string(101, 'x')), {}, ReadStatus::kError, 100},
        ReadCase{"FragmentsOverLimit", frame(0x02, std::string(60, 'x')) + frame(0x80, std::string(41, 'y')), {},
                 ReadStatus::kError, 100}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(WsloadFrameReaderErrors, SaysWhy) {
    ServerFrameReader r;
    Recorder rec;
    const std::string masked = with_mask_bit(frame(kFinText, "x"));
    EXPECT_EQ(r.feed(reinterpret_cast<const uint8_t*>(masked.data()), masked.size(), rec), ReadStatus::kError);
    EXPECT_STREQ(r.error(), "masked server frame");
    // Sticky: more input changes nothing.
    const std::string ok = frame(kFinText, "y");
    EXPECT_EQ(r.feed(reinterpret_cast<const uint8_t*>(ok.data()), ok.size(), rec), ReadStatus::kError);
    EXPECT_TRUE(rec.events.empty());
}

TEST(WsloadFrameReaderErrors, KeepsNoBytesBetweenFrames) {
    ServerFrameReader r;
    Recorder rec;
    const std::string f = frame(kFinText, "abc");
    EXPECT_EQ(r.feed(reinterpret_cast<const uint8_t*>(f.data()), 2, rec), ReadStatus::kOk);
    EXPECT_EQ(r.buffered(), 2u);
    EXPECT_EQ(r.feed(reinterpret_cast<const uint8_t*>(f.data()) + 2, f.size() - 2, rec), ReadStatus::kOk);
    EXPECT_EQ(r.buffered(), 0u);
    EXPECT_EQ(rec.events, std::vector<std::string>{"text:abc"});
}

// append_client_frame: masked header, masked payload that unmasks to the original.
class WsloadClientFrame : public ::testing::TestWithParam<size_t> {};

TEST_P(WsloadClientFrame, IsMaskedAndRoundTrips) {
    const size_t n = GetParam();
    std::string payload(n, '\0');
    for (size_t i = 0; i < n; ++i) payload[i] = static_cast<char>(i * 7 + 3);
    const uint8_t key[4] = {0x11, 0x22, 0x33, 0x44};
    std::string out = "prefix";
    append_client_frame(out, ws::Opcode::kBinary, payload, key);
    const auto* f = reinterpret_cast<const uint8_t*>(out.data()) + 6;
    const size_t header = n < 126 ? 6 : (n <= 0xFFFF ? 8 : 14);
    ASSERT_EQ(out.size(), 6 + header + n);
    EXPECT_EQ(f[0], 0x82);
    EXPECT_EQ(f[1] & 0x80, 0x80) << "mask bit";
    uint64_t len = f[1] & 0x7F;
    if (len == 126) len = (uint64_t{f[2]} << 8) | f[3];
    if (len == 127) {
        len = 0;
        for (int i = 0; i < 8; ++i) len = (len << 8) | f[2 + i];
    }
    EXPECT_EQ(len, n);
    EXPECT_EQ(std::memcmp(f + header - 4, key, 4), 0);
    for (size_t i = 0; i < n; ++i) {
        ASSERT_EQ(static_cast<uint8_t>(f[header + i] ^ key[i % 4]), static_cast<uint8_t>(payload[i])) << i;
    }
}

INSTANTIATE_TEST_SUITE_P(Lengths, WsloadClientFrame, ::testing::Values(0, 1, 125, 126, 65535, 65536));

TEST(WsloadClientFrameClose, CarriesTheCode) {
    const uint8_t key[4] = {0, 0, 0, 0};
    std::string out;
    append_client_close(out, 1000, key);
    EXPECT_EQ(out, std::string("\x88\x82\x00\x00\x00\x00\x03\xe8", 8));
}

}  // namespace
}  // namespace wspush::wsload
