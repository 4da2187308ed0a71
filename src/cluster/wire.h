// The messages between the --workers parent and its workers, over one SOCK_STREAM
// socketpair per worker. A stream, not SOCK_SEQPACKET: a seqpacket message must fit the
// socket's send buffer whole (EMSGSIZE past net.core.wmem_max, about 208 KB by default),
// while a publication may be as large as --max-message (up to 1 GiB); over a stream a large
// one is written in pieces like any client's, and this decoder takes any split.
//
// Both ends are the same binary (the workers are forked, not executed), so frames carry no
// version. Every frame: a 4-byte little-endian body length, then the body: a kind byte and
// its fields. Integers are little-endian; a channel name is a length byte and 1..64 bytes; a
// payload is the rest of the body.
//
// | kind            | from   | fields after the kind byte                                 |
// | --------------- | ------ | ---------------------------------------------------------- |
// | 1 kPublish      | worker | request u64, type u8, name, payload                        |
// | 2 kPublished    | parent | epoch u64, seq u64, request u64, origin u32, type u8, name, |
// |                 |        | payload (origin: the publishing worker, kNoOrigin for none) |
// | 3 kIdle         | worker | epoch u64, seq u64, name: the channel is gone locally, the  |
// |                 |        | last publication the worker applied to it was (epoch, seq)  |
// | 4 kStatsQuery   | parent | request u64                                                |
// | 5 kStats        | worker | request u64, count u8 (0..kMaxCounters), count x u64        |
// |                 |        | (a worker's counters, by position; the parent sums them)    |
// | 6 kRefused      | parent | request u64: the kPublish was not numbered (--max-channels  |
// |                 |        | channels known), nothing was sent to any worker             |
// | 7 kStatsAsk     | worker | request u64: a control client asked STATS                   |
// | 8 kStatsReply   | parent | request u64, payload: the STATS JSON of every worker, summed |
// | 9 kHistoryAsk   | parent | request u64: send your kept publications (kKept ... kKeptEnd) |
// | 10 kKept        | both   | as kPublished (request: the kHistoryAsk's, origin kNoOrigin): |
// |                 |        | a publication kept for resume, from a worker that has it to   |
// |                 |        | the parent, and on to a worker starting without it            |
// | 11 kKeptEnd     | worker | request u64: that was all of the kHistoryAsk's               |
// | 12 kReady       | parent | request u64 (0): history is in; take clients from now on      |
// | 13 kAskAll      | worker | request u64, payload: an operation for every other worker    |
// |                 |        | (a control command, a direct message: workers.cpp)           |
// | 14 kRun         | parent | request u64 (the parent's round), payload: that operation     |
// | 15 kRan         | worker | request u64 (the round), payload: its result there            |
// | 16 kAllRan      | parent | request u64 (the kAskAll's), payload: every result, packed    |
// |                 |        | (a kAskAll of request 0 wants none: kRun of request 0, no     |
// |                 |        | kRan, no kAllRan)                                             |
// | 17 kTailWanted  | worker | request u64: 1 while it has TAIL readers, 0 when no more      |
// | 18 kTailOthers  | parent | request u64: 1 while another worker has TAIL readers, else 0  |
// | 19 kTailLine    | both   | request u64: the opcode (1 text, 2 binary), payload: client   |
// |                 |        | id length u8, id, data: a client's message for TAIL readers   |
//
// Limits (a frame breaking one is an error, never skipped: the peer is our own process, so
// garbage means a bug or a torn stream, and the connection is to be dropped):
//
// | limit           | value                     | why                                     |
// | --------------- | ------------------------- | --------------------------------------- |
// | channel name    | 1..64 bytes               | push/names.h kMaxNameLength             |
// | payload         | WireLimits::max_payload   | the server's --max-message (default 1G) |
// | counters        | kMaxCounters = 32         | room for the STATS totals               |
// | body length     | fields + name + payload   | checked against the kind's layout       |
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace wspush::cluster {

inline constexpr size_t kLengthSize = 4;
inline constexpr size_t kMaxName = 64;
inline constexpr size_t kMaxCounters = 32;
inline constexpr uint32_t kNoOrigin = UINT32_MAX;
inline constexpr uint32_t kMaxPayloadLimit = 1u << 30;

enum class Kind : uint8_t {
    kPublish = 1,
    kPublished = 2,
    kIdle = 3,
    kStatsQuery = 4,
    kStats = 5,
    kRefused = 6,
    kStatsAsk = 7,
    kStatsReply = 8,
    kHistoryAsk = 9,
    kKept = 10,
    kKeptEnd = 11,
    kReady = 12,
    kAskAll = 13,
    kRun = 14,
    kRan = 15,
    kAllRan = 16,
    kTailWanted = 17,
    kTailOthers = 18,
    kTailLine = 19,
};

// The payload's WebSocket opcode class, as push::Message keeps it.
enum class PayloadType : uint8_t { kText = 1, kBinary = 2 };

// One decoded frame. Only the fields of its kind are set; the views point into the
// decoder's buffer or the caller's bytes (WireDecoder::feed says how long they live).
struct Frame {
    Kind kind = Kind::kPublish;
    uint64_t request = 0;  // every kind but kIdle
    uint64_t epoch = 0;    // kPublished, kKept, kIdle
    uint64_t seq = 0;      // kPublished, kKept, kIdle
    uint32_t origin = kNoOrigin;  // kPublished, kKept
    PayloadType type = PayloadType::kText;  // kPublish, kPublished, kKept
    std::string_view channel;  // kPublish, kPublished, kKept, kIdle
    std::string_view payload;  // kPublish, kPublished, kKept, kStatsReply, kAskAll ... kAllRan
    uint8_t counter_count = 0;  // kStats
    uint64_t counters[kMaxCounters] = {};  // kStats: the first counter_count are set
};

struct WireLimits {
    uint32_t max_payload = kMaxPayloadLimit;  // 0..kMaxPayloadLimit
};

// Appends f (of any kind; only its kind's fields are read) to out. Returns false, appending
// nothing, when a field is out of range: a channel name not 1..kMaxName bytes, a payload over
// kMaxPayloadLimit, a type other than text/binary, more than kMaxCounters counters.
[[nodiscard]] bool encode(const Frame& f, std::string& out);

// The frames of one stream, incrementally: any split of the bytes gives the same frames.
//
//   state      entered by                   left by
//   kReading   construction, a kDone frame  a whole frame -> kDone; a bad one -> kFailed
//   kFailed    a frame breaking the limits  never: the stream is to be closed
class WireDecoder {
public:
    enum class Result : uint8_t {
        kNeedMore,  // every byte given was taken; no whole frame yet
        kDone,      // frame() holds one frame; `used` bytes were taken (maybe fewer than given)
        kError,     // error() says why; sticky
    };

    // limits.max_payload is taken as at most kMaxPayloadLimit.
    explicit WireDecoder(const WireLimits& limits = {}) noexcept;

    // Takes bytes from [p, p + n) up to the end of the next frame. On kDone, frame()'s views
    // point into [p, p + n) when the whole frame was in it (no copy), else into this
    // decoder: either way they stay valid until the next feed() and while p's bytes do.
    [[nodiscard]] Result feed(const char* p, size_t n, size_t& used);

    [[nodiscard]] const Frame& frame() const noexcept { return frame_; }
    // Why the stream failed (a fixed text); nullptr before that.
    [[nodiscard]] const char* error() const noexcept { return error_; }
    // Whether part of a frame is held (a stream ending now would be cut).
    [[nodiscard]] bool mid_frame() const noexcept { return !held_.empty() && !done_held_; }

private:
    // Body length from a frame's first kLengthSize bytes; nullptr or the error text.
    [[nodiscard]] const char* check_length(const char* p, uint32_t& body) const noexcept;
    [[nodiscard]] Result parse(const char* body, size_t n) noexcept;
    [[nodiscard]] Result fail(const char* why) noexcept;

    WireLimits limits_;
    Frame frame_;
    std::string held_;  // a frame split across feeds: its bytes so far (length included)
    uint32_t want_ = 0;  // held_'s full frame size once its length is known, else 0
    bool done_held_ = false;  // held_ is a frame returned by the last feed(): drop it next
    const char* error_ = nullptr;
};

}  // namespace wspush::cluster
