// echo mode: C connections, K messages in flight on each; every echo must equal, byte for
// byte, the message the connection sent next-oldest (the server echoes in order).
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "wsload/client.h"
#include "wsload/modes.h"
#include "wsload/payload.h"
#include "wsload/report.h"

namespace wspush::wsload {

namespace {

constexpr int kTickMs = 50;
constexpr uint16_t kNormal = 1000;

enum class Phase : uint8_t { kConnect, kRun, kDrain, kClose };

class Echo final : public Handler {
public:
    explicit Echo(const Options& o)
        : o_(o),
          loop_(o, o.protocol, *this),
          ramp_(loop_, o.connections, o.parallel, 0),
          payload_(o.size, o.text),
          cpu_(o.pids) {}

    int run();

    void on_open(Conn& c, uint64_t) override {
        lane(c).conn = &c;
        ++opened_;
        ramp_.resolved();
    }
    void on_message(Conn& c, ws::Opcode op, std::string_view p) override;
    void on_end(Conn& c, const ConnEnd& e) override;

private:
    struct Lane {
        Conn* conn = nullptr;
        uint64_t sent = 0;      // messages sent on this connection
        uint64_t received = 0;  // echoes verified (or failed) on it
        std::vector<uint64_t> sent_at;  // send time of message i at [i % K]
    };

    Lane& lane(const Conn& c) {
        if (lanes_.size() <= c.slot) lanes_.resize(c.slot + 1);
        return lanes_[c.slot];
    }
    // Globally unique message counter: connection slot in the top bits.
    static uint64_t counter(uint32_t slot, uint64_t i) { return (uint64_t{slot} + 1) << 40 | i; }
    [[nodiscard]] bool may_send() const {
        return phase_ == Phase::kRun && (o_.messages == 0 || total_sent_ < o_.messages) && !stop_requested();
    }
    void send_next(Lane& l);

    const Options& o_;
    ClientLoop loop_;
    Ramp ramp_;
    EchoPayload payload_;
    CpuProbe cpu_;
    ErrorLog errors_;
    Histogram rtt_;
    std::vector<Lane> lanes_;
    std::string scratch_;
    Phase phase_ = Phase::kConnect;
    uint64_t opened_ = 0;
    uint64_t total_sent_ = 0;
    uint64_t total_received_ = 0;
    uint64_t t_start_ = 0;
    uint64_t t_last_ = 0;
};

void Echo::send_next(Lane& l) {
    payload_.make(counter(l.conn->slot, l.sent), scratch_);
    if (l.sent_at.empty()) l.sent_at.resize(o_.inflight);
    l.sent_at[l.sent % o_.inflight] = mono_ns();
    loop_.send(*l.conn, o_.text ? ws::Opcode::kText : ws::Opcode::kBinary, scratch_);
    ++l.sent;
    ++total_sent_;
}

void Echo::on_message(Conn& c, ws::Opcode op, std::string_view p) {
    Lane& l = lane(c);
    if (l.received == l.sent) {
        errors_.add("echo nobody asked for");
        loop_.fail(c, "unexpected message");
        return;
    }
    const uint64_t i = l.received++;
    ++total_received_;
    t_last_ = mono_ns();  // per message: a batch of events takes a while to get through
    rtt_.record(t_last_ - l.sent_at[i % o_.inflight]);
    if (op != (o_.text ? ws::Opcode::kText : ws::Opcode::kBinary)) {
        errors_.add("echo has the wrong opcode");
    } else if (const ptrdiff_t bad = payload_.check(counter(c.slot, i), p); bad >= 0) {
        errors_.add("echo differs from the message sent");
        if (o_.verbose) {
            note("slot " + std::to_string(c.slot) + " message " + std::to_string(i) + ": first difference at byte " +
                 std::to_string(bad) + " of " + std::to_string(p.size()));
        }
    }
    if (may_send()) send_next(l);
}

void Echo::on_end(Conn& c, const ConnEnd& e) {
    Lane& l = lane(c);
    if (phase_ == Phase::kClose && e.error == nullptr && e.server_code == kNormal) {
        // Clean close.
    } else if (!e.opened) {
        ramp_.resolved();
        errors_.add(std::string("handshake failed: ") + (e.error ? e.error : "?"));
    } else if (phase_ == Phase::kClose) {
        errors_.add(e.error ? std::string("close: ") + e.error : "close: server answered code " + std::to_string(e.server_code));
    } else {
        errors_.add(std::string("connection ended early: ") + (e.error ? e.error : "server closed"));
    }
    if (l.sent > l.received) errors_.add("echoes never received", l.sent - l.received);
    l = Lane{};
}

int Echo::run() {
    const uint64_t timeout = static_cast<uint64_t>(o_.timeout_s * 1e9);
    const uint64_t conns = o_.connections;
    int err = 0;
    // Connect: until every connection opened or failed (each has its handshake timeout).
    while (!ramp_.done() && !stop_requested()) {
        if (const uint64_t f = ramp_.pump(err); f > 0) {
            errors_.add("cannot start connection: " + std::string(strerror(-err)), f);
        }
        loop_.run_once(kTickMs);
    }

    phase_ = Phase::kRun;
    cpu_.start();
    t_start_ = mono_ns();
    t_last_ = t_start_;
    const uint64_t run_end = t_start_ + static_cast<uint64_t>(o_.duration_s * 1e9);
    for (Lane& l : lanes_) {
        for (uint64_t k = 0; l.conn && k < o_.inflight && may_send(); ++k) send_next(l);
    }
    while (loop_.live() > 0 && loop_.now() < run_end && may_send()) loop_.run_once(wait_ms(loop_.now(), run_end, kTickMs));

    phase_ = Phase::kDrain;
    const uint64_t drain_end = loop_.now() + timeout;
    while (loop_.live() > 0 && total_received_ < total_sent_ && loop_.now() < drain_end) {
        loop_.run_once(wait_ms(loop_.now(), drain_end, kTickMs));
    }
    cpu_.stop();
    const double secs = static_cast<double>(t_last_ - t_start_) / 1e9;

    phase_ = Phase::kClose;
    loop_.close_all(kNormal);
    const uint64_t close_end = loop_.now() + timeout;
    while (loop_.live() > 0 && loop_.now() < close_end) loop_.run_once(wait_ms(loop_.now(), close_end, kTickMs));
    loop_.abort_all("close timeout");

    Summary s(Mode::kEcho);
    s.add("conns", conns);
    s.add("opened", opened_);
    s.add("inflight", o_.inflight);
    s.add("size", o_.size);
    s.add("type", o_.text ? "text" : "binary");
    s.add("msgs", total_received_);
    s.add("secs", secs, 3);
    s.add("msgs_per_s", secs > 0 ? static_cast<double>(total_received_) / secs : 0.0, 0);
    s.add("p50_us", static_cast<double>(rtt_.percentile(50)) / 1e3, 1);
    s.add("p99_us", static_cast<double>(rtt_.percentile(99)) / 1e3, 1);
    s.add("max_us", static_cast<double>(rtt_.max()) / 1e3, 1);
    s.add("errors", errors_.total());
    cpu_.report(s, total_received_);
    errors_.print();
    s.print();
    return errors_.total() == 0 && opened_ == conns ? 0 : 1;
}

}  // namespace

int run_echo(const Options& opt) {
    Echo e(opt);
    return e.run();
}

}  // namespace wspush::wsload
