// libFuzzer entry point for codec::Utf8Validator and utf8_valid (make fuzz). Checks, for any
// bytes, against the decoder in fuzz_util.h: utf8_valid agrees with it; the validator fed
// in pseudo-random pieces (each an exact-size copy, so ASan sees a read past it) fails at
// the first piece that makes the bytes so far invalid and never before, and is complete()
// exactly when the bytes so far are; once rejected it stays rejected; reset() forgets.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>

#include "codec/utf8.h"
#include "fuzz_util.h"

namespace {

using namespace wspush;
using fuzz::require;
using fuzz::Utf8Ref;

void feed_in_pieces(std::string_view s, const fuzz::Utf8Prefixes& prefixes, uint32_t seed, uint32_t max_piece) {
    codec::Utf8Validator v;
    fuzz::Splitter split(seed);
    bool rejected = false;
    size_t begin = 0;
    for (const size_t end : split.ends(s.size(), max_piece)) {
        const size_t len = end - begin;
        auto piece = std::make_unique<uint8_t[]>(len);
        if (len > 0) std::memcpy(piece.get(), s.data() + begin, len);
        const bool ok = v.feed(piece.get(), len);
        const Utf8Ref ref = prefixes.at(end);
        if (rejected) {
            require(!ok && !v.complete());
        } else {
            require(ok == (ref != Utf8Ref::kInvalid));
            require(v.complete() == (ref == Utf8Ref::kValid));
            rejected = !ok;
        }
        begin = end;
    }
    v.reset();
    require(v.complete() && v.feed(nullptr, 0));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view s(reinterpret_cast<const char*>(data), size);
    const uint32_t seed = fuzz::tail_seed(data, size);
    const fuzz::Utf8Prefixes prefixes(s);
    require(prefixes.at(size) == fuzz::utf8_reference(s));
    require(codec::utf8_valid(s) == (prefixes.at(size) == Utf8Ref::kValid));
    feed_in_pieces(s, prefixes, seed, 1);   // byte by byte: where exactly it fails
    feed_in_pieces(s, prefixes, seed, 40);  // pieces long enough for the word-at-a-time ASCII path
    return 0;
}
