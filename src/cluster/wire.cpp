#include "cluster/wire.h"

#include <algorithm>

namespace wspush::cluster {
namespace {

// Fixed fields after the kind byte, before the name (kPublish, kPublished, kIdle) or the
// counters (kStats).
constexpr size_t kPublishFixed = 8 + 1;
constexpr size_t kPublishedFixed = 8 + 8 + 8 + 4 + 1;
constexpr size_t kIdleFixed = 8 + 8;
constexpr size_t kQueryFixed = 8;
constexpr size_t kStatsFixed = 8 + 1;
// The largest body any kind can have: kPublished with the longest name and payload.
constexpr uint64_t kMaxBody = 1 + kPublishedFixed + 1 + kMaxName + uint64_t{kMaxPayloadLimit};
static_assert(kMaxBody <= UINT32_MAX);
// A split frame's buffer up to this size is kept for the next one.
constexpr size_t kKeepCapacity = 64 * 1024;

void put(std::string& out, uint64_t v, size_t bytes) {
    char b[8];
    for (size_t i = 0; i < bytes; ++i) b[i] = static_cast<char>(v >> (8 * i));
    out.append(b, bytes);
}

uint64_t get(const char* p, size_t bytes) noexcept {
    uint64_t v = 0;
    for (size_t i = bytes; i-- > 0;) v = v << 8 | static_cast<uint8_t>(p[i]);
    return v;
}

// The kinds by the fields they carry (wire.h's table): every switch on a frame's fields
// goes by this, so a new kind is added here once.
enum class Layout : uint8_t {
    kPublish,    // request, type, name, payload
    kPublished,  // epoch, seq, request, origin, type, name, payload
    kIdle,       // epoch, seq, name
    kRequest,    // request
    kAnswer,     // request, a payload of any bytes
    kStats,      // request, counters
    kUnknown,
};

Layout layout_of(Kind k) noexcept {
    switch (k) {
        case Kind::kPublish: return Layout::kPublish;
        case Kind::kPublished:
        case Kind::kKept: return Layout::kPublished;
        case Kind::kIdle: return Layout::kIdle;
        case Kind::kStatsQuery:
        case Kind::kRefused:
        case Kind::kStatsAsk:
        case Kind::kHistoryAsk:
        case Kind::kKeptEnd:
        case Kind::kReady:
        case Kind::kTailWanted:
        case Kind::kTailOthers: return Layout::kRequest;
        case Kind::kStatsReply:
        case Kind::kAskAll:
        case Kind::kRun:
        case Kind::kRan:
        case Kind::kAllRan:
        case Kind::kTailLine: return Layout::kAnswer;
        case Kind::kStats: return Layout::kStats;
    }
    return Layout::kUnknown;
}

bool type_valid(PayloadType t) noexcept { return t == PayloadType::kText || t == PayloadType::kBinary; }

// Reads a name (length byte, bytes) at body[pos]; false when it does not fit or is empty
// or too long.
bool take_name(const char* body, size_t n, size_t& pos, std::string_view& name) noexcept {
    if (pos >= n) return false;
    const size_t len = static_cast<uint8_t>(body[pos++]);
    if (len == 0 || len > kMaxName || len > n - pos) return false;
    name = std::string_view(body + pos, len);
    pos += len;
    return true;
}

}  // namespace

bool encode(const Frame& f, std::string& out) {
    const Layout layout = layout_of(f.kind);
    const bool named = layout == Layout::kPublish || layout == Layout::kPublished || layout == Layout::kIdle;
    if (named && (f.channel.empty() || f.channel.size() > kMaxName)) return false;
    const bool carries = layout == Layout::kPublish || layout == Layout::kPublished;
    if (carries && (f.payload.size() > kMaxPayloadLimit || !type_valid(f.type))) return false;
    if (layout == Layout::kAnswer && f.payload.size() > kMaxPayloadLimit) return false;
    size_t body = 1;
    switch (layout) {
        case Layout::kPublish: body += kPublishFixed + 1 + f.channel.size() + f.payload.size(); break;
        case Layout::kPublished: body += kPublishedFixed + 1 + f.channel.size() + f.payload.size(); break;
        case Layout::kIdle: body += kIdleFixed + 1 + f.channel.size(); break;
        case Layout::kRequest: body += kQueryFixed; break;
        case Layout::kAnswer: body += kQueryFixed + f.payload.size(); break;
        case Layout::kStats:
            if (f.counter_count > kMaxCounters) return false;
            body += kStatsFixed + 8 * size_t{f.counter_count};
            break;
        case Layout::kUnknown: return false;
    }
    out.reserve(out.size() + kLengthSize + body);
    put(out, body, kLengthSize);
    put(out, static_cast<uint8_t>(f.kind), 1);
    switch (layout) {
        case Layout::kPublish:
            put(out, f.request, 8);
            put(out, static_cast<uint8_t>(f.type), 1);
            break;
        case Layout::kPublished:
            put(out, f.epoch, 8);
            put(out, f.seq, 8);
            put(out, f.request, 8);
            put(out, f.origin, 4);
            put(out, static_cast<uint8_t>(f.type), 1);
            break;
        case Layout::kIdle:
            put(out, f.epoch, 8);
            put(out, f.seq, 8);
            break;
        case Layout::kRequest: put(out, f.request, 8); break;
        case Layout::kAnswer:
            put(out, f.request, 8);
            out.append(f.payload);
            break;
        case Layout::kStats:
            put(out, f.request, 8);
            put(out, f.counter_count, 1);
            for (size_t i = 0; i < f.counter_count; ++i) put(out, f.counters[i], 8);
            break;
        case Layout::kUnknown: return false;
    }
    if (named) {
        put(out, f.channel.size(), 1);
        out.append(f.channel);
    }
    if (carries) out.append(f.payload);
    return true;
}

const char* WireDecoder::check_length(const char* p, uint32_t& body) const noexcept {
    body = static_cast<uint32_t>(get(p, kLengthSize));
    if (body == 0) return "empty frame";
    // The largest body this decoder's payload limit allows; each kind checks its own layout.
    if (body > kMaxBody - (kMaxPayloadLimit - limits_.max_payload)) return "frame too long";
    return nullptr;
}

WireDecoder::Result WireDecoder::fail(const char* why) noexcept {
    error_ = why;
    held_.clear();
    held_.shrink_to_fit();
    want_ = 0;
    return Result::kError;
}

WireDecoder::WireDecoder(const WireLimits& limits) noexcept : limits_(limits) {
    if (limits_.max_payload > kMaxPayloadLimit) limits_.max_payload = kMaxPayloadLimit;
}

WireDecoder::Result WireDecoder::feed(const char* p, size_t n, size_t& used) {
    used = 0;
    if (error_) return Result::kError;
    if (done_held_) {
        done_held_ = false;
        // A large frame's buffer is given back rather than kept for the next one.
        if (held_.capacity() > kKeepCapacity) std::string().swap(held_);
        held_.clear();
    }
    if (held_.empty() && n >= kLengthSize) {
        // The common case: the whole frame in the caller's bytes, decoded in place.
        uint32_t body = 0;
        if (const char* why = check_length(p, body)) return fail(why);
        if (n - kLengthSize >= body) {
            used = kLengthSize + body;
            return parse(p + kLengthSize, body);
        }
    }
    // Gather the length first, then exactly the rest of the frame.
    if (want_ == 0) {
        const size_t take = std::min(n, kLengthSize - held_.size());
        held_.append(p, take);
        used = take;
        if (held_.size() < kLengthSize) return Result::kNeedMore;
        uint32_t body = 0;
        if (const char* why = check_length(held_.data(), body)) return fail(why);
        want_ = static_cast<uint32_t>(kLengthSize + body);
        // Grown as the bytes come, not to the claimed size at once.
        held_.reserve(std::min<size_t>(want_, kKeepCapacity));
    }
    const size_t take = std::min(n - used, want_ - held_.size());
    held_.append(p + used, take);
    used += take;
    if (held_.size() < want_) return Result::kNeedMore;
    // frame_'s views point into held_, which keeps its bytes until the next feed().
    const Result r = parse(held_.data() + kLengthSize, want_ - kLengthSize);
    want_ = 0;
    // Dropped on the next call: frame_'s views must stay valid until then.
    done_held_ = r == Result::kDone;
    return r;
}

WireDecoder::Result WireDecoder::parse(const char* body, size_t n) noexcept {
    Frame f;
    f.kind = static_cast<Kind>(static_cast<uint8_t>(body[0]));
    size_t pos = 1;
    auto fixed = [&](size_t need) { return n - pos >= need; };
    switch (layout_of(f.kind)) {
        case Layout::kPublish:
            if (!fixed(kPublishFixed)) return fail("short publish");
            f.request = get(body + pos, 8);
            f.type = static_cast<PayloadType>(static_cast<uint8_t>(body[pos + 8]));
            pos += kPublishFixed;
            break;
        case Layout::kPublished:
            if (!fixed(kPublishedFixed)) return fail("short published");
            f.epoch = get(body + pos, 8);
            f.seq = get(body + pos + 8, 8);
            f.request = get(body + pos + 16, 8);
            f.origin = static_cast<uint32_t>(get(body + pos + 24, 4));
            f.type = static_cast<PayloadType>(static_cast<uint8_t>(body[pos + 28]));
            pos += kPublishedFixed;
            break;
        case Layout::kIdle:
            if (!fixed(kIdleFixed)) return fail("short idle");
            f.epoch = get(body + pos, 8);
            f.seq = get(body + pos + 8, 8);
            pos += kIdleFixed;
            break;
        case Layout::kRequest:
            if (n - pos != kQueryFixed) return fail("bad request length");
            f.request = get(body + pos, 8);
            frame_ = f;
            return Result::kDone;
        case Layout::kAnswer:
            if (!fixed(kQueryFixed)) return fail("short stats reply");
            f.request = get(body + pos, 8);
            pos += kQueryFixed;
            if (n - pos > limits_.max_payload) return fail("payload too large");
            f.payload = std::string_view(body + pos, n - pos);
            frame_ = f;
            return Result::kDone;
        case Layout::kStats: {
            if (!fixed(kStatsFixed)) return fail("short stats");
            f.request = get(body + pos, 8);
            f.counter_count = static_cast<uint8_t>(body[pos + 8]);
            pos += kStatsFixed;
            if (f.counter_count > kMaxCounters) return fail("too many counters");
            if (n - pos != 8 * size_t{f.counter_count}) return fail("bad stats length");
            for (size_t i = 0; i < f.counter_count; ++i) f.counters[i] = get(body + pos + 8 * i, 8);
            frame_ = f;
            return Result::kDone;
        }
        case Layout::kUnknown: return fail("unknown kind");
    }
    if (f.kind != Kind::kIdle && !type_valid(f.type)) return fail("bad payload type");
    if (!take_name(body, n, pos, f.channel)) return fail("bad channel name");
    if (f.kind == Kind::kIdle) {
        if (pos != n) return fail("trailing bytes");
    } else {
        if (n - pos > limits_.max_payload) return fail("payload too large");
        f.payload = std::string_view(body + pos, n - pos);
    }
    frame_ = f;
    return Result::kDone;
}

}  // namespace wspush::cluster
