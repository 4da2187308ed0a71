// A kept-alive plain-HTTP connection's request in progress (webhook POSTs, pages): exists
// only on connections that sent a request other than a WebSocket upgrade, from then until
// they leave kHttp.
//
// The request's bytes stay in the connection's `in` buffer: [head][decoded body][raw bytes
// not decoded yet]. The body is decoded in place (chunked framing removed) as it arrives, so
// a body is held once, bounded by --robot-max-body plus one read.
#pragma once
#include <cstdint>

#include "http/body.h"

namespace wspush::server {

enum class HttpRoute : uint8_t {
    kPage,   // GET/HEAD/OPTIONS of the demo page, /stats, /metrics, ...
    kRobot,  // POST /robot/send?access_token=...
    kPush,   // POST /push/<channel>
    kSend,   // POST /send/<client-id>
};

struct HttpSession {
    http::BodyDecoder body;
    uint32_t head_len = 0;     // bytes of the current request's head at the front of `in`
    uint32_t payload = 0;      // body bytes decoded so far, right after the head
    int32_t robot = -1;        // the robot the request's token named; -1: none (or a reload
                               // removed it, or changed its token, while the body was read)
    HttpRoute route = HttpRoute::kPage;
    bool in_body = false;      // the head is in; reading its body
    bool keep_alive = false;   // the current request lets the connection stay open
    bool resume = false;       // requests were left buffered while output was over its cap
    uint64_t held = 0;         // the answer waits for the journal's commit (its id); 0: none
    bool peer_done = false;    // the client finished sending while an answer was held
    uint64_t written = 0;      // bytes of answers written to the client so far
    uint64_t written_seen = 0; // `written` when the timer last found answers still queued
    long unsent_seen = -1;     // the socket's unacknowledged bytes then (-1: not looked yet)
};

}  // namespace wspush::server
