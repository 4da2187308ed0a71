// fanout mode: N subscribers on one channel; pushes injected through the control socket
// (PUB lines, pipelined) or, --via relay, sent by one more client as text messages. Every
// subscriber must receive every push exactly once, in seq order, intact.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <sys/epoll.h>
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

class Fanout final : public Handler, public RawHandler {
public:
    explicit Fanout(const Options& o)
        : o_(o), loop_(o, o.protocol, *this), ramp_(loop_, o.subscribers, o.parallel, 0), cpu_(o.pids) {}
    ~Fanout() {
        if (ctl_fd_ >= 0) ::close(ctl_fd_);
    }

    int run();

    void on_open(Conn& c, uint64_t latency_ns) override;
    void on_message(Conn& c, ws::Opcode op, std::string_view p) override;
    void on_end(Conn& c, const ConnEnd& e) override;
    void on_ready(uint32_t events) override;  // control socket

private:
    struct Sub {
        std::optional<SeqTracker> seq;
        bool open = false;
    };
    Sub& sub(const Conn& c) {
        if (subs_.size() <= c.slot) subs_.resize(c.slot + 1);
        return subs_[c.slot];
    }
    [[nodiscard]] bool is_publisher(const Conn& c) const { return pub_ == &c; }
    [[nodiscard]] uint64_t last_seq() const { return base_ + sent_ - 1; }
    [[nodiscard]] bool flow_ok() const;
    [[nodiscard]] bool all_received() const;
    void check_base(uint64_t seq, uint64_t index, const char* what);
    void publish();
    void push(uint64_t index);
    void ctl_flush();
    void ctl_read();

    const Options& o_;
    ClientLoop loop_;
    Ramp ramp_;
    CpuProbe cpu_;
    ErrorLog errors_;
    Histogram latency_;
    Histogram handshake_;
    std::vector<Sub> subs_;
    Envelope env_;
    Conn* pub_ = nullptr;       // relay publisher while it lives
    bool pub_expected_ = false;
    uint64_t subs_open_ = 0;  // subscribers that completed the handshake
    uint64_t subs_live_ = 0;  // ... and are still connected
    uint64_t base_ = 0;         // seq of push 0; 0 until known
    uint64_t sent_ = 0;
    uint64_t delivered_ = 0;
    uint64_t t_first_push_ = 0;
    uint64_t t_last_push_ = 0;
    uint64_t t_last_rx_ = 0;
    uint64_t pub_end_ = 0;
    uint32_t pub_slot_ = 0;
    uint64_t missing_ = 0;
    uint64_t duplicated_ = 0;
    uint64_t reordered_ = 0;
    uint64_t unexpected_ = 0;
    bool publishing_ = false;
    bool closing_ = false;
    // Control socket.
    int ctl_fd_ = -1;
    std::string ctl_tx_;
    size_t ctl_off_ = 0;
    std::string ctl_rx_;
    uint64_t unanswered_ = 0;
    uint64_t answered_ = 0;
};

void Fanout::on_open(Conn& c, uint64_t latency_ns) {
    if (pub_expected_ && pub_ == nullptr && c.slot == pub_slot_) {
        pub_ = &c;
        return;
    }
    ramp_.resolved();
    handshake_.record(latency_ns);
    if (!c.got_protocol) {
        errors_.add("server did not choose subprotocol " + o_.protocol);
        loop_.fail(c, "no subprotocol");
        return;
    }
    Sub& s = sub(c);
    s = Sub{};
    s.open = true;
    ++subs_open_;
    ++subs_live_;
}

void Fanout::check_base(uint64_t seq, uint64_t index, const char* what) {
    if (seq <= index) {
        errors_.add(std::string(what) + ": seq not above the push index");
        return;
    }
    if (base_ == 0) base_ = seq - index;
    if (seq - index != base_) errors_.add(std::string(what) + ": seq does not follow push order");
}

void Fanout::on_message(Conn& c, ws::Opcode op, std::string_view p) {
    if (is_publisher(c)) {
        errors_.add("relay sent the publisher its own message");
        return;
    }
    const uint64_t now = mono_ns();  // per message: a batch of events takes a while to get through
    if (op != ws::Opcode::kText) {
        errors_.add("envelope in a binary frame");
        return;
    }
    if (const char* e = parse_envelope(p, env_)) {
        errors_.add(std::string("bad envelope: ") + e);
        return;
    }
    if (env_.type != "msg") {
        errors_.add("unexpected envelope type " + env_.type);
        return;
    }
    if (env_.channel != o_.channel || !env_.has_seq || env_.binary) {
        errors_.add("envelope with wrong channel, no seq or binary data");
        return;
    }
    Stamp st;
    if (!parse_stamp(env_.data, o_.size, st) || st.index >= o_.messages) {
        errors_.add("push payload corrupted");
        return;
    }
    latency_.record(now > st.t_ns ? now - st.t_ns : 0);
    check_base(env_.seq, st.index, "envelope");
    Sub& s = sub(c);
    if (!s.seq) s.seq.emplace(base_, base_ + o_.messages - 1);
    s.seq->record(env_.seq);
    ++delivered_;
    t_last_rx_ = now;
}

void Fanout::on_end(Conn& c, const ConnEnd& e) {
    if (is_publisher(c) || (pub_expected_ && pub_ == nullptr && c.slot == pub_slot_)) {
        if (!closing_ || e.error) errors_.add(std::string("publisher ended: ") + (e.error ? e.error : "server closed"));
        pub_ = nullptr;
        pub_expected_ = false;
        return;
    }
    Sub& s = sub(c);
    if (!e.opened) {
        ramp_.resolved();
        errors_.add(std::string("subscriber handshake: ") + (e.error ? e.error : "?"));
    }
    if (!s.open) return;
    --subs_live_;
    if (!closing_) {
        errors_.add(std::string("subscriber dropped: ") +
                    (e.error ? e.error : "server Close " + std::to_string(e.server_code)));
    } else if (e.error || e.server_code != kNormal) {
        errors_.add(std::string("subscriber close: ") + (e.error ? e.error : "server answered " + std::to_string(e.server_code)));
    }
    if (sent_ > 0 && s.seq) {
        const SeqCounts k = s.seq->counts(last_seq());
        missing_ += k.missing;
        duplicated_ += k.duplicated;
        reordered_ += k.reordered;
        unexpected_ += k.unexpected;
    } else {
        missing_ += sent_;
    }
    s = Sub{};
}

bool Fanout::flow_ok() const {
    const uint64_t subs = std::max<uint64_t>(subs_live_, 1);
    uint64_t lag = o_.lag;
    if (o_.via_relay()) {
        lag = std::min(lag, o_.inflight);
    } else if (unanswered_ >= o_.inflight) {
        return false;
    }
    // Deliveries still owed, averaged over subscribers.
    const uint64_t owed = sent_ * subs > delivered_ ? sent_ * subs - delivered_ : 0;
    return owed < lag * subs;
}

bool Fanout::all_received() const {
    if (sent_ == 0) return true;
    if (base_ == 0) return false;
    for (const Sub& s : subs_) {
        if (s.open && (!s.seq || s.seq->highest() < last_seq())) return false;
    }
    return true;
}

void Fanout::push(uint64_t index) {
    const uint64_t now = mono_ns();
    const std::string payload = make_stamp(now, index, o_.size);
    if (o_.via_relay()) {
        loop_.send(*pub_, ws::Opcode::kText, payload);
    } else {
        ctl_tx_.append("PUB ").append(o_.channel).append(" ").append(payload).append("\n");
        ++unanswered_;
    }
    if (sent_ == 0) t_first_push_ = now;
    t_last_push_ = now;
    ++sent_;
}

void Fanout::publish() {
    if (!publishing_) return;
    const uint64_t now = loop_.now();
    if (sent_ >= o_.messages || now >= pub_end_ || (o_.via_relay() && pub_ == nullptr) || stop_requested()) {
        publishing_ = false;
        return;
    }
    while (sent_ < o_.messages && flow_ok()) {
        // --rate: push i is due at t0 + i / R.
        if (o_.rate > 0 && t_first_push_ != 0 &&
            static_cast<double>(mono_ns() - t_first_push_) < static_cast<double>(sent_) * 1e9 / o_.rate) {
            break;
        }
        push(sent_);
    }
    if (!o_.via_relay()) ctl_flush();
}

void Fanout::ctl_flush() {
    if (const int e = send_pending(ctl_fd_, ctl_tx_, ctl_off_); e == -EAGAIN) {
        return;
    } else if (e != 0) {
        errors_.add("control socket write failed");
        publishing_ = false;
        return;
    }
    ctl_tx_.clear();
    ctl_off_ = 0;
}

void Fanout::ctl_read() {
    char buf[16384];
    for (;;) {
        const ssize_t n = ::read(ctl_fd_, buf, sizeof buf);
        if (n > 0) {
            ctl_rx_.append(buf, static_cast<size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n == 0 && unanswered_ > 0) errors_.add("control socket closed with PUBs unanswered");
        break;
    }
    size_t start = 0;
    for (size_t nl; (nl = ctl_rx_.find('\n', start)) != std::string::npos; start = nl + 1) {
        std::string_view line(ctl_rx_.data() + start, nl - start);
        if (line.ends_with('\r')) line.remove_suffix(1);
        uint64_t seq = 0;
        uint64_t delivered = 0;
        if (unanswered_ == 0) {
            errors_.add("control reply nobody asked for");
        } else if (!parse_pub_reply(line, seq, delivered)) {
            errors_.add("PUB failed: " + std::string(line.substr(0, 80)));
            --unanswered_;
        } else {
            --unanswered_;
            check_base(seq, answered_, "PUB reply");
            if (delivered != subs_live_) errors_.add("PUB delivered count differs from the subscribers");
        }
        ++answered_;
    }
    ctl_rx_.erase(0, start);
}

void Fanout::on_ready(uint32_t events) {
    if (events & EPOLLOUT) ctl_flush();
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) ctl_read();
}

int Fanout::run() {
    const uint64_t timeout = static_cast<uint64_t>(o_.timeout_s * 1e9);
    if (!o_.via_relay()) {
        ctl_fd_ = connect_unix(o_.control);
        if (ctl_fd_ < 0) {
            note("cannot connect to " + o_.control + ": " + strerror(-ctl_fd_));
            return 1;
        }
        loop_.watch(ctl_fd_, *this);
    }
    int err = 0;
    if (o_.via_relay()) {
        // A source index of its own that picks the first --url.
        const uint64_t n_urls = o_.urls.empty() ? 1 : o_.urls.size();
        Conn* p = loop_.open((o_.subscribers / n_urls + 1) * n_urls, err);
        if (!p) {
            note("cannot start the publisher: " + std::string(strerror(-err)));
            return 1;
        }
        pub_slot_ = p->slot;
        pub_expected_ = true;
    }
    // Connect: every subscriber (and the publisher) opened or failed.
    while ((!ramp_.done() || (pub_expected_ && pub_ == nullptr)) && !stop_requested()) {
        if (const uint64_t f = ramp_.pump(err); f > 0) {
            errors_.add("cannot start connection: " + std::string(strerror(-err)), f);
        }
        loop_.run_once(kTickMs);
    }
    note(std::to_string(subs_open_) + " subscribers connected" + (o_.via_relay() ? " (and the publisher)" : ""));

    cpu_.start();
    const uint64_t t_measure = mono_ns();
    publishing_ = subs_live_ > 0 && (!o_.via_relay() || pub_ != nullptr);
    pub_end_ = loop_.now() + static_cast<uint64_t>(o_.duration_s * 1e9);
    publish();
    while (publishing_) {
        loop_.run_once(o_.rate > 0 ? 1 : kTickMs);
        publish();
    }
    // Drain: the last push reaches everyone, and every PUB is answered.
    const uint64_t drain_end = loop_.now() + timeout;
    while ((!all_received() || unanswered_ > 0) && loop_.now() < drain_end) {
        loop_.run_once(wait_ms(loop_.now(), drain_end, kTickMs));
    }
    cpu_.stop();
    const double measured_s = static_cast<double>(mono_ns() - t_measure) / 1e9;
    if (unanswered_ > 0) errors_.add("PUBs never answered", unanswered_);

    closing_ = true;
    loop_.close_all(kNormal);
    const uint64_t close_end = loop_.now() + timeout;
    while (loop_.live() > 0 && loop_.now() < close_end) loop_.run_once(wait_ms(loop_.now(), close_end, kTickMs));
    loop_.abort_all("close timeout");

    const double secs = t_last_rx_ > t_first_push_ ? static_cast<double>(t_last_rx_ - t_first_push_) / 1e9 : 0;
    const double push_secs = static_cast<double>(t_last_push_ - t_first_push_) / 1e9;
    Summary s(Mode::kFanout);
    s.add("via", o_.via_relay() ? "relay" : "control");
    s.add("subscribers", o_.subscribers);
    s.add("connected", subs_open_);
    s.add("size", o_.size);
    s.add("pushes", sent_);
    s.add("secs", measured_s, 3);  // publishing and draining: the server_cpu_s window
    s.add("pushes_per_s", push_secs > 0 ? static_cast<double>(sent_) / push_secs : 0.0, 0);
    s.add("delivered", delivered_);
    s.add("expected", sent_ * subs_open_);
    s.add("deliveries_per_s", secs > 0 ? static_cast<double>(delivered_) / secs : 0.0, 0);
    s.add("p50_ms", static_cast<double>(latency_.percentile(50)) / 1e6, 3);
    s.add("p99_ms", static_cast<double>(latency_.percentile(99)) / 1e6, 3);
    s.add("max_ms", static_cast<double>(latency_.max()) / 1e6, 3);
    s.add("missing", missing_);
    s.add("duplicated", duplicated_);
    s.add("reordered", reordered_);
    errors_.add("seq outside the pushed range", unexpected_);
    s.add("errors", errors_.total());
    s.add_latency("handshake", "ms", handshake_, 1e6);
    cpu_.report(s, delivered_);
    errors_.print();
    s.print();
    const bool ok = errors_.total() == 0 && missing_ == 0 && duplicated_ == 0 && reordered_ == 0 &&
                    subs_open_ == o_.subscribers && sent_ == o_.messages;
    return ok ? 0 : 1;
}

}  // namespace

int run_fanout(const Options& opt) {
    Fanout f(opt);
    return f.run();
}

}  // namespace wspush::wsload
