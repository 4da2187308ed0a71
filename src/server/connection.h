// Per-connection state of a WebSocket client. Kept small: an idle client costs only this
// struct (plus its channel-member pointer); buffers exist only while bytes are in flight.
#pragma once
#include <cstddef>
#include <cstdint>

#include "base/timer_wheel.h"
#include "push/hub.h"
#include "push/message.h"
#include "push/out_queue.h"
#include "ws/frame_parser.h"

namespace wspush::server {

struct NamedId;

enum class ConnState : uint8_t {
    kFree = 0,  // slot unused
    kHttp,      // reading the request head
    kOpen,      // WebSocket open
    kClosing,   // Close frame or final HTTP response queued; then shutdown, drain, close
};

enum ConnFlag : uint8_t {
    kFlagWritable = 1 << 0,  // last write did not hit EAGAIN (edge-triggered bookkeeping)
    kFlagEnvelope = 1 << 1,  // negotiated wspush.v1: send JSON envelopes
    kFlagInFlush = 1 << 2,   // on the server's flush list
    kFlagShutWr = 1 << 3,    // shutdown(SHUT_WR) done, draining until EOF
    kFlagReady = 1 << 4,     // on the still-readable list (read cap hit)
    kFlagPinged = 1 << 5,    // Ping sent since the last byte received; the heartbeat
                             // timer then stands at the next Ping's time
    kFlagInputPaused = 1 << 6,  // not read while its output is over --send-buffer
    kFlagPeerDone = 1 << 7,     // peer finished (EOF) or failed: close when output is out
};

// Standard layout on purpose: the timer wheel finds the connection with offsetof.
struct Connection {
    base::TimerNode timer;              // handshake, heartbeat or close-linger deadline
    ws::FrameParser parser;
    push::OutQueue out;
    push::Message* in = nullptr;        // partial request head or message being assembled
    push::Subscription sub;             // first channel
    push::Subscription* more = nullptr; // further channels (nmore of them)
    NamedId* id = nullptr;              // null: the server-assigned id "c<serial>"
    uint32_t serial = 0;
    uint32_t last_rx = 0;               // ms (server clock, truncated) of the last byte in
    int32_t fd = -1;
    uint16_t nmore = 0;
    ConnState state = ConnState::kFree;
    uint8_t flags = 0;

    [[nodiscard]] size_t channel_count() const noexcept {
        return (sub.channel ? 1 : 0) + nmore;
    }
    [[nodiscard]] push::Subscription& subscription(size_t i) noexcept {
        return i == 0 ? sub : more[i - 1];
    }
};

}  // namespace wspush::server
