// Per-connection state of a WebSocket (or not yet upgraded HTTP) client, in two records
// indexed by the descriptor: Connection, what the event loop touches on every read, flush
// and delivery, in one 64-byte cache line (the table is line-aligned); ConnectionCold,
// what only timers, joins/leaves and the close path touch, 40 bytes. An idle client costs
// these 104 bytes (plus its channel-member pointer and its Server::live_ entry); buffers
// exist only while bytes are in flight. The descriptor is the record's index: not stored.
//
// Connection (hot, 64 B)                  ConnectionCold (40 B)
//    0  parser (21 B of data)                0  timer (20 B of data)
//   21  state, flags, nmore                 20  live_index
//   24  out                                 24  sub (first channel)
//   40  in
//   48  serial | named | http
//   56  last_rx
//   60  more
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
// Its serial (or ?id=) is given at the upgrade, in the same word.
//
// Server::condemn() is the only way to kDead: it takes the connection off every list at that
// moment and drops its output. Server::reap() closes the descriptor and resets the slot after
// the loop turn's flush, so a connection that is on the stack when it is condemned (inside a
// publish, a parse, a flush) stays valid memory, and an event still queued for its descriptor
// finds kDead and is skipped.
#pragma once
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "base/timer_wheel.h"
#include "push/hub.h"
#include "push/message.h"
#include "push/out_queue.h"
#include "server/route.h"
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
    kFlagPeerDone = 1 << 6,     // the peer sent its FIN while our output was still queued (or held)
    kFlagNamed = 1 << 7,        // `named` (a ?id=) is set, not `serial`
};

// Both records are standard layout on purpose: the timer wheel's node and the first
// subscription lead back to the descriptor (hence the Connection) by their offset in the
// table. Members marked [[no_unique_address]] lend their tail padding to the next member.
struct alignas(64) Connection {
    [[no_unique_address]] ws::FrameParser parser;
    ConnState state = ConnState::kFree;
    uint8_t flags = 0;
    uint8_t nmore = 0;                  // kOpen: further channels (Server::more_)
    push::OutQueue out;
    push::Message* in = nullptr;        // partial request head or message being assembled
    union {
        HttpSession* http = nullptr;    // kHttp: set once it served a plain request
        uint64_t serial;                // from the upgrade: id c<serial>, never repeats
        NamedId* named;                 // kFlagNamed: the ?id= this connection shares
    };
    uint32_t last_rx = 0;               // kOpen: ms (server clock, truncated) of the last byte in;
                                        // closing: the kernel's unsent bytes at the last linger end
    uint32_t more = 0;                  // kOpen: index of the further channels' subscriptions
                                        // in Server::more_ (0: none)

    [[nodiscard]] bool has(uint8_t flag) const noexcept { return (flags & flag) != 0; }
    void set(uint8_t flag) noexcept { flags |= flag; }
    void clear(uint8_t flag) noexcept { flags &= static_cast<uint8_t>(~flag); }
};

struct ConnectionCold {
    [[no_unique_address]] base::TimerNode timer;  // handshake, heartbeat or close-linger deadline
    uint32_t live_index = 0;            // position in Server::live_
    push::Subscription sub;             // first channel
};

static_assert(std::is_standard_layout_v<Connection> && std::is_standard_layout_v<ConnectionCold>);
static_assert(sizeof(Connection) == 64, "what the loop touches per event: one cache line");
static_assert(offsetof(Connection, state) == 21 && offsetof(Connection, out) == 24 &&
              offsetof(Connection, last_rx) == 56 && offsetof(Connection, more) == 60);
// The cold record holds pointers: 40 bytes on 64-bit targets, 28 on 32-bit ones (armhf:
// timer 12 B of data, live_index at 12, sub at 16). The hot record is 64 bytes on both.
static_assert(sizeof(void*) == 8 ? sizeof(ConnectionCold) == 40 && offsetof(ConnectionCold, live_index) == 20
                                 : sizeof(ConnectionCold) == 28 && offsetof(ConnectionCold, live_index) == 12);
static_assert(kMaxChannelsPerClient - 1 <= UINT8_MAX, "nmore is a byte");

}  // namespace wspush::server
