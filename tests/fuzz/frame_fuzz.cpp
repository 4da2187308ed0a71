// libFuzzer entry point for ws::FrameParser in the server role (make fuzz). The first byte
// picks max_message, the rest is what a client sent. Checks that the events (messages,
// pings, pongs, the Close) and the final status and Close code are those of a plain
// reference parser written here from RFC 6455 section 5 (and 5.5.1 / 7.4 for Close),
// whether the input is fed whole, in pseudo-random pieces or byte by byte; delivered
// payloads are the unmasked input, text is UTF-8 (frame_events.h), a stopped parser stays
// stopped. After an error only the unfinished message's bytes may differ with the pieces:
// fail-fast withholds the piece holding the bad byte, so more pieces deliver more of it.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "frame_events.h"
#include "fuzz_util.h"

namespace {

using namespace wspush;
using fuzz::FrameEvent;
using fuzz::FrameOutcome;
using fuzz::require;
using fuzz::Utf8Ref;

constexpr uint64_t kMaxMessages[4] = {UINT64_MAX, 1 << 20, 200, 0};

// RFC 6455 7.4.1/7.4.2: the codes an endpoint may send (1004-1006 and 1012+ of the 1000s
// are reserved or never on the wire; 3000-4999 are for libraries and applications).
bool close_code_ok(uint16_t c) {
    return c == 1000 || c == 1001 || c == 1002 || c == 1003 || (c >= 1007 && c <= 1011) || (c >= 3000 && c <= 4999);
}

// The reference: decides each frame from the whole buffer, in the order a parser meets its
// bytes. What a split-tolerant parser can decide early, it decides as early: a header
// error once bytes 0-1 are there, a length error once the length is, invalid text at the
// first frame piece (here: the frame's bytes present) holding a bad byte.
FrameOutcome reference(std::string_view w, uint64_t max_message) {
    if (max_message > ws::FrameParser::kMaxMessage) max_message = ws::FrameParser::kMaxMessage;
    FrameOutcome o;
    uint8_t message_op = 0;   // the open data message, or 0
    uint64_t message_len = 0;
    std::string text;         // the open text message's bytes so far
    auto fail = [&](uint16_t code) {
        o.status = ws::ParseStatus::kError;
        o.error_code = code;
        return o;
    };
    auto more = [&] {  // the input ends here; a parser would wait for more
        o.in_message = message_op != 0;
        return o;
    };
    size_t pos = 0;
    while (pos + 2 <= w.size()) {
        const uint8_t b0 = static_cast<uint8_t>(w[pos]), b1 = static_cast<uint8_t>(w[pos + 1]);
        const uint8_t op = b0 & 0x0F;
        const bool fin = (b0 & 0x80) != 0, control = (op & 0x8) != 0;
        const uint8_t len7 = b1 & 0x7F;
        if ((b0 & 0x70) != 0) return fail(1002);                                // RSV1-3
        if (op != 0 && op != 1 && op != 2 && op != 8 && op != 9 && op != 10) return fail(1002);
        if ((b1 & 0x80) == 0) return fail(1002);                                // 5.1: masked
        if (control && (!fin || len7 > 125)) return fail(1002);                 // 5.5
        if (op == 0 && message_op == 0) return fail(1002);                      // 5.4
        if ((op == 1 || op == 2) && message_op != 0) return fail(1002);
        size_t p = pos + 2;
        uint64_t len = len7;
        const size_t ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
        if (ext != 0) {
            len = 0;
            for (size_t i = 0; i < ext; ++i) {
                if (p + i == w.size()) return more();
                const uint8_t b = static_cast<uint8_t>(w[p + i]);
                // A 64-bit length >= 4 GiB exceeds every max_message: said at its first
                // non-zero byte (the top bit, only in the first byte, is a 1002).
                if (ext == 8 && i < 4 && b != 0) return fail(i == 0 && (b & 0x80) ? 1002 : 1009);
                len = len << 8 | b;
            }
            p += ext;
            if ((ext == 2 && len < 126) || (ext == 8 && len <= 0xFFFF)) return fail(1002);  // minimal
        }
        if (!control) {
            if (message_len + len > max_message) return fail(1009);
            message_len += len;
        }
        if (w.size() - p < 4) return more();
        const uint8_t* key = reinterpret_cast<const uint8_t*>(w.data() + p);
        p += 4;
        const size_t avail = static_cast<size_t>(std::min<uint64_t>(len, w.size() - p));
        std::string payload(w.substr(p, avail));
        for (size_t i = 0; i < avail; ++i) payload[i] = static_cast<char>(payload[i] ^ key[i % 4]);
        if (control) {
            if (avail < len) return more();
            pos = p + avail;
            if (op == 9 || op == 10) {
                o.events.push_back({op == 9 ? FrameEvent::kPing : FrameEvent::kPong, ws::Opcode::kPing, payload, true, 0});
                continue;
            }
            if (payload.size() == 1) return fail(1002);  // 5.5.1: a code is two bytes
            uint16_t code = 1005;                        // no status
            if (payload.size() >= 2) {
                code = static_cast<uint16_t>(static_cast<uint8_t>(payload[0]) << 8 | static_cast<uint8_t>(payload[1]));
                if (!close_code_ok(code)) return fail(1002);
                if (fuzz::utf8_reference(std::string_view(payload).substr(2)) != Utf8Ref::kValid) return fail(1007);
            }
            o.events.push_back({FrameEvent::kClose, ws::Opcode::kClose, payload.size() >= 2 ? payload.substr(2) : "", true, code});
            o.status = ws::ParseStatus::kClosed;
            return o;
        }
        if (op != 0) message_op = op;
        const bool message_end = avail == len && fin;
        if (message_op == 1) {
            text += payload;
            const Utf8Ref r = fuzz::utf8_reference(text);
            if (r == Utf8Ref::kInvalid || (message_end && r != Utf8Ref::kValid)) return fail(1007);
        }
        if (avail != 0 || message_end) o.add_data(static_cast<ws::Opcode>(message_op), payload, message_end);
        if (message_end) {
            message_op = 0;
            message_len = 0;
            text.clear();
        }
        if (avail < len) break;
        pos = p + avail;
    }
    return more();
}

// Whether `got` is `want` up to the unfinished message after an error, where `got` may
// have delivered more of it (never other bytes).
bool same_up_to_failure(FrameOutcome got, FrameOutcome want) {
    if (want.status != ws::ParseStatus::kError) return got == want;
    const std::string g = got.take_unfinished(), w = want.take_unfinished();
    return got == want && g.starts_with(w);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    const uint64_t max_message = kMaxMessages[data[0] & 3];
    const std::string_view wire(reinterpret_cast<const char*>(data) + 1, size - 1);
    const FrameOutcome want = reference(wire, max_message);

    const FrameOutcome whole = fuzz::parse_frames(wire, {wire.size()}, max_message);
    require(whole == want);  // one piece: the same pieces as the reference
    fuzz::Splitter split(fuzz::tail_seed(data, size));
    require(same_up_to_failure(fuzz::parse_frames(wire, split.ends(wire.size(), 24), max_message), want));
    require(same_up_to_failure(fuzz::parse_frames(wire, split.ends(wire.size(), 1), max_message), want));
    return 0;
}
