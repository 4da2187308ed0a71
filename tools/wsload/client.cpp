#include "wsload/client.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "ws/close_code.h"

namespace wspush::wsload {

namespace {

constexpr size_t kReadBuffer = 256 * 1024;
constexpr uint32_t kRingSlot = 64 * 1024;  // one batched read; a full one reads on as before
constexpr int kMaxEvents = 512;
constexpr uint64_t kRawTag = uint64_t{1} << 63;
constexpr uint64_t kExpireEveryNs = 100'000'000;
constexpr size_t kKeepTxCapacity = 8 << 20;

uint64_t tag_of(const Conn& c) noexcept { return (uint64_t{c.gen & 0x7FFFFFFFu} << 32) | c.slot; }

const char* errno_text(int e) noexcept {
    switch (e) {
        case ECONNREFUSED: return "connection refused";
        case ECONNRESET: return "connection reset";
        case ETIMEDOUT: return "connect timed out";
        case EPIPE: return "broken pipe";
        case EADDRNOTAVAIL: return "no source address/port available";
        case ENETUNREACH: return "network unreachable";
        default: return "socket error";
    }
}

}  // namespace

// Turns reader events into loop actions for one connection.
class ConnSink final : public MessageSink {
public:
    ConnSink(ClientLoop& loop, Conn& c) : loop_(loop), c_(c) {}

    void on_message(ws::Opcode op, std::string_view payload) override {
        if (!c_.doomed) loop_.handler_.on_message(c_, op, payload);
    }
    void on_ping(std::string_view payload) override {
        // 5.5.2: answer with a Pong carrying the Ping's payload, unless we are closing.
        if (c_.doomed || c_.state != ConnState::kOpen) return;
        uint8_t key[4];
        loop_.rng_.fill(key, 4);
        append_client_frame(c_.tx, ws::Opcode::kPong, payload, key);
        ++loop_.pongs_;
        loop_.queue_flush(c_);
    }
    void on_pong(std::string_view) override {}
    void on_close(uint16_t code, std::string_view) override {
        if (c_.doomed) return;
        c_.server_code = code;
        if (c_.state == ConnState::kOpen) {
            // Server-initiated close: answer with the same code (5.5.1), or an empty
            // Close if its Close had none, then wait for the server to close TCP (7.1.1).
            uint8_t key[4];
            loop_.rng_.fill(key, 4);
            if (code == ws::kCloseNoStatus) {
                append_client_frame(c_.tx, ws::Opcode::kClose, {}, key);
            } else {
                append_client_close(c_.tx, code, key);
            }
            loop_.queue_flush(c_);
        }
        c_.state = ConnState::kDraining;
        c_.deadline_ns = loop_.now_ + loop_.timeout_ns_;
    }

private:
    ClientLoop& loop_;
    Conn& c_;
};

ClientLoop::ClientLoop(const Options& opt, std::string protocol, Handler& handler)
    : opt_(opt),
      protocol_(std::move(protocol)),
      handler_(handler),
      timeout_ns_(static_cast<uint64_t>(opt.timeout_s * 1e9)),
      rbuf_(new uint8_t[kReadBuffer]) {
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epfd_ < 0) std::abort();
    now_ = mono_ns();
    last_expire_ = now_;
    if (ring_.open() == 0) ring_buf_.reset(new uint8_t[size_t{kRingSlot} * net::SendRing::kBatch]);
}

ClientLoop::~ClientLoop() {
    for (auto& c : conns_) {
        if (c->fd >= 0) ::close(c->fd);
    }
    ::close(epfd_);
}

Conn* ClientLoop::open(uint64_t source_index, int& err) {
    const Url& url = opt_.urls.empty() ? opt_.url : opt_.urls[source_index % opt_.urls.size()];
    const int fd = start_connect(url, source_index);
    if (fd < 0) {
        err = fd;
        return nullptr;
    }
    uint32_t slot;
    if (free_.empty()) {
        slot = static_cast<uint32_t>(conns_.size());
        conns_.push_back(std::make_unique<Conn>());
    } else {
        slot = free_.back();
        free_.pop_back();
    }
    Conn& c = *conns_[slot];
    c.fd = fd;
    c.slot = slot;
    c.state = ConnState::kConnecting;
    c.started_ns = mono_ns();
    c.deadline_ns = c.started_ns + timeout_ns_;
    c.reader = ServerFrameReader(opt_.max_message);
    uint8_t nonce[16];
    rng_.fill(nonce, sizeof nonce);
    c.key = make_key(nonce);
    c.tx = build_request(url.host_header, url.path, std::string_view(c.key.data(), c.key.size()), protocol_);
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.u64 = tag_of(c);
    if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
        err = -errno;
        ::close(fd);
        const uint32_t gen = c.gen + 1;
        c = Conn{};
        c.slot = slot;
        c.gen = gen;
        free_.push_back(slot);
        return nullptr;
    }
    ++live_;
    return &c;
}

void ClientLoop::watch(int fd, RawHandler& h) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.u64 = kRawTag | raw_.size();
    raw_.push_back(&h);
    if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) std::abort();
}

void ClientLoop::send(Conn& c, ws::Opcode op, std::string_view payload) {
    if (c.doomed || c.state != ConnState::kOpen) return;
    uint8_t key[4];
    rng_.fill(key, 4);
    append_client_frame(c.tx, op, payload, key);
    queue_flush(c);
}

void ClientLoop::close(Conn& c, uint16_t code) {
    if (c.doomed || c.state != ConnState::kOpen) return;
    uint8_t key[4];
    rng_.fill(key, 4);
    append_client_close(c.tx, code, key);
    c.state = ConnState::kClosing;
    c.we_closed = true;
    c.deadline_ns = now_ + timeout_ns_;
    queue_flush(c);
}

void ClientLoop::close_all(uint16_t code) {
    for (auto& c : conns_) {
        if (c->state == ConnState::kOpen) {
            close(*c, code);
        } else if (c->state == ConnState::kConnecting || c->state == ConnState::kHandshake) {
            fail(*c, "closed early");
        }
    }
}

void ClientLoop::fail(Conn& c, const char* why) {
    if (c.doomed || c.state == ConnState::kFree) return;
    c.error = why;
    c.doomed = true;
    doomed_.push_back(&c);
}

void ClientLoop::finish(Conn& c) {
    if (c.doomed) return;
    c.doomed = true;
    doomed_.push_back(&c);
}

void ClientLoop::abort_all(const char* why) {
    for (auto& c : conns_) {
        if (c->state != ConnState::kFree) fail(*c, why);
    }
    reap();
}

void ClientLoop::queue_flush(Conn& c) {
    if (c.dirty) return;
    c.dirty = true;
    dirty_.push_back(&c);
}

void ClientLoop::flush(Conn& c) {
    if (const int e = send_pending(c.fd, c.tx, c.tx_off); e == -EAGAIN) {
        c.writable = false;  // EPOLLOUT (edge) will tell when there is room again
        return;
    } else if (e != 0) {
        fail(c, errno_text(-e));
        return;
    }
    c.tx_off = 0;
    // The request (~200 bytes) is sent once; an idle connection should not keep it.
    if (c.state == ConnState::kHandshake || c.tx.capacity() > kKeepTxCapacity) {
        std::string().swap(c.tx);
    } else {
        c.tx.clear();
    }
}

void ClientLoop::run_once(int timeout_ms) {
    // Before sleeping, write what the last iteration (or the caller) queued.
    for (Conn* c : dirty_) {
        c->dirty = false;
        if (!c->doomed && c->writable && c->state != ConnState::kFree) flush(*c);
    }
    dirty_.clear();
    epoll_event evs[kMaxEvents];
    const int n = epoll_wait(epfd_, evs, kMaxEvents, timeout_ms);
    if (n < 0 && errno != EINTR) std::abort();  // EBADF/EFAULT/EINVAL: a bug, not load
    now_ = mono_ns();
    uint32_t batched = 0;
    for (int i = 0; i < n; ++i) {
        const uint64_t tag = evs[i].data.u64;
        if (tag & kRawTag) {
            raw_[tag & 0xFFFFFFFFu]->on_ready(evs[i].events);
            continue;
        }
        Conn& c = *conns_[tag & 0xFFFFFFFFu];
        // Stale: the slot was ended (and maybe reused) after epoll_wait reported it.
        if (c.state == ConnState::kFree || c.doomed || tag != tag_of(c)) continue;
        const uint32_t events = evs[i].events;
        // A plain readable socket of an established connection: its read joins the batch.
        // A peer's close, an error and a connect in progress go the one-by-one way.
        if (ring_.ready() && c.state != ConnState::kConnecting && (events & EPOLLIN) &&
            !(events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
            if (!before_read(c, events)) continue;
            ring_.add_recv(c.fd, ring_buf_.get() + size_t{batched} * kRingSlot, kRingSlot, batched);
            ring_reads_[batched++] = RingRead{&c, tag, events, 0};
            if (batched == net::SendRing::kBatch) {
                read_batch(batched);
                batched = 0;
            }
            continue;
        }
        dispatch(c, events);
    }
    if (batched > 0) read_batch(batched);
    if (now_ - last_expire_ >= kExpireEveryNs) expire();
    reap();
}

void ClientLoop::dispatch(Conn& c, uint32_t events) {
    if (before_read(c, events) && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) read_ready(c, events);
}

// What an event asks before any read: a connect that completed, a socket writable again.
// False when the connection has nothing to read now (still connecting, or failed).
bool ClientLoop::before_read(Conn& c, uint32_t events) {
    if (c.state == ConnState::kConnecting) {
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return false;
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
        if (err != 0) {
            fail(c, errno_text(err));
            return false;
        }
        on_connected(c);
    } else if (events & EPOLLOUT) {
        c.writable = true;
        flush(c);
    }
    return !c.doomed;
}

void ClientLoop::read_batch(uint32_t n) {
    int error = 0;
    const uint32_t taken = ring_.submit([&](uint32_t i, int32_t res) { ring_reads_[i].res = res; }, &error);
    for (uint32_t i = 0; i < n; ++i) {
        const RingRead& r = ring_reads_[i];
        Conn& c = *r.c;
        // Ended by what an earlier read of this batch led to.
        if (c.state == ConnState::kFree || c.doomed || r.tag != tag_of(c)) continue;
        if (i >= taken || r.res == -EINTR) {  // not read: read as without the ring
            read_ready(c, r.events);
        } else if (r.res > 0) {
            got(c, ring_buf_.get() + size_t{i} * kRingSlot, static_cast<size_t>(r.res));
            // A full slot: more may wait, and no new edge will say so.
            if (!c.doomed && static_cast<uint32_t>(r.res) == kRingSlot) read_ready(c, r.events);
        } else if (r.res == 0) {
            got_eof(c);
        } else if (r.res != -EAGAIN && r.res != -EWOULDBLOCK) {
            fail(c, errno_text(-r.res));
        }
    }
}

void ClientLoop::on_connected(Conn& c) {
    c.state = ConnState::kHandshake;
    c.writable = true;
    flush(c);
}

void ClientLoop::read_ready(Conn& c, uint32_t events) {
    // A short read emptied the socket: data arriving later raises a new edge, so the
    // read that would return EAGAIN can be skipped (nginx ngx_unix_recv does the same).
    // Not when the peer has closed: then read on to the EOF, which raises no new edge.
    const bool eof_pending = (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0;
    for (;;) {
        const ssize_t n = ::read(c.fd, rbuf_.get(), kReadBuffer);
        if (n > 0) {
            got(c, rbuf_.get(), static_cast<size_t>(n));
            if (c.doomed || (static_cast<size_t>(n) < kReadBuffer && !eof_pending)) return;
            continue;
        }
        if (n == 0) {
            got_eof(c);
            return;
        }
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) fail(c, errno_text(errno));
        return;
    }
}

void ClientLoop::got(Conn& c, const uint8_t* p, size_t n) {
    if (c.state == ConnState::kHandshake) {
        handshake_bytes(c, p, n);
    } else {
        frame_bytes(c, p, n);
    }
}

void ClientLoop::got_eof(Conn& c) {
    // The server closes TCP after the Close exchange (RFC 6455 7.1.1); before that, EOF
    // means the connection was dropped.
    if (c.state == ConnState::kDraining) {
        finish(c);
    } else {
        fail(c, c.state == ConnState::kHandshake ? "closed during handshake" : "closed without a Close frame");
    }
}

void ClientLoop::handshake_bytes(Conn& c, const uint8_t* p, size_t n) {
    c.head.append(reinterpret_cast<const char*>(p), n);
    const HandshakeResult r =
        check_response(c.head, std::string_view(c.key.data(), c.key.size()), protocol_);
    if (r.status == HandshakeStatus::kNeedMore) return;
    if (r.status == HandshakeStatus::kError) {
        fail(c, r.error);
        return;
    }
    c.state = ConnState::kOpen;
    c.opened = true;
    c.got_protocol = !r.protocol.empty();
    c.deadline_ns = 0;
    // The rest of this read already holds frames; keep them before freeing the head.
    std::string rest = c.head.substr(r.head_len);
    std::string().swap(c.head);
    handler_.on_open(c, now_ - c.started_ns);
    if (!rest.empty() && !c.doomed) frame_bytes(c, reinterpret_cast<const uint8_t*>(rest.data()), rest.size());
}

void ClientLoop::frame_bytes(Conn& c, const uint8_t* p, size_t n) {
    ConnSink sink(*this, c);
    if (c.reader.feed(p, n, sink) == ReadStatus::kError) fail(c, c.reader.error());
}

void ClientLoop::expire() {
    last_expire_ = now_;
    for (auto& cp : conns_) {
        Conn& c = *cp;
        if (c.state == ConnState::kFree || c.doomed || c.deadline_ns == 0 || now_ < c.deadline_ns) continue;
        fail(c, c.state <= ConnState::kHandshake ? "handshake timeout" : "close timeout");
    }
}

void ClientLoop::reap() {
    // on_end may open connections or end others: take the list first.
    while (!doomed_.empty()) {
        std::vector<Conn*> batch;
        batch.swap(doomed_);
        for (Conn* c : batch) end(*c);
    }
}

void ClientLoop::end(Conn& c) {
    ::close(c.fd);  // also removes it from the epoll set
    --live_;
    const ConnEnd e{c.error, c.server_code, c.opened, c.we_closed};
    handler_.on_end(c, e);
    const uint32_t slot = c.slot;
    const uint32_t gen = c.gen + 1;
    const bool dirty = c.dirty;
    c = Conn{};
    c.slot = slot;
    c.gen = gen;
    c.dirty = dirty;  // still on the flush list; flush() skips free slots
    free_.push_back(slot);
}

uint64_t Ramp::pump(int& err) {
    uint64_t failed = 0;
    while (started_ < total_ && pending_ < parallel_) {
        ++started_;
        if (loop_.open(next_source_++, err) != nullptr) {
            ++pending_;
        } else {
            ++failed;
        }
    }
    return failed;
}

int wait_ms(uint64_t now_ns, uint64_t deadline_ns, int cap_ms) noexcept {
    if (deadline_ns <= now_ns) return 0;
    const uint64_t ms = (deadline_ns - now_ns + 999'999) / 1'000'000;
    return ms < static_cast<uint64_t>(cap_ms) ? static_cast<int>(ms) : cap_ms;
}

}  // namespace wspush::wsload
