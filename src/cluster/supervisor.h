// The --workers parent: forks N worker processes, each given its end of a SOCK_STREAM
// socketpair (cluster/wire.h), restarts a worker that dies, forwards SIGTERM/SIGINT (as
// SIGTERM) and SIGHUP to the workers, and is done when every worker has exited after a stop.
// The worker's body is a callback run in the child, which _exits with its return value.
//
// Listening sockets: made once by the parent before start() and inherited by every worker
// (one accept queue), not one SO_REUSEPORT socket per worker. With SO_REUSEPORT the kernel
// hashes each connection to one worker's queue, which spreads clients evenly, but the
// connections waiting in a dying worker's queue are reset, a restart has to bind again, and
// a systemd-activated socket (wspushd.socket) is one fd that cannot be split. A shared queue
// loses nothing when a worker dies and works with socket activation; the workers poll it with
// EPOLLEXCLUSIVE so one of them wakes per connection, and the spread is uneven (an idle worker
// tends to take more), which each worker can correct by accepting less when fuller. Nothing
// here depends on the choice: a body may still open its own SO_REUSEPORT socket.
//
//   worker state  entered by                              left by
//   kUp           fork (start(), a restart)               its exit -> kWaiting, or kDown when
//                                                         stopping or giving up
//   kWaiting      an exit while running                   the backoff's end -> kUp (fork)
//   kDown         an exit while stopping, a failed fork   never
//
// Restarts: the k-th exit in a row of a worker that lived less than kStableMs waits
// min(backoff_max_ms, backoff_initial_ms * 2^(k-1)) before the fork (a worker that lived
// longer waits backoff_initial_ms). More than max_restarts restarts (all workers together)
// within any 60 s make the parent give up: it stops the others and error() says why.
//
// Signals: start() blocks SIGCHLD, SIGTERM, SIGINT and SIGHUP and reads them from a signalfd
// (signal_fd()); the children get the previous mask and default dispositions back. The
// process is to have one thread (as the server does): a signal sent to the process may
// otherwise go to a thread that does not block it, and a SIGCHLD would be lost there. The
// destructor kills (SIGKILL) and reaps any worker still running, drops those signals still
// pending and restores the mask.
#pragma once
#include <sys/types.h>

#include <csignal>
#include <cstddef>
#include <cstdint>

namespace wspush::cluster {

inline constexpr uint32_t kMaxSupervised = 64;
inline constexpr uint64_t kStableMs = 10000;
inline constexpr uint64_t kRestartWindowMs = 60000;
inline constexpr uint32_t kMaxRestartsLimit = 64;

struct SupervisorOptions {
    uint32_t workers = 1;               // 1..kMaxSupervised
    uint32_t max_restarts = 10;         // per kRestartWindowMs, all workers; 0..kMaxRestartsLimit
    uint32_t backoff_initial_ms = 100;
    uint32_t backoff_max_ms = 5000;
    uint32_t stop_timeout_ms = 10000;   // after the SIGTERM, workers still running get SIGKILL
};

struct SupervisorHooks {
    // In the child: the worker's whole life. fd is its end of the socketpair (non-blocking,
    // close-on-exec); the return value is the exit status. Required.
    int (*body)(void* ctx, uint32_t index, int fd) = nullptr;
    // In the parent: worker `index` was forked; fd is the parent's end (non-blocking), valid
    // until down() for that worker. Optional.
    void (*up)(void* ctx, uint32_t index, int fd, pid_t pid) = nullptr;
    // In the parent: worker `index` exited (status as waitpid gives it); its fd is closed
    // right after this returns. Optional.
    void (*down)(void* ctx, uint32_t index, int status) = nullptr;
    void* ctx = nullptr;
};

class Supervisor {
public:
    enum class State : uint8_t {
        kIdle,      // before start()
        kRunning,   // workers up or waiting to restart
        kStopping,  // a SIGTERM/SIGINT came (or stop()): waiting for the workers to exit
        kDone,      // every worker exited after a stop: exit 0
        kGaveUp,    // too many restarts, or a fork failed; every worker exited: exit 1
    };
    enum class Worker : uint8_t { kUp, kWaiting, kDown };

    Supervisor(const SupervisorOptions& options, const SupervisorHooks& hooks) noexcept;
    ~Supervisor();
    Supervisor(const Supervisor&) = delete;
    Supervisor& operator=(const Supervisor&) = delete;

    // Blocks the signals, opens the signalfd and forks every worker. False with error() set
    // (nothing left running) when that fails. Call once.
    [[nodiscard]] bool start(uint64_t now) noexcept;

    // Readable when a signal is pending: then call on_signals().
    [[nodiscard]] int signal_fd() const noexcept { return signal_fd_; }
    // Reads the pending signals: reaps exited workers, forwards SIGHUP, stops on
    // SIGTERM/SIGINT.
    void on_signals(uint64_t now) noexcept;
    // When tick() next has something to do (a restart, the stop timeout); UINT64_MAX if never.
    [[nodiscard]] uint64_t deadline() const noexcept;
    // Restarts the workers whose backoff ended, SIGKILLs the workers past the stop timeout.
    void tick(uint64_t now) noexcept;
    // As a SIGTERM would: forwards it and waits for the workers.
    void stop(uint64_t now) noexcept;

    // One wait of the parent's loop: polls signal_fd() and extra_fd (if >= 0) until one is
    // readable, deadline() or max_wait_ms, then handles signals and ticks. Returns whether
    // extra_fd is readable.
    bool run_once(int extra_fd, int max_wait_ms) noexcept;
    // run_once() until kDone or kGaveUp; returns the exit status (0 or 1).
    int run() noexcept;

    [[nodiscard]] State state() const noexcept { return state_; }
    // kDone, or kGaveUp with every worker exited.
    [[nodiscard]] bool finished() const noexcept;
    // Why the parent gave up or start() failed (a fixed buffer); "" otherwise.
    [[nodiscard]] const char* error() const noexcept { return error_; }
    [[nodiscard]] Worker worker_state(uint32_t i) const noexcept { return workers_[i].state; }
    [[nodiscard]] pid_t worker_pid(uint32_t i) const noexcept { return workers_[i].pid; }
    // The parent's end of worker i's socketpair; -1 unless kUp.
    [[nodiscard]] int worker_fd(uint32_t i) const noexcept { return workers_[i].fd; }
    // Restarts so far, all workers together.
    [[nodiscard]] uint64_t restarts() const noexcept { return restarts_; }

private:
    struct Slot {
        Worker state = Worker::kDown;
        pid_t pid = -1;
        int fd = -1;
        uint64_t started = 0;    // when forked
        uint64_t restart_at = 0;  // kWaiting: when to fork again
        uint32_t quick_exits = 0;  // exits in a row within kStableMs of the fork
    };

    [[nodiscard]] bool spawn(uint32_t i, uint64_t now) noexcept;
    void reap(uint64_t now) noexcept;
    void exited(uint32_t i, int status, uint64_t now) noexcept;
    void give_up(uint64_t now) noexcept;
    void signal_all(int sig) noexcept;
    void settle() noexcept;
    [[nodiscard]] bool restart_allowed(uint64_t now) noexcept;

    SupervisorOptions options_;
    SupervisorHooks hooks_;
    State state_ = State::kIdle;
    Slot workers_[kMaxSupervised];
    int signal_fd_ = -1;
    sigset_t old_mask_;
    bool mask_set_ = false;
    uint64_t stop_deadline_ = UINT64_MAX;
    uint64_t restarts_ = 0;
    uint64_t window_[kMaxRestartsLimit] = {};  // the last max_restarts restart times, a ring
    size_t window_head_ = 0;                    // the oldest of them
    char error_[160] = "";
};

}  // namespace wspush::cluster
