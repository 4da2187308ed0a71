// What a connection log line is about: each kind has its level and its own storm limit
// (base/log_storm.h), so a storm of one kind never hides the lines of another.
#pragma once
#include <cstdint>

namespace wspush::server {

enum class ConnEvent : uint8_t {
    kSlowConsumer,   // info   closed: slow consumer (1008)
    kIdleTimeout,    // info   closed: idle timeout (1001)
    kTooBig,         // info   closed: message too big (1009)
    kProtocolError,  // info   closed: protocol error (1002)
    kBadUtf8,        // info   closed: invalid UTF-8 (1007)
    kOutOfMemory,    // warn   closed: out of memory (1011)
    kKicked,         // info   closed: kicked (KICK's code)
    kClientClosed,   // debug  the client's Close, EOF or reset
    kUpgraded,       // debug  the upgrade
    kRefused,        // info   an HTTP error answer, then closed (handshake refused, bad request)
    kHeadTimeout,    // info   closed: request not received in time (408)
    kHttpSlow,       // info   closed: not reading its HTTP answers
    kServerFull,     // warn   refused: server full (503)
    kPageError,      // debug  a page's 404/405 (the connection stays)
    kWebhookAuth,    // info   webhook refused: token, route, address or signature
    kWebhookRate,    // info   webhook refused: sending too fast (130101)
    kWebhookBad,     // info   webhook refused: any other errcode
    kCount
};

}  // namespace wspush::server
