// idle mode: open N connections, hold them for the duration (answering Pings), close them.
// N above this process's file limit is split over forked worker processes, which report
// back through pipes.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "wsload/client.h"
#include "wsload/modes.h"
#include "wsload/report.h"

namespace wspush::wsload {

namespace {

constexpr int kTickMs = 100;
constexpr uint16_t kNormal = 1000;
// fds a process keeps for itself (stdio, epoll, pipes) below RLIMIT_NOFILE.
constexpr uint64_t kFdMargin = 64;
constexpr char kReady = 'R';

// What a worker sends its parent when done; plain bytes through a pipe.
struct IdleResult {
    uint64_t connected = 0;
    uint64_t failed = 0;
    uint64_t dropped = 0;       // closed by the server (or the network) while held
    uint64_t close_errors = 0;  // our Close 1000 not answered properly
    uint64_t pongs = 0;         // server Pings answered
    Histogram handshake;
};
static_assert(std::is_trivially_copyable_v<IdleResult>);

// One process's share of the connections.
class IdleWorker final : public Handler {
public:
    IdleWorker(const Options& o, uint64_t count, uint64_t first_source)
        : o_(o), loop_(o, o.protocol, *this), ramp_(loop_, count, o.parallel, first_source) {}

    // Connects, calls ready() once every connection is up or has failed, holds until
    // hold_done() says so, then closes. The result is in result().
    template <class Ready, class HoldDone>
    void run(Ready ready, HoldDone hold_done);

    [[nodiscard]] const IdleResult& result() const noexcept { return r_; }

    void on_open(Conn&, uint64_t latency_ns) override {
        ++r_.connected;
        r_.handshake.record(latency_ns);
        ramp_.resolved();
    }
    void on_message(Conn&, ws::Opcode, std::string_view) override {}
    void on_end(Conn&, const ConnEnd& e) override {
        if (!e.opened) {
            ++r_.failed;
            ramp_.resolved();
            if (o_.verbose || r_.failed <= 3) note(std::string("connection failed: ") + (e.error ? e.error : "?"));
        } else if (closing_) {
            if (e.error != nullptr || e.server_code != kNormal) ++r_.close_errors;
        } else {
            ++r_.dropped;
            if (o_.verbose || r_.dropped <= 3) {
                note(std::string("held connection ended: ") +
                     (e.error ? std::string(e.error) : "server Close " + std::to_string(e.server_code)));
            }
        }
    }

private:
    const Options& o_;
    ClientLoop loop_;
    Ramp ramp_;
    IdleResult r_;
    bool closing_ = false;
};

template <class Ready, class HoldDone>
void IdleWorker::run(Ready ready, HoldDone hold_done) {
    int err = 0;
    while (!ramp_.done() && !stop_requested()) {
        if (const uint64_t f = ramp_.pump(err); f > 0) {
            r_.failed += f;
            note("cannot start connection: " + std::string(strerror(-err)));
        }
        loop_.run_once(kTickMs);
    }
    ready();
    while (!hold_done(loop_.now()) && !stop_requested()) loop_.run_once(kTickMs);
    // Close politely, but within --timeout.
    closing_ = true;
    loop_.close_all(kNormal);
    const uint64_t end = loop_.now() + static_cast<uint64_t>(o_.timeout_s * 1e9);
    while (loop_.live() > 0 && loop_.now() < end) loop_.run_once(wait_ms(loop_.now(), end, kTickMs));
    loop_.abort_all("close timeout");
    r_.pongs = loop_.pongs();
}

void write_hold_file(const std::string& path) {
    if (path.empty()) return;
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || !write_all(fd, "ready\n", 6)) note("cannot write " + path + ": " + strerror(errno));
    if (fd >= 0) ::close(fd);
}

// Waits until fd is readable or the deadline passes (or, with stoppable, a stop is asked
// for). Returns true if readable.
bool wait_readable(int fd, uint64_t deadline_ns, bool stoppable) {
    for (;;) {
        const uint64_t now = mono_ns();
        if (now >= deadline_ns || (stoppable && stop_requested())) return false;
        pollfd p{fd, POLLIN, 0};
        const int n = poll(&p, 1, wait_ms(now, deadline_ns, 1000));
        if (n > 0) return true;
        if (n < 0 && errno != EINTR) return false;
    }
}

void report(const Options& o, const IdleResult& r, uint64_t workers, double held_s, const CpuProbe& cpu) {
    Summary s(Mode::kIdle);
    s.add("requested", o.subscribers);
    s.add("connected", r.connected);
    s.add("failed", r.failed);
    s.add("dropped", r.dropped);
    s.add("close_errors", r.close_errors);
    s.add("pongs", r.pongs);
    s.add("workers", workers);
    s.add("hold_s", held_s, 1);  // less than --duration after SIGINT/SIGTERM
    s.add_latency("handshake", "ms", r.handshake, 1e6);
    s.add("errors", r.failed + r.dropped + r.close_errors);
    cpu.report(s, 0);
    s.print();
}

int status_of(const Options& o, const IdleResult& r) {
    return r.connected == o.subscribers && r.failed + r.dropped + r.close_errors == 0 ? 0 : 1;
}

struct Child {
    pid_t pid = -1;
    int result_fd = -1;  // worker -> parent: kReady, then an IdleResult
};

}  // namespace

int run_idle(const Options& o) {
    const uint64_t nofile = raise_nofile_limit();
    const uint64_t per_process = nofile > 2 * kFdMargin ? nofile - kFdMargin : kFdMargin;
    const uint64_t hold_ns = static_cast<uint64_t>(o.duration_s * 1e9);
    // Bound on the connect phase: every handshake has its own timeout, but the ramp runs
    // them --parallel at a time.
    const uint64_t connect_bound =
        static_cast<uint64_t>(o.timeout_s * 1e9) * (2 + o.subscribers / (o.parallel * 10));
    CpuProbe cpu(o.pids);
    cpu.start();

    if (o.subscribers <= per_process) {
        IdleWorker w(o, o.subscribers, 0);
        uint64_t hold_start = 0;
        uint64_t hold_stop = 0;
        w.run(
            [&] {
                hold_start = mono_ns();
                write_hold_file(o.hold_file);
            },
            [&](uint64_t now) {
                hold_stop = now;
                return now >= hold_start + hold_ns;
            });
        cpu.stop();
        report(o, w.result(), 1, static_cast<double>(hold_stop - hold_start) / 1e9, cpu);
        return status_of(o, w.result());
    }

    const uint64_t workers = (o.subscribers + per_process - 1) / per_process;
    note("opening " + std::to_string(o.subscribers) + " connections from " + std::to_string(workers) +
         " processes (file limit " + std::to_string(nofile) + ")");
    int stop_pipe[2];
    if (pipe2(stop_pipe, O_CLOEXEC) != 0) {
        note("pipe failed");
        return 1;
    }
    std::vector<Child> children;
    uint64_t first = 0;
    for (uint64_t i = 0; i < workers; ++i) {
        const uint64_t share = o.subscribers / workers + (i < o.subscribers % workers ? 1 : 0);
        int res[2];
        if (pipe2(res, O_CLOEXEC) != 0) break;
        const pid_t pid = fork();
        if (pid == 0) {
            // Worker: keep only the read end of the stop pipe and the write end of its own
            // result pipe, so the parent's close of stop_pipe[1] reaches it as EOF.
            ::close(stop_pipe[1]);
            ::close(res[0]);
            for (const Child& c : children) ::close(c.result_fd);
            alarm(static_cast<unsigned>((connect_bound + hold_ns) / 1'000'000'000 + 4 * o.timeout_s + 60));
            IdleWorker w(o, share, first);
            const uint64_t deadline = mono_ns() + connect_bound + hold_ns + static_cast<uint64_t>(o.timeout_s * 1e9);
            w.run([&] { (void)write_all(res[1], &kReady, 1); },
                  [&](uint64_t now) {
                      pollfd p{stop_pipe[0], POLLIN, 0};
                      return now >= deadline || poll(&p, 1, 0) != 0;
                  });
            const bool ok = write_all(res[1], &w.result(), sizeof(IdleResult));
            _exit(ok ? 0 : 1);
        }
        ::close(res[1]);
        if (pid < 0) {
            ::close(res[0]);
            note("fork failed");
            break;
        }
        children.push_back(Child{pid, res[0]});
        first += share;
    }

    // Ready once every worker is (each has finished its connect phase).
    const uint64_t ready_deadline = mono_ns() + connect_bound;
    bool all_ready = children.size() == workers;
    for (const Child& c : children) {
        char b = 0;
        if (!wait_readable(c.result_fd, ready_deadline, true) || !read_all(c.result_fd, &b, 1) || b != kReady) {
            all_ready = false;
        }
    }
    uint64_t hold_start = mono_ns();
    uint64_t hold_stop = hold_start;
    if (all_ready) {
        write_hold_file(o.hold_file);
        const uint64_t hold_end = hold_start + hold_ns;
        while ((hold_stop = mono_ns()) < hold_end && !stop_requested()) {
            usleep(static_cast<useconds_t>(wait_ms(hold_stop, hold_end, 100)) * 1000);
        }
    } else {
        note("not every worker finished connecting");
    }
    ::close(stop_pipe[1]);
    ::close(stop_pipe[0]);

    IdleResult total;
    bool all_reported = children.size() == workers;
    const uint64_t result_deadline = mono_ns() + static_cast<uint64_t>(2 * o.timeout_s * 1e9);
    for (const Child& c : children) {
        IdleResult r;
        if (wait_readable(c.result_fd, result_deadline, false) && read_all(c.result_fd, &r, sizeof r)) {
            total.connected += r.connected;
            total.failed += r.failed;
            total.dropped += r.dropped;
            total.close_errors += r.close_errors;
            total.pongs += r.pongs;
            total.handshake.merge(r.handshake);
        } else {
            all_reported = false;
            kill(c.pid, SIGKILL);
        }
        ::close(c.result_fd);
        int st = 0;
        waitpid(c.pid, &st, 0);
    }
    cpu.stop();
    if (!all_reported) note("a worker did not report; its connections count as failed");
    total.failed = std::max(total.failed, o.subscribers - std::min(o.subscribers, total.connected));
    report(o, total, workers, static_cast<double>(hold_stop - hold_start) / 1e9, cpu);
    return all_reported && all_ready ? status_of(o, total) : 1;
}

}  // namespace wspush::wsload
