// A client's bytes: the HTTP head, the upgrade, frames in, frames out, relay and delivery,
// and closing.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>
#include <sys/socket.h>
#include <unistd.h>

#include "net/socket.h"
#include "http/handshake.h"
#include "http/response.h"
#include "server/demo_page.h"
#include "server/server.h"

namespace wspush::server {
namespace {

constexpr int kMaxReadsPerEvent = 16;     // 1 MiB per client per turn, then the next client
constexpr uint32_t kLingerMs = 2000;      // after our Close/response: wait for the peer's FIN
// A closing peer is held only while it takes at least this much of what it is owed per
// linger, so the closing phase is bounded (a MiB owed: at most about half an hour).
constexpr size_t kLingerMinProgress = 1024;
// Output a client has not taken yet beyond which its Pongs coalesce (or half --send-buffer,
// if less: Pongs alone must never pause a client's input). Below it every Ping gets its own
// Pong (Autobahn's strict cases 2.10/2.11 expect one per Ping); above it the client is not
// keeping up, and a newer Ping's Pong replaces the unsent one at the tail.
constexpr uint64_t kPongCoalesceCost = 128 * 1024;

// The length of the server frame (header and payload) that starts at p: one of ours, whole
// in the buffer.
size_t frame_size(const uint8_t* p) noexcept {
    const size_t len7 = p[1] & 0x7F;
    if (len7 < 126) return 2 + len7;
    if (len7 == 126) return 4 + (static_cast<size_t>(p[2]) << 8 | p[3]);
    uint64_t len = 0;
    for (int i = 2; i < 10; ++i) len = len << 8 | p[i];
    return 10 + static_cast<size_t>(len);
}

}  // namespace

// Frame parser events for one connection, for the duration of one parse() call. The
// connection may be closed or condemned by what an event does; its memory stays valid until
// reap(), and every event checks the state first.
struct FrameEvents final : ws::FrameSink {
    FrameEvents(Server& s, Connection& c) : srv(s), conn(c) {}
    void on_data(ws::Opcode op, uint8_t* p, size_t n, bool end) noexcept override {
        if (conn.state != ConnState::kOpen) return;
        if (conn.in == nullptr && end) {
            srv.on_message(conn, op, p, n, nullptr);  // whole in one read: no copy
            return;
        }
        if (!srv.append_in(conn, p, n, 4096)) return;
        if (end) {
            push::Message* m = conn.in;
            conn.in = nullptr;
            srv.on_message(conn, op, m->payload(), m->payload_size(), m);
            m->unref();
        }
    }
    void on_ping(const uint8_t* p, size_t n) noexcept override {
        // Not corked: a Pong stays a frame of its own in the queue, where a newer one can
        // replace it (a client that pings without reading must not fill its queue).
        push::Message* m = push::Message::make(ws::Opcode::kPong, p, n);
        if (m == nullptr) {
            srv.out_of_memory(conn);
            return;
        }
        srv.send_reply(conn, m, true);
        m->unref();
    }
    void on_pong(const uint8_t*, size_t) noexcept override {}  // liveness is any byte in
    void on_close(uint16_t code, std::string_view) noexcept override {
        // Echo the peer's code (RFC 6455 5.5.1); none if it sent none.
        if (conn.state == ConnState::kOpen)
            srv.log_conn(srv.fd_of(conn), ConnEvent::kClientClosed, "closed by the client (%u)", code);
        srv.send_close(conn, code == ws::kCloseNoStatus ? 0 : code, {});
    }
    Server& srv;
    Connection& conn;
};

void Server::on_client_event(Connection& c, uint32_t events) {
    // Input paused for backpressure: bytes arriving still show the peer is alive.
    if (c.has(kFlagInputPaused) && (events & EPOLLIN) && c.state == ConnState::kOpen) {
        c.last_rx = now32();
        c.clear(kFlagPinged);
    }
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        read_client(c, (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0);
    if (c.state == ConnState::kDead || !(events & EPOLLOUT)) return;
    c.set(kFlagWritable);
    if (!c.out.empty()) flush(c);
}

void Server::read_client(Connection& c, bool drain) {
    if (c.state == ConnState::kHttp && c.http && c.http->resume) {
        // Its output drained: serve the requests it pipelined before reading more.
        c.http->resume = false;
        serve_http(c, 0);
        uncork();  // frames that followed an upgrade it served may have been answered
        if (c.state == ConnState::kDead || c.has(kFlagInputPaused)) return;
    }
    for (int i = 0; i < kMaxReadsPerEvent; ++i) {
        if ((c.state == ConnState::kOpen || c.state == ConnState::kHttp) && c.out.cost() >= input_cap(c)) {
            // Backpressure on input: a peer that does not read its echoes/pongs (or HTTP
            // responses) is not read either until they drain (flush() resumes it).
            c.set(kFlagInputPaused);
            return;
        }
        ssize_t n = ::read(fd_of(c), rbuf_, kReadBufSize);
        if (n > 0) {
            stats_.bytes_in += static_cast<uint64_t>(n);
            on_bytes(c, rbuf_, static_cast<size_t>(n));
            uncork();
            if (c.state == ConnState::kDead) return;
            // A short read emptied the socket buffer: skip the read that would only say
            // EAGAIN. Bytes arriving later raise a new edge (nginx clears rev->ready alike).
            // Unless the peer's FIN came with this edge: then read on to the 0.
            if (!drain && static_cast<size_t>(n) < kReadBufSize) return;
            continue;
        }
        if (n == 0) {
            on_peer_eof(c);
            return;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        if (errno == EINTR) continue;
        if (c.state == ConnState::kOpen) log_conn(fd_of(c), ConnEvent::kClientClosed, "connection lost: %s", strerror(errno));
        condemn(c);  // ECONNRESET and friends
        return;
    }
    schedule_read(c);
}

void Server::on_peer_eof(Connection& c) {
    // The peer finished sending (or vanished). Hand over whatever is queued, then close: at
    // once if nothing is left (always so once lingering), else when it drains (or the linger
    // ends).
    if (c.state == ConnState::kOpen)
        log_conn(fd_of(c), ConnEvent::kClientClosed, "closed by the client without a Close frame");
    if (c.state == ConnState::kHttp && c.http && c.http->held) {
        c.http->peer_done = true;  // answered first: the journal's commit calls again
        return;
    }
    if (!c.out.empty()) flush(c);
    if (c.state == ConnState::kDead) return;
    if (c.out.empty() || c.state == ConnState::kLingering) {
        condemn(c);
        return;
    }
    if (c.state != ConnState::kClosing) enter_closing(c);
    c.set(kFlagPeerDone);  // flush() condemns it once the output is out
}

void Server::on_bytes(Connection& c, uint8_t* p, size_t n) {
    switch (c.state) {
        case ConnState::kHttp: on_http_bytes(c, p, n); break;
        case ConnState::kOpen:
            c.last_rx = now32();
            c.clear(kFlagPinged);
            on_frames(c, p, n);
            break;
        default: break;  // closing: discard until the peer's FIN
    }
}

bool Server::on_request(Connection& c, const http::Request& req) {
    http::HandshakeOptions opt{protocol_views_, origin_views_};
    http::Handshake hs = http::check_upgrade(req, opt);
    if (hs.status != 101) {
        reply_http(c, hs.status, hs.reason);
        return false;
    }
    return upgrade(c, hs.protocol, hs.path, hs.query, hs.accept);
}

void Server::on_frames(Connection& c, uint8_t* p, size_t n) {
    FrameEvents events(*this, c);
    ws::ParseStatus st = c.parser.parse(p, n, cfg_.max_message, events);
    if (st == ws::ParseStatus::kError && c.state == ConnState::kOpen) {
        const ws::FrameError& e = c.parser.error();
        ++stats_.drop_protocol_error;
        log_frame_error(c);
        send_close(c, e.code, e.reason);
    }
}

void Server::on_message(Connection& c, ws::Opcode op, const uint8_t* p, size_t n, push::Message* whole) {
    ++stats_.messages_in;
    switch (cfg_.mode) {
        case Mode::kEcho:
            if (whole) {
                whole->seal(op);  // the assembled buffer becomes the reply frame as it is
                send_reply(c, whole);
            } else {
                reply(c, op, p, n);
            }
            break;
        case Mode::kRelay:
            relay(c, op, p, n);
            [[fallthrough]];
        case Mode::kPush:
            if (control_ && control_->has_tail_readers())
                control_->tail(client_id(c), op, std::string_view(reinterpret_cast<const char*>(p), n));
            if (worker_ && worker_->others_tail) [[unlikely]]
                tail_to_others(client_id(c), op, std::string_view(reinterpret_cast<const char*>(p), n));
            break;
    }
}

bool Server::send(Connection& c, push::Message* m) {
    if (c.state != ConnState::kOpen) return false;
    // Over the cap: first hand the kernel what it will take (a burst published within one
    // loop turn must not count against a client that reads), then judge.
    if (c.out.cost_behind_head() >= cfg_.send_buffer && c.has(kFlagWritable)) {
        flush(c);
        if (c.state != ConnState::kOpen) return false;
    }
    if (c.out.cost_behind_head() >= cfg_.send_buffer) {
        // Slow consumer: what it has not read already fills its cap. It stops being served
        // rather than making the server grow. (One message larger than the cap is still
        // sent whole to a client that keeps up: the cap bounds the backlog behind the frame
        // being written, not a message.) Its Close goes behind the frame being written.
        ++stats_.drop_slow_consumer;
        log_conn(fd_of(c), ConnEvent::kSlowConsumer, "closed: slow consumer, %llu bytes queued (1008)",
                 static_cast<unsigned long long>(c.out.bytes()));
        c.out.drop_unstarted();
        send_close(c, ws::kClosePolicyViolation, "slow consumer");
        return false;
    }
    return enqueue(c, m, false);
}

void Server::send_reply(Connection& c, push::Message* m, bool pong) {
    if (c.state != ConnState::kOpen) return;
    // No slow-consumer verdict here: replies grow only as fast as the peer sends, and
    // read_client() stops reading a peer whose replies pile up (TCP pushes back on it).
    // Pongs coalesce once the client lags: only the latest Ping is answered then.
    (void)enqueue(c, m, pong && c.out.cost() >= std::min(kPongCoalesceCost, cfg_.send_buffer / 2));
}

void Server::reply(Connection& c, ws::Opcode op, const uint8_t* p, size_t n) {
    if (c.state != ConnState::kOpen) return;
    const size_t frame = ws::server_header_size(n) + n;
    if (corked_ == &c && cork_len_ + frame > kCorkSize) uncork();
    if (corked_ == nullptr && c.out.empty() && frame <= kCorkSize) corked_ = &c;
    if (corked_ == &c) {
        uint8_t head[ws::kMaxServerHeader];
        const size_t h = ws::encode_header(head, op, n);
        memcpy(cork_ + cork_len_, head, h);
        if (n) memcpy(cork_ + cork_len_ + h, p, n);  // p may be null when n is 0
        cork_len_ += h + n;
        ++stats_.messages_out;
        return;
    }
    push::Message* m = push::Message::make(op, p, n);
    if (m == nullptr) {
        out_of_memory(c);
        return;
    }
    send_reply(c, m);
    m->unref();
}

void Server::uncork() {
    if (corked_ == nullptr) return;
    Connection& c = *corked_;
    const size_t len = cork_len_;
    corked_ = nullptr;
    cork_len_ = 0;
    ++stats_.writes;
    const ssize_t w = ::write(fd_of(c), cork_, len);
    const size_t done = w > 0 ? static_cast<size_t>(w) : 0;
    stats_.bytes_out += done;
    if (done == len) return;
    // The rest waits in c's queue, ahead of anything queued later. A full socket waits for
    // its EPOLLOUT; on an error (EPIPE, ECONNRESET) the flush at the end of the turn finds
    // it again and condemns c there, so no caller sees c change state under it.
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) c.clear(kFlagWritable);
    // Queued from the start of the frame the write cut, marked as started: a frame half on
    // the wire is finished whatever happens (a slow-consumer verdict drops only frames
    // not started), or the peer would read the next frame as the rest of this one.
    size_t start = 0;
    while (start < done) {
        const size_t next = start + frame_size(cork_ + start);
        if (next > done) break;
        start = next;
    }
    push::Message* rest = push::Message::make_raw(cork_ + start, len - start);
    if (rest != nullptr && c.out.push_started(rest, done - start)) {
        rest->unref();
        schedule_flush(c);
        return;
    }
    if (rest) rest->unref();
    // Out of memory with part of a frame on the wire: no Close can follow it.
    ++stats_.out_of_memory;
    log_conn(fd_of(c), ConnEvent::kOutOfMemory, "closed: out of memory");
    condemn(c);
}

bool Server::enqueue(Connection& c, push::Message* m, bool coalesce_pong) {
    if (!uncork_for(c)) return false;
    if (!(coalesce_pong ? c.out.push_pong(m) : c.out.push(m))) {
        out_of_memory(c);
        return false;
    }
    if (m->opcode() == ws::Opcode::kText || m->opcode() == ws::Opcode::kBinary) ++stats_.messages_out;
    schedule_flush(c);
    return true;
}

bool Server::append_in(Connection& c, const uint8_t* p, size_t n, size_t room) {
    if (c.in == nullptr) c.in = push::Message::make_buffer(std::max(n, room));
    push::Message* grown = c.in ? push::Message::append(c.in, p, n) : nullptr;
    if (grown == nullptr) {
        out_of_memory(c);  // c.in, if any, is still c's and goes with it
        return false;
    }
    c.in = grown;
    return true;
}

void Server::send_close(Connection& c, uint16_t code, std::string_view reason) {
    if (c.state != ConnState::kOpen) return;
    (void)uncork_for(c);  // the replies corked so far go before the Close
    if (c.state != ConnState::kOpen) return;
    uint8_t payload[ws::kMaxControlPayload];
    size_t n = 0;
    if (code) {
        payload[0] = static_cast<uint8_t>(code >> 8);
        payload[1] = static_cast<uint8_t>(code);
        n = 2 + std::min(reason.size(), ws::kMaxControlPayload - 2);
        if (n > 2) memcpy(payload + 2, reason.data(), n - 2);  // data() may be null when empty
    }
    enter_closing(c);
    if (queue_owned(c, push::Message::make(ws::Opcode::kClose, payload, n))) schedule_flush(c);
}

bool Server::linger_on(Connection& c) {
    // Closing with unsent bytes orphans them to the kernel, which throws them away (and
    // resets the connection) under memory pressure: while the peer is still taking them,
    // the linger starts again. A peer that took nothing for a whole linger is let go.
    const long unsent = net::unsent_bytes(fd_of(c));
    if (unsent <= 0 || static_cast<uint64_t>(unsent) + kLingerMinProgress > c.last_rx) return false;
    c.last_rx = static_cast<uint32_t>(unsent);
    wheel_.arm(cold(c).timer, now_ms_ + kLingerMs);
    return true;
}

void Server::enter_closing(Connection& c) {
    if (!uncork_for(c)) return;
    if (c.state == ConnState::kHttp) end_http_session(c);
    if (c.state == ConnState::kOpen) {
        --stats_.clients;
        leave_channels(c);
        unbind_id(c);
    }
    c.state = ConnState::kClosing;
    c.last_rx = UINT32_MAX;  // from now: what the kernel still had to send (linger_on)
    wheel_.arm(cold(c).timer, now_ms_ + kLingerMs);
    if (c.in) {
        c.in->unref();
        c.in = nullptr;
    }
}

bool Server::queue_owned(Connection& c, push::Message* m) {
    if (!uncork_for(c)) {
        if (m) m->unref();
        return false;
    }
    const bool ok = m != nullptr && c.out.push(m);
    if (m) m->unref();
    if (!ok) out_of_memory(c);
    return ok;
}

void Server::out_of_memory(Connection& c) {
    ++stats_.out_of_memory;
    log_conn(fd_of(c), ConnEvent::kOutOfMemory,
             c.state == ConnState::kOpen ? "closed: out of memory (1011)" : "closed: out of memory");
    if (c.state == ConnState::kOpen) send_close(c, ws::kCloseInternalError, "out of memory");
    else condemn(c);
}

void Server::reply_http(Connection& c, uint16_t status, std::string_view reason) {
    if (c.state != ConnState::kHttp) return;
    ++stats_.drop_http_error;
    if (status == 408) log_conn(fd_of(c), ConnEvent::kHeadTimeout, "closed: %.*s (408)", static_cast<int>(reason.size()), reason.data());
    else log_conn(fd_of(c), ConnEvent::kRefused, "refused: %.*s (%u)", static_cast<int>(reason.size()), reason.data(), status);
    char buf[1024];
    size_t n = http::write_error_response(buf, sizeof buf, status, reason);
    respond(c, push::Message::make_raw(buf, n));
}

void Server::respond(Connection& c, push::Message* raw) {
    if (!queue_owned(c, raw)) return;
    enter_closing(c);
    flush(c);
}

void Server::flush(Connection& c) {
    // A frame c may be sent was published this turn: nobody receives a publication before
    // it is as durable as --fsync says (else a crash could give its number to another).
    if (journal_ && journal_->has_batch()) [[unlikely]] (void)journal_write();
    bool would_block = false;
    ++stats_.writes;
    long w = c.out.flush(fd_of(c), &would_block);
    wrote(c, w, would_block);
}

void Server::wrote(Connection& c, long w, bool would_block) {
    if (w < 0) {
        if (c.state == ConnState::kOpen) log_conn(fd_of(c), ConnEvent::kClientClosed, "connection lost: %s", strerror(static_cast<int>(-w)));
        condemn(c);  // EPIPE, ECONNRESET: the peer is gone
        return;
    }
    stats_.bytes_out += static_cast<uint64_t>(w);
    if (c.state == ConnState::kHttp && c.http) c.http->written += static_cast<uint64_t>(w);
    if (would_block) c.clear(kFlagWritable);
    if (c.has(kFlagInputPaused) && c.out.cost() < input_cap(c)) {
        c.clear(kFlagInputPaused);
        schedule_read(c);
    }
    if (c.state != ConnState::kClosing) return;
    if (w > 0) {
        // The peer is taking what it is owed (the rest of a frame, our Close): the linger
        // starts again, so a slow reader gets it all, not EOF inside a frame. What it holds is
        // bounded by --send-buffer as while open; shutdown's deadline still ends it. The
        // kernel's unsent bytes are measured again now: the write just added to them, so the
        // count from an earlier linger end would make a peer that kept reading look stalled.
        const long unsent = net::unsent_bytes(fd_of(c));
        c.last_rx = unsent < 0 ? UINT32_MAX : static_cast<uint32_t>(unsent);
        if (static_cast<size_t>(w) >= kLingerMinProgress) wheel_.arm(cold(c).timer, now_ms_ + kLingerMs);
    }
    if (!c.out.empty()) return;
    if (c.has(kFlagPeerDone)) {
        condemn(c);  // all handed over to a peer that already finished
        return;
    }
    // Our last bytes are out: send FIN, then drain until the peer's FIN (closing with unread
    // input would turn into an RST that can destroy the Close frame in flight).
    shutdown(fd_of(c), SHUT_WR);
    c.state = ConnState::kLingering;
}

void Server::schedule_flush(Connection& c) {
    if (c.has(kFlagInFlush)) return;
    c.set(kFlagInFlush);
    flush_list_.push_back(fd_of(c));
}

void Server::schedule_read(Connection& c) {
    if (c.has(kFlagReady)) return;
    c.set(kFlagReady);
    ready_list_.push_back(fd_of(c));
}

std::string Server::client_id(const Connection& c) const {
    return c.has(kFlagNamed) ? c.named->id : "c" + std::to_string(c.serial);
}

void Server::relay(Connection& c, ws::Opcode op, const uint8_t* p, size_t n) {
    // A delivery may close a recipient (write error, slow consumer) but never the sender,
    // so the sender's subscriptions stay put while they are walked.
    for (size_t i = 0; i < channel_count(c); ++i) {
        push::Subscription& s = subscription(c, i);
        Published pub;  // a failing journal is logged and in STATS; the sender is not told
        if (!publish_on(*s.channel, op, {reinterpret_cast<const char*>(p), n}, &s, pub)) {
            out_of_memory(c);
            return;
        }
    }
}

void Server::deliver(push::Subscription& s, push::Publication& pub) {
    Connection& c = owner_of(s);
    if (c.state != ConnState::kOpen) return;
    push::Message* m = c.has(kFlagEnvelope) ? pub.envelope() : pub.raw();
    if (m == nullptr) {
        out_of_memory(c);
        return;
    }
    send(c, m);
}

void Server::deliver_replay(Connection& c, push::Publication& pub) {
    if (c.state != ConnState::kOpen) return;
    // History is shared frames: replaying it queues references, so it is not held to
    // --send-buffer (which bounds how far a live client may fall behind); the history
    // budget bounds it instead.
    push::Message* m = c.has(kFlagEnvelope) ? pub.envelope() : pub.raw();
    if (m == nullptr) out_of_memory(c);
    else (void)enqueue(c, m, false);
}

}  // namespace wspush::server
