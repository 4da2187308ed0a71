// What frame_fuzz and frame_codec_fuzz share: ws::FrameParser's events recorded in a form
// that does not depend on how the input was split (consecutive pieces of one message are
// joined), and a run that feeds the parser pieces, each an exact-size heap copy (so ASan
// sees a read past it), checking the sink contract on every call.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_util.h"
#include "ws/frame_parser.h"

namespace wspush::fuzz {

struct FrameEvent {
    enum Kind : uint8_t { kData, kPing, kPong, kClose };
    Kind kind = kData;
    ws::Opcode op = ws::Opcode::kContinuation;  // kData: kText or kBinary
    std::string bytes;                          // payload so far, or the Close reason
    bool end = false;                           // kData: the message is complete
    uint16_t code = 0;                          // kClose

    bool operator==(const FrameEvent&) const = default;
};

struct FrameOutcome {
    std::vector<FrameEvent> events;
    ws::ParseStatus status = ws::ParseStatus::kOk;
    uint16_t error_code = 0;  // kError: the Close code to send
    bool in_message = false;  // kOk: a data message is open

    bool operator==(const FrameOutcome&) const = default;

    // Appends data the way a message arrives: to the open message, or as a new one.
    void add_data(ws::Opcode op, std::string_view p, bool end) {
        if (!events.empty() && events.back().kind == FrameEvent::kData && !events.back().end) {
            require(events.back().op == op);
            events.back().bytes.append(p);
            events.back().end = end;
            return;
        }
        events.push_back({FrameEvent::kData, op, std::string(p), end, 0});
    }

    // After an error the last message's bytes depend on the pieces (the piece holding a
    // bad byte is withheld, not what came before it): takes that unfinished message off.
    std::string take_unfinished() {
        if (events.empty() || events.back().kind != FrameEvent::kData || events.back().end) return {};
        std::string b = std::move(events.back().bytes);
        events.pop_back();
        return b;
    }
};

class FrameRecorder final : public ws::FrameSink {
public:
    explicit FrameRecorder(FrameOutcome& out) : out_(out) {}

    void on_data(ws::Opcode op, uint8_t* p, size_t n, bool end) noexcept override {
        require(!closed_);
        require(op == ws::Opcode::kText || op == ws::Opcode::kBinary);
        require(n != 0 || end);  // an empty call only completes a message
        out_.add_data(op, std::string_view(reinterpret_cast<const char*>(p), n), end);
    }
    void on_ping(const uint8_t* p, size_t n) noexcept override { control(FrameEvent::kPing, p, n); }
    void on_pong(const uint8_t* p, size_t n) noexcept override { control(FrameEvent::kPong, p, n); }
    void on_close(uint16_t code, std::string_view reason) noexcept override {
        require(!closed_);
        require(utf8_reference(reason) == Utf8Ref::kValid && reason.size() <= ws::kMaxControlPayload - 2);
        closed_ = true;
        out_.events.push_back({FrameEvent::kClose, ws::Opcode::kClose, std::string(reason), true, code});
    }

private:
    void control(FrameEvent::Kind kind, const uint8_t* p, size_t n) {
        require(!closed_ && n <= ws::kMaxControlPayload);
        out_.events.push_back({kind, ws::Opcode::kPing, std::string(reinterpret_cast<const char*>(p), n), true, 0});
    }

    FrameOutcome& out_;
    bool closed_ = false;
};

// Feeds wire[0, ends...) piece by piece to a fresh parser until it stops (kClosed or
// kError), then once more to check that it stays stopped.
inline FrameOutcome parse_frames(std::string_view wire, const std::vector<size_t>& ends, uint64_t max_message) {
    FrameOutcome o;
    FrameRecorder sink(o);
    ws::FrameParser parser;
    size_t begin = 0;
    for (const size_t end : ends) {
        const size_t len = end - begin;
        auto piece = std::make_unique_for_overwrite<uint8_t[]>(len);  // every byte is copied in
        if (len > 0) std::memcpy(piece.get(), wire.data() + begin, len);
        o.status = parser.parse(piece.get(), len, max_message, sink);
        begin = end;
        if (o.status != ws::ParseStatus::kOk) break;
    }
    if (o.status == ws::ParseStatus::kError) o.error_code = parser.error().code;
    if (o.status == ws::ParseStatus::kOk) o.in_message = parser.in_message();
    // Stopped is sticky, and nothing more is delivered.
    const size_t events = o.events.size();
    uint8_t more[2] = {0x81, 0x80};
    if (o.status != ws::ParseStatus::kOk) require(parser.parse(more, sizeof more, max_message, sink) == o.status);
    require(o.events.size() == events);
    // Every text byte delivered is UTF-8 and a complete message ends on a whole character.
    // Checked once per message, on all of it: a prefix of valid UTF-8 is valid so far. A
    // message may be several events, with control frames between its pieces.
    std::string text;
    for (const FrameEvent& e : o.events) {
        if (e.kind != FrameEvent::kData || e.op != ws::Opcode::kText) continue;
        text += e.bytes;
        if (!e.end) continue;
        require(utf8_reference(text) == Utf8Ref::kValid);
        text.clear();
    }
    require(utf8_reference(text) != Utf8Ref::kInvalid);
    return o;
}

}  // namespace wspush::fuzz
