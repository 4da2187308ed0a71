// Client-to-server frame parser (RFC 6455 section 5). State per frame: phase, the raw first
// byte, the remaining payload length, the masking key and its position; per message: the
// opcode, the length so far and the UTF-8 state.
#include "ws/frame_parser.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <mutex>

namespace wspush::ws {
namespace {

enum Phase : uint8_t {
    kByte0,    // next byte starts a frame
    kByte1,    // head_ read; next byte is MASK + 7-bit length
    kLength,   // reading need_ more bytes of the extended length into remaining_, then
               // checking the length (need_ == 0: the 7-bit length is in remaining_)
    kKey,      // reading need_ more bytes of the masking key
    kPayload,  // remaining_ payload bytes to go
    kClosed,   // a Close was delivered; input is ignored
    kFailed,   // a protocol error was reported; sticky
};

// Indexes into FrameParser::kErrors.
enum ErrorId : uint8_t {
    kNoError,
    kReservedBits,
    kReservedOpcode,
    kNotMasked,
    kFragmentedControl,
    kControlTooLong,
    kNoMessage,
    kMessageNotFinished,
    kLengthTopBit,
    kNonMinimalLength,
    kTooBig,
    kBadUtf8,
    kCloseOneByte,
    kBadCloseCode,
    kBadCloseReason,
    kNoMemory,
    kErrorCount,
};

constexpr uint8_t kFin = 0x80;
constexpr uint8_t kRsv = 0x70;     // RSV1-3: no extension is negotiated, so all must be 0
constexpr uint8_t kOpcode = 0x0F;
constexpr uint8_t kMask = 0x80;
constexpr uint8_t kLen = 0x7F;
constexpr uint8_t kLen16 = 126;
constexpr uint8_t kLen64 = 127;

// Opcodes defined by RFC 6455 5.2, one bit each; 0x3-0x7 and 0xB-0xF are reserved.
constexpr uint16_t kKnownOpcodes = (1u << 0x0)    // continuation
                                   | (1u << 0x1)  // text
                                   | (1u << 0x2)  // binary
                                   | (1u << 0x8)  // close
                                   | (1u << 0x9)  // ping
                                   | (1u << 0xA); // pong

constexpr uint8_t ext_length_size(uint8_t len7) noexcept {
    return len7 == kLen16 ? 2 : (len7 == kLen64 ? 8 : 0);
}

// Control payloads split across reads (a Ping cut by a read boundary: rare), by parser,
// from their first byte to their delivery. Outside the parser so that a connection does
// not carry a pointer for them. A chained hash table keyed by the parser's address (many
// connections may each hold one at once); locked, since parsers may live on several
// threads. Out of memory is reported, never thrown.
struct Held {
    const void* owner;
    Held* next;
    uint8_t bytes[kMaxControlPayload];
};

struct SplitControls {
    std::mutex mu;
    Held** buckets = nullptr;  // nbuckets chains
    size_t nbuckets = 0;       // 0 or a power of two
    size_t count = 0;
};

constinit SplitControls g_split;

size_t bucket_of(const void* owner, size_t nbuckets) noexcept {
    return static_cast<size_t>((reinterpret_cast<uintptr_t>(owner) * 0x9E3779B97F4A7C15ull) >> 32) & (nbuckets - 1);
}

Held** find_held(const void* owner) noexcept {
    if (g_split.nbuckets == 0) return nullptr;
    Held** at = &g_split.buckets[bucket_of(owner, g_split.nbuckets)];
    while (*at != nullptr && (*at)->owner != owner) at = &(*at)->next;
    return *at != nullptr ? at : nullptr;
}

// Keeps chains short: doubles the buckets when there are as many entries (a failed
// growth only makes chains longer).
void grow_buckets() noexcept {
    const size_t n = g_split.nbuckets ? g_split.nbuckets * 2 : 16;
    auto** fresh = static_cast<Held**>(std::calloc(n, sizeof(Held*)));
    if (fresh == nullptr) return;
    for (size_t i = 0; i < g_split.nbuckets; ++i) {
        for (Held* h = g_split.buckets[i]; h != nullptr;) {
            Held* next = h->next;
            Held*& head = fresh[bucket_of(h->owner, n)];
            h->next = head;
            head = h;
            h = next;
        }
    }
    std::free(g_split.buckets);
    g_split.buckets = fresh;
    g_split.nbuckets = n;
}

// The buffer held for `owner`, created if absent; nullptr when out of memory.
uint8_t* split_buffer(const void* owner) noexcept {
    std::lock_guard<std::mutex> lock(g_split.mu);
    if (Held** at = find_held(owner)) return (*at)->bytes;
    if (g_split.count >= g_split.nbuckets) grow_buckets();
    if (g_split.nbuckets == 0) return nullptr;
    auto* h = static_cast<Held*>(std::malloc(sizeof(Held)));
    if (h == nullptr) return nullptr;
    h->owner = owner;
    Held*& head = g_split.buckets[bucket_of(owner, g_split.nbuckets)];
    h->next = head;
    head = h;
    ++g_split.count;
    return h->bytes;
}

void release_split_buffer(const void* owner) noexcept {
    std::lock_guard<std::mutex> lock(g_split.mu);
    Held** at = find_held(owner);
    if (at == nullptr) return;
    Held* h = *at;
    *at = h->next;
    std::free(h);
    if (--g_split.count == 0) {  // the burst is over: no table kept for none
        std::free(g_split.buckets);
        g_split.buckets = nullptr;
        g_split.nbuckets = 0;
    }
}

}  // namespace

// In ErrorId order.
const FrameError FrameParser::kErrors[] = {
    {0, ""},                                                    // kNoError
    {kCloseProtocolError, "reserved bits set"},                 // kReservedBits
    {kCloseProtocolError, "reserved opcode"},                   // kReservedOpcode
    {kCloseProtocolError, "frame not masked"},                  // kNotMasked
    {kCloseProtocolError, "fragmented control frame"},          // kFragmentedControl
    {kCloseProtocolError, "control frame too long"},            // kControlTooLong
    {kCloseProtocolError, "continuation without message"},      // kNoMessage
    {kCloseProtocolError, "message not finished"},              // kMessageNotFinished
    {kCloseProtocolError, "invalid length"},                    // kLengthTopBit
    {kCloseProtocolError, "non-minimal length"},                // kNonMinimalLength
    {kCloseMessageTooBig, "message too big"},                   // kTooBig
    {kCloseInvalidPayload, "invalid UTF-8"},                    // kBadUtf8
    {kCloseProtocolError, "invalid close payload"},             // kCloseOneByte
    {kCloseProtocolError, "invalid close code"},                // kBadCloseCode
    {kCloseInvalidPayload, "invalid close reason"},             // kBadCloseReason
    {kCloseInternalError, "out of memory"},                     // kNoMemory
};

FrameParser::~FrameParser() {
    static_assert(std::size(kErrors) == kErrorCount, "kErrors must follow ErrorId");
    if (control_len_ != 0) release_split_buffer(this);
}

ParseStatus FrameParser::fail(uint8_t error) noexcept {
    error_ = error;
    phase_ = kFailed;
    return ParseStatus::kError;
}

// Checks the first two header bytes (head_ and b1); everything decidable from them is
// decided here, before any length or key byte is read.
bool FrameParser::begin_frame(uint8_t b1) noexcept {
    const uint8_t op = head_ & kOpcode;
    len7_ = b1 & kLen;
    uint8_t error = kNoError;
    if ((head_ & kRsv) != 0) {
        error = kReservedBits;
    } else if ((kKnownOpcodes >> op & 1) == 0) {
        error = kReservedOpcode;
    } else if ((b1 & kMask) == 0) {
        error = kNotMasked;  // RFC 6455 5.1: the server MUST close on an unmasked frame
    } else if (is_control(static_cast<Opcode>(op))) {
        // RFC 6455 5.5: control frames are never fragmented and carry <= 125 bytes, so
        // the 7-bit length is the only valid form.
        if ((head_ & kFin) == 0) error = kFragmentedControl;
        else if (len7_ > kMaxControlPayload) error = kControlTooLong;
    } else if (op == static_cast<uint8_t>(Opcode::kContinuation)) {
        if (message_op_ == 0) error = kNoMessage;
    } else if (message_op_ != 0) {
        error = kMessageNotFinished;  // 5.4: fragments of one message are not interleaved
    }
    if (error != kNoError) {
        (void)fail(error);
        return false;
    }
    return true;
}

// Validates the payload length of the frame begun by begin_frame() and sets remaining_.
bool FrameParser::set_length(uint64_t len, uint64_t max_message) noexcept {
    if (max_message > kMaxMessage) max_message = kMaxMessage;
    if (len7_ == kLen64 && (len >> 63) != 0) {
        (void)fail(kLengthTopBit);  // 5.2: "the most significant bit MUST be 0"
        return false;
    }
    // 5.2: "the minimal number of bytes MUST be used to encode the length".
    if ((len7_ == kLen16 && len < kLen16) || (len7_ == kLen64 && len <= 0xFFFF)) {
        (void)fail(kNonMinimalLength);
        return false;
    }
    if (!is_control(static_cast<Opcode>(head_ & kOpcode))) {
        // Decided before any of this frame's payload is delivered. Written so that it
        // cannot overflow, even if max_message shrank between calls.
        if (message_len_ > max_message || len > max_message - message_len_) {
            remaining_ = len > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(len);  // declared_length()
            (void)fail(kTooBig);
            return false;
        }
        message_len_ += static_cast<uint32_t>(len);  // <= max_message <= kMaxMessage
    }
    // Within 32 bits: a data frame's length is at most max_message, a control frame's 125.
    remaining_ = static_cast<uint32_t>(len);
    return true;
}

void FrameParser::begin_payload() noexcept {
    key_pos_ = 0;
    control_len_ = 0;
    const uint8_t op = head_ & kOpcode;
    // A new message: utf8_ is already in its initial state, since a text message only ends
    // on a complete code point and an error ends the parser.
    if (op == static_cast<uint8_t>(Opcode::kText) || op == static_cast<uint8_t>(Opcode::kBinary))
        message_op_ = op;
    phase_ = kPayload;
}

// n bytes of a data frame's payload (n <= remaining_; n == 0 only for the last call).
ParseStatus FrameParser::data_payload(uint8_t* p, size_t n, FrameSink& sink) noexcept {
    unmask(p, n, key_, key_pos_);
    key_pos_ = static_cast<uint8_t>((key_pos_ + n) & 3);
    remaining_ -= static_cast<uint32_t>(n);
    const bool frame_end = remaining_ == 0;
    const bool message_end = frame_end && (head_ & kFin) != 0;
    const Opcode op = static_cast<Opcode>(message_op_);
    // Fail fast (RFC 6455 8.1): the chunk holding the first invalid byte is not delivered.
    // A text message may only end on a complete code point.
    if (op == Opcode::kText && (!utf8_.feed(p, n) || (message_end && !utf8_.complete())))
        return fail(kBadUtf8);
    if (n != 0 || message_end) sink.on_data(op, p, n, message_end);
    if (message_end) {
        message_op_ = 0;
        message_len_ = 0;
    }
    if (frame_end) phase_ = kByte0;
    return ParseStatus::kOk;
}

// n bytes of a control frame's payload (n <= remaining_ <= 125; n == 0 only when empty).
ParseStatus FrameParser::control_payload(uint8_t* p, size_t n, FrameSink& sink) noexcept {
    if (control_len_ == 0 && n == remaining_) {
        // The whole payload is in the caller's buffer: unmask and deliver it there.
        remaining_ = 0;
        unmask(p, n, key_, 0);
        return deliver_control(p, n, sink);
    }
    // Split across reads: collect it in a buffer held for this parser until the payload
    // is complete (n >= 1 here: parse() does not call with no bytes while some remain).
    uint8_t* held = split_buffer(this);
    if (held == nullptr) {
        if (control_len_ != 0) release_split_buffer(this);
        control_len_ = 0;
        return fail(kNoMemory);
    }
    std::memcpy(held + control_len_, p, n);
    control_len_ = static_cast<uint8_t>(control_len_ + n);
    remaining_ -= static_cast<uint32_t>(n);
    if (remaining_ != 0) return ParseStatus::kOk;
    uint8_t whole[kMaxControlPayload];
    const size_t len = control_len_;
    std::memcpy(whole, held, len);
    release_split_buffer(this);
    control_len_ = 0;
    unmask(whole, len, key_, 0);
    return deliver_control(whole, len, sink);
}

ParseStatus FrameParser::deliver_control(const uint8_t* p, size_t n, FrameSink& sink) noexcept {
    switch (static_cast<Opcode>(head_ & kOpcode)) {
    case Opcode::kPing:
        sink.on_ping(p, n);
        break;
    case Opcode::kPong:
        sink.on_pong(p, n);  // unsolicited pongs are allowed (5.5.3); the sink decides
        break;
    default: {  // kClose; begin_frame() admits no other control opcode
        // 5.5.1: an empty body means no status (1005); otherwise a 2-byte code, then a
        // UTF-8 reason. One byte cannot be a code.
        if (n == 1) return fail(kCloseOneByte);
        uint16_t code = kCloseNoStatus;
        std::string_view reason;
        if (n >= 2) {
            code = static_cast<uint16_t>((p[0] << 8) | p[1]);
            if (!close_code_valid(code)) return fail(kBadCloseCode);
            reason = {reinterpret_cast<const char*>(p + 2), n - 2};
            if (!codec::utf8_valid(reason)) return fail(kBadCloseReason);
        }
        phase_ = kClosed;
        sink.on_close(code, reason);
        return ParseStatus::kClosed;
    }
    }
    phase_ = kByte0;
    return ParseStatus::kOk;
}

ParseStatus FrameParser::parse(uint8_t* data, size_t len, uint64_t max_message,
                               FrameSink& sink) noexcept {
    uint8_t* p = data;
    uint8_t* const end = data + len;
    for (;;) {
        switch (phase_) {
        case kByte0: {
            if (p == end) return ParseStatus::kOk;
            const size_t avail = static_cast<size_t>(end - p);
            if (avail >= 2) {
                const uint8_t ext = ext_length_size(p[1] & kLen);
                const size_t header = 2u + ext + 4u;
                if (avail >= header) {
                    // Fast path: the whole header is in this buffer.
                    head_ = p[0];
                    if (!begin_frame(p[1])) return ParseStatus::kError;
                    uint64_t length = len7_;
                    if (ext != 0) {
                        length = 0;
                        for (uint8_t i = 0; i < ext; ++i) length = (length << 8) | p[2 + i];
                    }
                    if (!set_length(length, max_message)) return ParseStatus::kError;
                    std::memcpy(key_, p + 2 + ext, 4);
                    p += header;
                    begin_payload();
                    break;
                }
            }
            head_ = *p++;
            phase_ = kByte1;
            break;
        }
        case kByte1:
            if (p == end) return ParseStatus::kOk;
            if (!begin_frame(*p++)) return ParseStatus::kError;
            need_ = ext_length_size(len7_);
            remaining_ = need_ != 0 ? 0 : len7_;
            phase_ = kLength;
            break;
        case kLength:
            if (need_ != 0) {
                if (p == end) return ParseStatus::kOk;
                const uint8_t b = *p++;
                if (need_ > 4) {
                    // The high half of a 64-bit length: anything but zeros is a length of
                    // at least 4 GiB, over every max_message (kMaxMessage), or has the top
                    // bit set (only the first byte can). Decided at once.
                    if (b != 0) {
                        remaining_ = UINT32_MAX;  // declared_length(): at least 4 GiB - 1
                        return fail(need_ == 8 && (b & 0x80) != 0 ? kLengthTopBit : kTooBig);
                    }
                } else {
                    remaining_ = (remaining_ << 8) | b;
                }
                if (--need_ != 0) break;
            }
            if (!set_length(remaining_, max_message)) return ParseStatus::kError;
            need_ = 4;
            phase_ = kKey;
            break;
        case kKey:
            if (p == end) return ParseStatus::kOk;
            key_[4 - need_] = *p++;
            if (--need_ == 0) begin_payload();
            break;
        case kPayload: {
            // An empty payload is handled as soon as its header is complete.
            if (p == end && remaining_ != 0) return ParseStatus::kOk;
            const size_t n = static_cast<size_t>(
                std::min<uint64_t>(remaining_, static_cast<uint64_t>(end - p)));
            const ParseStatus st = is_control(static_cast<Opcode>(head_ & kOpcode))
                                       ? control_payload(p, n, sink)
                                       : data_payload(p, n, sink);
            if (st != ParseStatus::kOk) return st;
            p += n;
            break;
        }
        case kClosed:
            return ParseStatus::kClosed;
        default:
            return ParseStatus::kError;
        }
    }
}

}  // namespace wspush::ws
