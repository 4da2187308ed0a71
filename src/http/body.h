// Incremental request-body decoder (RFC 9112 section 6 framing, section 7.1 chunked coding):
// a byte-level state machine that keeps its place across reads, so a body split anywhere
// decodes the same. Socket-free: bytes in, payload bytes and a status out.
#pragma once
#include <cstddef>
#include <cstdint>

#include "http/request_parser.h"

namespace wspush::http {

constexpr size_t kMaxChunkLine = 4096;  // chunk-size line with extensions; longer is 400
constexpr size_t kMaxTrailers = 8192;   // whole trailer section; larger is 400

enum class BodyStatus : uint8_t {
    kDone,      // the body is complete; bytes after `consumed` belong to the next request
    kNeedMore,  // every byte was used; call again when more arrive
    kError,     // error() says why; the connection cannot be reused
};

struct BodyResult {
    BodyStatus status = BodyStatus::kNeedMore;
    size_t consumed = 0;  // input bytes used (all of them on kNeedMore); kError: the offset
                          // of the offending byte in this call's input
    size_t produced = 0;  // payload bytes written to `out` by this call
};

struct BodyError {
    uint16_t http_status;  // 400, 413 (over the limit) or 501 (a transfer coding we lack)
    const char* reason;    // short static text for the response
};

class BodyDecoder {
public:
    // Chooses the framing from a parsed request head (RFC 9112 section 6.3) and starts it:
    // chunked when Transfer-Encoding is exactly "chunked"; else Content-Length; else no body.
    // Refuses what could be read two ways (request smuggling): both headers, several or
    // malformed Content-Length values (400), a Transfer-Encoding in HTTP/1.0 or not ending
    // in chunked (400), or one we do not decode, like gzip (501). A Content-Length over
    // `limit` is a 413 here, before any body byte is read (the answer to Expect:
    // 100-continue). Returns false with error() set.
    [[nodiscard]] bool start(const Request& req, uint64_t limit) noexcept;
    // A body of exactly `length` bytes (413 at the first decode() if over `limit`).
    void start_length(uint64_t length, uint64_t limit) noexcept;
    // A chunked body whose payload may total `limit` bytes; one more is a 413, found as soon
    // as a chunk-size says so.
    void start_chunked(uint64_t limit) noexcept;

    // Decodes in[0..len), writing payload bytes to out, which must hold len bytes (payload is
    // never longer than its framing) and may be `in` itself: decoding in place compacts the
    // payload to the front. len may be 0 (a body of length 0 is kDone at once). After kDone
    // or kError, further calls consume nothing and repeat the status.
    [[nodiscard]] BodyResult decode(const char* in, size_t len, char* out) noexcept;

    // Valid after start() returned false or decode() returned kError.
    [[nodiscard]] const BodyError& error() const noexcept;
    // Payload bytes decoded so far.
    [[nodiscard]] uint64_t size() const noexcept { return total_; }

private:
    [[nodiscard]] bool refuse(uint8_t error) noexcept;
    [[nodiscard]] BodyResult fail(uint8_t error, size_t at, size_t produced) noexcept;
    [[nodiscard]] BodyResult decode_chunked(const char* in, size_t len, char* out) noexcept;

    uint64_t remaining_ = 0;  // Content-Length: bytes left; chunked: of the current chunk,
                              // or its size while the chunk-size line is read
    uint64_t total_ = 0;      // payload bytes so far
    uint64_t limit_ = 0;      // most payload bytes allowed
    uint32_t line_ = 0;       // bytes of the chunk-size line, or of the trailer section
    uint8_t state_ = 0;       // where the next byte belongs
    uint8_t error_ = 0;       // index into the error table
};

}  // namespace wspush::http
