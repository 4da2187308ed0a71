// webhook mode: pushes through the HTTP webhook (POST /push/<channel> with a Bearer token,
// or POST /robot/send), C connections with K requests pipelined on each, or one request
// per connection (--no-keepalive); or, --via control, the same pushes as PUB lines on C
// control-socket connections, K unanswered on each: the baseline the webhook is measured
// against (--channels N: the PUBs spread over N channels in turn, no subscriber). Every
// reply must say the push went out; one subscriber (-n 1) checks that every push arrives
// once, in seq order, and (for /push and PUB) is the one its reply's seq named.
//
// The streams (TCP or Unix) live in an epoll set of their own, nested in the subscriber's
// ClientLoop through watch(): an epoll fd is readable while it has events ready.
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "wsload/client.h"
#include "wsload/envelope.h"
#include "wsload/modes.h"
#include "wsload/payload.h"
#include "wsload/push_reply.h"
#include "wsload/report.h"
#include "wsload/seq_tracker.h"

namespace wspush::wsload {

namespace {

constexpr int kTickMs = 20;
constexpr uint16_t kNormal = 1000;
constexpr int kMaxEvents = 256;
constexpr size_t kReadChunk = 65536;
// Pushes a checked run makes at most (about 4 s at a million a second): bounds SeqTracker's
// hole set and the seq <-> push index tables (8 bytes a push each). Publishing stops there.
constexpr uint64_t kTrackLimit = uint64_t{1} << 22;

// One stream to the server: a kept-alive HTTP connection, a one-request HTTP connection
// (--no-keepalive), or a control-socket connection. Requests are answered in order, so
// the push index and send time of request `answered` are at [answered % K] of the rings.
struct Stream {
    int fd = -1;
    uint32_t gen = 0;        // bumped per fd: tells stale epoll events apart
    bool connected = false;  // TCP connect completed (Unix sockets connect at once)
    bool closing = false;    // a "Connection: close" reply came: EOF is expected next
    std::string tx;
    size_t tx_off = 0;
    std::string rx;
    std::vector<uint64_t> index;    // ring of K push indexes
    std::vector<uint64_t> sent_at;  // ring of K send times
    uint64_t sent = 0;
    uint64_t answered = 0;
};

class Webhook final : public Handler, public RawHandler {
public:
    explicit Webhook(const Options& o);
    ~Webhook();

    int run();

    void on_open(Conn& c, uint64_t latency_ns) override;
    void on_message(Conn& c, ws::Opcode op, std::string_view p) override;
    void on_end(Conn& c, const ConnEnd& e) override;
    void on_ready(uint32_t events) override;  // the streams' epoll fd

private:
    [[nodiscard]] bool http() const { return o_.via == Via::kHttp; }
    [[nodiscard]] bool may_send() const {
        return publishing_ && (o_.messages == 0 || sent_ < o_.messages) &&
               (o_.subscribers == 0 || sent_ < kTrackLimit) && !stop_requested();
    }
    [[nodiscard]] bool idle() const;  // every request sent so far answered (or lost)
    [[nodiscard]] bool any_open() const;
    void open_stream(Stream& s);
    void end_stream(Stream& s, const char* error);
    void dispatch(Stream& s, uint32_t events);
    void fill(Stream& s);
    void flush(Stream& s);
    void read(Stream& s);
    void answer(Stream& s, std::string_view reply, const HttpReply* head);
    void check_push(uint64_t index, std::optional<uint64_t> seq, uint64_t delivered);
    [[nodiscard]] std::string_view stamp_of(std::string_view data) const;
    void cross_check();

    const Options& o_;
    ClientLoop loop_;
    CpuProbe cpu_;
    ErrorLog errors_;
    Histogram rtt_;
    Envelope env_;
    WebhookBody body_;
    int epfd_ = -1;
    std::vector<Stream> streams_;
    std::string head_;  // request head up to "Content-Length: " (HTTP)
    std::string scratch_;
    bool publishing_ = false;
    uint64_t opened_ = 0;       // stream connections opened
    uint64_t sent_ = 0;         // pushes sent: the next push index
    uint64_t ok_ = 0;           // replies that said the push went out
    uint64_t t_start_ = 0;
    uint64_t t_last_ = 0;       // last reply
    std::vector<uint64_t> seq_of_;  // by push index: the seq its reply named, 0 if none
    // Subscriber.
    Conn* sub_ = nullptr;
    bool sub_resolved_ = false;
    std::optional<SeqTracker> seqs_;
    uint64_t base_ = 0;                // the first seq it received
    uint64_t received_ = 0;
    std::vector<uint64_t> index_of_;   // by seq - base_: push index + 1 it carried, 0 none
};

Webhook::Webhook(const Options& o) : o_(o), loop_(o, o.protocol, *this), cpu_(o.pids) {
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epfd_ < 0) std::abort();
    loop_.watch(epfd_, *this);
    streams_.resize(o.connections);
    if (!http()) return;
    const std::string& host = o.url.host_header;
    if (o.robot) {
        head_ = "POST /robot/send?access_token=" + o.token + " HTTP/1.1\r\nHost: " + host +
                "\r\nContent-Type: application/json\r\n";
    } else {
        head_ = "POST /push/" + o.channel + " HTTP/1.1\r\nHost: " + host + "\r\nAuthorization: Bearer " + o.token +
                "\r\nContent-Type: text/plain\r\n";
    }
    if (!o.keepalive) head_ += "Connection: close\r\n";
    head_ += "Content-Length: ";
}

Webhook::~Webhook() {
    for (Stream& s : streams_) {
        if (s.fd >= 0) ::close(s.fd);
    }
    ::close(epfd_);
}

void Webhook::open_stream(Stream& s) {
    const int fd = http() ? start_connect(o_.url, 1 + opened_) : connect_unix(o_.control);
    if (fd < 0) {
        errors_.add("cannot connect: " + std::string(strerror(-fd)));
        return;
    }
    const uint32_t gen = s.gen + 1;
    s = Stream{};
    s.fd = fd;
    s.gen = gen;
    s.connected = !http();
    s.index.resize(o_.inflight);
    s.sent_at.resize(o_.inflight);
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.u64 = uint64_t{gen} << 32 | static_cast<uint64_t>(&s - streams_.data());
    if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) std::abort();
    ++opened_;
    fill(s);
}

// error == nullptr: the expected end of a --no-keepalive connection (or ours at the end).
void Webhook::end_stream(Stream& s, const char* error) {
    if (s.fd < 0) return;
    if (error) errors_.add(error);
    errors_.add("requests never answered", s.sent - s.answered);
    ::close(s.fd);  // leaves the epoll set with it
    s.fd = -1;
    if (!o_.keepalive && may_send()) open_stream(s);
}

bool Webhook::idle() const {
    for (const Stream& s : streams_) {
        if (s.fd >= 0 && (s.sent > s.answered || (!o_.keepalive && http()))) return false;
    }
    return true;
}

bool Webhook::any_open() const {
    for (const Stream& s : streams_) {
        if (s.fd >= 0) return true;
    }
    return false;
}

void Webhook::fill(Stream& s) {
    while (may_send() && s.sent - s.answered < o_.inflight && (o_.keepalive || s.sent == 0)) {
        const uint64_t now = mono_ns();
        const std::string stamp = make_stamp(now, sent_, o_.size);
        if (!http()) {
            s.tx.append("PUB ").append(o_.channel);
            if (o_.channels > 1) s.tx.append(".").append(std::to_string(sent_ % o_.channels));
            s.tx.append(" ").append(stamp).append("\n");
        } else {
            scratch_ = o_.robot ? R"({"msgtype":"text","text":{"content":")" + stamp + R"("}})" : stamp;
            s.tx.append(head_).append(std::to_string(scratch_.size())).append("\r\n\r\n").append(scratch_);
        }
        s.index[s.sent % o_.inflight] = sent_;
        s.sent_at[s.sent % o_.inflight] = now;
        ++s.sent;
        ++sent_;
    }
    flush(s);
}

void Webhook::flush(Stream& s) {
    if (!s.connected) return;
    if (const int e = send_pending(s.fd, s.tx, s.tx_off); e == -EAGAIN) {
        return;  // EPOLLOUT (edge-triggered) calls again
    } else if (e != 0) {
        end_stream(s, "request write failed");
        return;
    }
    s.tx.clear();
    s.tx_off = 0;
}

void Webhook::dispatch(Stream& s, uint32_t events) {
    if (!s.connected && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
            end_stream(s, "connect failed");
            return;
        }
        s.connected = true;
    }
    if (events & EPOLLOUT) flush(s);
    if (s.fd >= 0 && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) read(s);
}

void Webhook::read(Stream& s) {
    char buf[kReadChunk];
    bool eof = false;
    for (;;) {
        const ssize_t n = ::read(s.fd, buf, sizeof buf);
        if (n > 0) {
            s.rx.append(buf, static_cast<size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        eof = n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
        break;
    }
    size_t start = 0;
    while (s.fd >= 0 && start < s.rx.size()) {
        const std::string_view rest(s.rx.data() + start, s.rx.size() - start);
        if (!http()) {
            const size_t nl = rest.find('\n');
            if (nl == std::string_view::npos) break;
            answer(s, rest.substr(0, nl), nullptr);
            start += nl + 1;
            continue;
        }
        HttpReply r;
        const char* why = nullptr;
        const ptrdiff_t n = parse_http_reply(rest, r, &why);
        if (n == 0) break;
        if (n < 0) {
            end_stream(s, why);
            return;
        }
        answer(s, rest.substr(0, static_cast<size_t>(n)), &r);
        start += static_cast<size_t>(n);
    }
    if (s.fd < 0) return;
    s.rx.erase(0, start);
    if (eof) {
        const bool expected = s.closing && s.rx.empty() && s.answered == s.sent;
        end_stream(s, expected ? nullptr
                      : o_.keepalive && http() ? "server closed a kept-alive connection"
                                               : "server closed the connection early");
        return;
    }
    fill(s);
}

void Webhook::answer(Stream& s, std::string_view reply, const HttpReply* head) {
    const uint64_t now = mono_ns();
    if (s.answered == s.sent || s.closing) {
        errors_.add("reply nobody asked for");
        return;
    }
    const size_t at = s.answered % o_.inflight;
    ++s.answered;
    t_last_ = now;
    rtt_.record(now - s.sent_at[at]);
    const uint64_t index = s.index[at];
    if (head == nullptr) {
        if (reply.ends_with('\r')) reply.remove_suffix(1);
        uint64_t seq = 0;
        uint64_t delivered = 0;
        if (!parse_pub_reply(reply, seq, delivered)) {
            errors_.add("PUB failed: " + std::string(reply.substr(0, 80)));
            return;
        }
        check_push(index, seq, delivered);
        return;
    }
    if (head->close) {
        s.closing = true;
        if (o_.keepalive) errors_.add("server closed a kept-alive connection after a reply");
    } else if (!o_.keepalive) {
        errors_.add("reply to Connection: close without Connection: close");
    }
    if (const char* e = parse_webhook_body(head->body, body_)) {
        errors_.add("HTTP " + std::to_string(head->status) + ", body: " + e);
    } else if (head->status != 200 || body_.errcode != 0) {
        errors_.add("HTTP " + std::to_string(head->status) + " errcode " + std::to_string(body_.errcode) + ": " +
                    body_.errmsg.substr(0, 80));
    } else if (o_.robot) {
        check_push(index, std::nullopt, 0);
    } else if (!body_.has_seq || !body_.has_delivered) {
        errors_.add("/push reply without seq or delivered");
    } else {
        check_push(index, body_.seq, body_.delivered);
    }
}

void Webhook::check_push(uint64_t index, std::optional<uint64_t> seq, uint64_t delivered) {
    ++ok_;
    if (!seq) return;
    if (seq_of_.size() <= index) seq_of_.resize(index + 1);
    seq_of_[index] = *seq;
    const uint64_t subs = sub_ != nullptr ? 1 : 0;
    if (delivered != subs) errors_.add("delivered count differs from the subscribers");
}

void Webhook::on_ready(uint32_t) {
    epoll_event evs[kMaxEvents];
    for (int n = kMaxEvents; n == kMaxEvents;) {
        n = epoll_wait(epfd_, evs, kMaxEvents, 0);
        if (n < 0 && errno != EINTR) std::abort();
        for (int i = 0; i < n; ++i) {
            Stream& s = streams_[evs[i].data.u64 & 0xFFFFFFFFu];
            // Stale: the fd was closed (and maybe replaced) after epoll_wait reported it.
            if (s.fd < 0 || s.gen != evs[i].data.u64 >> 32) continue;
            dispatch(s, evs[i].events);
        }
    }
}

void Webhook::on_open(Conn& c, uint64_t) {
    sub_resolved_ = true;
    if (!c.got_protocol) {
        errors_.add("server did not choose subprotocol " + o_.protocol);
        loop_.fail(c, "no subprotocol");
        return;
    }
    sub_ = &c;
}

std::string_view Webhook::stamp_of(std::string_view data) const {
    if (!o_.robot) return data;
    // The card: {"msgtype":"text","text":{"content":"<stamp>"},"robot":...}
    constexpr std::string_view kContent = R"("content":")";
    const size_t at = data.find(kContent);
    if (at == std::string_view::npos) return {};
    data.remove_prefix(at + kContent.size());
    return data.substr(0, data.find('"'));
}

void Webhook::on_message(Conn&, ws::Opcode op, std::string_view p) {
    Stamp st;
    if (op != ws::Opcode::kText) {
        errors_.add("envelope in a binary frame");
    } else if (const char* e = parse_envelope(p, env_)) {
        errors_.add(std::string("bad envelope: ") + e);
    } else if (env_.type != "msg" || env_.channel != o_.channel || !env_.has_seq || env_.binary) {
        errors_.add("envelope not a text msg with a seq on the channel");
    } else if (!parse_stamp(stamp_of(env_.data), o_.size, st) || st.index >= sent_) {
        errors_.add("push payload corrupted");
    } else {
        if (base_ == 0) {
            base_ = env_.seq;
            seqs_.emplace(base_, base_ + kTrackLimit);
        }
        seqs_->record(env_.seq);
        ++received_;
        if (env_.seq >= base_ && env_.seq - base_ < kTrackLimit) {
            const uint64_t k = env_.seq - base_;
            if (index_of_.size() <= k) index_of_.resize(k + 1);
            index_of_[k] = st.index + 1;
        }
    }
}

void Webhook::on_end(Conn& c, const ConnEnd& e) {
    sub_resolved_ = true;
    if (sub_ != &c) {
        errors_.add(std::string("subscriber handshake: ") + (e.error ? e.error : "?"));
        return;
    }
    sub_ = nullptr;
    if (publishing_ || e.error || e.server_code != kNormal) {
        errors_.add(std::string("subscriber ended: ") +
                    (e.error ? e.error : "server Close " + std::to_string(e.server_code)));
    }
}

// Every push the replies acknowledged arrived once, in seq order; where the reply named
// a seq, the push that arrived under it is the one the reply was for.
void Webhook::cross_check() {
    if (!seqs_) {
        errors_.add("subscriber received nothing", ok_);
        return;
    }
    const SeqCounts k = seqs_->counts(base_ + ok_ - 1);
    errors_.add("pushes the subscriber missed", k.missing);
    errors_.add("pushes the subscriber got twice", k.duplicated);
    errors_.add("pushes the subscriber got out of order", k.reordered);
    errors_.add("seqs past the pushes", k.unexpected);
    uint64_t mismatched = 0;
    for (uint64_t i = 0; i < seq_of_.size(); ++i) {
        const uint64_t seq = seq_of_[i];
        if (seq == 0) continue;
        const bool known = seq >= base_ && seq - base_ < index_of_.size();
        if (known && index_of_[seq - base_] != i + 1) ++mismatched;
    }
    errors_.add("pushes received under another push's seq", mismatched);
}

int Webhook::run() {
    const uint64_t timeout = static_cast<uint64_t>(o_.timeout_s * 1e9);
    if (o_.subscribers > 0) {
        int err = 0;
        if (loop_.open(0, err) == nullptr) {
            note("cannot start the subscriber: " + std::string(strerror(-err)));
            return 1;
        }
        while (!sub_resolved_ && !stop_requested()) loop_.run_once(kTickMs);
        if (sub_ == nullptr) {
            errors_.print();
            return 1;
        }
    }

    cpu_.start();
    t_start_ = mono_ns();
    t_last_ = t_start_;
    publishing_ = true;
    for (Stream& s : streams_) open_stream(s);
    const uint64_t run_end = loop_.now() + static_cast<uint64_t>(o_.duration_s * 1e9);
    while (may_send() && any_open() && loop_.now() < run_end) loop_.run_once(wait_ms(loop_.now(), run_end, kTickMs));
    publishing_ = false;

    // Drain: every request answered (and, without keep-alive, every connection closed by
    // the server), then the subscriber has the last push.
    const uint64_t drain_end = loop_.now() + timeout;
    while (!idle() && loop_.now() < drain_end) loop_.run_once(wait_ms(loop_.now(), drain_end, kTickMs));
    const double secs = static_cast<double>(t_last_ - t_start_) / 1e9;
    while (sub_ != nullptr && ok_ > 0 && (!seqs_ || seqs_->highest() < base_ + ok_ - 1) && loop_.now() < drain_end) {
        loop_.run_once(wait_ms(loop_.now(), drain_end, kTickMs));
    }
    cpu_.stop();
    for (Stream& s : streams_) {
        const bool unclosed = s.fd >= 0 && s.closing && s.answered == s.sent;
        end_stream(s, unclosed ? "server did not close after its Connection: close reply" : nullptr);
    }

    loop_.close_all(kNormal);
    const uint64_t close_end = loop_.now() + timeout;
    while (loop_.live() > 0 && loop_.now() < close_end) loop_.run_once(wait_ms(loop_.now(), close_end, kTickMs));
    loop_.abort_all("close timeout");
    if (o_.subscribers > 0) cross_check();

    Summary s(Mode::kWebhook);
    s.add("via", http() ? "http" : "control");
    s.add("route", http() ? (o_.robot ? "robot" : "push") : "pub");
    s.add("keepalive", uint64_t{o_.keepalive});
    s.add("conns", o_.connections);
    s.add("inflight", o_.inflight);
    s.add("size", o_.size);
    s.add("channels", o_.channels);
    s.add("opened", opened_);
    s.add("requests", sent_);
    s.add("ok", ok_);
    s.add("failed", sent_ - ok_);
    s.add("secs", secs, 3);
    s.add("requests_per_s", secs > 0 ? static_cast<double>(ok_) / secs : 0.0, 0);
    s.add("p50_us", static_cast<double>(rtt_.percentile(50)) / 1e3, 1);
    s.add("p99_us", static_cast<double>(rtt_.percentile(99)) / 1e3, 1);
    s.add("max_us", static_cast<double>(rtt_.max()) / 1e3, 1);
    s.add("subscribers", o_.subscribers);
    s.add("received", received_);
    s.add("errors", errors_.total());
    cpu_.report(s, ok_);
    errors_.print();
    s.print();
    return errors_.total() == 0 && ok_ == sent_ && ok_ > 0 ? 0 : 1;
}

}  // namespace

int run_webhook(const Options& opt) {
    Webhook w(opt);
    return w.run();
}

}  // namespace wspush::wsload
