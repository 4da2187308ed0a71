// Request-body decoding, nginx style (ngx_http_parse_chunked): one switch over the state per
// byte, with the state and the numbers read so far kept in the decoder between calls. Payload
// runs are moved with one memmove each, not byte by byte.
//
// Strictness (RFC 9112 section 7.1): chunk-size is 1*HEXDIG; whitespace may follow it only
// before a ';' (BWS of chunk-ext); extensions are skipped but may not hold control bytes;
// every line of the framing ends in CRLF, a bare CR or LF is an error (a lenient reading of
// line ends is what request-smuggling attacks on chunked bodies rely on); trailer fields are
// skipped, bounded by kMaxTrailers.
#include "http/body.h"

#include <charconv>
#include <cstring>
#include <string_view>

#include "codec/hex.h"

namespace wspush::http {

namespace {

using codec::hex_value;

enum State : uint8_t {
    kLength,        // Content-Length payload
    kSizeFirst,     // first hex digit of a chunk-size
    kSize,          // further hex digits
    kSizeBws,       // SP / HTAB after the size: only more of it or ';' may follow
    kExt,           // chunk extensions, skipped up to CR
    kSizeLf,        // LF ending the chunk-size line
    kData,          // chunk payload
    kDataCr,        // CR after the payload
    kDataLf,        // LF after the payload
    kTrailerStart,  // first byte of a trailer field line, or CR of the final CRLF
    kTrailer,       // rest of a trailer field line
    kTrailerLf,     // LF ending a trailer field line
    kFinalLf,       // LF of the final CRLF
    kDone,
    kError,
};

enum ErrorIndex : uint8_t {
    kErrNone,
    kErrTooLarge,
    kErrBadSize,
    kErrSizeOverflow,
    kErrBadExt,
    kErrBadLineEnd,
    kErrLineTooLong,
    kErrDataEnd,
    kErrBadTrailer,
    kErrTrailersTooLarge,
    kErrBothLengths,
    kErrBadLength,
    kErrManyLengths,
    kErrNotChunked,
    kErrUnknownCoding,
    kErrChunkedTwice,
    kErrCodingInHttp10,
};

constexpr BodyError kErrors[] = {
    /* kErrNone             */ {0, ""},
    /* kErrTooLarge         */ {413, "request body too large"},
    /* kErrBadSize          */ {400, "invalid chunk size"},
    /* kErrSizeOverflow     */ {400, "chunk size too large"},
    /* kErrBadExt           */ {400, "invalid chunk extension"},
    /* kErrBadLineEnd       */ {400, "chunked body line not ended by CRLF"},
    /* kErrLineTooLong      */ {400, "chunk size line too long"},
    /* kErrDataEnd          */ {400, "chunk data not followed by CRLF"},
    /* kErrBadTrailer       */ {400, "invalid trailer field"},
    /* kErrTrailersTooLarge */ {400, "trailer section too large"},
    /* kErrBothLengths      */ {400, "both Transfer-Encoding and Content-Length"},
    /* kErrBadLength        */ {400, "invalid Content-Length"},
    /* kErrManyLengths      */ {400, "more than one Content-Length"},
    /* kErrNotChunked       */ {400, "Transfer-Encoding does not end in chunked"},
    /* kErrUnknownCoding    */ {501, "transfer coding not implemented"},
    /* kErrChunkedTwice     */ {400, "chunked applied more than once"},
    /* kErrCodingInHttp10   */ {400, "Transfer-Encoding in an HTTP/1.0 request"},
};

// Control bytes other than HTAB (RFC 9110 section 5.5: field values and, here, extensions).
constexpr bool is_ctl(char c) noexcept { return (static_cast<uint8_t>(c) < 0x20 && c != '\t') || c == 0x7F; }

// Content-Length = 1*DIGIT (RFC 9110 section 8.6); no sign, no list, no overflow.
bool parse_length(std::string_view s, uint64_t* out) noexcept {
    if (s.empty()) return false;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
    return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

const BodyError& BodyDecoder::error() const noexcept { return kErrors[error_]; }

bool BodyDecoder::refuse(uint8_t error) noexcept {
    state_ = kError;
    error_ = error;
    return false;
}

BodyResult BodyDecoder::fail(uint8_t error, size_t at, size_t produced) noexcept {
    state_ = kError;
    error_ = error;
    return {BodyStatus::kError, at, produced};
}

void BodyDecoder::start_length(uint64_t length, uint64_t limit) noexcept {
    *this = BodyDecoder();
    limit_ = limit;
    remaining_ = length;
    state_ = length == 0 ? kDone : kLength;
    if (length > limit) (void)refuse(kErrTooLarge);
}

void BodyDecoder::start_chunked(uint64_t limit) noexcept {
    *this = BodyDecoder();
    limit_ = limit;
    state_ = kSizeFirst;
}

// RFC 9112 section 6.3, items 3 to 7, for requests.
bool BodyDecoder::start(const Request& req, uint64_t limit) noexcept {
    *this = BodyDecoder();
    const size_t lengths = req.count_header("Content-Length");
    if (req.has_header("Transfer-Encoding")) {
        // Item 3: a sender may not send both; a server may reject them, and must not reuse
        // the connection if it does not: one of the two framings is a smuggled request.
        if (lengths > 0) return refuse(kErrBothLengths);
        // Section 6.1: HTTP/1.0 had no Transfer-Encoding; the framing is faulty.
        if (req.minor_version == 0) return refuse(kErrCodingInHttp10);
        size_t codings = 0, chunked = 0;
        std::string_view last;
        for (size_t i = 0; i < req.num_headers; ++i) {
            if (!iequals(req.headers[i].name, "Transfer-Encoding")) continue;
            std::string_view rest = req.headers[i].value;
            for (std::string_view c = next_list_element(rest); !c.empty(); c = next_list_element(rest)) {
                ++codings;
                if (iequals(c, "chunked")) ++chunked;
                last = c;
            }
        }
        // Item 4: chunked must come last, or the length cannot be known (400), and only once
        // (section 7.1). Codings before it (gzip, chunked) are ones we do not decode (section
        // 6.1: 501).
        if (!iequals(last, "chunked")) return refuse(kErrNotChunked);
        if (chunked > 1) return refuse(kErrChunkedTwice);
        if (codings > 1) return refuse(kErrUnknownCoding);
        start_chunked(limit);
        return true;
    }
    // Item 5: several or invalid Content-Length values are unrecoverable.
    if (lengths > 1) return refuse(kErrManyLengths);
    uint64_t length = 0;
    if (lengths == 1 && !parse_length(req.header("Content-Length"), &length)) return refuse(kErrBadLength);
    // Item 7: a request with neither has no body.
    start_length(length, limit);
    return state_ != kError;
}

BodyResult BodyDecoder::decode(const char* in, size_t len, char* out) noexcept {
    switch (state_) {
        case kDone:
            return {BodyStatus::kDone, 0, 0};
        case kError:
            return {BodyStatus::kError, 0, 0};
        case kLength: {
            const size_t n = remaining_ < len ? static_cast<size_t>(remaining_) : len;
            if (n > 0) std::memmove(out, in, n);
            remaining_ -= n;
            total_ += n;
            if (remaining_ > 0) return {BodyStatus::kNeedMore, n, n};
            state_ = kDone;
            return {BodyStatus::kDone, n, n};
        }
        default:
            return decode_chunked(in, len, out);
    }
}

BodyResult BodyDecoder::decode_chunked(const char* in, size_t len, char* out) noexcept {
    size_t produced = 0;
    for (size_t i = 0; i < len; ++i) {
        const char c = in[i];
        switch (state_) {
            case kSizeFirst:
            case kSize: {
                if (++line_ > kMaxChunkLine) return fail(kErrLineTooLong, i, produced);
                const int d = hex_value(c);
                if (d >= 0) {
                    if (remaining_ > (UINT64_MAX >> 4)) return fail(kErrSizeOverflow, i, produced);
                    remaining_ = remaining_ << 4 | static_cast<uint64_t>(d);
                    // Decided on the digit that crosses the limit, before any of the chunk.
                    if (remaining_ > limit_ - total_) return fail(kErrTooLarge, i, produced);
                    state_ = kSize;
                } else if (state_ == kSizeFirst) {
                    return fail(kErrBadSize, i, produced);
                } else if (c == ';') {
                    state_ = kExt;
                } else if (c == ' ' || c == '\t') {
                    state_ = kSizeBws;
                } else if (c == '\r') {
                    state_ = kSizeLf;
                } else {
                    return fail(c == '\n' ? kErrBadLineEnd : kErrBadSize, i, produced);
                }
                break;
            }
            case kSizeBws:
                if (++line_ > kMaxChunkLine) return fail(kErrLineTooLong, i, produced);
                if (c == ';') {
                    state_ = kExt;
                } else if (c != ' ' && c != '\t') {
                    return fail(kErrBadSize, i, produced);
                }
                break;
            case kExt:
                if (++line_ > kMaxChunkLine) return fail(kErrLineTooLong, i, produced);
                if (c == '\r') {
                    state_ = kSizeLf;
                } else if (c == '\n') {
                    return fail(kErrBadLineEnd, i, produced);
                } else if (is_ctl(c)) {
                    return fail(kErrBadExt, i, produced);
                }
                break;
            case kSizeLf:
                if (c != '\n') return fail(kErrBadLineEnd, i, produced);
                line_ = 0;
                state_ = remaining_ == 0 ? kTrailerStart : kData;  // size 0: the last chunk
                break;
            case kData: {
                const size_t n = remaining_ < len - i ? static_cast<size_t>(remaining_) : len - i;
                std::memmove(out + produced, in + i, n);
                produced += n;
                total_ += n;
                remaining_ -= n;
                i += n - 1;
                if (remaining_ == 0) state_ = kDataCr;
                break;
            }
            case kDataCr:
                if (c != '\r') return fail(kErrDataEnd, i, produced);
                state_ = kDataLf;
                break;
            case kDataLf:
                if (c != '\n') return fail(kErrDataEnd, i, produced);
                state_ = kSizeFirst;
                break;
            case kTrailerStart:
            case kTrailer:
            case kTrailerLf:
                if (++line_ > kMaxTrailers) return fail(kErrTrailersTooLarge, i, produced);
                if (state_ == kTrailerLf) {
                    if (c != '\n') return fail(kErrBadLineEnd, i, produced);
                    state_ = kTrailerStart;
                } else if (c == '\r') {
                    state_ = state_ == kTrailerStart ? kFinalLf : kTrailerLf;
                } else if (is_ctl(c)) {
                    return fail(c == '\n' ? kErrBadLineEnd : kErrBadTrailer, i, produced);
                } else {
                    state_ = kTrailer;
                }
                break;
            case kFinalLf:
                if (c != '\n') return fail(kErrBadLineEnd, i, produced);
                state_ = kDone;
                return {BodyStatus::kDone, i + 1, produced};
            default:
                break;
        }
    }
    return {BodyStatus::kNeedMore, len, produced};
}

}  // namespace wspush::http
