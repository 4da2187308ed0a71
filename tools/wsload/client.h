// wsload's single-threaded epoll loop over many WebSocket client connections: non-blocking
// connect, handshake with Accept check, frame reading, Ping -> Pong, Close handshake.
//
// Each connection is registered once with IN|OUT|RDHUP|ET; reads drain to EAGAIN, and
// queued frames are flushed once per loop iteration, just before epoll_wait, so messages
// queued in one iteration leave in as few writes as possible.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "net/send_ring.h"
#include "wsload/frame_reader.h"
#include "wsload/handshake.h"
#include "wsload/options.h"
#include "wsload/sys.h"

namespace wspush::wsload {

enum class ConnState : uint8_t {
    kFree,        // slot unused
    kConnecting,  // TCP connect in progress
    kHandshake,   // request queued or sent, waiting for the 101 response
    kOpen,
    kClosing,     // we sent Close, waiting for the server's Close
    kDraining,    // Close exchanged, waiting for the server to close TCP
};

// One connection, ~200 bytes while idle. Modes keep their own per-connection data in arrays
// indexed by `slot` (stable while the connection lives; reused after it ends).
struct Conn {
    std::string tx;              // frames not yet written
    size_t tx_off = 0;
    std::string head;            // response head bytes, only during the handshake
    ServerFrameReader reader;
    uint64_t started_ns = 0;     // open() time
    uint64_t deadline_ns = 0;    // handshake / close deadline, 0 when none
    const char* error = nullptr; // set when the connection failed
    int fd = -1;
    uint32_t slot = 0;
    uint32_t gen = 0;            // bumped on reuse: tells stale epoll events apart
    WsKey key{};
    uint16_t server_code = 0;    // code of the server's Close, 0 if none came
    ConnState state = ConnState::kFree;
    bool writable = false;
    bool dirty = false;          // on the flush list
    bool doomed = false;         // on the end list
    bool we_closed = false;      // we sent Close first
    bool opened = false;         // the handshake completed
    bool got_protocol = false;   // the server chose the offered subprotocol
};

// How a connection ended, for Handler::on_end.
struct ConnEnd {
    const char* error;     // nullptr: Close frames exchanged and TCP closed by the server
    uint16_t server_code;  // the code of the server's Close, 0 if none
    bool opened;           // the handshake had completed
    bool we_closed;        // we started the close handshake
};

class Handler {
public:
    // Handshake verified; `latency_ns` is the time since open().
    virtual void on_open(Conn& c, uint64_t latency_ns) = 0;
    virtual void on_message(Conn& c, ws::Opcode op, std::string_view payload) = 0;
    // The fd is closed; the slot is reused after this returns.
    virtual void on_end(Conn& c, const ConnEnd& end) = 0;

protected:
    ~Handler() = default;
};

// A non-WebSocket fd in the same loop (the control socket).
class RawHandler {
public:
    virtual void on_ready(uint32_t events) = 0;

protected:
    ~RawHandler() = default;
};

class ClientLoop {
public:
    // `protocol` is offered on every connection unless empty.
    ClientLoop(const Options& opt, std::string protocol, Handler& handler);
    ~ClientLoop();
    ClientLoop(const ClientLoop&) = delete;
    ClientLoop& operator=(const ClientLoop&) = delete;

    // Starts a connection; the handler hears of it through on_open or on_end (never from
    // inside this call). Returns nullptr, with `err` set to -errno, if the socket could not
    // even be created (e.g. out of file descriptors).
    Conn* open(uint64_t source_index, int& err);
    // Queues one masked frame; ignored unless the connection is open.
    void send(Conn& c, ws::Opcode op, std::string_view payload);
    // Sends Close(code) and waits (up to --timeout) for the server's Close and TCP close.
    void close(Conn& c, uint16_t code);
    // close() on every open connection; those still connecting fail ("closed early").
    void close_all(uint16_t code);
    // Drops the connection at the end of this iteration; on_end gets `why` as the error.
    void fail(Conn& c, const char* why);
    // Ends every connection now (closing fds, no handshake), calling on_end for each.
    void abort_all(const char* why);

    // Adds a raw fd (edge-triggered IN|OUT|RDHUP). The loop does not own or close it.
    void watch(int fd, RawHandler& h);

    // Writes the frames queued since the last call, waits up to timeout_ms for events,
    // handles them, expires deadlines (checked every 100 ms), then ends failed connections.
    void run_once(int timeout_ms);

    [[nodiscard]] uint64_t now() const noexcept { return now_; }
    [[nodiscard]] size_t live() const noexcept { return live_; }
    // Server Pings answered with a Pong so far.
    [[nodiscard]] uint64_t pongs() const noexcept { return pongs_; }
    [[nodiscard]] Rng& rng() noexcept { return rng_; }

private:
    void dispatch(Conn& c, uint32_t events);
    [[nodiscard]] bool before_read(Conn& c, uint32_t events);
    void on_connected(Conn& c);
    void read_ready(Conn& c, uint32_t events);
    // A read's outcome: bytes (handed to the handshake or the frame reader), or EOF.
    void got(Conn& c, const uint8_t* p, size_t n);
    void got_eof(Conn& c);
    // Batched reads (ring_): one recv per readable connection, submitted together.
    struct RingRead {
        Conn* c;
        uint64_t tag;
        uint32_t events;
        int32_t res;
    };
    void read_batch(uint32_t n);
    void handshake_bytes(Conn& c, const uint8_t* p, size_t n);
    void frame_bytes(Conn& c, const uint8_t* p, size_t n);
    void queue_flush(Conn& c);
    void flush(Conn& c);
    void expire();
    void finish(Conn& c);
    void end(Conn& c);
    void reap();

    friend class ConnSink;

    const Options& opt_;
    std::string protocol_;
    Handler& handler_;
    int epfd_ = -1;
    uint64_t now_ = 0;
    uint64_t last_expire_ = 0;
    uint64_t timeout_ns_;
    size_t live_ = 0;
    uint64_t pongs_ = 0;
    Rng rng_;
    std::vector<std::unique_ptr<Conn>> conns_;
    std::vector<uint32_t> free_;
    std::vector<Conn*> dirty_;
    std::vector<Conn*> doomed_;
    std::vector<RawHandler*> raw_;
    std::unique_ptr<uint8_t[]> rbuf_;
    // Where io_uring is allowed: the reads of one epoll_wait's readable connections go to
    // the kernel net::SendRing::kBatch at a time, each into its own slot of ring_buf_.
    net::SendRing ring_;
    std::unique_ptr<uint8_t[]> ring_buf_;
    RingRead ring_reads_[net::SendRing::kBatch];
};

// Opens `total` connections with at most `parallel` handshakes in progress at a time
// (a burst of thousands of SYNs would overflow the server's accept backlog and turn into
// one-second SYN retransmits). Connections that cannot even start count as failed.
class Ramp {
public:
    Ramp(ClientLoop& loop, uint64_t total, uint64_t parallel, uint64_t first_source)
        : loop_(loop), total_(total), parallel_(parallel), next_source_(first_source) {}

    // Starts connections up to the limit. Returns those that failed to start, with the
    // last error (-errno) in err.
    uint64_t pump(int& err);
    // A started connection opened or failed.
    void resolved() noexcept { --pending_; }
    [[nodiscard]] bool done() const noexcept { return started_ == total_ && pending_ == 0; }

private:
    ClientLoop& loop_;
    uint64_t total_;
    uint64_t parallel_;
    uint64_t next_source_;
    uint64_t started_ = 0;
    uint64_t pending_ = 0;
};

// Milliseconds from now_ns until deadline_ns, for epoll_wait: at least 0, at most cap_ms.
[[nodiscard]] int wait_ms(uint64_t now_ns, uint64_t deadline_ns, int cap_ms) noexcept;

}  // namespace wspush::wsload
