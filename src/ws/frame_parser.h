// Incremental parser for client-to-server frames (RFC 6455 section 5), correct under any
// split of the input. Unmasks in place and validates text UTF-8 as bytes arrive.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "codec/utf8.h"
#include "ws/close_code.h"
#include "ws/frame.h"

namespace wspush::ws {

// Receives what the parser finds, in stream order. Pointers are valid only during the call.
class FrameSink {
public:
    // Unmasked payload bytes of a data message (text or binary, whatever the fragmentation).
    // `op` is the message's opcode (kText or kBinary, never kContinuation). For text, every
    // byte delivered so far is valid UTF-8. `end` is true on the call that completes the
    // message (that call may carry n == 0, e.g. an empty message or empty final fragment).
    // A message's first call may be its last: then p[0..n) is the whole message.
    virtual void on_data(Opcode op, uint8_t* p, size_t n, bool end) noexcept = 0;
    // A complete Ping / Pong (payload <= 125 bytes).
    virtual void on_ping(const uint8_t* p, size_t n) noexcept = 0;
    virtual void on_pong(const uint8_t* p, size_t n) noexcept = 0;
    // A valid Close: code is kCloseNoStatus (1005) when the frame had no payload; reason is
    // valid UTF-8. After this the parser consumes nothing more.
    virtual void on_close(uint16_t code, std::string_view reason) noexcept = 0;

protected:
    ~FrameSink() = default;
};

enum class ParseStatus : uint8_t {
    kOk,      // all input consumed; call again with more
    kClosed,  // a Close frame was delivered; stop reading
    kError,   // protocol violation: send Close error().code and drop the connection
};

struct FrameError {
    uint16_t code = 0;          // kCloseProtocolError, kCloseInvalidPayload, kCloseMessageTooBig,
                                // or kCloseInternalError if a control buffer cannot be allocated
    const char* reason = "";   // short, static, fits a Close frame
};

class FrameParser {
public:
    // The largest message any max_message admits: 4 GiB - 1 (--max-message is at most 1G).
    static constexpr uint64_t kMaxMessage = UINT32_MAX;

    FrameParser() noexcept = default;
    ~FrameParser();
    FrameParser(const FrameParser&) = delete;
    FrameParser& operator=(const FrameParser&) = delete;

    // Parses data[0..len), unmasking payload bytes in place, delivering events to `sink`.
    // max_message caps a data message's total payload (all fragments); exceeding it is an
    // error (1009) decided from the length headers before the payload arrives. Lengths are
    // counted in 32 bits: a max_message above kMaxMessage acts as kMaxMessage.
    [[nodiscard]] ParseStatus parse(uint8_t* data, size_t len, uint64_t max_message,
                                    FrameSink& sink) noexcept;

    // Valid after parse() returned kError.
    [[nodiscard]] const FrameError& error() const noexcept { return kErrors[error_]; }

    // After parse() failed with 1009: the message's length as its headers declared it so far
    // (the frames received and the one refused), for the log; the refused frame's length
    // counts as UINT32_MAX when it is that or more.
    [[nodiscard]] uint64_t declared_length() const noexcept { return uint64_t{message_len_} + remaining_; }

    // True while a data message has started but not finished: from its first frame header
    // to its last payload byte, so between fragments and inside a partly received frame.
    [[nodiscard]] bool in_message() const noexcept { return message_op_ != 0; }

private:
    // Every error parse() can report; error_ indexes it (index 0: no error).
    static const FrameError kErrors[];

    [[nodiscard]] bool begin_frame(uint8_t b1) noexcept;
    [[nodiscard]] bool set_length(uint64_t len, uint64_t max_message) noexcept;
    void begin_payload() noexcept;
    [[nodiscard]] ParseStatus data_payload(uint8_t* p, size_t n, FrameSink& sink) noexcept;
    [[nodiscard]] ParseStatus control_payload(uint8_t* p, size_t n, FrameSink& sink) noexcept;
    [[nodiscard]] ParseStatus deliver_control(const uint8_t* p, size_t n, FrameSink& sink) noexcept;
    [[nodiscard]] ParseStatus fail(uint8_t error) noexcept;

    // Implementation-owned state; kept small (a connection holds one parser): 21 bytes of
    // data, 24 with padding, no pointer (a split control payload, which is rare, waits in
    // a table outside the parser). A header split across reads is accumulated field by
    // field, not spilled; the high half of a 64-bit length must be zero (kMaxMessage).
    uint32_t remaining_ = 0;      // payload bytes left in the current frame (the extended
                                  // length while it is being read)
    uint32_t message_len_ = 0;    // payload of the current data message per the headers so far
    uint8_t key_[4] = {};         // masking key of the current frame
    uint8_t head_ = 0;            // byte 0 of the current frame: FIN, RSV1-3, opcode
    uint8_t len7_ = 0;            // 7-bit length field of the current frame (126/127: extended)
    uint8_t need_ = 0;            // header bytes still to read in the length / key phase
    uint8_t key_pos_ = 0;         // payload bytes of the current frame seen so far, mod 4
    uint8_t control_len_ = 0;     // bytes of a split control payload held for this parser
    uint8_t message_op_ = 0;      // kText/kBinary from a data message's first header to its
                                  // last byte, else 0
    uint8_t phase_ = 0;           // where in the frame the next byte belongs
    uint8_t error_ = 0;           // index into kErrors
    codec::Utf8Validator utf8_;   // state of the current text message
};

}  // namespace wspush::ws
