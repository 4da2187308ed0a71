// RFC 6455 section 7.4 close codes.
#pragma once
#include <cstdint>

namespace wspush::ws {

enum CloseCode : uint16_t {
    kCloseNormal = 1000,
    kCloseGoingAway = 1001,
    kCloseProtocolError = 1002,
    kCloseUnsupportedData = 1003,
    kCloseNoStatus = 1005,        // never on the wire: "Close frame had no payload"
    kCloseAbnormal = 1006,        // never on the wire
    kCloseInvalidPayload = 1007,  // e.g. invalid UTF-8 in a text message
    kClosePolicyViolation = 1008, // e.g. slow consumer
    kCloseMessageTooBig = 1009,
    kCloseMandatoryExtension = 1010,
    kCloseInternalError = 1011,
};

// May a peer send this code in a Close frame? 1000-1003, 1007-1011 and 3000-4999
// (RFC 6455 7.4.1/7.4.2; 1004-1006, 1012-2999 and >= 5000 are not to be sent).
constexpr bool close_code_valid(uint16_t code) noexcept {
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) ||
           (code >= 3000 && code <= 4999);
}

}  // namespace wspush::ws
