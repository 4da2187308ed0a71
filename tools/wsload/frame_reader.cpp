#include "wsload/frame_reader.h"

#include "codec/utf8.h"
#include "ws/close_code.h"

namespace wspush::wsload {

namespace {

constexpr uint8_t kFin = 0x80;
constexpr uint8_t kRsv = 0x70;
constexpr uint8_t kOpMask = 0x0F;
constexpr uint8_t kMaskBit = 0x80;
constexpr size_t kKeepSpill = 8 << 20;

std::string_view view(const uint8_t* p, size_t n) noexcept {
    return {reinterpret_cast<const char*>(p), n};
}

}  // namespace

void ServerFrameReader::fail(const char* why) noexcept {
    error_ = why;
    status_ = ReadStatus::kError;
}

ReadStatus ServerFrameReader::feed(const uint8_t* data, size_t n, MessageSink& sink) {
    if (status_ != ReadStatus::kOk) return status_;
    if (spill_.empty()) {
        const size_t used = parse(data, n, sink);
        if (status_ == ReadStatus::kOk && used < n) spill_.assign(data + used, data + n);
        return status_;
    }
    spill_.insert(spill_.end(), data, data + n);
    const size_t used = parse(spill_.data(), spill_.size(), sink);
    if (status_ != ReadStatus::kOk || used == spill_.size()) {
        // Keep a moderate buffer for the next large frame; give a huge one back.
        if (spill_.capacity() > kKeepSpill) {
            std::vector<uint8_t>().swap(spill_);
        } else {
            spill_.clear();
        }
    } else {
        spill_.erase(spill_.begin(), spill_.begin() + static_cast<ptrdiff_t>(used));
    }
    return status_;
}

size_t ServerFrameReader::parse(const uint8_t* p, size_t n, MessageSink& sink) {
    size_t pos = 0;
    while (status_ == ReadStatus::kOk && n - pos >= 2) {
        const uint8_t* h = p + pos;
        const uint8_t b0 = h[0];
        const uint8_t b1 = h[1];
        // RFC 6455 5.1: "A client MUST close a connection if it detects a masked frame."
        if (b1 & kMaskBit) {
            fail("masked server frame");
            break;
        }
        uint64_t len = b1 & 0x7F;
        size_t header = 2;
        if (len == 126) {
            if (n - pos < 4) break;
            len = (uint64_t{h[2]} << 8) | h[3];
            header = 4;
            // 5.2: "the minimal number of bytes MUST be used to encode the length".
            if (len < 126) {
                fail("non-minimal 16-bit length");
                break;
            }
        } else if (len == 127) {
            if (n - pos < 10) break;
            len = 0;
            for (int i = 0; i < 8; ++i) len = (len << 8) | h[2 + i];
            header = 10;
            if (len >> 63) {
                fail("64-bit length with the top bit set");  // 5.2: MSB MUST be 0
                break;
            }
            if (len <= 0xFFFF) {
                fail("non-minimal 64-bit length");
                break;
            }
        }
        if (b0 & kRsv) {
            fail("reserved bit set");  // 5.2: no extension was negotiated
            break;
        }
        const uint8_t op = b0 & kOpMask;
        if ((op > 2 && op < 8) || op > 10) {
            fail("reserved opcode");  // 5.2: 0x3-0x7 and 0xB-0xF are reserved
            break;
        }
        if (is_control(static_cast<ws::Opcode>(op))) {
            // 5.5: control frames carry <= 125 bytes and are never fragmented.
            if (len > ws::kMaxControlPayload) {
                fail("control frame longer than 125 bytes");
                break;
            }
            if (!(b0 & kFin)) {
                fail("fragmented control frame");
                break;
            }
        } else if (len > max_message_ || message_.size() + len > max_message_) {
            fail("message larger than the limit");
            break;
        }
        if (n - pos - header < len) break;
        if (!frame(b0, h + header, static_cast<size_t>(len), sink)) break;
        pos += header + static_cast<size_t>(len);
    }
    return pos;
}

bool ServerFrameReader::frame(uint8_t b0, const uint8_t* payload, size_t len, MessageSink& sink) {
    const bool fin = (b0 & kFin) != 0;
    const auto op = static_cast<ws::Opcode>(b0 & kOpMask);
    switch (op) {
        case ws::Opcode::kText:
        case ws::Opcode::kBinary:
            if (message_op_ != 0) {
                fail("new message inside a fragmented one");  // 5.4
                return false;
            }
            if (fin) {
                if (op == ws::Opcode::kText && !codec::utf8_valid(view(payload, len))) {
                    fail("invalid UTF-8 in text message");  // 8.1
                    return false;
                }
                sink.on_message(op, view(payload, len));
                return true;
            }
            message_op_ = static_cast<uint8_t>(op);
            message_.assign(reinterpret_cast<const char*>(payload), len);
            return true;
        case ws::Opcode::kContinuation: {
            if (message_op_ == 0) {
                fail("continuation without a message");  // 5.4
                return false;
            }
            message_.append(reinterpret_cast<const char*>(payload), len);
            if (!fin) return true;
            const auto mop = static_cast<ws::Opcode>(message_op_);
            message_op_ = 0;
            if (mop == ws::Opcode::kText && !codec::utf8_valid(message_)) {
                fail("invalid UTF-8 in text message");
                return false;
            }
            sink.on_message(mop, message_);
            message_.clear();
            return true;
        }
        case ws::Opcode::kPing:
            sink.on_ping(view(payload, len));
            return true;
        case ws::Opcode::kPong:
            sink.on_pong(view(payload, len));
            return true;
        case ws::Opcode::kClose: {
            // 5.5.1: empty, or a 2-byte code then a UTF-8 reason.
            if (len == 1) {
                fail("1-byte close payload");
                return false;
            }
            uint16_t code = ws::kCloseNoStatus;
            std::string_view reason;
            if (len >= 2) {
                code = static_cast<uint16_t>((payload[0] << 8) | payload[1]);
                reason = view(payload + 2, len - 2);
                if (!ws::close_code_valid(code)) {
                    fail("invalid close code");
                    return false;
                }
                if (!codec::utf8_valid(reason)) {
                    fail("invalid UTF-8 in close reason");
                    return false;
                }
            }
            sink.on_close(code, reason);
            status_ = ReadStatus::kClosed;
            return false;
        }
    }
    fail("reserved opcode");
    return false;
}

void append_client_frame(std::string& out, ws::Opcode op, std::string_view payload,
                         const uint8_t (&key)[4], bool fin) {
    uint8_t header[ws::kMaxClientHeader];
    const size_t hn = ws::encode_client_header(header, op, payload.size(), key, fin);
    const size_t start = out.size();
    out.resize(start + hn + payload.size());
    char* dst = out.data() + start;
    std::copy(header, header + hn, dst);
    std::copy(payload.begin(), payload.end(), dst + hn);
    ws::unmask(reinterpret_cast<uint8_t*>(dst + hn), payload.size(), key, 0);
}

void append_client_close(std::string& out, uint16_t code, const uint8_t (&key)[4]) {
    const char body[2] = {static_cast<char>(code >> 8), static_cast<char>(code & 0xFF)};
    append_client_frame(out, ws::Opcode::kClose, std::string_view(body, 2), key);
}

}  // namespace wspush::wsload
