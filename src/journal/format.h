// The journal's bytes on disk: segment header, records, the per-segment index, file names.
// Every integer is little-endian. Layouts are in journal.h; the limits:
//
// | limit             | value  | why                                                   |
// | ----------------- | ------ | ----------------------------------------------------- |
// | kMaxChannelName   | 64     | the server's channel-name limit (push/names.h)        |
// | kMaxPayload       | 1 GiB  | the largest --max-message                             |
// | record header     | 28     | crc, length, type, name length, reserved, epoch, seq  |
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wspush::journal {

inline constexpr uint32_t kFormatVersion = 1;
inline constexpr size_t kMaxChannelName = 64;
inline constexpr uint32_t kMaxPayload = 1u << 30;
inline constexpr size_t kSegmentHeaderSize = 32;
inline constexpr size_t kRecordHeaderSize = 28;
inline constexpr char kSegmentMagic[8] = {'W', 'S', 'P', 'J', 'R', 'N', 'L', '\n'};
inline constexpr char kIndexMagic[8] = {'W', 'S', 'P', 'J', 'I', 'D', 'X', '\n'};

enum class RecordType : uint8_t {
    kText = 1,    // a published text message
    kBinary = 2,  // a published binary message
    kMeta = 3,    // no payload: the channel's numbering (epoch, last seq), kept by compaction
    kDrop = 4,    // no payload: the channel of this epoch was forgotten, its records are void
};

// A record as read or to be written; the views point into the caller's bytes.
struct Record {
    RecordType type = RecordType::kText;
    std::string_view channel;
    uint64_t epoch = 0;
    uint64_t seq = 0;
    std::string_view payload;

    [[nodiscard]] bool is_message() const noexcept { return type == RecordType::kText || type == RecordType::kBinary; }
};

// Bytes r takes on disk.
[[nodiscard]] inline size_t record_size(const Record& r) noexcept {
    return kRecordHeaderSize + r.channel.size() + r.payload.size();
}
// Whether r may be written: a channel name of 1..kMaxChannelName bytes, a payload of at
// most kMaxPayload bytes and none for kMeta/kDrop.
[[nodiscard]] bool record_valid(const Record& r) noexcept;
// Appends r (record_valid) to out.
void encode_record(const Record& r, std::string& out);

enum class Decoded : uint8_t {
    kOk,     // a whole record with a good checksum
    kShort,  // the bytes end inside the record (a torn tail when nothing follows)
    kBad,    // a checksum mismatch or a field out of range: never a record
};
// Decodes the record at the start of [p, p + n): on kOk fills out (views into p) and used.
// verify=false skips the checksum: only for bytes this process encoded itself.
[[nodiscard]] Decoded decode_record(const uint8_t* p, size_t n, Record& out, size_t& used, bool verify = true) noexcept;

// The 32-byte segment header: magic, format version, crc32c of the other 28 bytes, the
// journal's id, the segment's number.
struct SegmentHeader {
    uint32_t version = kFormatVersion;
    uint64_t journal_id = 0;
    uint64_t number = 0;
};
void encode_segment_header(const SegmentHeader& h, uint8_t (&out)[kSegmentHeaderSize]) noexcept;
enum class HeaderCheck : uint8_t { kOk, kBadMagic, kBadChecksum, kBadVersion };
// kBadVersion fills h.version with what the file says (the checksum is good).
[[nodiscard]] HeaderCheck decode_segment_header(const uint8_t (&in)[kSegmentHeaderSize], SegmentHeader& h) noexcept;

// What one segment holds of one channel (its records of the newest epoch seen in it).
struct ChannelSummary {
    std::string name;
    uint64_t epoch = 0;
    uint64_t last_seq = 0;  // highest seq of a message or kMeta record in `epoch` (0: none)
    uint64_t msg_min = 0;   // lowest and highest seq of a message record in `epoch` (0: none)
    uint64_t msg_max = 0;
    uint64_t msg_bytes = 0; // payload bytes of the message records in `epoch`
    bool dropped = false;   // a kDrop record in `epoch`
};
// Folds a record (or another summary's entry, as a record of its kind) into s.
void fold(ChannelSummary& s, const Record& r) noexcept;
void fold(ChannelSummary& into, const ChannelSummary& from) noexcept;

// The index of a sealed segment (<number>.wsi): its length when sealed and a summary per
// channel, so that start-up reads only the segments that hold records it needs.
struct SegmentIndex {
    uint64_t number = 0;
    uint64_t length = 0;
    std::vector<ChannelSummary> channels;
};
void encode_index(const SegmentIndex& idx, std::string& out);
// False (idx unspecified) unless `bytes` is a whole, well-formed index of this format.
[[nodiscard]] bool decode_index(std::string_view bytes, SegmentIndex& idx);

// "<16 hex digits>.wsj" / ".wsi": names sort as the numbers do.
[[nodiscard]] std::string segment_name(uint64_t number);
[[nodiscard]] std::string index_name(uint64_t number);
// The number in a segment file name; false for any other name.
[[nodiscard]] bool parse_segment_name(std::string_view name, uint64_t& number) noexcept;

}  // namespace wspush::journal

namespace wspush::journal {

// Builds a segment's summaries record by record (one entry per channel, first-seen order).
class Summarizer {
public:
    void add(const Record& r);
    [[nodiscard]] const std::vector<ChannelSummary>& channels() const noexcept { return channels_; }
    [[nodiscard]] std::vector<ChannelSummary> take();

private:
    std::vector<ChannelSummary> channels_;
    std::vector<uint32_t> slots_;  // open addressing over channels_ (index + 1; 0 = empty)
};

// Walks the records of a segment's bytes after its header: calls f(record, offset) for each
// good one and returns the length of the good part (the offset of the first short or bad
// record, or n). `why` names what ended it early ("short" or "bad"), else stays nullptr.
template <class F>
uint64_t scan_records(const uint8_t* p, size_t n, F&& f, const char** why = nullptr) {
    size_t at = kSegmentHeaderSize;
    if (n < at) return 0;
    while (at < n) {
        Record r;
        size_t used = 0;
        const Decoded d = decode_record(p + at, n - at, r, used);
        if (d != Decoded::kOk) {
            if (why != nullptr) *why = d == Decoded::kShort ? "a short record" : "a bad record";
            break;
        }
        f(r, at);
        at += used;
    }
    return at;
}

}  // namespace wspush::journal
