// churn mode: C parallel loops of connect, upgrade (Accept checked), one masked message,
// its echo, Close 1000, the server's Close and its TCP close; then the next connection.
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

class Churn final : public Handler {
public:
    explicit Churn(const Options& o)
        : o_(o), loop_(o, o.protocol, *this), payload_(o.size, o.text), cpu_(o.pids) {}

    int run();

    void on_open(Conn& c, uint64_t latency_ns) override {
        handshake_.record(latency_ns);
        Cycle& cy = cycle(c);
        payload_.make(cy.counter, scratch_);
        loop_.send(c, o_.text ? ws::Opcode::kText : ws::Opcode::kBinary, scratch_);
    }
    void on_message(Conn& c, ws::Opcode op, std::string_view p) override;
    void on_end(Conn& c, const ConnEnd& e) override;

private:
    struct Cycle {
        uint64_t counter = 0;
        bool echoed = false;
    };
    Cycle& cycle(const Conn& c) {
        if (cycles_.size() <= c.slot) cycles_.resize(c.slot + 1);
        return cycles_[c.slot];
    }
    [[nodiscard]] bool may_start() const {
        return !stopping_ && (o_.messages == 0 || started_ < o_.messages) && !stop_requested();
    }
    void start();

    const Options& o_;
    ClientLoop loop_;
    EchoPayload payload_;
    CpuProbe cpu_;
    ErrorLog errors_;
    Histogram handshake_;
    std::vector<Cycle> cycles_;
    std::string scratch_;
    uint64_t started_ = 0;
    uint64_t completed_ = 0;
    bool stopping_ = false;
};

void Churn::start() {
    int err = 0;
    Conn* c = loop_.open(started_, err);
    if (!c) {
        // Out of fds or source ports: the loop ends when no connection is left.
        errors_.add("cannot start connection: " + std::string(strerror(-err)));
        return;
    }
    cycle(*c) = Cycle{started_, false};
    ++started_;
}

void Churn::on_message(Conn& c, ws::Opcode op, std::string_view p) {
    Cycle& cy = cycle(c);
    if (cy.echoed) {
        errors_.add("more than one echo");
    } else if (op != (o_.text ? ws::Opcode::kText : ws::Opcode::kBinary) || payload_.check(cy.counter, p) >= 0) {
        errors_.add("echo differs from the message sent");
    }
    cy.echoed = true;
    loop_.close(c, kNormal);
}

void Churn::on_end(Conn& c, const ConnEnd& e) {
    const Cycle cy = cycle(c);
    if (e.error != nullptr) {
        errors_.add(std::string(e.opened ? "connection: " : "handshake: ") + e.error);
    } else if (!e.we_closed || !cy.echoed) {
        errors_.add("server closed before the echo");
    } else if (e.server_code != kNormal) {
        errors_.add("server answered Close with " + std::to_string(e.server_code));
    } else {
        ++completed_;
    }
    if (may_start()) start();
}

int Churn::run() {
    const uint64_t timeout = static_cast<uint64_t>(o_.timeout_s * 1e9);
    cpu_.start();
    const uint64_t t0 = mono_ns();
    const uint64_t run_end = t0 + static_cast<uint64_t>(o_.duration_s * 1e9);
    for (uint64_t i = 0; i < o_.connections && may_start(); ++i) start();
    while (loop_.live() > 0 && loop_.now() < run_end && !stop_requested()) loop_.run_once(wait_ms(loop_.now(), run_end, kTickMs));
    // Let the cycles in progress finish (each is bounded by its own timeouts).
    stopping_ = true;
    const uint64_t t_stop = loop_.now();
    const uint64_t drain_end = t_stop + 2 * timeout;
    while (loop_.live() > 0 && loop_.now() < drain_end) loop_.run_once(wait_ms(loop_.now(), drain_end, kTickMs));
    loop_.abort_all("cycle did not finish");
    const uint64_t t1 = loop_.now();
    cpu_.stop();

    const double secs = static_cast<double>(t1 - t0) / 1e9;
    Summary s(Mode::kChurn);
    s.add("parallel", o_.connections);
    s.add("size", o_.size);
    s.add("handshakes", completed_);
    s.add("secs", secs, 3);
    s.add("handshakes_per_s", secs > 0 ? static_cast<double>(completed_) / secs : 0.0, 0);
    s.add_latency("handshake", "ms", handshake_, 1e6);
    s.add("errors", errors_.total());
    cpu_.report(s, completed_);
    errors_.print();
    s.print();
    return errors_.total() == 0 && completed_ > 0 ? 0 : 1;
}

}  // namespace

int run_churn(const Options& opt) {
    Churn c(opt);
    return c.run();
}

}  // namespace wspush::wsload
