// The loop: accept, signals, timers, the flush before sleeping, and the close path.
#include "server/server.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstddef>
#include <cstring>
#include <fcntl.h>
#include <malloc.h>
#include <new>
#include <ctime>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/log_storm.h"
#include "net/socket.h"
#include "server/loop_tags.h"

namespace wspush::server {
namespace {

using namespace loop;

constexpr int kMaxEvents = 256;
constexpr uint32_t kShutdownMs = 3000;   // SIGTERM: time to flush the 1001 Close frames
constexpr uint32_t kTrimDelayMs = 1000;  // memory goes back at most this long after a drop
constexpr uint32_t kAcceptRetryMs = 100; // out of descriptors and no spare: try again then
constexpr uint32_t kRefusedLogMs = 1000; // refused connections: one summary line per second
constexpr size_t kTrimDrop = 64;         // sockets fewer than at the last trim that ask for one

constexpr char kServerFull[] =
    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n"
    "Connection: close\r\nRetry-After: 5\r\n\r\nserver full\n";

void refuse_full(int fd) {
    ssize_t w = write(fd, kServerFull, sizeof kServerFull - 1);
    (void)w;
    ::close(fd);
}

}  // namespace

int Server::loop_timeout() const {
    int timeout = wheel_.timeout_ms(now_ms_, 60'000);
    auto until = [&](uint64_t at) {
        if (at == 0) return;
        int ms = at > now_ms_ ? static_cast<int>(std::min<uint64_t>(at - now_ms_, 60'000)) : 0;
        timeout = timeout < 0 ? ms : std::min(timeout, ms);
    };
    until(trim_at_);
    until(accept_retry_at_);
    until(digest_at_);
    until(notify_at_);
    until(status_at_);
    until(base::log_storms_due());
    until(journal_retry_at_);
    if (journal_busy()) timeout = 0;
    if (redis_) {
        const int r = redis_->wait_ms(now_ms_);
        if (r >= 0) timeout = timeout < 0 ? r : std::min(timeout, r);
    }
    if (stopping_) until(now_ms_ + 100);
    if (!ready_list_.empty() || (control_ && control_->has_ready())) timeout = 0;
    return timeout;
}

int Server::run() {
    epoll_event evs[kMaxEvents];
    for (;;) {
        flush_pending();
        reap();
        if (stopping_ && (live_.empty() || now_ms_ >= stop_deadline_)) break;
        if (trim_at_ && now_ms_ >= trim_at_) trim_memory();
        int n = reactor_.wait(evs, kMaxEvents, loop_timeout());
        now_ms_ = base::monotonic_ms();
        for (int i = 0; i < n; ++i) dispatch(evs[i]);
        read_ready();
        if (accept_retry_at_ && now_ms_ >= accept_retry_at_) on_accept();
        wheel_.expire(now_ms_, [this](base::TimerNode& t) { on_timer(t); });
        // Before the turn's flush, like everything that queues frames.
        if (digest_at_ && now_ms_ >= digest_at_) flush_digests();
        if (notify_at_ && now_ms_ >= notify_at_) notify_tick();
        if (status_at_ && now_ms_ >= status_at_) status_tick();
        if (journal_retry_at_ && now_ms_ >= journal_retry_at_) journal_retry();
        // Summaries of log storms whose window ended (base/log_storm.h).
        if (const uint64_t due = base::log_storms_due(); due && now_ms_ >= due) base::flush_log_storms(now_ms_);
    }
    journal_commit();  // what the last turn's answers appended (their clients are gone)
        base::flush_log_storms(UINT64_MAX);  // what the last windows held back
    LOG_INFO("stopped");
    return 0;
}

void Server::dispatch(const epoll_event& ev) {
    uint64_t tag = ev.data.u64;
    switch (tag & kTagMask) {
        case kTagClient: {
            Connection& c = conns_[tag >> 3];
            // kDead: condemned earlier in this batch; the descriptor closes in reap().
            if (c.state != ConnState::kFree && c.state != ConnState::kDead) on_client_event(c, ev.events);
            break;
        }
        case kTagControl: control_->on_client_event(tag, ev.events); break;
        case kTagListen: on_accept(); break;
        case kTagControlListen: control_->on_accept(); break;
        case kTagSignal:
            if (tag == kTagParent) on_parent_event(ev.events);
            else on_signal();
            break;
        case kTagRedis:
        case kTagRedis + 1:
            if (redis_) redis_->on_event(tag, ev.events, now_ms_);
            break;
    }
}

void Server::read_ready() {
    // Clients that hit the per-turn read cap get their next turn now (edge-triggered:
    // epoll will not report them again until new data arrives).
    if (ready_list_.empty()) return;
    std::vector<int32_t> ready;
    ready.swap(ready_list_);
    for (int32_t fd : ready) {
        Connection& c = conns_[fd];
        if (!c.has(kFlagReady)) continue;
        c.clear(kFlagReady);
        read_client(c, true);
    }
}

void Server::on_accept() {
    accept_retry_at_ = 0;
    if (spare_fd_ < 0) spare_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
    while (listen_fd_ >= 0) {
        int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (worker_) rotate_listener();
                return;
            }
            if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;
            if (errno == EMFILE || errno == ENFILE) {
                refuse_out_of_descriptors();
                return;
            }
            LOG_WARN("accept: %s", strerror(errno));
            return;
        }
        ++stats_.connections_total;
        if (stopping_ || live_.size() >= max_clients_ || static_cast<size_t>(fd) >= conns_cap_) {
            if (stopping_) log_conn(fd, ConnEvent::kServerFull, "refused: shutting down (503)");
            else log_conn(fd, ConnEvent::kServerFull, "refused: server full, %zu connections (503)", live_.size());
            refuse_full(fd);
            ++stats_.drop_server_full;
            continue;
        }
        Connection& c = *new (&conns_[fd]) Connection();
        new (&colds_[fd]) ConnectionCold();
        c.state = ConnState::kHttp;
        c.flags = kFlagWritable;
        c.last_rx = now32();
        high_fd_ = std::max(high_fd_, fd);
        net::tune_tcp(fd);
        if (reactor_.add(fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, (static_cast<uint64_t>(fd) << 3) | kTagClient) < 0) {
            c.~Connection();
            new (&c) Connection();
            ::close(fd);
            continue;
        }
        cold(c).live_index = static_cast<uint32_t>(live_.size());
        live_.push_back(fd);
        trim_sockets_ = std::max(trim_sockets_, live_.size());
        wheel_.arm(cold(c).timer, now_ms_ + cfg_.handshake_timeout_ms);
    }
}

void Server::refuse_out_of_descriptors() {
    // Out of descriptors: free the spare, accept and refuse the waiting clients one by one,
    // take the spare back, so the backlog drains instead of the listener spinning. Without a
    // spare (ENFILE took it), try again shortly: edge-triggered epoll will not say again.
    uint64_t refused = 0;
    while (spare_fd_ >= 0) {
        ::close(spare_fd_);
        int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            refuse_full(fd);
            ++refused;
        }
        spare_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0) break;
    }
    if (spare_fd_ < 0) accept_retry_at_ = now_ms_ + kAcceptRetryMs;
    stats_.drop_server_full += refused;
    refused_unlogged_ += refused;
    // One line a second at most, however many are refused (a storm must not flood the log).
    if (now_ms_ >= refused_log_at_) {
        LOG_WARN("accept: out of descriptors; refused %llu connection(s)%s",
                 static_cast<unsigned long long>(refused_unlogged_),
                 spare_fd_ < 0 ? ", no spare descriptor: retrying" : "");
        refused_unlogged_ = 0;
        refused_log_at_ = now_ms_ + kRefusedLogMs;
    }
}

void Server::on_signal() {
    signalfd_siginfo si;
    while (read(signal_fd_, &si, sizeof si) == sizeof si) {
        switch (si.ssi_signo) {
            case SIGHUP:
                // Logs go to stderr (the journal, or a file the shell opened): nothing to
                // reopen. The configuration is read again (reload.cpp).
                notify("RELOADING=1\n");
                reload();
                notify("READY=1\n");
                break;
            case SIGUSR1: LOG_INFO("stats %s", stats_json().c_str()); break;
            case SIGUSR2: break;
            default:
                if (!stopping_) {
                    LOG_INFO("signal %u: closing every client with 1001", si.ssi_signo);
                    begin_shutdown();
                }
        }
    }
}

void Server::begin_shutdown() {
    stopping_ = true;
    notify("STOPPING=1\n");
    stop_deadline_ = now_ms_ + kShutdownMs;
    if (listen_fd_ >= 0) {
        ::close(listen_fd_);
        listen_fd_ = -1;
    }
    accept_retry_at_ = 0;
    // Digests hold messages already answered "ok": they go out now, before the Closes.
    flush_digests(true);
    // Pushes Redis has not answered fail ("ERR redis: closed"): their replies go out below.
    if (redis_) redis_->stop();
    // Replies held for the journal are owed for what already took effect: the commit
    // queues them before the clients close.
    journal_commit();
    if (control_) control_->close_all();
    // Backwards: condemn() moves the last entry into the one it removes.
    for (size_t i = live_.size(); i-- > 0;) {
        Connection& c = conns_[live_[i]];
        if (c.state == ConnState::kOpen) {
            send_close(c, ws::kCloseGoingAway, "server shutting down");
        } else if (c.state == ConnState::kHttp && !c.out.empty()) {
            enter_closing(c);  // its answers were queued: a webhook caller must get them
            schedule_flush(c);
        } else if (c.state == ConnState::kHttp) {
            condemn(c);
        }
    }
}

Connection& Server::owner_of(const base::TimerNode& t) const noexcept {
    const auto* rec = reinterpret_cast<const char*>(&t) - offsetof(ConnectionCold, timer);
    return conns_[reinterpret_cast<const ConnectionCold*>(rec) - colds_];
}

Connection& Server::owner_of(const push::Subscription& s) const noexcept {
    const uintptr_t off = reinterpret_cast<uintptr_t>(&s) - reinterpret_cast<uintptr_t>(colds_);
    if (off < colds_bytes_) return conns_[off / sizeof(ConnectionCold)];
    return conns_[s.owner];
}

bool Server::alloc_more(Connection& c, size_t n) {
    auto* subs = new (std::nothrow) push::Subscription[n];
    if (subs == nullptr) return false;
    uint32_t i;
    if (more_free_.empty()) {
        i = static_cast<uint32_t>(more_.size());
        more_.push_back(subs);
    } else {
        i = more_free_.back();
        more_free_.pop_back();
        more_[i] = subs;
    }
    c.more = i;
    c.nmore = static_cast<uint8_t>(n);
    return true;
}

void Server::free_more(Connection& c) noexcept {
    if (c.more == 0) return;
    delete[] more_[c.more];
    more_[c.more] = nullptr;
    more_free_.push_back(c.more);
    c.more = 0;
    c.nmore = 0;
}

void Server::on_timer(base::TimerNode& t) {
    Connection& c = owner_of(t);
    switch (c.state) {
        case ConnState::kHttp:
            if (redis_unpark(c)) [[unlikely]] {  // its channels were not read from Redis in time
                ++stats_.drop_handshake_timeout;
                reply_http(c, 503, "redis unavailable: the channel could not be read in time");
                break;
            }
            if (c.http && !c.out.empty()) {
                // Answers are still going out (and its further requests wait on them): the
                // client is slow to read, not to send. It has while it reads; one that took
                // nothing for a whole --keepalive-timeout is not reading at all.
                // Progress: we wrote more, or the peer acknowledged some of what the kernel
                // holds (a small window drains the socket buffer long after our last write).
                const long unsent = net::unsent_bytes(fd_of(c));
                const bool progress = c.http->written != c.http->written_seen || c.http->unsent_seen < 0 ||
                                      unsent < c.http->unsent_seen;
                c.http->written_seen = c.http->written;
                c.http->unsent_seen = unsent;
                if (progress) {
                    wheel_.arm(cold(c).timer, now_ms_ + cfg_.keepalive_timeout_ms);
                } else {
                    ++stats_.drop_slow_consumer;
                    log_conn(fd_of(c), ConnEvent::kHttpSlow, "closed: took none of its answers in %u ms",
                             cfg_.keepalive_timeout_ms);
                    condemn(c);
                }
                break;
            }
            if (c.http && !c.http->in_body && c.in == nullptr) {
                condemn(c);  // an idle kept-alive connection: RFC 9112 9.3, closed quietly
                break;
            }
            // Slowloris: the request head (or a webhook body) did not complete in time.
            ++stats_.drop_handshake_timeout;
            reply_http(c, 408, c.http && c.http->in_body ? "request body not received in time"
                                                         : "request head not received in time");
            break;
        case ConnState::kOpen: heartbeat(c); break;
        case ConnState::kClosing:
        case ConnState::kLingering:
            if (!linger_on(c)) condemn(c);  // the linger is over
            break;
        case ConnState::kFree:
        case ConnState::kDead: break;
    }
}

void Server::heartbeat(Connection& c) {
    uint32_t now = now32();
    uint32_t quiet = now - c.last_rx;
    if (quiet >= cfg_.idle_timeout_ms) {
        ++stats_.drop_idle_timeout;
        log_conn(fd_of(c), ConnEvent::kIdleTimeout, "closed: idle timeout, nothing received in %u ms (1001)", quiet);
        send_close(c, ws::kCloseGoingAway, "idle timeout");
        flush(c);
        // A dead peer never answers the Close: do not linger for it.
        if (c.state == ConnState::kClosing || c.state == ConnState::kLingering) condemn(c);
        return;
    }
    // The timer is not moved when bytes arrive (most deadlines are never reached); it fires
    // at the deadline computed last time and the state says what is due now. With a Ping
    // outstanding, the deadline was the next Ping's, so another one is due.
    bool ping_due = c.has(kFlagPinged) || quiet >= cfg_.ping_interval_ms;
    uint32_t next = ping_due ? cfg_.ping_interval_ms : cfg_.ping_interval_ms - quiet;
    if (ping_due) {
        if (ping_ == nullptr) ping_ = push::Message::make(ws::Opcode::kPing, nullptr, 0);
        if (ping_ == nullptr) {
            out_of_memory(c);
            return;
        }
        send(c, ping_);  // one shared frame for every heartbeat
        if (c.state != ConnState::kOpen) return;
        c.set(kFlagPinged);
    }
    wheel_.arm(cold(c).timer, now_ms_ + std::min(next, cfg_.idle_timeout_ms - quiet));
}

void Server::flush_pending() {
    // Redis' output, and what it answered and delivered, before the turn's writes.
    if (redis_) [[unlikely]] redis_turn();
    // The turn's publications are made durable before any reply to them is written.
    journal_commit();
    // Control clients first (TAIL output, replies): what they run may queue more frames.
    if (control_) control_->flush_pending();
    if (worker_) {
        tail_turn();
        history_pump();
        parent_flush();
    }
    if (send_ring_.ready() && flush_list_.size() > 1) flush_batched();
    else flush_each(0);
    flush_list_.clear();
}

void Server::flush_each(size_t from) {
    for (size_t i = from; i < flush_list_.size(); ++i) {
        Connection& c = conns_[flush_list_[i]];
        if (!c.has(kFlagInFlush)) continue;  // condemned since
        c.clear(kFlagInFlush);
        // Not writable: EPOLLOUT will call flush() when the socket drains.
        if (c.has(kFlagWritable)) flush(c);
    }
}

void Server::flush_batched() {
    // flush() for many connections at once: one write each, kBatch per system call. A
    // connection whose write went out whole with more still queued (over 64 frames or
    // 4 KiB behind it) goes to the back of the list for another round.
    size_t i = 0;
    while (i < flush_list_.size()) {
        uint32_t n = 0;
        for (; i < flush_list_.size() && n < net::SendRing::kBatch; ++i) {
            Connection& c = conns_[flush_list_[i]];
            if (!c.has(kFlagInFlush)) continue;  // condemned since
            c.clear(kFlagInFlush);
            if (!c.has(kFlagWritable)) continue;  // EPOLLOUT will flush it
            if (c.out.empty()) {
                flush(c);  // nothing to send; flush() still finishes a closing connection
                continue;
            }
            BatchSlot& b = batch_[n];
            b.conn = &c;
            c.out.prepare(b.write);
            memset(&b.msg, 0, sizeof b.msg);
            b.msg.msg_iov = b.write.iov;
            b.msg.msg_iovlen = b.write.count;
            send_ring_.add(fd_of(c), &b.msg, n);
            ++n;
        }
        if (n == 0) continue;
        int error = 0;
        const uint32_t taken = send_ring_.submit(
            [&](uint32_t tag, int32_t res) {
                BatchSlot& b = batch_[tag];
                Connection& c = *b.conn;
                if (res == -EAGAIN || res == -EWOULDBLOCK) {
                    wrote(c, 0, true);
                } else if (res < 0) {
                    wrote(c, res, false);
                } else {
                    c.out.advance(static_cast<size_t>(res));
                    const bool full = static_cast<size_t>(res) < b.write.asked;
                    wrote(c, res, full);
                    if (!full && c.state != ConnState::kDead && !c.out.empty()) schedule_flush(c);
                }
                b.conn = nullptr;
            },
            &error);
        stats_.writes += taken;
        // What the ring did not take (the kernel short of memory for requests) is written
        // here, one by one; nothing of it was sent.
        for (uint32_t k = taken; k < n; ++k) flush(*batch_[k].conn);
        if (taken == 0 && error != 0 && error != EAGAIN && error != ENOMEM) {
            // The ring refuses submissions altogether: one write per socket from now on.
            LOG_WARN("io_uring submission failed (%s): writing socket by socket", strerror(error));
            send_ring_.close();
            flush_each(i);
            return;
        }
    }
}

void Server::condemn(Connection& c) {
    if (c.state == ConnState::kDead || c.state == ConnState::kFree) return;
    if (c.state == ConnState::kOpen) {
        --stats_.clients;
        leave_channels(c);
        unbind_id(c);
    } else if (c.state == ConnState::kHttp) {
        redis_unpark(c);
    }
    // Off live_: the last entry takes c's place (callers iterate live_ backwards).
    int32_t last = live_.back();
    live_[cold(c).live_index] = last;
    colds_[last].live_index = cold(c).live_index;
    live_.pop_back();
    wheel_.cancel(cold(c).timer);
    c.clear(kFlagInFlush | kFlagReady);  // stale entries in those lists are skipped
    c.out.clear();
    if (corked_ == &c) {
        corked_ = nullptr;
        cork_len_ = 0;
    }
    if (c.in) {
        c.in->unref();
        c.in = nullptr;
    }
    if (c.state == ConnState::kHttp) end_http_session(c);
    c.state = ConnState::kDead;
    dead_.push_back(fd_of(c));
    // A burst that ended, or the last client gone: give memory back once things settle.
    if (trim_at_ == 0 && (live_.empty() || live_.size() + kTrimDrop <= trim_sockets_))
        trim_at_ = now_ms_ + kTrimDelayMs;
}

void Server::reap() {
    for (int32_t fd : dead_) {
        Connection& c = conns_[fd];
        free_more(c);
        c.~Connection();
        new (&c) Connection();
        colds_[fd].~ConnectionCold();
        new (&colds_[fd]) ConnectionCold();
        // Closed only now, so no event still queued for the number can reach a new
        // connection that reused it.
        ::close(fd);
    }
    bool freed = !dead_.empty();
    dead_.clear();
    if (control_) control_->reap();
    if (freed && accept_retry_at_ == 0 && spare_fd_ < 0) accept_retry_at_ = now_ms_;
}

void Server::release_unused(void* table, size_t stride) const {
    // Mark the pages live slots overlap, release the rest up to high_fd_.
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    const size_t used_bytes = (static_cast<size_t>(high_fd_) + 1) * stride;
    const size_t npages = (used_bytes + page - 1) / page;
    std::vector<bool> busy(npages, false);
    for (int32_t fd : live_) {
        size_t first = static_cast<size_t>(fd) * stride / page;
        size_t last = (static_cast<size_t>(fd) + 1) * stride - 1;
        for (size_t p = first; p <= last / page && p < npages; ++p) busy[p] = true;
    }
    char* base = static_cast<char*>(table);
    for (size_t p = 0; p < npages;) {
        if (busy[p]) {
            ++p;
            continue;
        }
        size_t q = p;
        while (q < npages && !busy[q]) ++q;
        madvise(base + p * page, (q - p) * page, MADV_DONTNEED);
        p = q;
    }
}

void Server::release_pages(void* p, size_t n) {
    // Whole pages inside [p, p + n) only: the allocator's header before p stays.
    const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
    const uintptr_t from = (reinterpret_cast<uintptr_t>(p) + page - 1) & ~(page - 1);
    const uintptr_t to = (reinterpret_cast<uintptr_t>(p) + n) & ~(page - 1);
    if (to > from) madvise(reinterpret_cast<void*>(from), to - from, MADV_DONTNEED);
}

void Server::trim_memory() {
    trim_at_ = 0;
    trim_sockets_ = live_.size();
    // Table pages that hold no live connection go back (they read as zeros, kFree, if
    // touched again).
    if (high_fd_ >= 0) {
        release_unused(conns_, sizeof(Connection));
        release_unused(colds_, sizeof(ConnectionCold));
        int32_t high = -1;
        for (int32_t fd : live_) high = std::max(high, fd);
        high_fd_ = high;
    }
    // The read buffer, the cork and the send batch are rewritten before every use: their
    // pages go back too (a burst of large echoes or a fan-out touched them).
    release_pages(rbuf_, kReadBufSize + kCorkSize);
    if (batch_) release_pages(batch_, sizeof(BatchSlot) * net::SendRing::kBatch);
    // Vectors sized for a burst shrink back; then the heap's free tail goes to the system.
    for (auto* v : {&live_, &flush_list_, &ready_list_, &dead_})
        if (v->capacity() > 4 * v->size() + 1024) v->shrink_to_fit();
    malloc_trim(0);
    ++stats_.memory_trims;
}

}  // namespace wspush::server
