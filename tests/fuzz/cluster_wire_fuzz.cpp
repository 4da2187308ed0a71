// libFuzzer entry point for the parent/worker frame decoder (make fuzz). The first byte picks
// the payload limit (even: 32 bytes, so the limit is reachable; odd: the default); the rest
// is a stream of frames as a peer writes them. Checks:
//   - decoded whole and in pseudo-random pieces (empty ones included), the decoder gives the
//     same frames and the same verdict (error text, or a frame left unfinished);
//   - kNeedMore takes every byte given, kDone never more than given;
//   - the encoding is canonical: each frame encoded again is exactly its bytes in the input,
//     so the re-encoded frames laid end to end are the input up to the last whole frame.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/wire.h"
#include "fuzz_util.h"

namespace {

using namespace wspush::cluster;
using wspush::fuzz::require;

struct Run {
    std::vector<std::string> frames;  // each encoded again
    std::string error;
    bool unfinished = false;
};

Run decode(std::string_view in, const std::vector<size_t>& ends, const WireLimits& limits) {
    WireDecoder d(limits);
    Run run;
    size_t start = 0;
    for (size_t end : ends) {
        // An exact-size copy of the piece: ASan reports a read past it.
        std::vector<char> piece(in.begin() + static_cast<long>(start), in.begin() + static_cast<long>(end));
        size_t pos = 0;
        for (;;) {
            size_t used = 0;
            const WireDecoder::Result r = d.feed(piece.data() + pos, piece.size() - pos, used);
            require(used <= piece.size() - pos);
            pos += used;
            if (r == WireDecoder::Result::kError) {
                require(d.error() != nullptr);
                run.error = d.error();
                return run;
            }
            if (r == WireDecoder::Result::kNeedMore) {
                require(pos == piece.size());
                break;
            }
            std::string again;
            require(encode(d.frame(), again));
            run.frames.push_back(again);
            if (pos == piece.size()) break;
        }
        start = end;
    }
    run.unfinished = d.mid_frame();
    return run;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    WireLimits limits;
    if ((data[0] & 1) == 0) limits.max_payload = 32;
    const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
    const Run whole = decode(in, {in.size()}, limits);
    wspush::fuzz::Splitter split(wspush::fuzz::tail_seed(data, size));
    const Run pieces = decode(in, split.ends(in.size()), limits);
    require(pieces.frames == whole.frames);
    require(pieces.error == whole.error);
    require(pieces.unfinished == whole.unfinished);
    std::string joined;
    for (const std::string& f : whole.frames) joined += f;
    require(in.substr(0, joined.size()) == joined);
    return 0;
}
