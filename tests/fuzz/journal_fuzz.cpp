// libFuzzer entry point for the journal's on-disk formats (make fuzz). The input is a
// segment's bytes after a valid header (and, whole, an index file). Checks, for any bytes:
// every record the scan returns re-encodes to exactly the bytes it was read from (a record
// is never misread, only cut); the scan ends inside the input, at a record boundary, and
// only where the next bytes do not decode; the summary's numbers come from those records;
// an index that decodes re-encodes to the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "fuzz_util.h"
#include "journal/format.h"

namespace {

using namespace wspush::journal;
using wspush::fuzz::require;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
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
