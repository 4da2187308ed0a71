#include "journal/format.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "push/names.h"
#include "support/bytes.h"

namespace wspush::journal {
namespace {

using wspush::testing::heap_copy;

static_assert(kMaxChannelName == push::kMaxNameLength, "the journal holds every channel name the server takes");

std::string encoded(const Record& r) {
    std::string s;
    encode_record(r, s);
    return s;
}

Decoded decode(const std::string& s, Record& r, size_t& used) {
    return decode_record(reinterpret_cast<const uint8_t*>(s.data()), s.size(), r, used);
}

TEST(JournalFormat, RecordRoundTrip) {
    const Record in{RecordType::kBinary, "sensors/7", 42, 1000001, std::string_view("\0\x01payload", 9)};
    std::string s = encoded(in);
    ASSERT_EQ(s.size(), record_size(in));
    s += "trailing";  // the next record's bytes are not this one's
    auto copy = heap_copy(s);
    Record out;
    size_t used = 0;
    ASSERT_EQ(decode_record(reinterpret_cast<const uint8_t*>(copy.get()), s.size(), out, used), Decoded::kOk);
    EXPECT_EQ(used, record_size(in));
    EXPECT_EQ(out.type, RecordType::kBinary);
    EXPECT_EQ(out.channel, "sensors/7");
    EXPECT_EQ(out.epoch, 42u);
    EXPECT_EQ(out.seq, 1000001u);
    EXPECT_EQ(out.payload, in.payload);
}

// Every prefix of a record is short (or, once the header is there with a bad field, bad):
// never a record.
TEST(JournalFormat, EveryTruncationIsNeverARecord) {
    const std::string s = encoded({RecordType::kText, "room", 3, 9, "hello, world"});
    for (size_t n = 0; n < s.size(); ++n) {
        auto copy = heap_copy(s.substr(0, n));
        Record out;
        size_t used = 0;
        EXPECT_EQ(decode_record(reinterpret_cast<const uint8_t*>(copy.get()), n, out, used), Decoded::kShort) << n;
    }
}

TEST(JournalFormat, EveryFlippedBitIsDetected) {
    const std::string s = encoded({RecordType::kText, "room", 3, 9, "hello, world"});
    for (size_t bit = 0; bit < 8 * s.size(); ++bit) {
        std::string bad = s;
        bad[bit / 8] = static_cast<char>(bad[bit / 8] ^ (1 << (bit % 8)));
        Record out;
        size_t used = 0;
        // A flip in the length may make the record look longer than the bytes: short.
        EXPECT_NE(decode(bad, out, used), Decoded::kOk) << "bit " << bit;
    }
}

TEST(JournalFormat, RejectsInvalidRecords) {
    EXPECT_FALSE(record_valid({RecordType::kText, "", 1, 1, "x"}));
    EXPECT_FALSE(record_valid({RecordType::kText, std::string(65, 'c'), 1, 1, "x"}));
    EXPECT_TRUE(record_valid({RecordType::kText, std::string(64, 'c'), 1, 1, "x"}));
    EXPECT_FALSE(record_valid({RecordType::kMeta, "c", 1, 1, "x"}));
    EXPECT_FALSE(record_valid({RecordType::kDrop, "c", 1, 0, "x"}));
    EXPECT_FALSE(record_valid({static_cast<RecordType>(9), "c", 1, 1, ""}));
}

TEST(JournalFormat, SegmentHeaderVersionChecked) {
    uint8_t h[kSegmentHeaderSize];
    encode_segment_header({kFormatVersion, 0x1234, 7}, h);
    SegmentHeader out;
    ASSERT_EQ(decode_segment_header(h, out), HeaderCheck::kOk);
    EXPECT_EQ(out.journal_id, 0x1234u);
    EXPECT_EQ(out.number, 7u);
    encode_segment_header({kFormatVersion - 1, 0x1234, 7}, h);
    ASSERT_EQ(decode_segment_header(h, out), HeaderCheck::kBadVersion);
    EXPECT_EQ(out.version, kFormatVersion - 1);
    h[20] ^= 4;
    EXPECT_EQ(decode_segment_header(h, out), HeaderCheck::kBadChecksum);
    h[0] = 'X';
    EXPECT_EQ(decode_segment_header(h, out), HeaderCheck::kBadMagic);
}

TEST(JournalFormat, IndexRoundTripAndDamageRefused) {
    SegmentIndex in{5, 123456, {}};
    in.channels.push_back({.name = "a", .epoch = 2, .last_seq = 10, .msg_min = 3, .msg_max = 10, .msg_bytes = 77});
    in.channels.push_back({.name = "bb", .epoch = 4, .dropped = true});
    std::string s;
    encode_index(in, s);
    SegmentIndex out;
    ASSERT_TRUE(decode_index(s, out));
    EXPECT_EQ(out.number, 5u);
    EXPECT_EQ(out.length, 123456u);
    ASSERT_EQ(out.channels.size(), 2u);
    EXPECT_EQ(out.channels[0].name, "a");
    EXPECT_EQ(out.channels[0].msg_min, 3u);
    EXPECT_EQ(out.channels[0].last_seq, 10u);
    EXPECT_EQ(out.channels[0].msg_bytes, 77u);
    EXPECT_TRUE(out.channels[1].dropped);
    for (size_t bit = 0; bit < 8 * s.size(); ++bit) {
        std::string bad = s;
        bad[bit / 8] = static_cast<char>(bad[bit / 8] ^ (1 << (bit % 8)));
        EXPECT_FALSE(decode_index(bad, out)) << "bit " << bit;
    }
    for (size_t n = 0; n < s.size(); ++n) EXPECT_FALSE(decode_index(s.substr(0, n), out)) << n;
}

TEST(JournalFormat, SummaryFollowsTheNewestEpoch) {
    Summarizer sum;
    sum.add({RecordType::kText, "c", 1, 5, "x"});
    sum.add({RecordType::kText, "c", 1, 6, "x"});
    sum.add({RecordType::kDrop, "c", 1, 0, ""});
    sum.add({RecordType::kMeta, "d", 3, 9, ""});
    sum.add({RecordType::kText, "c", 2, 1, "x"});
    sum.add({RecordType::kText, "c", 1, 7, "x"});  // an older epoch: ignored
    const auto& ch = sum.channels();
    ASSERT_EQ(ch.size(), 2u);
    EXPECT_EQ(ch[0].epoch, 2u);
    EXPECT_EQ(ch[0].last_seq, 1u);
    EXPECT_FALSE(ch[0].dropped);
    EXPECT_EQ(ch[1].last_seq, 9u);
    EXPECT_EQ(ch[1].msg_max, 0u);
}

TEST(JournalFormat, SegmentNamesSortAsNumbers) {
    EXPECT_EQ(segment_name(10), "000000000000000a.wsj");
    EXPECT_LT(segment_name(0xff), segment_name(0x100));
    uint64_t n = 0;
    ASSERT_TRUE(parse_segment_name("00000000000000ff.wsj", n));
    EXPECT_EQ(n, 0xffu);
    EXPECT_FALSE(parse_segment_name("00000000000000ff.wsi", n));
    EXPECT_FALSE(parse_segment_name("00000000000000FF.wsj", n));
    EXPECT_FALSE(parse_segment_name("0000000000000ff.wsj", n));
}

}  // namespace
}  // namespace wspush::journal
