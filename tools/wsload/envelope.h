// Parser for the wspush.v1 JSON envelope a subscriber receives:
//   {"type":"msg","channel":"<ch>","seq":<n>,"data":"<json-escaped text>"}
// plus the "binary":true, "direct", "broadcast" and "gap" variants (protocol.md); and the
// webhook's reply body {"errcode":0,"errmsg":"ok","seq":<n>,"delivered":<k>}.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace wspush::wsload {

struct Envelope {
    std::string type;
    std::string channel;
    std::string data;      // JSON-unescaped (still base64 text when binary)
    uint64_t seq = 0;
    bool has_seq = false;
    bool binary = false;
};

// Parses one flat JSON object: string, unsigned integer, true/false/null values; keys in
// any order, unknown keys skipped; whitespace allowed between tokens. String escapes are
// decoded (\uXXXX, surrogate pairs included, to UTF-8). Reuses out's string capacity.
// Returns nullptr on success, else a static description of the first problem; `out` is
// then unspecified.
[[nodiscard]] const char* parse_envelope(std::string_view json, Envelope& out);

struct WebhookBody {
    uint64_t errcode = 0;
    std::string errmsg;
    uint64_t seq = 0;        // POST /push only
    uint64_t delivered = 0;  // POST /push and /send
    bool has_seq = false;
    bool has_delivered = false;
};

// Parses a webhook reply body, a flat object like the envelope (unknown keys skipped). An
// errcode is required (a negative one is an error). Returns nullptr on success, else a
// static description of the first problem.
[[nodiscard]] const char* parse_webhook_body(std::string_view json, WebhookBody& out);

}  // namespace wspush::wsload
