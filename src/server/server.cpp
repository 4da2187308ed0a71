#include "server/server.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstddef>
#include <cstring>
#include <fcntl.h>
#include <new>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "ctl/command.h"
#include "ctl/control_client.h"
#include "http/handshake.h"
#include "http/response.h"
#include "net/socket.h"
#include "server/demo_page.h"

namespace wspush::server {
namespace {

// epoll tags: the low 3 bits say what the event is for; client fds are shifted up,
// control clients are 8-aligned pointers.
constexpr uint64_t kTagListen = 1;
constexpr uint64_t kTagControlListen = 2;
constexpr uint64_t kTagSignal = 3;
constexpr uint64_t kTagClient = 4;
constexpr uint64_t kTagControl = 5;
constexpr uint64_t kTagMask = 7;

constexpr size_t kReadBufSize = 64 * 1024;
constexpr int kMaxReadsPerEvent = 16;     // 1 MiB per client per turn, then the next client
constexpr int kMaxEvents = 256;
constexpr uint32_t kLingerMs = 2000;      // after our Close/response: wait for the peer's FIN
constexpr uint32_t kShutdownMs = 3000;    // SIGTERM: time to flush the 1001 Close frames
constexpr uint32_t kFdReserve = 64;       // descriptors kept for listeners, control clients
constexpr size_t kMaxChannelsPerClient = 16;
constexpr std::string_view kEnvelopeProtocol = "wspush.v1";

constexpr char kServerFull[] =
    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n"
    "Connection: close\r\nRetry-After: 5\r\n\r\nserver full\n";

Connection& owner_of(base::TimerNode& t) {
    return *reinterpret_cast<Connection*>(reinterpret_cast<char*>(&t) - offsetof(Connection, timer));
}

bool parse_seq(std::string_view s, uint64_t& out) {
    if (s.empty() || s.size() > 19) return false;
    uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    out = v;
    return true;
}

// Channel epochs: a random start id in the high half, so that they differ across
// restarts; the hub adds its creation counter.
uint64_t epoch_base() {
    uint32_t id = 0;
    if (getrandom(&id, sizeof id, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof id))
        id = static_cast<uint32_t>(time(nullptr)) ^ (static_cast<uint32_t>(getpid()) << 16);
    return static_cast<uint64_t>(id) << 32;
}

}  // namespace

// Frame parser events for one connection, for the duration of one parse() call.
struct FrameEvents final : ws::FrameSink {
    FrameEvents(Server& s, Connection& c) : srv(s), conn(c) {}
    void on_data(ws::Opcode op, uint8_t* p, size_t n, bool end) noexcept override {
        if (conn.state != ConnState::kOpen) return;
        if (conn.in == nullptr && end) {
            srv.on_message(conn, op, p, n, nullptr);  // whole in one read: no copy
            return;
        }
        push::Message* in = conn.in ? conn.in : push::Message::make_buffer(std::max<size_t>(n, 4096));
        push::Message* grown = in ? push::Message::append(in, p, n) : nullptr;
        if (grown == nullptr) {
            if (in) in->unref();
            conn.in = nullptr;
            srv.out_of_memory(conn);
            return;
        }
        conn.in = grown;
        if (end) {
            push::Message* m = conn.in;
            conn.in = nullptr;
            srv.on_message(conn, op, m->payload(), m->payload_size(), m);
            m->unref();
        }
    }
    void on_ping(const uint8_t* p, size_t n) noexcept override {
        if (conn.state != ConnState::kOpen) return;
        push::Message* m = push::Message::make(ws::Opcode::kPong, p, n);
        if (m == nullptr) {
            srv.out_of_memory(conn);
            return;
        }
        srv.send_reply(conn, m);
        m->unref();
    }
    void on_pong(const uint8_t*, size_t) noexcept override {}  // liveness is any byte in
    void on_close(uint16_t code, std::string_view) noexcept override {
        // Echo the peer's code (RFC 6455 5.5.1); none if it sent none.
        srv.send_close(conn, code == ws::kCloseNoStatus ? 0 : code, {});
    }
    Server& srv;
    Connection& conn;
};

Server::Server(const Config& cfg)
    : cfg_(cfg), wheel_(base::monotonic_ms()), hub_(push::HubLimits{.history = cfg.history, .epoch_base = epoch_base()}) {
    for (const std::string& p : cfg_.protocols) protocol_views_.push_back(p);
    if (cfg_.mode != Mode::kEcho &&
        std::find(protocol_views_.begin(), protocol_views_.end(), kEnvelopeProtocol) == protocol_views_.end())
        protocol_views_.push_back(kEnvelopeProtocol);
    for (const std::string& o : cfg_.origins) origin_views_.push_back(o);
}

Server::~Server() {
    for (size_t fd = 0; fd < conns_cap_; ++fd) {
        if (conns_ && conns_[fd].state != ConnState::kFree) close_now(conns_[fd]);
    }
    finish_closes();
    for (ctl::ControlClient* cc : controls_) {
        ::close(cc->fd);
        delete cc;
    }
    for (ctl::ControlClient* cc : dead_controls_) delete cc;
    for (auto& [name, id] : ids_) delete id;
    if (conns_) munmap(conns_, conns_bytes_);
    if (ping_) ping_->unref();
    free(rbuf_);
    for (int fd : {listen_fd_, control_fd_, signal_fd_, spare_fd_})
        if (fd >= 0) ::close(fd);
    if (control_fd_ >= 0) unlink(cfg_.control_path.c_str());
}

bool Server::start(std::string& err) {
    base::set_log_level(cfg_.log_level);
    // Every connection is a descriptor: take the whole hard limit.
    rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    getrlimit(RLIMIT_NOFILE, &rl);
    uint64_t nofile = std::min<uint64_t>(rl.rlim_cur, 1u << 22);
    if (nofile <= kFdReserve + 1) {
        err = "descriptor limit too low (" + std::to_string(nofile) + ")";
        return false;
    }
    max_clients_ = static_cast<uint32_t>(nofile - kFdReserve);
    if (cfg_.max_connections && cfg_.max_connections < max_clients_) max_clients_ = cfg_.max_connections;

    // One slot per possible descriptor. Anonymous pages cost nothing until a connection
    // with that fd touches them.
    conns_cap_ = nofile;
    conns_bytes_ = conns_cap_ * sizeof(Connection);
    void* mem = mmap(nullptr, conns_bytes_, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mem == MAP_FAILED) {
        err = std::string("mmap connection table: ") + strerror(errno);
        return false;
    }
    conns_ = static_cast<Connection*>(mem);
    rbuf_ = static_cast<uint8_t*>(malloc(kReadBufSize));

    if (int rc = reactor_.open(); rc < 0) {
        err = std::string("epoll_create1: ") + strerror(-rc);
        return false;
    }
    signal(SIGPIPE, SIG_IGN);  // writev has no MSG_NOSIGNAL; EPIPE is handled where it occurs
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, nullptr);
    signal_fd_ = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (signal_fd_ < 0) {
        err = std::string("signalfd: ") + strerror(errno);
        return false;
    }
    spare_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);

    listen_fd_ = net::listen_tcp(cfg_.listen_host, cfg_.listen_port, err);
    if (listen_fd_ < 0) return false;
    if (cfg_.mode != Mode::kEcho) {
        control_fd_ = net::listen_unix(cfg_.control_path, err);
        if (control_fd_ < 0) return false;
    }
    if (reactor_.add(listen_fd_, EPOLLIN | EPOLLET, kTagListen) < 0 ||
        reactor_.add(signal_fd_, EPOLLIN | EPOLLET, kTagSignal) < 0 ||
        (control_fd_ >= 0 && reactor_.add(control_fd_, EPOLLIN | EPOLLET, kTagControlListen) < 0)) {
        err = std::string("epoll_ctl: ") + strerror(errno);
        return false;
    }
    now_ms_ = start_ms_ = base::monotonic_ms();
    LOG_INFO("descriptor limit %llu: up to %u WebSocket connections", static_cast<unsigned long long>(nofile),
             max_clients_);
    if (control_fd_ >= 0) LOG_INFO("control socket %s", cfg_.control_path.c_str());
    LOG_INFO("listening on %s (%s mode, up to %u connections)", net::local_address(listen_fd_).c_str(),
             mode_name(cfg_.mode), max_clients_);
    return true;
}

int Server::run() {
    epoll_event evs[kMaxEvents];
    for (;;) {
        flush_pending();
        finish_closes();
        if (stopping_ && (stats_.sockets == 0 || now_ms_ >= stop_deadline_)) break;
        int timeout = wheel_.timeout_ms(now_ms_, 60'000);
        if (!ready_list_.empty()) timeout = 0;
        if (stopping_) timeout = timeout < 0 ? 100 : std::min(timeout, 100);
        int n = reactor_.wait(evs, kMaxEvents, timeout);
        now_ms_ = base::monotonic_ms();
        for (int i = 0; i < n; ++i) dispatch(evs[i]);
        // Clients that hit the per-turn read cap get their next turn now (edge-triggered:
        // epoll will not report them again until new data arrives).
        if (!ready_list_.empty()) {
            std::vector<int32_t> ready;
            ready.swap(ready_list_);
            for (int32_t fd : ready) {
                Connection& c = conns_[fd];
                if (c.state == ConnState::kFree || !(c.flags & kFlagReady)) continue;
                c.flags &= static_cast<uint8_t>(~kFlagReady);
                read_client(c, true);
            }
        }
        wheel_.expire(now_ms_, [this](base::TimerNode& t) { on_timer(t); });
        for (ctl::ControlClient* cc : dead_controls_) delete cc;
        dead_controls_.clear();
    }
    LOG_INFO("stopped");
    return 0;
}

void Server::dispatch(const epoll_event& ev) {
    uint64_t tag = ev.data.u64;
    switch (tag & kTagMask) {
        case kTagClient: {
            Connection& c = conns_[tag >> 3];
            if (c.state != ConnState::kFree) on_client_event(c, ev.events);
            break;
        }
        case kTagControl: {
            auto* cc = reinterpret_cast<ctl::ControlClient*>(tag & ~kTagMask);
            if (!cc->dead) on_control_event(*cc, ev.events);
            break;
        }
        case kTagListen: on_accept(); break;
        case kTagControlListen: on_control_accept(); break;
        case kTagSignal: on_signal(); break;
    }
}

void Server::on_accept() {
    for (;;) {
        int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;
            if ((errno == EMFILE || errno == ENFILE) && spare_fd_ >= 0) {
                // Out of descriptors: free the spare, accept and refuse one client, take the
                // spare back, so the backlog drains instead of the listener spinning.
                ::close(spare_fd_);
                int refused = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (refused >= 0) {
                    ssize_t w = write(refused, kServerFull, sizeof kServerFull - 1);
                    (void)w;
                    ::close(refused);
                    ++stats_.drop_server_full;
                }
                spare_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
                LOG_WARN("accept: out of descriptors; refused a connection");
                if (refused < 0) return;
                continue;
            }
            LOG_WARN("accept: %s", strerror(errno));
            return;
        }
        ++stats_.connections_total;
        if (stopping_ || stats_.sockets >= max_clients_ || static_cast<size_t>(fd) >= conns_cap_) {
            ssize_t w = write(fd, kServerFull, sizeof kServerFull - 1);
            (void)w;
            ::close(fd);
            ++stats_.drop_server_full;
            continue;
        }
        Connection& c = *new (&conns_[fd]) Connection();
        c.fd = fd;
        c.state = ConnState::kHttp;
        c.flags = kFlagWritable;
        c.serial = next_serial_++;
        c.last_rx = now32();
        net::tune_tcp(fd);
        if (reactor_.add(fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, (static_cast<uint64_t>(fd) << 3) | kTagClient) < 0) {
            c.~Connection();
            new (&c) Connection();
            ::close(fd);
            continue;
        }
        ++stats_.sockets;
        wheel_.arm(c.timer, now_ms_ + cfg_.handshake_timeout_ms);
    }
}

void Server::on_signal() {
    signalfd_siginfo si;
    while (read(signal_fd_, &si, sizeof si) == sizeof si) {
        if (!stopping_) {
            LOG_INFO("signal %u: closing every client with 1001", si.ssi_signo);
            begin_shutdown();
        }
    }
}

void Server::begin_shutdown() {
    stopping_ = true;
    stop_deadline_ = now_ms_ + kShutdownMs;
    if (listen_fd_ >= 0) {
        ::close(listen_fd_);
        listen_fd_ = -1;
    }
    if (control_fd_ >= 0) {
        ::close(control_fd_);
        control_fd_ = -1;
        unlink(cfg_.control_path.c_str());
    }
    while (!controls_.empty()) control_close(*controls_.back());
    for (size_t fd = 0; fd < conns_cap_ && stats_.sockets > 0; ++fd) {
        Connection& c = conns_[fd];
        if (c.state == ConnState::kOpen) send_close(c, ws::kCloseGoingAway, "server shutting down");
        else if (c.state == ConnState::kHttp) close_now(c);
    }
}

void Server::on_timer(base::TimerNode& t) {
    Connection& c = owner_of(t);
    switch (c.state) {
        case ConnState::kHttp:
            // Slowloris: the request head did not complete in time.
            ++stats_.drop_handshake_timeout;
            reply_http(c, 408, "request head not received in time");
            break;
        case ConnState::kOpen: heartbeat(c); break;
        case ConnState::kClosing: close_now(c); break;
        case ConnState::kFree: break;
    }
}

void Server::heartbeat(Connection& c) {
    uint32_t now = now32();
    uint32_t quiet = now - c.last_rx;
    if (quiet >= cfg_.idle_timeout_ms) {
        ++stats_.drop_idle_timeout;
        LOG_DEBUG("fd %d: silent for %u ms, closing", c.fd, quiet);
        send_close(c, ws::kCloseGoingAway, "idle timeout");
        flush(c);
        if (c.state != ConnState::kFree) close_now(c);
        return;
    }
    // The timer is not moved when bytes arrive (most deadlines are never reached); it fires
    // at the deadline computed last time and the state says what is due now. With a Ping
    // outstanding, the deadline was the next Ping's, so another one is due.
    bool ping_due = (c.flags & kFlagPinged) || quiet >= cfg_.ping_interval_ms;
    uint32_t next = ping_due ? cfg_.ping_interval_ms : cfg_.ping_interval_ms - quiet;
    if (ping_due) {
        if (ping_ == nullptr) ping_ = push::Message::make(ws::Opcode::kPing, nullptr, 0);
        if (ping_ == nullptr) {
            out_of_memory(c);
            return;
        }
        send(c, ping_);  // one shared frame for every heartbeat
        if (c.state != ConnState::kOpen) return;
        c.flags |= kFlagPinged;
    }
    wheel_.arm(c.timer, now_ms_ + std::min(next, cfg_.idle_timeout_ms - quiet));
}

void Server::on_client_event(Connection& c, uint32_t events) {
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        read_client(c, (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0);
    if (c.state != ConnState::kFree && (events & EPOLLOUT)) {
        c.flags |= kFlagWritable;
        if (!c.out.empty()) flush(c);
    }
}

void Server::read_client(Connection& c, bool drain) {
    for (int i = 0; i < kMaxReadsPerEvent; ++i) {
        if (c.state == ConnState::kOpen && c.out.cost() >= cfg_.send_buffer) {
            // Backpressure on input: a peer that does not read its echoes/pongs is not read
            // either until they drain (flush() resumes it).
            c.flags |= kFlagInputPaused;
            return;
        }
        ssize_t n = ::read(c.fd, rbuf_, kReadBufSize);
        if (n > 0) {
            stats_.bytes_in += static_cast<uint64_t>(n);
            on_bytes(c, rbuf_, static_cast<size_t>(n));
            if (c.state == ConnState::kFree) return;
            // A short read emptied the socket buffer: skip the read that would only say
            // EAGAIN. Bytes arriving later raise a new edge (nginx clears rev->ready alike).
            // Unless the peer's FIN came with this edge: then read on to the 0.
            if (!drain && static_cast<size_t>(n) < kReadBufSize) return;
            continue;
        }
        if (n == 0) {
            // The peer finished sending (or vanished). Hand over whatever is queued, then
            // close: at once if nothing is left, else when it drains (or the linger ends).
            if (!c.out.empty() && !(c.flags & kFlagShutWr)) flush(c);
            if (c.state == ConnState::kFree) return;
            if (c.out.empty() || (c.flags & kFlagShutWr)) {
                close_now(c);
                return;
            }
            if (c.flags & kFlagPeerDone) return;  // seen before: the linger already runs
            if (c.state == ConnState::kOpen) --stats_.clients;
            c.state = ConnState::kClosing;
            c.flags |= kFlagPeerDone;
            wheel_.arm(c.timer, now_ms_ + kLingerMs);
            return;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        if (errno == EINTR) continue;
        close_now(c);  // ECONNRESET and friends
        return;
    }
    if (!(c.flags & kFlagReady)) {
        c.flags |= kFlagReady;
        ready_list_.push_back(c.fd);
    }
}

void Server::on_bytes(Connection& c, uint8_t* p, size_t n) {
    switch (c.state) {
        case ConnState::kHttp: on_http_bytes(c, p, n); break;
        case ConnState::kOpen:
            c.last_rx = now32();
            c.flags &= static_cast<uint8_t>(~kFlagPinged);
            on_frames(c, p, n);
            break;
        case ConnState::kClosing:  // after our Close: discard until the peer's FIN
        case ConnState::kFree: break;
    }
}

void Server::on_http_bytes(Connection& c, uint8_t* p, size_t n) {
    http::Request req;
    uint8_t* buf = p;
    size_t len = n;
    size_t last = 0;
    if (c.in) {
        last = c.in->payload_size();
        push::Message* grown = push::Message::append(c.in, p, n);
        if (grown == nullptr) {
            fail(c);  // out of memory (fail() drops c.in)
            return;
        }
        c.in = grown;
        buf = c.in->payload();
        len = c.in->payload_size();
    }
    http::ParseResult r = http::parse_request(reinterpret_cast<const char*>(buf), len, last, req);
    switch (r.status) {
        case http::ParseStatus::kNeedMore:
            if (c.in == nullptr) {
                c.in = push::Message::make_buffer(std::max<size_t>(n, 1024));
                push::Message* grown = c.in ? push::Message::append(c.in, p, n) : nullptr;
                if (grown == nullptr) {
                    fail(c);  // out of memory
                    return;
                }
                c.in = grown;
            }
            return;
        case http::ParseStatus::kError:
            reply_http(c, r.http_status, r.reason);
            return;
        case http::ParseStatus::kDone: break;
    }
    // The head buffer must outlive the request's views and the early frame bytes behind it.
    push::Message* head = c.in;
    c.in = nullptr;
    if (on_request(c, req) && c.state == ConnState::kOpen && len > r.consumed)
        on_frames(c, buf + r.consumed, len - r.consumed);
    if (head) head->unref();
}

bool Server::on_request(Connection& c, const http::Request& req) {
    if (!http::wants_upgrade(req)) {
        if (req.method != "GET" && req.method != "HEAD") {
            reply_http(c, 405, "only GET is served here");
            return false;
        }
        std::string_view path = req.target.substr(0, req.target.find('?'));
        if (cfg_.mode == Mode::kEcho) {
            reply_http(c, 426, "this endpoint speaks WebSocket only");
            return false;
        }
        bool head_only = req.method == "HEAD";  // RFC 9110 9.3.2: same head, no body
        if (path == "/" || path == "/index.html") {
            reply_body(c, "text/html; charset=utf-8", demo_page(), head_only);
        } else if (cfg_.http_stats && path == "/stats") {
            reply_body(c, "application/json", stats_json(), head_only);
        } else if (cfg_.http_stats && path == "/metrics") {
            reply_body(c, "text/plain; version=0.0.4", metrics_text(), head_only);
        } else if (path.starts_with("/ws/")) {
            reply_http(c, 426, "upgrade to WebSocket to join a channel");
        } else {
            reply_http(c, 404, "no such page");
        }
        return false;
    }
    http::HandshakeOptions opt{protocol_views_, origin_views_};
    http::Handshake hs = http::check_upgrade(req, opt);
    if (hs.status != 101) {
        reply_http(c, hs.status, hs.reason);
        return false;
    }
    return upgrade(c, req, hs.protocol, hs.path, hs.query, hs.accept);
}

bool Server::upgrade(Connection& c, const http::Request&, std::string_view protocol,
                     std::string_view path, std::string_view query, const char (&accept)[28]) {
    struct Want {
        std::string_view name;
        uint64_t since;
        bool resume;
    };
    Want wants[kMaxChannelsPerClient];
    size_t nwant = 0;
    std::string_view id;
    bool envelope = protocol == kEnvelopeProtocol;

    if (cfg_.mode != Mode::kEcho) {
        if (!path.starts_with("/ws/")) {
            reply_http(c, 404, "channels live under /ws/<channel>");
            return false;
        }
        auto add = [&](std::string_view name) -> bool {
            if (!push::valid_name(name)) {
                reply_http(c, 400, "invalid channel name: use 1-64 of A-Z a-z 0-9 _ . -");
                return false;
            }
            for (size_t i = 0; i < nwant; ++i)
                if (wants[i].name == name) return true;
            if (nwant == kMaxChannelsPerClient) {
                reply_http(c, 400, "too many channels (at most 16)");
                return false;
            }
            wants[nwant++] = Want{name, 0, false};
            return true;
        };
        if (!add(path.substr(4))) return false;
        std::string_view plain_since;
        std::vector<std::pair<std::string_view, std::string_view>> sinces;
        while (!query.empty()) {
            size_t amp = query.find('&');
            std::string_view kv = query.substr(0, amp);
            query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
            if (kv.empty()) continue;
            size_t eq = kv.find('=');
            std::string_view key = kv.substr(0, eq);
            std::string_view val = eq == std::string_view::npos ? std::string_view{} : kv.substr(eq + 1);
            if (key == "ch") {
                if (!add(val)) return false;
            } else if (key == "id") {
                if (!push::valid_name(val)) {
                    reply_http(c, 400, "invalid client id: use 1-64 of A-Z a-z 0-9 _ . -");
                    return false;
                }
                id = val;
            } else if (key == "since") {
                size_t colon = val.rfind(':');
                if (colon == std::string_view::npos) plain_since = val;
                else sinces.emplace_back(val.substr(0, colon), val.substr(colon + 1));
                if (plain_since.empty() && colon == std::string_view::npos) {
                    reply_http(c, 400, "since: expected <seq> or <channel>:<seq>");
                    return false;
                }
            } else {
                reply_http(c, 400, "unknown query parameter (expected ch, id, since)");
                return false;
            }
        }
        if (!plain_since.empty()) {
            if (nwant > 1) {
                reply_http(c, 400, "since=<seq> is ambiguous with several channels: use since=<channel>:<seq>");
                return false;
            }
            if (!parse_seq(plain_since, wants[0].since)) {
                reply_http(c, 400, "since: expected a sequence number");
                return false;
            }
            wants[0].resume = true;
        }
        for (auto& [name, seq] : sinces) {
            Want* w = nullptr;
            for (size_t i = 0; i < nwant; ++i)
                if (wants[i].name == name) w = &wants[i];
            if (w == nullptr) {
                reply_http(c, 400, "since: names a channel this connection does not join");
                return false;
            }
            if (!parse_seq(seq, w->since)) {
                reply_http(c, 400, "since: expected a sequence number");
                return false;
            }
            w->resume = true;
        }
        // A client that cannot be told about a gap in-band is refused instead of being
        // handed a partial history silently.
        if (!envelope) {
            for (size_t i = 0; i < nwant; ++i) {
                if (!wants[i].resume) continue;
                push::Channel* ch = hub_.find(wants[i].name);
                uint64_t next = ch ? ch->next_seq : 1;
                uint64_t first = ch ? ch->first_kept() : 1;
                if (wants[i].since + 1 < first || wants[i].since >= next) {
                    if (wants[i].since == 0 && next == 1) continue;
                    reply_http(c, 410, "messages after since= are no longer kept: resync without since, or use wspush.v1");
                    return false;
                }
            }
        }
    }

    char resp[512];
    size_t rn = http::write_upgrade_response(resp, sizeof resp, accept, protocol);
    push::Message* m = push::Message::make_raw(resp, rn);
    if (m == nullptr || !c.out.push(m)) {
        if (m) m->unref();
        fail(c);  // out of memory
        return false;
    }
    m->unref();
    c.state = ConnState::kOpen;
    ++stats_.clients;
    if (envelope) c.flags |= kFlagEnvelope;
    c.last_rx = now32();
    wheel_.arm(c.timer, now_ms_ + std::min(cfg_.ping_interval_ms, cfg_.idle_timeout_ms));

    if (cfg_.mode != Mode::kEcho) {
        if (!id.empty()) {
            auto it = ids_.find(std::string(id));
            NamedId* nid;
            if (it == ids_.end()) {
                nid = new NamedId{std::string(id), {}};
                ids_.emplace(nid->name, nid);
            } else {
                nid = it->second;
            }
            nid->fds.push_back(c.fd);
            c.id = nid;
        }
        if (nwant > 1) {
            c.more = new push::Subscription[nwant - 1];
            c.nmore = static_cast<uint16_t>(nwant - 1);
        }
        for (size_t i = 0; i < nwant; ++i) {
            push::Channel* ch = hub_.channel(wants[i].name);
            if (ch == nullptr) {
                send_close(c, ws::kCloseInternalError, hub_.at_channel_limit() ? "too many channels" : "out of memory");
                break;
            }
            push::Subscription& s = c.subscription(i);
            s.owner = static_cast<uint32_t>(c.fd);
            if (wants[i].resume) {
                // Single-threaded: nothing is published between this replay and the join,
                // so the client sees every message after `since` exactly once, in order.
                bool whole = hub_.replay(*ch, push::Since{wants[i].since, 0, false},
                                         [&](push::Publication& pub) { deliver_replay(c, pub); });
                if (!whole) {
                    push::Message* g = hub_.gap_notice(*ch, wants[i].since);
                    // part of the catch-up, like the replay: not held to the cap
                    if (g == nullptr || !c.out.push(g)) out_of_memory(c);
                    if (g) g->unref();
                    hub_.replay_all(*ch, [&](push::Publication& pub) { deliver_replay(c, pub); });
                }
            }
            if (!hub_.join(*ch, s)) out_of_memory(c);
            if (c.state != ConnState::kOpen) break;
        }
    }
    schedule_flush(c);
    LOG_DEBUG("fd %d: upgraded (%.*s)", c.fd, static_cast<int>(protocol.size()), protocol.data());
    return true;
}

void Server::on_frames(Connection& c, uint8_t* p, size_t n) {
    FrameEvents events(*this, c);
    ws::ParseStatus st = c.parser.parse(p, n, cfg_.max_message, events);
    if (st == ws::ParseStatus::kError && c.state == ConnState::kOpen) {
        const ws::FrameError& e = c.parser.error();
        ++stats_.drop_protocol_error;
        LOG_DEBUG("fd %d: closing %u (%s)", c.fd, e.code, e.reason);
        send_close(c, e.code, e.reason);
    }
}

void Server::on_message(Connection& c, ws::Opcode op, const uint8_t* p, size_t n, push::Message* whole) {
    ++stats_.messages_in;
    switch (cfg_.mode) {
        case Mode::kEcho: {
            push::Message* m;
            if (whole) {
                whole->seal(op);  // the assembled buffer becomes the reply frame as it is
                m = whole;
                m->ref();
            } else {
                m = push::Message::make(op, p, n);
                if (m == nullptr) {
                    out_of_memory(c);
                    break;
                }
            }
            send_reply(c, m);
            m->unref();
            break;
        }
        case Mode::kRelay: {
            for (size_t i = 0; i < c.channel_count(); ++i) {
                push::Subscription& s = c.subscription(i);
                push::PublishResult r = hub_.publish(*s.channel, op, p, n, &s,
                                                     [this](push::Subscription& to, push::Publication& pub) { deliver(to, pub); });
                if (!r.ok) {
                    out_of_memory(c);
                    break;
                }
                ++stats_.published;
            }
            tail(c, op, p, n);
            break;
        }
        case Mode::kPush: tail(c, op, p, n); break;
    }
}

void Server::deliver(push::Subscription& s, push::Publication& pub) {
    Connection& c = conns_[s.owner];
    if (c.state != ConnState::kOpen) return;
    push::Message* m = (c.flags & kFlagEnvelope) ? pub.envelope() : pub.raw();
    if (m == nullptr) {
        out_of_memory(c);
        return;
    }
    send(c, m);
}

void Server::deliver_replay(Connection& c, push::Publication& pub) {
    // History is shared frames: replaying it queues references, so it is not held to
    // --send-buffer (which bounds how far a live client may fall behind).
    if (c.state != ConnState::kOpen) return;
    push::Message* m = (c.flags & kFlagEnvelope) ? pub.envelope() : pub.raw();
    if (m == nullptr || !c.out.push(m)) {
        out_of_memory(c);
        return;
    }
    ++stats_.messages_out;
}

void Server::send_reply(Connection& c, push::Message* m) {
    if (c.state != ConnState::kOpen) return;
    // No slow-consumer verdict here: replies grow only as fast as the peer sends, and
    // read_client() stops reading a peer whose replies pile up (TCP pushes back on it).
    // A Pong replaces one still queued unstarted (RFC 6455 5.5.3): a Ping flood holds one.
    bool queued = m->opcode() == ws::Opcode::kPong ? c.out.push_pong(m) : c.out.push(m);
    if (!queued) {
        out_of_memory(c);
        return;
    }
    if (m->opcode() == ws::Opcode::kText || m->opcode() == ws::Opcode::kBinary) ++stats_.messages_out;
    schedule_flush(c);
}

void Server::send(Connection& c, push::Message* m) {
    if (c.state != ConnState::kOpen) return;
    // Over the cap: first hand the kernel what it will take (a burst published within one
    // loop turn must not count against a client that reads), then judge.
    if (c.out.cost_behind_head() >= cfg_.send_buffer && (c.flags & kFlagWritable)) {
        flush(c);
        if (c.state != ConnState::kOpen) return;
    }
    if (c.out.cost_behind_head() >= cfg_.send_buffer) {
        // Slow consumer: what it has not read already fills its cap. It stops being served
        // rather than making the server grow. (One message larger than the cap is still
        // sent whole to a client that keeps up: the cap bounds the backlog behind the frame
        // being written, not a message.)
        ++stats_.drop_slow_consumer;
        LOG_DEBUG("fd %d: slow consumer (%llu bytes queued)", c.fd, static_cast<unsigned long long>(c.out.bytes()));
        c.out.drop_unstarted();
        send_close(c, ws::kClosePolicyViolation, "slow consumer");
        return;
    }
    if (!c.out.push(m)) {
        out_of_memory(c);
        return;
    }
    if (m->opcode() == ws::Opcode::kText || m->opcode() == ws::Opcode::kBinary) ++stats_.messages_out;
    schedule_flush(c);
}

void Server::send_close(Connection& c, uint16_t code, std::string_view reason) {
    if (c.state != ConnState::kOpen) return;
    uint8_t payload[ws::kMaxControlPayload];
    size_t n = 0;
    if (code) {
        payload[0] = static_cast<uint8_t>(code >> 8);
        payload[1] = static_cast<uint8_t>(code);
        n = 2 + std::min(reason.size(), ws::kMaxControlPayload - 2);
        if (n > 2) memcpy(payload + 2, reason.data(), n - 2);  // data() may be null when empty
    }
    push::Message* m = push::Message::make(ws::Opcode::kClose, payload, n);
    if (m == nullptr || !c.out.push(m)) {
        if (m) m->unref();
        fail(c);  // out of memory even for the Close frame: drop the connection
        return;
    }
    m->unref();
    c.state = ConnState::kClosing;
    --stats_.clients;
    wheel_.arm(c.timer, now_ms_ + kLingerMs);
    if (c.in) {
        c.in->unref();
        c.in = nullptr;
    }
    schedule_flush(c);
}

void Server::reply_http(Connection& c, uint16_t status, std::string_view reason) {
    if (c.state != ConnState::kHttp) return;
    ++stats_.drop_http_error;
    char buf[1024];
    size_t n = http::write_error_response(buf, sizeof buf, status, reason);
    respond(c, push::Message::make_raw(buf, n));
}

void Server::reply_body(Connection& c, std::string_view type, std::string_view body, bool head_only) {
    char head[512];
    size_t hn = http::write_ok_head(head, sizeof head, type, body.size());
    // An unsealed buffer goes out as the raw bytes appended to it: no second copy.
    push::Message* m = push::Message::make_buffer(hn + body.size());
    if (m) {  // the capacity is exact: the appends do not reallocate
        m = push::Message::append(m, head, hn);
        if (!head_only) m = push::Message::append(m, body.data(), body.size());
    }
    respond(c, m);
}

void Server::respond(Connection& c, push::Message* raw) {
    if (raw == nullptr || !c.out.push(raw)) {
        if (raw) raw->unref();
        fail(c);  // out of memory
        return;
    }
    raw->unref();
    c.state = ConnState::kClosing;
    wheel_.arm(c.timer, now_ms_ + kLingerMs);
    if (c.in) {
        c.in->unref();
        c.in = nullptr;
    }
    flush(c);
}

void Server::flush(Connection& c) {
    bool would_block = false;
    ++stats_.writes;
    long w = c.out.flush(c.fd, &would_block);
    if (w < 0) {
        fail(c);  // EPIPE, ECONNRESET: the peer is gone
        return;
    }
    stats_.bytes_out += static_cast<uint64_t>(w);
    if (would_block) c.flags &= static_cast<uint8_t>(~kFlagWritable);
    if ((c.flags & kFlagInputPaused) && c.out.cost() < cfg_.send_buffer) {
        c.flags &= static_cast<uint8_t>(~kFlagInputPaused);
        if (!(c.flags & kFlagReady)) {
            c.flags |= kFlagReady;
            ready_list_.push_back(c.fd);
        }
    }
    if (c.out.empty() && (c.flags & kFlagPeerDone) && c.state == ConnState::kClosing) {
        wheel_.arm(c.timer, now_ms_);  // all handed over to a peer that finished: close
        return;
    }
    if (c.out.empty() && c.state == ConnState::kClosing && !(c.flags & kFlagShutWr)) {
        // Our last bytes are out: send FIN, then drain until the peer's FIN (closing with
        // unread input would turn into an RST that can destroy the Close frame in flight).
        shutdown(c.fd, SHUT_WR);
        c.flags |= kFlagShutWr;
    }
}

void Server::out_of_memory(Connection& c) {
    LOG_WARN("fd %d: out of memory, closing it", c.fd);
    if (c.state != ConnState::kOpen) {
        fail(c);
        return;
    }
    c.out.drop_unstarted();  // room for the Close frame
    send_close(c, ws::kCloseInternalError, "out of memory");
}

void Server::fail(Connection& c) {
    if (c.state == ConnState::kOpen) --stats_.clients;
    c.state = ConnState::kClosing;
    c.flags |= kFlagShutWr | kFlagPeerDone;
    c.out.clear();
    if (c.in) {
        c.in->unref();
        c.in = nullptr;
    }
    wheel_.arm(c.timer, now_ms_);  // on_timer(kClosing) -> close_now
}

void Server::schedule_flush(Connection& c) {
    if (c.flags & kFlagInFlush) return;
    c.flags |= kFlagInFlush;
    flush_list_.push_back(c.fd);
}

void Server::flush_pending() {
    // Control clients first (TAIL output, replies): what they run may queue more frames.
    for (size_t i = 0; i < control_flush_list_.size(); ++i) {
        ctl::ControlClient* cc = control_flush_list_[i];
        cc->in_flush = false;
        if (!cc->dead) control_flush(*cc);
    }
    control_flush_list_.clear();
    for (size_t i = 0; i < flush_list_.size(); ++i) {
        Connection& c = conns_[flush_list_[i]];
        if (c.state == ConnState::kFree || !(c.flags & kFlagInFlush)) continue;
        c.flags &= static_cast<uint8_t>(~kFlagInFlush);
        // Not writable: EPOLLOUT will call flush() when the socket drains.
        if (c.flags & kFlagWritable) flush(c);
    }
    flush_list_.clear();
}

void Server::close_now(Connection& c) {
    if (c.state == ConnState::kOpen) --stats_.clients;
    // channel_count() shrinks as subscriptions are left: take it once.
    for (size_t i = 0, n = c.channel_count(); i < n; ++i) hub_.leave(c.subscription(i));
    if (c.id) {
        auto& fds = c.id->fds;
        fds.erase(std::find(fds.begin(), fds.end(), c.fd));
        if (fds.empty()) {
            ids_.erase(c.id->name);
            delete c.id;
        }
    }
    wheel_.cancel(c.timer);
    if (c.in) c.in->unref();
    delete[] c.more;
    // The descriptor is closed after this loop iteration, so no event still queued for it
    // can reach a new connection that reused the number.
    to_close_.push_back(c.fd);
    --stats_.sockets;
    c.~Connection();
    new (&c) Connection();
}

void Server::finish_closes() {
    for (int32_t fd : to_close_) ::close(fd);
    to_close_.clear();
}

std::string Server::client_id(const Connection& c) const {
    return c.id ? c.id->name : "c" + std::to_string(c.serial);
}

}  // namespace wspush::server
