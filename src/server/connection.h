// Per-connection state of a WebSocket (or not yet upgraded HTTP) client. Kept small: an idle
// client costs only this struct (plus its channel-member pointer); buffers exist only while
// bytes are in flight.
//
// Lifetime: states and the lists a connection is on in each (Server owns all of them).
//
//   state       live_  timer            channels, ids  flush_/ready_  dead_  fd
//   kFree       no     no               no             no             no     -
//   kHttp       yes    handshake        no             maybe          no     open
//   kOpen       yes    heartbeat        yes            maybe          no     open
//   kClosing    yes    linger           no             maybe          no     open, our last
//                                                                            bytes queued
//   kLingering  yes    linger           no             no             no     FIN sent, reading
//                                                                            to the peer's EOF
//   kDead       no     no               no             no             yes    open until reap
//
// A connection in kHttp that served a plain (not upgrade) request owns an HttpSession for
// keep-alive and request bodies; leaving kHttp (upgrade, enter_closing, condemn) frees it.
//
// Server::condemn() is the only way to kDead: it takes the connection off every list at that
// moment and drops its output. Server::reap() closes the descriptor and resets the slot after
// the loop turn's flush, so a connection that is on the stack when it is condemned (inside a
// publish, a parse, a flush) stays valid memory, and an event still queued for its descriptor
// finds kDead and is skipped.
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
struct HttpSession;

enum class ConnState : uint8_t {
    kFree = 0,   // slot unused (a zero page reads as kFree)
    kHttp,       // reading the request head
    kOpen,       // WebSocket open
    kClosing,    // Close frame or final HTTP response queued, being written
    kLingering,  // written and FIN sent; discarding input until the peer's EOF
    kDead,       // condemned: unlinked from everything, closed and freed by reap()
};

enum ConnFlag : uint8_t {
    kFlagWritable = 1 << 0,     // last write did not hit EAGAIN (edge-triggered bookkeeping)
    kFlagEnvelope = 1 << 1,     // negotiated wspush.v1: send JSON envelopes
    kFlagInFlush = 1 << 2,      // on the server's flush list
    kFlagReady = 1 << 3,        // on the still-readable list (read cap hit)
    kFlagPinged = 1 << 4,       // Ping sent since the last byte received; the heartbeat
                                // timer then stands at the next Ping's time
    kFlagInputPaused = 1 << 5,  // not read while its output is over --send-buffer
    kFlagPeerDone = 1 << 6,     // the peer sent its FIN while our output was still queued
    kFlagNamed = 1 << 7,        // `named` (a ?id=) is set, not `serial`
};

// Standard layout on purpose: the timer wheel finds the connection with offsetof.
struct Connection {
    base::TimerNode timer;              // handshake, heartbeat or close-linger deadline
    ws::FrameParser parser;
    push::OutQueue out;
    push::Message* in = nullptr;        // partial request head or message being assembled
    push::Subscription sub;             // first channel
    union {
        push::Subscription* more = nullptr;  // kOpen: further channels (nmore of them)
        HttpSession* http;                   // kHttp: set once it served a plain request
    };
    union {
        uint64_t serial = 0;            // server-assigned id c<serial>: never repeats
        NamedId* named;                 // kFlagNamed: the ?id= this connection shares
    };
    uint32_t live_index = 0;            // position in Server::live_
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
    [[nodiscard]] bool has(uint8_t flag) const noexcept { return (flags & flag) != 0; }
    void set(uint8_t flag) noexcept { flags |= flag; }
    void clear(uint8_t flag) noexcept { flags &= static_cast<uint8_t>(~flag); }
};

}  // namespace wspush::server
