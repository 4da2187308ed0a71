// Differential libFuzzer entry point for the frame codec (make fuzz): the input describes
// messages (text of random code points, binary, each cut into up to five fragments with
// Pings and Pongs between them, some large enough for the 16- and 64-bit lengths, maybe a
// Close at the end); they are encoded as a client sends them, with
// ws::encode_client_header and a masking key each (masked byte by byte here, not with
// ws::unmask), and fed to ws::FrameParser whole and in pseudo-random pieces. The parser
// must give back exactly those messages and control frames, in order, and stop at the
// Close.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "frame_events.h"
#include "fuzz_util.h"
#include "ws/frame.h"

namespace {

using namespace wspush;
using fuzz::FrameEvent;
using fuzz::FrameOutcome;
using fuzz::require;

void append_utf8(uint32_t cp, std::string* s) {
    if (cp < 0x80) {
        *s += static_cast<char>(cp);
    } else if (cp < 0x800) {
        *s += static_cast<char>(0xC0 | cp >> 6);
        *s += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *s += static_cast<char>(0xE0 | cp >> 12);
        *s += static_cast<char>(0x80 | (cp >> 6 & 0x3F));
        *s += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        *s += static_cast<char>(0xF0 | cp >> 18);
        *s += static_cast<char>(0x80 | (cp >> 12 & 0x3F));
        *s += static_cast<char>(0x80 | (cp >> 6 & 0x3F));
        *s += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

class Writer {
public:
    explicit Writer(FuzzedDataProvider& in) : in_(in) {}

    void frame(ws::Opcode op, std::string_view payload, bool fin) {
        uint8_t key[4];
        const uint32_t k = in_.ConsumeIntegral<uint32_t>();
        for (int i = 0; i < 4; ++i) key[i] = static_cast<uint8_t>(k >> (8 * i));
        uint8_t h[ws::kMaxClientHeader];
        const size_t n = ws::encode_client_header(h, op, payload.size(), key, fin);
        require(n == 6 || n == 8 || n == 14);
        wire.append(reinterpret_cast<const char*>(h), n);
        for (size_t i = 0; i < payload.size(); ++i) wire += static_cast<char>(payload[i] ^ key[i % 4]);
    }

    void control(FrameEvent::Kind kind) {
        const std::string p = in_.ConsumeBytesAsString(in_.ConsumeIntegralInRange<size_t>(0, ws::kMaxControlPayload));
        frame(kind == FrameEvent::kPing ? ws::Opcode::kPing : ws::Opcode::kPong, p, true);
        want.events.push_back({kind, ws::Opcode::kPing, p, true, 0});
    }

    void message(ws::Opcode op, const std::string& payload) {
        // Cut points anywhere, inside a UTF-8 sequence too; empty fragments allowed.
        const size_t fragments = in_.ConsumeIntegralInRange<size_t>(1, 5);
        size_t at = 0;
        for (size_t f = 1; f <= fragments; ++f) {
            const size_t to = f == fragments ? payload.size() : in_.ConsumeIntegralInRange<size_t>(at, payload.size());
            frame(f == 1 ? op : ws::Opcode::kContinuation, std::string_view(payload).substr(at, to - at), f == fragments);
            if (to > at || f == fragments) want.add_data(op, std::string_view(payload).substr(at, to - at), f == fragments);
            at = to;
            if (f < fragments && in_.ConsumeBool()) control(in_.ConsumeBool() ? FrameEvent::kPing : FrameEvent::kPong);
        }
    }

    std::string wire;
    FrameOutcome want;

private:
    FuzzedDataProvider& in_;
};

// Some payloads span the 16-bit (126..65535) and 64-bit (65536..) length forms; their
// bytes come from a counter rather than the input, which stays small (ASCII for text).
std::string large_payload(FuzzedDataProvider& in, bool text) {
    const size_t n = in.ConsumeBool() ? in.ConsumeIntegralInRange<size_t>(120, 300)
                                      : in.ConsumeIntegralInRange<size_t>(65530, 65545);
    std::string s(n, '\0');
    for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(text ? 0x20 + (i * 7 + n) % 0x5F : i * 7 + n);
    return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    Writer w(in);
    bool closed = false, large = false;
    for (int m = 0; m < 64 && in.remaining_bytes() > 0 && !closed; ++m) {
        switch (in.ConsumeIntegralInRange<int>(0, 5)) {
            case 0: {
                std::string text;
                for (size_t n = in.ConsumeIntegralInRange<size_t>(0, 40); n > 0; --n) {
                    const uint32_t cp = in.ConsumeIntegralInRange<uint32_t>(0, 0x10FFFF - 0x800);
                    append_utf8(cp < 0xD800 ? cp : cp + 0x800, &text);  // no surrogates
                }
                w.message(ws::Opcode::kText, text);
                break;
            }
            case 1: w.message(ws::Opcode::kBinary, in.ConsumeBytesAsString(in.ConsumeIntegralInRange<size_t>(0, 64))); break;
            case 2: {
                if (large) break;  // one per input: a few of these would dominate the time
                large = true;
                const bool text = in.ConsumeBool();
                w.message(text ? ws::Opcode::kText : ws::Opcode::kBinary, large_payload(in, text));
                break;
            }
            case 3: w.control(FrameEvent::kPing); break;
            case 4: w.control(FrameEvent::kPong); break;
            default: {
                const uint16_t codes[] = {1000, 1001, 1003, 1011, 3000, 4999};
                const uint16_t code = codes[in.ConsumeIntegralInRange<size_t>(0, std::size(codes) - 1)];
                std::string reason;
                for (size_t n = in.ConsumeIntegralInRange<size_t>(0, 30); n > 0; --n)
                    append_utf8(in.ConsumeIntegralInRange<uint32_t>(0x20, 0x7FF), &reason);  // <= 60 bytes
                std::string payload{static_cast<char>(code >> 8), static_cast<char>(code & 0xFF)};
                w.frame(ws::Opcode::kClose, payload + reason, true);
                w.want.events.push_back({FrameEvent::kClose, ws::Opcode::kClose, reason, true, code});
                w.want.status = ws::ParseStatus::kClosed;
                closed = true;
                break;
            }
        }
    }
    const FrameOutcome whole = fuzz::parse_frames(w.wire, {w.wire.size()}, UINT64_MAX);
    require(whole == w.want);
    fuzz::Splitter split(fuzz::tail_seed(data, size));
    // Tiny pieces cut every header; for a large message, that many parse calls would
    // only slow the search down.
    const bool large_wire = w.wire.size() >= 4096;
    require(fuzz::parse_frames(w.wire, split.ends(w.wire.size(), large_wire ? 4096 : 64), UINT64_MAX) == w.want);
    require(fuzz::parse_frames(w.wire, split.ends(w.wire.size(), large_wire ? 700 : 3), UINT64_MAX) == w.want);
    return 0;
}
