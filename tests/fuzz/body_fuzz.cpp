// libFuzzer entry point for http::BodyDecoder (make fuzz-build). The first bytes choose the
// framing, a limit and the read sizes; the rest is the body on the wire. Checks that the
// result does not depend on how the input is split (whole, at pseudo-random points, byte by
// byte, in place or not), that payload never exceeds the limit or the input, and that every
// call stays inside its buffers (ASan).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "http/body.h"

namespace {

using namespace wspush::http;

void require(bool ok) {
    if (!ok) std::abort();
}

struct Outcome {
    BodyStatus status = BodyStatus::kNeedMore;
    std::string payload;
    size_t at = 0;  // kDone: where the body ended; kError: the offending byte
    uint16_t http_status = 0;

    bool operator==(const Outcome&) const = default;
};

struct Setup {
    bool chunked;
    uint64_t length;
    uint64_t limit;
};

Outcome run(const Setup& s, std::string_view wire, const std::vector<size_t>& ends, bool in_place) {
    BodyDecoder d;
    if (s.chunked) {
        d.start_chunked(s.limit);
    } else {
        d.start_length(s.length, s.limit);
    }
    Outcome o;
    size_t begin = 0;
    for (const size_t end : ends) {
        const size_t len = end - begin;
        auto in = std::make_unique<char[]>(len + 1);
        if (len > 0) std::memcpy(in.get(), wire.data() + begin, len);
        auto out = std::make_unique<char[]>(len + 1);
        char* dst = in_place ? in.get() : out.get();
        const BodyResult r = d.decode(in.get(), len, dst);
        require(r.consumed <= len && r.produced <= r.consumed);
        o.payload.append(dst, r.produced);
        require(d.size() == o.payload.size() && d.size() <= s.limit);
        if (r.status == BodyStatus::kNeedMore) {
            require(r.consumed == len);
            begin = end;
            continue;
        }
        o.status = r.status;
        o.at = begin + r.consumed;
        if (r.status == BodyStatus::kError) o.http_status = d.error().http_status;
        break;
    }
    return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 4) return 0;
    // data[0]: framing and limit; data[1..2]: Content-Length; data[3]: split seed.
    const Setup s{(data[0] & 1) != 0, static_cast<uint64_t>(data[1] | data[2] << 8),
                  (data[0] & 2) != 0 ? UINT64_MAX : static_cast<uint64_t>(data[0] >> 2) * 37};
    const std::string_view wire(reinterpret_cast<const char*>(data) + 4, size - 4);

    const Outcome whole = run(s, wire, {wire.size()}, false);
    require(whole.payload.size() <= wire.size());
    require(whole.status != BodyStatus::kDone || !s.chunked || whole.at >= 5);

    std::vector<size_t> ends;
    uint32_t x = data[3] * 2654435761u + 1;
    for (size_t e = 0; e < wire.size();) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        e += x % 17;
        ends.push_back(e < wire.size() ? e : wire.size());
    }
    ends.push_back(wire.size());
    require(run(s, wire, ends, false) == whole);
    require(run(s, wire, ends, true) == whole);

    std::vector<size_t> bytes;
    for (size_t e = 0; e <= wire.size(); ++e) bytes.push_back(e);
    require(run(s, wire, bytes, false) == whole);
    return 0;
}
