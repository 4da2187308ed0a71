// The parent/worker frames: every kind round-trips; a stream of frames decodes the same
// whole, byte by byte and cut at every point (pieces copied to exact-size heap buffers so
// ASan sees an over-read); each limit and each kind of garbage is an error, and errors stick.
#include "cluster/wire.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace wspush::cluster {
namespace {

Frame publish(uint64_t request, std::string_view channel, std::string_view payload,
              PayloadType type = PayloadType::kText) {
    Frame f;
    f.kind = Kind::kPublish;
    f.request = request;
    f.type = type;
    f.channel = channel;
    f.payload = payload;
    return f;
}

Frame published(uint64_t epoch, uint64_t seq, uint64_t request, uint32_t origin, std::string_view channel,
                std::string_view payload, PayloadType type = PayloadType::kBinary) {
    Frame f;
    f.kind = Kind::kPublished;
    f.epoch = epoch;
    f.seq = seq;
    f.request = request;
    f.origin = origin;
    f.type = type;
    f.channel = channel;
    f.payload = payload;
    return f;
}

Frame idle(uint64_t epoch, uint64_t seq, std::string_view channel) {
    Frame f;
    f.kind = Kind::kIdle;
    f.epoch = epoch;
    f.seq = seq;
    f.channel = channel;
    return f;
}

Frame stats(uint64_t request, std::vector<uint64_t> counters) {
    Frame f;
    f.kind = Kind::kStats;
    f.request = request;
    f.counter_count = static_cast<uint8_t>(counters.size());
    for (size_t i = 0; i < counters.size() && i < kMaxCounters; ++i) f.counters[i] = counters[i];
    return f;
}

std::string bytes(const Frame& f) {
    std::string out;
    EXPECT_TRUE(encode(f, out));
    return out;
}

// A frame's canonical form: its encoding (the encoder writes only its kind's fields).
std::string canon(const Frame& f) {
    std::string out;
    if (!encode(f, out)) return "<unencodable>";
    return out;
}

struct Decoded {
    std::vector<std::string> frames;
    std::string error;
    bool mid_frame = false;
};

// Decodes `in` cut at `cuts` (increasing offsets), each piece an exact-size heap copy.
Decoded decode(std::string_view in, const std::vector<size_t>& cuts, const WireLimits& limits = {}) {
    WireDecoder d(limits);
    Decoded out;
    size_t start = 0;
    std::vector<size_t> ends = cuts;
    ends.push_back(in.size());
    for (size_t end : ends) {
        const size_t len = end - start;
        std::unique_ptr<char[]> piece(new char[len ? len : 1]);
        in.copy(piece.get(), len, start);
        size_t pos = 0;
        for (;;) {
            size_t used = 0;
            const auto r = d.feed(piece.get() + pos, len - pos, used);
            EXPECT_LE(used, len - pos);
            pos += used;
            if (r == WireDecoder::Result::kError) {
                out.error = d.error();
                return out;
            }
            if (r == WireDecoder::Result::kNeedMore) {
                EXPECT_EQ(pos, len);
                break;
            }
            out.frames.push_back(canon(d.frame()));
            if (pos == len) break;
        }
        start = end;
    }
    out.mid_frame = d.mid_frame();
    return out;
}

std::string stream() {
    std::string s;
    s += bytes(publish(1, "news", "hello"));
    s += bytes(published(0x1234'5678'0000'0001, 7, 1, 3, "news", std::string(300, '\xff')));
    s += bytes(publish(UINT64_MAX, std::string(kMaxName, 'c'), "", PayloadType::kBinary));
    s += bytes(idle(0xdead'beef'0000'0002, UINT64_MAX, "x"));
    Frame q;
    q.kind = Kind::kStatsQuery;
    q.request = 99;
    s += bytes(q);
    s += bytes(stats(99, {}));
    std::vector<uint64_t> many(kMaxCounters);
    for (size_t i = 0; i < many.size(); ++i) many[i] = i * 0x0101'0101'0101'0101ull;
    s += bytes(stats(100, many));
    s += bytes(published(1, 1, 0, kNoOrigin, "a", "b", PayloadType::kText));
    Frame kept = published(0x1234'5678'0000'0002, 41, 5, kNoOrigin, "news", "kept one");
    kept.kind = Kind::kKept;
    s += bytes(kept);
    for (Kind k : {Kind::kRefused, Kind::kStatsAsk, Kind::kStatsReply, Kind::kHistoryAsk, Kind::kKeptEnd, Kind::kReady,
                   Kind::kAskAll, Kind::kRun, Kind::kRan, Kind::kAllRan, Kind::kTailWanted, Kind::kTailOthers,
                   Kind::kTailLine}) {
        Frame r;
        r.kind = k;
        r.request = 0x0102'0304'0506'0708ull;
        if (k == Kind::kStatsReply) r.payload = "{\"connections\":3}";
        if (k == Kind::kAskAll || k == Kind::kRun) r.payload = "CSEND dev-1 hello";
        static const std::string ran("OK delivered=1\n\0\xff", 17);
        if (k == Kind::kRan) r.payload = ran;
        static const std::string tail_line = std::string("\x05") + "dev-1hello";
        if (k == Kind::kTailLine) r.payload = tail_line;
        s += bytes(r);
    }
    return s;
}

TEST(ClusterWire, EveryKindRoundTrips) {
    const std::string in = stream();
    const Decoded whole = decode(in, {});
    EXPECT_EQ(whole.error, "");
    EXPECT_FALSE(whole.mid_frame);
    ASSERT_EQ(whole.frames.size(), 22u);
    std::string again;
    for (const std::string& f : whole.frames) again += f;
    EXPECT_EQ(again, in);
}

TEST(ClusterWire, FieldsDecodeAsEncoded) {
    const std::string in = bytes(published(0x1122'3344'5566'7788, 42, 9, 2, "chan", "pay"));
    WireDecoder d;
    size_t used = 0;
    ASSERT_EQ(d.feed(in.data(), in.size(), used), WireDecoder::Result::kDone);
    EXPECT_EQ(used, in.size());
    const Frame& f = d.frame();
    EXPECT_EQ(f.kind, Kind::kPublished);
    EXPECT_EQ(f.epoch, 0x1122'3344'5566'7788u);
    EXPECT_EQ(f.seq, 42u);
    EXPECT_EQ(f.request, 9u);
    EXPECT_EQ(f.origin, 2u);
    EXPECT_EQ(f.type, PayloadType::kBinary);
    EXPECT_EQ(f.channel, "chan");
    EXPECT_EQ(f.payload, "pay");
    // Whole in the caller's bytes: the views point there (no copy).
    EXPECT_GE(f.payload.data(), in.data());
    EXPECT_LT(f.payload.data(), in.data() + in.size());
}

TEST(ClusterWire, SameFramesByteByByte) {
    const std::string in = stream();
    std::vector<size_t> cuts;
    for (size_t i = 1; i < in.size(); ++i) cuts.push_back(i);
    const Decoded bytewise = decode(in, cuts);
    EXPECT_EQ(bytewise.error, "");
    EXPECT_EQ(bytewise.frames, decode(in, {}).frames);
}

TEST(ClusterWire, SameFramesAtEverySplitPoint) {
    const std::string in = stream();
    const Decoded whole = decode(in, {});
    for (size_t cut = 0; cut <= in.size(); ++cut) {
        const Decoded two = decode(in, {cut});
        ASSERT_EQ(two.error, "") << "cut at " << cut;
        ASSERT_EQ(two.frames, whole.frames) << "cut at " << cut;
        EXPECT_FALSE(two.mid_frame);
    }
}

TEST(ClusterWire, AnUnfinishedFrameIsHeld) {
    const std::string in = bytes(publish(5, "news", "hello"));
    for (size_t keep = 1; keep < in.size(); ++keep) {
        const Decoded part = decode(in.substr(0, keep), {});
        EXPECT_EQ(part.error, "");
        EXPECT_TRUE(part.frames.empty());
        EXPECT_TRUE(part.mid_frame) << keep;
    }
}

TEST(ClusterWire, EncoderRefusesOutOfRangeFields) {
    std::string out;
    EXPECT_FALSE(encode(publish(1, "", "x"), out));
    EXPECT_FALSE(encode(publish(1, std::string(kMaxName + 1, 'c'), "x"), out));
    EXPECT_FALSE(encode(publish(1, "c", "x", static_cast<PayloadType>(3)), out));
    EXPECT_FALSE(encode(idle(1, 1, ""), out));
    Frame s = stats(1, {});
    s.counter_count = kMaxCounters + 1;
    EXPECT_FALSE(encode(s, out));
    Frame k = publish(1, "c", "x");
    k.kind = static_cast<Kind>(0);
    EXPECT_FALSE(encode(k, out));
    EXPECT_EQ(out, "");
}

// A frame with its body given by hand: length prefix, then the bytes.
std::string raw(std::string_view body) {
    std::string out;
    const uint32_t n = static_cast<uint32_t>(body.size());
    for (int i = 0; i < 4; ++i) out += static_cast<char>(n >> (8 * i));
    out += body;
    return out;
}

std::string le(uint64_t v, size_t n) {
    std::string out;
    for (size_t i = 0; i < n; ++i) out += static_cast<char>(v >> (8 * i));
    return out;
}

struct BadCase {
    const char* name;
    std::string in;
    const char* error;
};

class ClusterWireGarbage : public testing::TestWithParam<BadCase> {};

TEST_P(ClusterWireGarbage, IsAnErrorInEverySplit) {
    const BadCase& c = GetParam();
    // After a good frame, so the error comes mid-stream.
    const std::string in = bytes(publish(1, "ok", "fine")) + c.in;
    const WireLimits limits{.max_payload = 16};
    for (size_t cut = 0; cut <= in.size(); ++cut) {
        const Decoded d = decode(in, {cut}, limits);
        ASSERT_EQ(d.error, c.error) << "cut at " << cut;
        ASSERT_EQ(d.frames.size(), 1u);
    }
}

const std::string kName = std::string("\x04") + "news";

INSTANTIATE_TEST_SUITE_P(
    ClusterWire, ClusterWireGarbage,
    testing::Values(
        BadCase{"EmptyFrame", raw(""), "empty frame"},
        BadCase{"LongerThanTheLimitAllows", le(1 + 29 + 1 + 64 + 17, 4), "frame too long"},
        BadCase{"HugeLength", le(0xffffffff, 4), "frame too long"},
        BadCase{"UnknownKind", raw("\x14"), "unknown kind"},
        BadCase{"KindZero", raw(std::string(1, '\0')), "unknown kind"},
        BadCase{"ShortPublish", raw("\x01" + le(1, 8)), "short publish"},
        BadCase{"BadType", raw("\x01" + le(1, 8) + "\x03" + kName), "bad payload type"},
        BadCase{"NoName", raw("\x01" + le(1, 8) + "\x01"), "bad channel name"},
        BadCase{"EmptyName", raw("\x01" + le(1, 8) + "\x01" + std::string(1, '\0') + "x"), "bad channel name"},
        BadCase{"NameTooLong", raw("\x01" + le(1, 8) + "\x01" + "\x41" + std::string(65, 'n')),
                "bad channel name"},
        BadCase{"NamePastTheBody", raw("\x01" + le(1, 8) + "\x01" + "\x05" + "news"), "bad channel name"},
        BadCase{"PayloadOverTheLimit", raw("\x01" + le(1, 8) + "\x01" + kName + std::string(17, 'p')),
                "payload too large"},
        BadCase{"ShortPublished", raw("\x02" + le(1, 8) + le(1, 8)), "short published"},
        BadCase{"IdleWithTrailingBytes", raw("\x03" + le(1, 8) + le(1, 8) + kName + "z"), "trailing bytes"},
        BadCase{"ShortIdle", raw("\x03" + le(1, 8)), "short idle"},
        BadCase{"StatsQueryTooLong", raw("\x04" + le(1, 8) + "z"), "bad request length"},
        BadCase{"RefusedTooShort", raw("\x06" + le(1, 4)), "bad request length"},
        BadCase{"StatsAskTooLong", raw("\x07" + le(1, 8) + "z"), "bad request length"},
        BadCase{"ShortStatsReply", raw("\x08" + le(1, 4)), "short stats reply"},
        BadCase{"StatsReplyOverTheLimit", raw("\x08" + le(1, 8) + std::string(17, 'j')), "payload too large"},
        BadCase{"TooManyCounters", raw("\x05" + le(1, 8) + "\x21" + le(0, 8)),
                "too many counters"},
        BadCase{"CountersCutShort", raw("\x05" + le(1, 8) + "\x02" + le(1, 8)), "bad stats length"}),
    [](const testing::TestParamInfo<BadCase>& i) { return std::string(i.param.name); });

TEST(ClusterWire, ErrorsStick) {
    WireDecoder d;
    const std::string bad = raw("\x14");
    size_t used = 0;
    ASSERT_EQ(d.feed(bad.data(), bad.size(), used), WireDecoder::Result::kError);
    const std::string good = bytes(publish(1, "news", "x"));
    EXPECT_EQ(d.feed(good.data(), good.size(), used), WireDecoder::Result::kError);
    EXPECT_EQ(used, 0u);
    EXPECT_STREQ(d.error(), "unknown kind");
}

TEST(ClusterWire, PayloadAtTheLimitIsTaken) {
    const std::string in = bytes(publish(1, "news", std::string(16, 'p')));
    EXPECT_EQ(decode(in, {}, WireLimits{.max_payload = 16}).frames.size(), 1u);
    EXPECT_EQ(decode(in, {}, WireLimits{.max_payload = 15}).error, "payload too large");
}

TEST(ClusterWire, ALargeSplitFrameDecodes) {
    const std::string payload(1 << 20, 'L');
    const std::string in = bytes(publish(1, "big", payload)) + bytes(publish(2, "small", "s"));
    std::vector<size_t> cuts;
    for (size_t c = 4096; c < in.size(); c += 4096) cuts.push_back(c);
    const Decoded d = decode(in, cuts);
    ASSERT_EQ(d.error, "");
    ASSERT_EQ(d.frames.size(), 2u);
    EXPECT_EQ(d.frames[0], bytes(publish(1, "big", payload)));
}

}  // namespace
}  // namespace wspush::cluster
