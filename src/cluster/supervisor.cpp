#include "cluster/supervisor.h"

#include <poll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "base/clock.h"
#include "base/log.h"

namespace wspush::cluster {
namespace {

constexpr int kSignals[] = {SIGCHLD, SIGTERM, SIGINT, SIGHUP};

// "exited with status 3" / "killed by signal 9", for the log and error().
void describe(int status, char* out, size_t len) noexcept {
    if (WIFEXITED(status))
        snprintf(out, len, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(out, len, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        snprintf(out, len, "ended with wait status %d", status);
}

}  // namespace

Supervisor::Supervisor(const SupervisorOptions& options, const SupervisorHooks& hooks) noexcept
    : options_(options), hooks_(hooks) {
    options_.workers = std::clamp<uint32_t>(options_.workers, 1, kMaxSupervised);
    options_.max_restarts = std::min(options_.max_restarts, kMaxRestartsLimit);
    options_.backoff_max_ms = std::max(options_.backoff_max_ms, options_.backoff_initial_ms);
    sigemptyset(&old_mask_);
}

Supervisor::~Supervisor() {
    for (uint32_t i = 0; i < options_.workers; ++i) {
        Slot& w = workers_[i];
        if (w.state == Worker::kUp) {
            kill(w.pid, SIGKILL);
            while (waitpid(w.pid, nullptr, 0) < 0 && errno == EINTR) {
            }
        }
        if (w.fd >= 0) close(w.fd);
    }
    if (signal_fd_ >= 0) close(signal_fd_);
    if (mask_set_) {
        // What is still pending was the supervisor's to handle (its workers' SIGCHLDs, a
        // late SIGTERM): dropped, not delivered to the caller once unblocked.
        sigset_t set;
        sigemptyset(&set);
        for (int sig : kSignals) sigaddset(&set, sig);
        const timespec zero{};
        while (sigtimedwait(&set, nullptr, &zero) > 0) {
        }
        sigprocmask(SIG_SETMASK, &old_mask_, nullptr);
    }
}

bool Supervisor::start(uint64_t now) noexcept {
    if (hooks_.body == nullptr) {
        snprintf(error_, sizeof error_, "no worker body");
        return false;
    }
    sigset_t set;
    sigemptyset(&set);
    for (int sig : kSignals) sigaddset(&set, sig);
    if (sigprocmask(SIG_BLOCK, &set, &old_mask_) != 0) {
        snprintf(error_, sizeof error_, "sigprocmask: %s", strerror(errno));
        return false;
    }
    mask_set_ = true;
    signal_fd_ = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (signal_fd_ < 0) {
        snprintf(error_, sizeof error_, "signalfd: %s", strerror(errno));
        return false;
    }
    state_ = State::kRunning;
    for (uint32_t i = 0; i < options_.workers; ++i) {
        if (!spawn(i, now)) {
            // error_ says which; the ones already forked are stopped and reaped.
            state_ = State::kGaveUp;
            signal_all(SIGKILL);
            for (uint32_t j = 0; j < i; ++j) {
                while (waitpid(workers_[j].pid, nullptr, 0) < 0 && errno == EINTR) {
                }
                close(workers_[j].fd);
                workers_[j] = Slot{};
            }
            return false;
        }
    }
    return true;
}

bool Supervisor::spawn(uint32_t i, uint64_t now) noexcept {
    Slot& w = workers_[i];
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) {
        snprintf(error_, sizeof error_, "worker %u: socketpair: %s", i, strerror(errno));
        return false;
    }
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid < 0) {
        snprintf(error_, sizeof error_, "worker %u: fork: %s", i, strerror(errno));
        close(sv[0]);
        close(sv[1]);
        return false;
    }
    if (pid == 0) {
        // The child: only its own end of its own pair, default signals, the old mask. It dies
        // with the parent (PR_SET_PDEATHSIG; the getppid() check closes the race with a
        // parent that died before the prctl).
        close(sv[0]);
        close(signal_fd_);
        for (uint32_t j = 0; j < options_.workers; ++j)
            if (workers_[j].fd >= 0) close(workers_[j].fd);
        for (int sig : kSignals) signal(sig, SIG_DFL);
        sigprocmask(SIG_SETMASK, &old_mask_, nullptr);
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent) _exit(1);
        _exit(hooks_.body(hooks_.ctx, i, sv[1]));
    }
    close(sv[1]);
    w.state = Worker::kUp;
    w.pid = pid;
    w.fd = sv[0];
    w.started = now;
    if (hooks_.up) hooks_.up(hooks_.ctx, i, w.fd, pid);
    return true;
}

void Supervisor::on_signals(uint64_t now) noexcept {
    signalfd_siginfo si;
    bool child = false;
    for (;;) {
        const ssize_t n = read(signal_fd_, &si, sizeof si);
        if (n != static_cast<ssize_t>(sizeof si)) break;  // EAGAIN: all read
        switch (si.ssi_signo) {
            case SIGCHLD: child = true; break;
            case SIGHUP:
                if (state_ == State::kRunning) {
                    LOG_INFO("SIGHUP: passed on to the workers");
                    signal_all(SIGHUP);
                }
                break;
            case SIGTERM:
            case SIGINT:
                LOG_INFO("%s: stopping the workers", si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
                stop(now);
                break;
        }
    }
    // SIGCHLDs merge: every worker is checked, not one per signal.
    if (child) reap(now);
}

void Supervisor::reap(uint64_t now) noexcept {
    for (uint32_t i = 0; i < options_.workers; ++i) {
        Slot& w = workers_[i];
        if (w.state != Worker::kUp) continue;
        int status = 0;
        const pid_t r = waitpid(w.pid, &status, WNOHANG);
        if (r == w.pid) exited(i, status, now);
    }
    settle();
}

void Supervisor::exited(uint32_t i, int status, uint64_t now) noexcept {
    Slot& w = workers_[i];
    if (hooks_.down) hooks_.down(hooks_.ctx, i, status);
    close(w.fd);
    w.fd = -1;
    w.pid = -1;
    char how[96];
    describe(status, how, sizeof how);
    if (state_ != State::kRunning) {
        w.state = Worker::kDown;
        return;
    }
    w.quick_exits = now - w.started < kStableMs ? w.quick_exits + 1 : 1;
    if (!restart_allowed(now)) {
        snprintf(error_, sizeof error_, "worker %u %s: more than %u restarts in %llu s, giving up", i, how,
                 options_.max_restarts, static_cast<unsigned long long>(kRestartWindowMs / 1000));
        LOG_ERROR("%s", error_);
        w.state = Worker::kDown;
        give_up(now);
        return;
    }
    const uint32_t shift = std::min<uint32_t>(w.quick_exits - 1, 31);
    const uint64_t wait = std::min<uint64_t>(uint64_t{options_.backoff_initial_ms} << shift, options_.backoff_max_ms);
    LOG_WARN("worker %u %s; restarting in %llu ms", i, how, static_cast<unsigned long long>(wait));
    w.state = Worker::kWaiting;
    w.restart_at = now + wait;
}

bool Supervisor::restart_allowed(uint64_t now) noexcept {
    if (options_.max_restarts == 0) return false;
    // The ring holds the last max_restarts restart times, oldest at the head: a new one is
    // allowed when the oldest is out of the window (or fewer were made).
    const uint64_t oldest = window_[window_head_];
    if (restarts_ >= options_.max_restarts && now - oldest < kRestartWindowMs) return false;
    window_[window_head_] = now;
    window_head_ = (window_head_ + 1) % options_.max_restarts;
    ++restarts_;
    return true;
}

void Supervisor::give_up(uint64_t now) noexcept {
    state_ = State::kGaveUp;
    for (uint32_t i = 0; i < options_.workers; ++i)
        if (workers_[i].state == Worker::kWaiting) workers_[i].state = Worker::kDown;
    signal_all(SIGTERM);
    stop_deadline_ = now + options_.stop_timeout_ms;
}

void Supervisor::stop(uint64_t now) noexcept {
    if (state_ != State::kRunning) return;
    state_ = State::kStopping;
    for (uint32_t i = 0; i < options_.workers; ++i)
        if (workers_[i].state == Worker::kWaiting) workers_[i].state = Worker::kDown;
    signal_all(SIGTERM);
    stop_deadline_ = now + options_.stop_timeout_ms;
    settle();
}

void Supervisor::signal_all(int sig) noexcept {
    for (uint32_t i = 0; i < options_.workers; ++i)
        if (workers_[i].state == Worker::kUp) kill(workers_[i].pid, sig);
}

// kStopping (or kGaveUp with workers left) becomes final once no worker runs.
void Supervisor::settle() noexcept {
    if (state_ != State::kStopping && state_ != State::kGaveUp) return;
    for (uint32_t i = 0; i < options_.workers; ++i)
        if (workers_[i].state == Worker::kUp) return;
    if (state_ == State::kStopping) state_ = State::kDone;
    stop_deadline_ = UINT64_MAX;
}

uint64_t Supervisor::deadline() const noexcept {
    uint64_t d = stop_deadline_;
    if (state_ == State::kRunning)
        for (uint32_t i = 0; i < options_.workers; ++i)
            if (workers_[i].state == Worker::kWaiting) d = std::min(d, workers_[i].restart_at);
    return d;
}

void Supervisor::tick(uint64_t now) noexcept {
    if (now >= stop_deadline_) {
        LOG_WARN("workers still running %u ms after SIGTERM: killing them", options_.stop_timeout_ms);
        signal_all(SIGKILL);
        stop_deadline_ = UINT64_MAX;  // their SIGCHLDs finish the stop
    }
    if (state_ != State::kRunning) return;
    for (uint32_t i = 0; i < options_.workers; ++i) {
        Slot& w = workers_[i];
        if (w.state != Worker::kWaiting || now < w.restart_at) continue;
        if (!spawn(i, now)) {
            LOG_ERROR("%s, giving up", error_);
            w.state = Worker::kDown;
            give_up(now);
            return;
        }
    }
}

bool Supervisor::run_once(int extra_fd, int max_wait_ms) noexcept {
    pollfd fds[2] = {{.fd = signal_fd_, .events = POLLIN, .revents = 0},
                     {.fd = extra_fd, .events = POLLIN, .revents = 0}};
    uint64_t now = base::monotonic_ms();
    int wait = max_wait_ms;
    const uint64_t d = deadline();
    if (d != UINT64_MAX) wait = static_cast<int>(std::min<uint64_t>(d > now ? d - now : 0, static_cast<uint64_t>(wait)));
    const int n = poll(fds, extra_fd >= 0 ? 2 : 1, wait);
    now = base::monotonic_ms();
    if (n > 0 && (fds[0].revents & POLLIN)) on_signals(now);
    tick(now);
    return n > 0 && extra_fd >= 0 && fds[1].revents != 0;
}

bool Supervisor::finished() const noexcept {
    if (state_ == State::kDone) return true;
    if (state_ != State::kGaveUp) return false;
    for (uint32_t i = 0; i < options_.workers; ++i)
        if (workers_[i].state == Worker::kUp) return false;
    return true;
}

int Supervisor::run() noexcept {
    while (!finished()) (void)run_once(-1, 1000);
    return state_ == State::kDone ? 0 : 1;
}

}  // namespace wspush::cluster
