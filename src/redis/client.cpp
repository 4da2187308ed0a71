#include "redis/client.h"

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <utility>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"

namespace wspush::redis {
namespace {

constexpr size_t kKeepBuffer = 64 * 1024;  // larger idle buffers are given back

bool equal_nocase(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
        if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
        if (x != y) return false;
    }
    return true;
}

// Commands whose answers arrive as pushes (a confirmation per channel), not as one reply.
bool is_subscription(std::string_view verb) noexcept {
    for (std::string_view v : {"subscribe", "unsubscribe", "psubscribe", "punsubscribe", "ssubscribe", "sunsubscribe"})
        if (equal_nocase(verb, v)) return true;
    return false;
}

// The first element of a RESP2 pub/sub array on a subscribed connection.
bool is_pubsub_kind(const Value& v) noexcept {
    for (std::string_view k : {"message", "pmessage", "smessage", "subscribe", "unsubscribe", "psubscribe",
                               "punsubscribe", "ssubscribe", "sunsubscribe"})
        if (v.is(k)) return true;
    return false;
}

}  // namespace

const char* state_name(Client::State s) noexcept {
    switch (s) {
        case Client::State::kIdle: return "idle";
        case Client::State::kConnecting: return "connecting";
        case Client::State::kHandshake: return "handshake";
        case Client::State::kUp: return "up";
        case Client::State::kWaiting: return "waiting";
    }
    return "?";
}

Client::Client(net::Reactor& reactor, uint64_t tag, ClientOptions options) noexcept
    : reactor_(reactor),
      tag_(tag),
      options_(std::move(options)),
      reconnect_(options_.backoff, tag ^ reinterpret_cast<uintptr_t>(this)),
      parser_(options_.limits) {}

Client::~Client() { stop(); }

bool Client::start(uint64_t now_ms, std::string& err) {
    if (state_ != State::kIdle) return true;
    if (!parse_endpoint(options_.address, endpoint_, err) || !resolve_endpoint(endpoint_, err)) return false;
    reconnect_.start(now_ms);
    connect(now_ms);
    return true;
}

void Client::stop() noexcept {
    if (state_ == State::kIdle && fifo_.empty()) return;
    drop("closed", 0, true);
}

void Client::set_state(State s) noexcept {
    if (s == state_) return;
    LOG_DEBUG("redis %s: %s -> %s", endpoint_.text.c_str(), state_name(state_), state_name(s));
    state_ = s;
}

void Client::connect(uint64_t now) noexcept {
    set_state(State::kConnecting);
    parser_.reset();
    out_.clear();
    writable_ = false;
    read_more_ = false;
    protocol_ = options_.protocol == 3 ? 0 : 2;
    queue_handshake();
    bool done = false;
    const int fd = connect_endpoint(endpoint_, done);
    if (fd < 0) {
        snprintf(failure_, sizeof failure_, "connect: %s", strerror(-fd));
        drop(failure_, now, false);
        return;
    }
    fd_ = fd;
    if (const int rc = reactor_.add(fd_, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, tag_); rc < 0) {
        snprintf(failure_, sizeof failure_, "epoll_ctl: %s", strerror(-rc));
        drop(failure_, now, false);
        return;
    }
    if (done) connected();
}

void Client::connected() noexcept {
    set_state(State::kHandshake);
    writable_ = true;  // written by flush(): one write for the handshake and what queued behind it
    if (handshake_left_ == 0) went_up();
}

void Client::went_up() noexcept {
    set_state(State::kUp);
    reconnect_.up();
    if (protocol_ == 0) protocol_ = 2;
    if (ever_up_) LOG_INFO("redis %s: connection restored (RESP%d)", endpoint_.text.c_str(), protocol_);
    else LOG_INFO("redis %s: connected (RESP%d)", endpoint_.text.c_str(), protocol_);
    ever_up_ = true;
    warned_ = false;
    if (state_fn_) state_fn_(state_ctx_, true);
}

void Client::queue_handshake() noexcept {
    handshake_left_ = 0;
    auto add = [this](std::span<const std::string_view> args, Kind kind) {
        (void)queue(args, true);
        fifo_.push_back({nullptr, nullptr, 0, kind});
        ++handshake_left_;
    };
    // AUTH before HELLO: a server with a password refuses HELLO until it is given.
    if (!options_.password.empty()) {
        if (options_.user.empty()) {
            const std::string_view a[] = {"AUTH", options_.password};
            add(a, Kind::kAuth);
        } else {
            const std::string_view a[] = {"AUTH", options_.user, options_.password};
            add(a, Kind::kAuth);
        }
    }
    if (options_.protocol == 3) {
        const std::string_view a[] = {"HELLO", "3"};
        add(a, Kind::kHello);
    }
    if (options_.db != 0) {
        char db[16];
        const int n = snprintf(db, sizeof db, "%u", options_.db);
        const std::string_view a[] = {"SELECT", std::string_view(db, static_cast<size_t>(n))};
        add(a, Kind::kSelect);
    }
}

bool Client::queue(std::span<const std::string_view> args, bool force) noexcept {
    const size_t need = encode_command(args, nullptr, 0);
    if (!force && out_.size() + need > options_.max_output) return false;
    const size_t at = out_.size();
    out_.resize(at + need);
    (void)encode_command(args, out_.data() + at, need);
    return true;
}

int Client::command(std::span<const std::string_view> args, ReplyFn fn, void* ctx, uint64_t tag) noexcept {
    if (args.empty()) return -EINVAL;
    if (state_ == State::kIdle || state_ == State::kWaiting) return -ENOTCONN;
    if (is_subscription(args[0])) {
        if (!options_.subscriber || fn != nullptr) return -EINVAL;
        return queue(args) ? 0 : -ENOBUFS;
    }
    if (fifo_.size() >= options_.max_pending) return -ENOBUFS;
    if (!queue(args)) return -ENOBUFS;
    fifo_.push_back({fn, ctx, tag, Kind::kUser});
    return 0;
}

void Client::on_event(uint32_t events, uint64_t now_ms) noexcept {
    if (fd_ < 0) return;  // closed earlier in this batch of events
    if (state_ == State::kConnecting) {
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
        if (const int rc = connect_result(fd_); rc < 0) {
            snprintf(failure_, sizeof failure_, "connect: %s", strerror(-rc));
            drop(failure_, now_ms, false);
            return;
        }
        connected();
        if (state_ != State::kHandshake && state_ != State::kUp) return;
    }
    const uint32_t gen = generation_;
    if (events & EPOLLOUT) {
        writable_ = true;
        write_output(now_ms);
        if (gen != generation_) return;
    }
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) read_input(now_ms);
}

void Client::flush(uint64_t now_ms) noexcept {
    switch (reconnect_.tick(now_ms)) {
        case Reconnect::Action::kConnect: connect(now_ms); break;
        case Reconnect::Action::kTimeout: drop("connect or handshake timed out", now_ms, false); break;
        case Reconnect::Action::kNone: break;
    }
    if (read_more_ && fd_ >= 0) read_input(now_ms);
    if (fd_ >= 0 && writable_ && !out_.empty()) write_output(now_ms);
}

int Client::wait_ms(uint64_t now_ms) const noexcept {
    if (fd_ >= 0 && (read_more_ || (writable_ && !out_.empty()))) return 0;
    const uint64_t d = reconnect_.deadline();
    if (d == UINT64_MAX) return -1;
    if (d <= now_ms) return 0;
    return d - now_ms > INT_MAX ? INT_MAX : static_cast<int>(d - now_ms);
}

void Client::write_output(uint64_t now) noexcept {
    size_t done = 0;
    while (done < out_.size()) {
        const ssize_t w = ::send(fd_, out_.data() + done, out_.size() - done, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                writable_ = false;  // EPOLLOUT says when there is room again
                break;
            }
            snprintf(failure_, sizeof failure_, "write: %s", strerror(errno));
            drop(failure_, now, false);
            return;
        }
        done += static_cast<size_t>(w);
    }
    out_.erase(0, done);
    if (out_.empty() && out_.capacity() > kKeepBuffer) std::string().swap(out_);
}

void Client::read_input(uint64_t now) noexcept {
    read_more_ = false;
    const uint32_t gen = generation_;
    char buf[16384];
    size_t budget = kReadBudget;
    while (budget > 0) {
        const ssize_t n = ::read(fd_, buf, sizeof buf);
        if (n == 0) {
            drop("closed by the server", now, false);
            return;
        }
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            snprintf(failure_, sizeof failure_, "read: %s", strerror(errno));
            drop(failure_, now, false);
            return;
        }
        budget -= static_cast<size_t>(n) < budget ? static_cast<size_t>(n) : budget;
        for (size_t pos = 0; pos < static_cast<size_t>(n);) {
            size_t used = 0;
            const Parse r = parser_.feed(buf + pos, static_cast<size_t>(n) - pos, used);
            pos += used;
            if (r == Parse::kError) {
                snprintf(failure_, sizeof failure_, "protocol error: %s", parser_.error());
                drop(failure_, now, false);
                return;
            }
            if (r == Parse::kNeedMore) break;
            dispatch(parser_.reply(), now);
            if (gen != generation_) return;  // a callback stopped the client, or the reply was fatal
        }
        if (!parser_.mid_reply()) parser_.trim(kKeepBuffer);
    }
    read_more_ = true;  // edge-triggered: epoll will not report what is already waiting
}

bool Client::is_push(const Value& v) const noexcept {
    if (v.type() == Type::kPush) return true;
    // RESP2 has no push type: on a subscribed connection, messages and confirmations are
    // arrays led by their kind.
    return options_.subscriber && protocol_ == 2 && v.type() == Type::kArray && v.size() >= 1 && is_pubsub_kind(v.at(0));
}

void Client::dispatch(const Value& v, uint64_t now) noexcept {
    if (is_push(v)) {
        if (push_fn_) push_fn_(push_ctx_, v);
        return;
    }
    if (fifo_.empty()) {
        drop("protocol error: a reply to no request", now, false);
        return;
    }
    const Pending p = fifo_.front();
    fifo_.pop_front();
    const std::string_view text = v.str();
    switch (p.kind) {
        case Kind::kUser:
            if (p.fn) p.fn(p.ctx, Reply{p.tag, &v, {}});
            return;
        case Kind::kAuth:
            if (v.is_error()) {
                snprintf(failure_, sizeof failure_, "AUTH refused: %.*s", static_cast<int>(text.size()), text.data());
                drop(failure_, now, false);
                return;
            }
            break;
        case Kind::kHello:
            // A server before 6.0 does not know HELLO; one that cannot speak RESP3 says NOPROTO.
            protocol_ = v.is_error() ? 2 : 3;
            if (v.is_error())
                LOG_DEBUG("redis %s: HELLO 3 refused (%.*s): RESP2", endpoint_.text.c_str(),
                          static_cast<int>(text.size()), text.data());
            break;
        case Kind::kSelect:
            if (v.is_error()) {
                snprintf(failure_, sizeof failure_, "SELECT %u refused: %.*s", options_.db,
                         static_cast<int>(text.size()), text.data());
                drop(failure_, now, false);
                return;
            }
            break;
    }
    if (--handshake_left_ == 0 && state_ == State::kHandshake) went_up();
}

void Client::drop(const char* why, uint64_t now, bool stopping) noexcept {
    if (why != failure_) snprintf(failure_, sizeof failure_, "%s", why);
    const bool was_up = state_ == State::kUp;
    if (fd_ >= 0) {
        ::close(fd_);  // leaves the epoll set too; events already fetched find fd_ < 0
        fd_ = -1;
    }
    ++generation_;
    out_.clear();
    parser_.reset();
    writable_ = false;
    read_more_ = false;
    handshake_left_ = 0;
    protocol_ = 0;
    size_t failed = 0;
    for (const Pending& p : fifo_) failed += p.kind == Kind::kUser;
    if (stopping) {
        reconnect_.stop();
        set_state(State::kIdle);
        LOG_DEBUG("redis %s: closed (%zu requests failed)", endpoint_.text.c_str(), failed);
    } else {
        if (reconnect_.state() != Reconnect::State::kWaiting) reconnect_.failed(now);
        set_state(State::kWaiting);
        const unsigned long long wait = reconnect_.deadline() - now;
        if (was_up) {
            LOG_WARN("redis %s: connection lost: %s (%zu requests failed); reconnecting in %llu ms",
                     endpoint_.text.c_str(), failure_, failed, wait);
            warned_ = true;
        } else if (!warned_) {
            LOG_WARN("redis %s: cannot connect: %s; retrying in %llu ms", endpoint_.text.c_str(), failure_, wait);
            warned_ = true;
        } else {
            LOG_DEBUG("redis %s: attempt %u failed: %s; retrying in %llu ms", endpoint_.text.c_str(),
                      reconnect_.failures(), failure_, wait);
        }
    }
    // Completions last: the client is already in its new state, so a command() they give is
    // refused and a stop() they call finds nothing open.
    while (!fifo_.empty()) {
        const Pending p = fifo_.front();
        fifo_.pop_front();
        if (p.kind == Kind::kUser && p.fn) p.fn(p.ctx, Reply{p.tag, nullptr, failure_});
    }
    if (was_up && state_fn_) state_fn_(state_ctx_, false);
}

}  // namespace wspush::redis
