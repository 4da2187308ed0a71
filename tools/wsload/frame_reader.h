// wsload's view of the wire: reads server-to-client frames (RFC 6455 section 5) under any
// split of the input, and builds masked client-to-server frames.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ws/frame.h"

namespace wspush::wsload {

// Receives what the reader finds, in stream order. Views are valid only during the call.
class MessageSink {
public:
    // A complete data message (fragments joined); op is kText or kBinary. Text has been
    // checked to be valid UTF-8.
    virtual void on_message(ws::Opcode op, std::string_view payload) = 0;
    virtual void on_ping(std::string_view payload) = 0;
    virtual void on_pong(std::string_view payload) = 0;
    // The server's Close: code 1005 (no status) when the frame had no payload.
    virtual void on_close(uint16_t code, std::string_view reason) = 0;

protected:
    ~MessageSink() = default;
};

enum class ReadStatus : uint8_t {
    kOk,      // all input consumed
    kClosed,  // a Close frame was delivered; bytes after it are ignored
    kError,   // protocol violation, see ServerFrameReader::error()
};

// Incremental reader. Complete frames are delivered straight from the caller's buffer; only
// an incomplete tail is copied, to a spill buffer (which costs no heap until a frame is
// split across reads; up to 8 MB of it is kept for the next one), and fragments of a
// fragmented message are joined in a second buffer.
class ServerFrameReader {
public:
    ServerFrameReader() noexcept = default;
    explicit ServerFrameReader(uint64_t max_message) noexcept : max_message_(max_message) {}

    // Consumes data[0..n). After kClosed or kError, further calls return the same status.
    ReadStatus feed(const uint8_t* data, size_t n, MessageSink& sink);

    // Static description of the violation after kError.
    [[nodiscard]] const char* error() const noexcept { return error_; }
    // Bytes held back waiting for the rest of a frame.
    [[nodiscard]] size_t buffered() const noexcept { return spill_.size(); }

private:
    // Parses frames from p[0..n); returns bytes consumed (a whole number of frames).
    size_t parse(const uint8_t* p, size_t n, MessageSink& sink);
    // Handles one complete frame; false stops parsing (close or error).
    bool frame(uint8_t b0, const uint8_t* payload, size_t len, MessageSink& sink);
    void fail(const char* why) noexcept;

    uint64_t max_message_ = uint64_t{64} << 20;
    std::vector<uint8_t> spill_;
    std::string message_;        // joined fragments of the message in progress
    const char* error_ = "";
    uint8_t message_op_ = 0;     // kText/kBinary while a fragmented message is open
    ReadStatus status_ = ReadStatus::kOk;
};

// Appends one masked client frame (header with masking key, then the masked payload) to out.
void append_client_frame(std::string& out, ws::Opcode op, std::string_view payload,
                         const uint8_t (&key)[4], bool fin = true);

// Appends a masked Close frame with `code` (and no reason).
void append_client_close(std::string& out, uint16_t code, const uint8_t (&key)[4]);

}  // namespace wspush::wsload
