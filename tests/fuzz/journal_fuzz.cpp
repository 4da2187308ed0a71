// libFuzzer entry point for the journal's on-disk formats (make fuzz). Two readings of the
// input. Raw: a segment's bytes after a valid header (and, whole, an index file): every
// record the scan returns re-encodes to exactly the bytes it was read from; the scan ends
// inside the input, at a record boundary, and only where the next bytes do not decode; an
// index that decodes re-encodes to the same bytes. Built: the input describes records,
// written with good checksums, then the segment is cut short and one bit flipped where the
// input's tail says: what the scan returns is a prefix of the records written, each at its
// offset with its fields (a damaged tail is cut, never misread).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "journal/format.h"

namespace {

using namespace wspush::journal;
using wspush::fuzz::require;

// Records described by the input: type (1..4), name length (1..64), epoch, seq, payload
// length (0..255, none for meta and drop), then the name and payload bytes.
void built(const uint8_t* data, size_t size) {
    std::vector<std::string> encoded;
    std::vector<size_t> offsets;
    uint8_t header[kSegmentHeaderSize];
    encode_segment_header({kFormatVersion, 1, 1}, header);
    std::string segment(reinterpret_cast<const char*>(header), sizeof header);
    size_t at = 0;
    while (size - at >= 5) {
        Record r;
        r.type = static_cast<RecordType>(1 + data[at] % 4);
        const size_t name_len = 1 + data[at + 1] % kMaxChannelName;
        r.epoch = data[at + 2];
        r.seq = data[at + 3];
        const size_t payload_len = r.is_message() ? data[at + 4] : 0;
        at += 5;
        if (size - at < name_len + payload_len) break;
        r.channel = {reinterpret_cast<const char*>(data + at), name_len};
        r.payload = {reinterpret_cast<const char*>(data + at + name_len), payload_len};
        at += name_len + payload_len;
        require(record_valid(r));
        offsets.push_back(segment.size());
        encoded.emplace_back();
        encode_record(r, encoded.back());
        segment += encoded.back();
    }
    const uint32_t seed = wspush::fuzz::tail_seed(data, size);
    const size_t whole = segment.size();
    segment.resize(kSegmentHeaderSize + seed % (whole - kSegmentHeaderSize + 1));
    if ((seed & 1) && segment.size() > kSegmentHeaderSize) {
        const size_t bit = (seed >> 8) % (8 * (segment.size() - kSegmentHeaderSize));
        segment[kSegmentHeaderSize + bit / 8] = static_cast<char>(segment[kSegmentHeaderSize + bit / 8] ^ (1 << (bit % 8)));
    }
    size_t k = 0;
    (void)scan_records(reinterpret_cast<const uint8_t*>(segment.data()), segment.size(), [&](const Record& r, size_t off) {
        require(k < encoded.size() && off == offsets[k]);
        std::string again;
        encode_record(r, again);
        require(again == encoded[k]);
        ++k;
    });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size > 0 && data[0] == 'B') {
        built(data + 1, size - 1);
        return 0;
    }
    uint8_t header[kSegmentHeaderSize];
    encode_segment_header({kFormatVersion, 1, 1}, header);
    std::string segment(reinterpret_cast<const char*>(header), sizeof header);
    segment.append(reinterpret_cast<const char*>(data), size);
    const auto* p = reinterpret_cast<const uint8_t*>(segment.data());

    Summarizer sum;
    size_t expect_at = kSegmentHeaderSize;
    const uint64_t good = scan_records(p, segment.size(), [&](const Record& r, size_t at) {
        require(at == expect_at);
        require(record_valid(r));
        std::string again;
        encode_record(r, again);
        require(at + again.size() <= segment.size());
        require(std::memcmp(again.data(), p + at, again.size()) == 0);
        expect_at = at + again.size();
        sum.add(r);
    });
    require(good == expect_at && good <= segment.size());
    if (good < segment.size()) {
        Record r;
        size_t used = 0;
        require(decode_record(p + good, segment.size() - good, r, used) != Decoded::kOk);
    }
    for (const ChannelSummary& c : sum.channels()) {
        require(!c.name.empty() && c.name.size() <= kMaxChannelName);
        require(c.msg_min <= c.msg_max && c.msg_max <= c.last_seq);
    }

    SegmentIndex idx;
    const std::string_view whole(reinterpret_cast<const char*>(data), size);
    if (decode_index(whole, idx)) {
        std::string again;
        encode_index(idx, again);
        require(again == whole);
    }
    return 0;
}
