// RESP (the Redis serialization protocol, RESP2 and RESP3): an incremental reply parser and
// a command encoder. Bytes in, values out; no sockets (redis/client does the I/O).
//
// Values are a small tree kept flat: one Node per value in pre-order, each aggregate knowing
// where its subtree ends, and the reply's bytes copied once into the parser as they arrive.
// Strings are views into those bytes. Why not a visitor: a visitor fed in pieces must either
// see a bulk string in pieces too (and every caller reassembles it) or wait for it whole,
// which is this copy anyway; and a reply is handed to a completion that looks at it by
// position (HELLO's map, a pub/sub array's third element), which a tree answers directly.
// Why not a tree of heap nodes: both vectors are reused from reply to reply and grow
// geometrically, so a steady stream of replies allocates nothing once they are warm, and
// nothing is allocated per byte or per value.
//
// Bounds (RespLimits; a violation makes feed() return kError with a fixed text, after which
// the parser stays failed until reset(): the caller closes the connection, whose stream
// position is lost):
//
//   what                             bound                      default
//   a bulk, blob error, verbatim     RespLimits::max_bulk       64 MiB
//   elements of one aggregate        RespLimits::max_elements   1M (a map or attribute
//                                                               counts two per pair)
//   nesting of aggregates            RespLimits::max_depth      16
//   a whole reply's bytes            RespLimits::max_reply      128 MiB (attributes
//                                                               included)
//   a line (simple string, error,    kMaxLine                   64 KiB
//     big number, any header)
//
// Types (RESP3 spec, github.com/redis/redis-specifications): + - : $ * (RESP2) and _ # , (
// ! = % ~ > | (RESP3). The RESP2 nulls ($-1, *-1) are kNull. A blob error (!) is a kError.
// An attribute (|) is parsed and dropped: it never shows in the tree. Streamed strings and
// aggregates ($?, *?) are refused (no Redis server sends them).
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace wspush::redis {

enum class Type : uint8_t {
    kSimple,     // +OK
    kError,      // -ERR ... or !<len> (blob error)
    kInteger,    // :42
    kBulk,       // $<len>
    kArray,      // *<n>
    kNull,       // _ (RESP3), $-1 and *-1 (RESP2)
    kBoolean,    // #t / #f
    kDouble,     // ,3.14 ,inf ,-inf ,nan
    kBigNumber,  // (3492890328409238509324850943850943825024385
    kVerbatim,   // =<len> "txt:..." (str() is the text after "txt:", format() is "txt")
    kMap,        // %<pairs>: keys and values alternate
    kSet,        // ~<n>
    kPush,       // ><n>: out-of-band data (pub/sub messages, invalidations)
};

// Printable name of a type ("array"), for logs and test output.
[[nodiscard]] const char* type_name(Type t) noexcept;

struct Node {
    Type type = Type::kNull;
    uint32_t size = 0;  // aggregates: elements (a map: 2 per pair); strings: bytes
    uint32_t end = 0;   // index one past this value's subtree
    uint32_t off = 0;   // strings (and the text of numbers): offset in the reply's bytes
    int64_t integer = 0;  // kInteger; kBoolean: 0 or 1
    double number = 0;    // kDouble
};

// A view of one value of a parsed reply: valid until the parser is fed again or reset.
class Value {
public:
    Value() noexcept = default;
    Value(const Node* nodes, const char* bytes, uint32_t index) noexcept
        : nodes_(nodes), bytes_(bytes), i_(index) {}

    [[nodiscard]] Type type() const noexcept { return nodes_[i_].type; }
    [[nodiscard]] bool is_null() const noexcept { return type() == Type::kNull; }
    [[nodiscard]] bool is_error() const noexcept { return type() == Type::kError; }
    [[nodiscard]] bool is_aggregate() const noexcept {
        const Type t = type();
        return t == Type::kArray || t == Type::kMap || t == Type::kSet || t == Type::kPush;
    }
    // Strings (simple, error, bulk, verbatim text), and the text of a double or big number.
    // Empty for the other types.
    [[nodiscard]] std::string_view str() const noexcept;
    // A verbatim string's format ("txt", "mkd"); empty for other types.
    [[nodiscard]] std::string_view format() const noexcept;
    [[nodiscard]] int64_t integer() const noexcept { return nodes_[i_].integer; }
    [[nodiscard]] bool boolean() const noexcept { return nodes_[i_].integer != 0; }
    [[nodiscard]] double number() const noexcept { return nodes_[i_].number; }
    // Elements of an aggregate (a map: keys and values, 2 per pair); 0 for other types.
    [[nodiscard]] size_t size() const noexcept { return is_aggregate() ? nodes_[i_].size : 0; }
    // Element k (< size()) of an aggregate. O(k): walks the siblings before it.
    [[nodiscard]] Value at(size_t k) const noexcept;
    // Whether this is a string-like value equal to s, ignoring ASCII case.
    [[nodiscard]] bool is(std::string_view s) const noexcept;

private:
    const Node* nodes_ = nullptr;
    const char* bytes_ = nullptr;
    uint32_t i_ = 0;
};

struct RespLimits {
    uint32_t max_bulk = 64u << 20;
    uint32_t max_elements = 1u << 20;
    uint32_t max_depth = 16;
    uint32_t max_reply = 128u << 20;
};

enum class Parse : uint8_t {
    kNeedMore,  // every byte given was taken; the reply is not complete yet
    kDone,      // a reply is complete: reply() holds it
    kError,     // the stream is not RESP or breaks a bound: error() says which
};

class RespParser {
public:
    static constexpr size_t kMaxLine = 64 * 1024;

    explicit RespParser(const RespLimits& limits = {}) noexcept : limits_(limits) {}

    // Takes bytes of the stream, in any split, never reading past in[n). Stops at the end of
    // the first complete reply: `used` says how many bytes of in were taken (all of them
    // unless kDone). After kDone, reply() and raw() hold that reply until the next feed(),
    // which starts the next one. After kError every call returns kError until reset().
    [[nodiscard]] Parse feed(const char* in, size_t n, size_t& used) noexcept;
    // The complete reply (after kDone).
    [[nodiscard]] Value reply() const noexcept { return Value(nodes_.data(), raw_.data(), 0); }
    // The complete reply's bytes as they came (its attributes included).
    [[nodiscard]] std::string_view raw() const noexcept { return raw_; }
    // After kError: why, a fixed text ("bulk string longer than the limit").
    [[nodiscard]] const char* error() const noexcept { return error_; }
    // Whether bytes of an unfinished reply are held.
    [[nodiscard]] bool mid_reply() const noexcept { return !done_ && !raw_.empty(); }
    // Forgets everything (a new connection); the limits stay. Keeps the memory.
    void reset() noexcept;
    // Gives back memory above `keep` bytes held by buffers (after a large reply).
    void trim(size_t keep) noexcept;

private:
    enum class Phase : uint8_t { kType, kLine, kBlob };
    static constexpr uint32_t kAttribute = UINT32_MAX;  // Frame::node of an attribute

    struct Frame {
        uint32_t node;       // the aggregate's node, or kAttribute
        uint32_t remaining;  // elements still to come
        uint32_t mark;       // attribute: nodes_.size() when it began (dropped back to it)
    };

    [[nodiscard]] Parse fail(const char* why) noexcept;
    // Sets error_; returns false.
    bool refuse(const char* why) noexcept;
    // A null value is complete; returns true.
    bool null_value() noexcept;
    // The length or count of a header line: >= 0, or -1 (a RESP2 null) where null_ok. False
    // (error_ set) when malformed or streamed ("?").
    [[nodiscard]] bool header_count(std::string_view line, bool null_ok, bool aggregate, int64_t& v) noexcept;
    [[nodiscard]] bool append(const char* p, size_t n) noexcept;
    // A line is complete: [line_start_, raw_.size() - 2). False on a violation.
    [[nodiscard]] bool on_line() noexcept;
    [[nodiscard]] bool on_blob() noexcept;
    [[nodiscard]] bool open_aggregate(Type t, int64_t count, bool attribute) noexcept;
    uint32_t add_node(Type t) noexcept;
    // A value is complete: counts it in the aggregates that hold it; sets done_ at the end.
    void value_done() noexcept;

    RespLimits limits_;
    std::string raw_;
    std::vector<Node> nodes_;
    std::vector<Frame> stack_;
    Phase phase_ = Phase::kType;
    char type_ = 0;            // the current line's type byte
    uint32_t line_start_ = 0;  // offset in raw_ of the current line (after the type byte)
    uint64_t blob_need_ = 0;   // bytes of the blob and its CRLF still to come
    uint32_t blob_node_ = 0;
    bool done_ = false;
    const char* error_ = nullptr;
};

// Encodes a command as RESP clients send it, an array of bulk strings
// ("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"), into out[0, cap). Returns the encoded size; writes
// nothing unless it is <= cap (call with cap 0 to size a buffer).
size_t encode_command(std::span<const std::string_view> args, char* out, size_t cap) noexcept;

}  // namespace wspush::redis
