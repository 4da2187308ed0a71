// The --workers parent with trivial worker bodies: each worker echoes over its own
// socketpair; one that exits once is restarted and echoes again; one that always exits makes
// the parent give up after max_restarts, with backoff between the forks; SIGHUP reaches the
// workers; SIGTERM stops them, and one that ignores it is killed after stop_timeout_ms. Every
// wait is on the signalfd or a worker's socket, with a deadline.
#include "cluster/supervisor.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <string>
#include <vector>

#include "base/clock.h"
#include "cluster/blocking_io.h"

namespace wspush::cluster {
namespace {

using test_support::write_all;

constexpr int kWaitMs = 10000;

enum class Mode { kEcho, kExitOnce, kExitAlways, kHup, kIgnoreTerm };

// What the children run (read-only after fork) and what the parent's hooks saw.
struct Plan {
    std::string dir;              // a mkdtemp directory for kExitOnce's marker files
    Mode modes[kMaxSupervised] = {};
    std::vector<int> down_status[kMaxSupervised];
    std::vector<uint64_t> up_at;  // fork times (monotonic ms), any worker
};

// Echoes until the parent's end closes. A signalfd for SIGHUP (kHup) answers "hup".
int echo(int fd, int hup_fd) {
    char buf[512];
    for (;;) {
        pollfd p[2] = {{.fd = fd, .events = POLLIN, .revents = 0}, {.fd = hup_fd, .events = POLLIN, .revents = 0}};
        if (poll(p, hup_fd >= 0 ? 2 : 1, -1) < 0) continue;
        if (p[1].revents & POLLIN) {
            signalfd_siginfo si;
            if (read(hup_fd, &si, sizeof si) == sizeof si && !write_all(fd, "hup")) return 2;
        }
        if (p[0].revents == 0) continue;
        const ssize_t n = read(fd, buf, sizeof buf);
        if (n == 0) return 0;
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) continue;
            return 2;
        }
        if (!write_all(fd, std::string_view(buf, static_cast<size_t>(n)))) return 2;
    }
}

int body(void* ctx, uint32_t index, int fd) {
    const Plan& plan = *static_cast<const Plan*>(ctx);
    switch (plan.modes[index]) {
        case Mode::kEcho: return echo(fd, -1);
        case Mode::kExitOnce: {
            const std::string marker = plan.dir + "/exited-" + std::to_string(index);
            const int m = open(marker.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
            if (m >= 0) return 3;  // the first life
            return echo(fd, -1);
        }
        case Mode::kExitAlways: return 1;
        case Mode::kHup: {
            sigset_t set;
            sigemptyset(&set);
            sigaddset(&set, SIGHUP);
            sigprocmask(SIG_BLOCK, &set, nullptr);
            const int hup = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
            if (hup < 0 || !write_all(fd, "ready")) return 2;
            return echo(fd, hup);
        }
        case Mode::kIgnoreTerm:
            signal(SIGTERM, SIG_IGN);
            if (!write_all(fd, "ready")) return 2;
            return echo(fd, -1);
    }
    return 2;
}

SupervisorHooks hooks(Plan& plan) {
    SupervisorHooks h;
    h.body = body;
    h.up = [](void* ctx, uint32_t, int, pid_t) { static_cast<Plan*>(ctx)->up_at.push_back(base::monotonic_ms()); };
    h.down = [](void* ctx, uint32_t i, int status) { static_cast<Plan*>(ctx)->down_status[i].push_back(status); };
    h.ctx = &plan;
    return h;
}

class ClusterSupervisor : public testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/wspush-cluster-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        plan_.dir = tmpl;
    }
    void TearDown() override {
        for (uint32_t i = 0; i < kMaxSupervised; ++i) unlink((plan_.dir + "/exited-" + std::to_string(i)).c_str());
        rmdir(plan_.dir.c_str());
    }

    // Reads exactly `want` bytes' worth from worker i (its current fd), running the parent's
    // loop meanwhile (a restart may give it a new fd). "" on the deadline.
    static std::string read_worker(Supervisor& s, uint32_t i, size_t want) {
        const uint64_t end = base::monotonic_ms() + kWaitMs;
        std::string got;
        while (got.size() < want) {
            const uint64_t now = base::monotonic_ms();
            if (now >= end) return "";
            const int fd = s.worker_fd(i);
            if (fd >= 0) {
                char buf[256];
                const ssize_t n = read(fd, buf, std::min(sizeof buf, want - got.size()));
                if (n > 0) {
                    got.append(buf, static_cast<size_t>(n));
                    continue;
                }
            }
            s.run_once(fd, static_cast<int>(end - now));
        }
        return got;
    }

    // Runs the parent's loop until pred() holds; false on the deadline.
    template <class Pred>
    static bool run_until(Supervisor& s, Pred pred) {
        const uint64_t end = base::monotonic_ms() + kWaitMs;
        while (!pred()) {
            const uint64_t now = base::monotonic_ms();
            if (now >= end) return false;
            s.run_once(-1, static_cast<int>(end - now));
        }
        return true;
    }

    static std::string echo_of(Supervisor& s, uint32_t i, const std::string& text) {
        if (s.worker_fd(i) < 0 || !write_all(s.worker_fd(i), text)) return "<write failed>";
        return read_worker(s, i, text.size());
    }

    Plan plan_;
};

TEST_F(ClusterSupervisor, EchoesOverEachWorkersOwnSocketpair) {
    Supervisor s(SupervisorOptions{.workers = 3}, hooks(plan_));
    ASSERT_TRUE(s.start(base::monotonic_ms())) << s.error();
    EXPECT_EQ(s.state(), Supervisor::State::kRunning);
    for (uint32_t i = 0; i < 3; ++i) {
        EXPECT_EQ(s.worker_state(i), Supervisor::Worker::kUp);
        EXPECT_GT(s.worker_pid(i), 0);
        for (uint32_t j = 0; j < i; ++j) EXPECT_NE(s.worker_pid(i), s.worker_pid(j));
    }
    for (uint32_t i = 0; i < 3; ++i) EXPECT_EQ(echo_of(s, i, "ping " + std::to_string(i)), "ping " + std::to_string(i));

    // A SIGTERM to the parent (blocked, so it waits in the signalfd) stops them all. raise():
    // to this thread, which blocks it, whatever other threads the test binary has.
    ASSERT_EQ(raise(SIGTERM), 0);
    ASSERT_TRUE(run_until(s, [&] { return s.finished(); }));
    EXPECT_EQ(s.state(), Supervisor::State::kDone);
    EXPECT_EQ(s.restarts(), 0u);
    for (uint32_t i = 0; i < 3; ++i) {
        EXPECT_EQ(s.worker_state(i), Supervisor::Worker::kDown);
        EXPECT_EQ(s.worker_fd(i), -1);
        ASSERT_EQ(plan_.down_status[i].size(), 1u);
        EXPECT_TRUE(WIFSIGNALED(plan_.down_status[i][0]));
        EXPECT_EQ(WTERMSIG(plan_.down_status[i][0]), SIGTERM);
    }
}

TEST_F(ClusterSupervisor, RestartsAWorkerThatExitedOnce) {
    plan_.modes[0] = Mode::kExitOnce;
    Supervisor s(SupervisorOptions{.workers = 2, .backoff_initial_ms = 1}, hooks(plan_));
    ASSERT_TRUE(s.start(base::monotonic_ms())) << s.error();
    const pid_t first = s.worker_pid(0);
    // The reply comes from the second life, over the new socketpair.
    ASSERT_TRUE(run_until(s, [&] { return s.restarts() == 1 && s.worker_state(0) == Supervisor::Worker::kUp; }));
    EXPECT_NE(s.worker_pid(0), first);
    EXPECT_EQ(echo_of(s, 0, "again"), "again");
    EXPECT_EQ(echo_of(s, 1, "other"), "other");
    ASSERT_EQ(plan_.down_status[0].size(), 1u);
    EXPECT_TRUE(WIFEXITED(plan_.down_status[0][0]));
    EXPECT_EQ(WEXITSTATUS(plan_.down_status[0][0]), 3);
    EXPECT_TRUE(plan_.down_status[1].empty());
    EXPECT_EQ(s.state(), Supervisor::State::kRunning);

    s.stop(base::monotonic_ms());
    ASSERT_TRUE(run_until(s, [&] { return s.finished(); }));
    EXPECT_EQ(s.state(), Supervisor::State::kDone);
    EXPECT_EQ(s.restarts(), 1u);
}

TEST_F(ClusterSupervisor, GivesUpOnAWorkerThatKeepsExitingWithBackoff) {
    plan_.modes[0] = Mode::kExitAlways;
    Supervisor s(SupervisorOptions{.workers = 2, .max_restarts = 3, .backoff_initial_ms = 20, .backoff_max_ms = 40},
                 hooks(plan_));
    ASSERT_TRUE(s.start(base::monotonic_ms())) << s.error();
    const uint64_t started = base::monotonic_ms();
    ASSERT_TRUE(run_until(s, [&] { return s.finished(); }));
    EXPECT_EQ(s.state(), Supervisor::State::kGaveUp);
    EXPECT_EQ(s.restarts(), 3u);
    // Four lives of worker 0 (three restarts), then the healthy worker 1 was stopped too.
    EXPECT_EQ(plan_.down_status[0].size(), 4u);
    ASSERT_EQ(plan_.down_status[1].size(), 1u);
    EXPECT_EQ(WTERMSIG(plan_.down_status[1][0]), SIGTERM);
    EXPECT_EQ(s.worker_state(0), Supervisor::Worker::kDown);
    EXPECT_EQ(s.worker_state(1), Supervisor::Worker::kDown);
    const std::string error = s.error();
    EXPECT_NE(error.find("worker 0 exited with status 1"), std::string::npos) << error;
    EXPECT_NE(error.find("more than 3 restarts in 60 s, giving up"), std::string::npos) << error;
    // Waits of 20, 40 and 40 ms before the three forks: the restarts are spaced by them.
    ASSERT_EQ(plan_.up_at.size(), 5u);  // two at start, three restarts
    EXPECT_GE(plan_.up_at[2] - started, 20u);
    EXPECT_GE(plan_.up_at[3] - plan_.up_at[2], 40u);
    EXPECT_GE(plan_.up_at[4] - plan_.up_at[3], 40u);
}

// The backoff on a clock the test sets (on_signals() and tick() take `now`): each quick
// exit in a row doubles the wait up to the cap; an exit after kStableMs starts again.
TEST_F(ClusterSupervisor, BackoffDoublesForQuickExitsAndStartsAgainAfterAStableLife) {
    plan_.modes[0] = Mode::kExitAlways;
    Supervisor s(SupervisorOptions{.workers = 1, .backoff_initial_ms = 100, .backoff_max_ms = 300}, hooks(plan_));
    ASSERT_TRUE(s.start(1000)) << s.error();
    auto exit_seen_at = [&](uint64_t now) {
        pollfd p{.fd = s.signal_fd(), .events = POLLIN, .revents = 0};
        while (s.worker_state(0) == Supervisor::Worker::kUp) {
            if (poll(&p, 1, kWaitMs) != 1) return false;
            s.on_signals(now);
        }
        return true;
    };
    ASSERT_TRUE(exit_seen_at(1010));
    EXPECT_EQ(s.deadline(), 1110u);  // first quick exit: 100 ms
    s.tick(1109);
    EXPECT_EQ(s.worker_state(0), Supervisor::Worker::kWaiting);
    s.tick(1110);
    ASSERT_EQ(s.worker_state(0), Supervisor::Worker::kUp);
    ASSERT_TRUE(exit_seen_at(1120));
    EXPECT_EQ(s.deadline(), 1320u);  // second: 200 ms
    s.tick(1320);
    ASSERT_TRUE(exit_seen_at(1330));
    EXPECT_EQ(s.deadline(), 1630u);  // third: 400, capped at 300
    s.tick(1630);
    ASSERT_TRUE(exit_seen_at(1630 + kStableMs));
    EXPECT_EQ(s.deadline(), 1630 + kStableMs + 100);  // it had lived kStableMs: 100 again
    EXPECT_EQ(s.restarts(), 4u);
}

TEST_F(ClusterSupervisor, ZeroRestartsGivesUpAtTheFirstExit) {
    plan_.modes[0] = Mode::kExitAlways;
    Supervisor s(SupervisorOptions{.workers = 1, .max_restarts = 0}, hooks(plan_));
    ASSERT_TRUE(s.start(base::monotonic_ms())) << s.error();
    ASSERT_TRUE(run_until(s, [&] { return s.finished(); }));
    EXPECT_EQ(s.state(), Supervisor::State::kGaveUp);
    EXPECT_EQ(s.restarts(), 0u);
}

TEST_F(ClusterSupervisor, PassesSigHupOnToTheWorkers) {
    plan_.modes[0] = Mode::kHup;
    plan_.modes[1] = Mode::kHup;
    Supervisor s(SupervisorOptions{.workers = 2}, hooks(plan_));
    ASSERT_TRUE(s.start(base::monotonic_ms())) << s.error();
    ASSERT_EQ(read_worker(s, 0, 5), "ready");
    ASSERT_EQ(read_worker(s, 1, 5), "ready");
    ASSERT_EQ(raise(SIGHUP), 0);
    EXPECT_EQ(read_worker(s, 0, 3), "hup");
    EXPECT_EQ(read_worker(s, 1, 3), "hup");
    EXPECT_EQ(s.state(), Supervisor::State::kRunning);
    EXPECT_EQ(s.restarts(), 0u);
}

TEST_F(ClusterSupervisor, KillsAWorkerThatIgnoresSigtermAfterTheTimeout) {
    plan_.modes[1] = Mode::kIgnoreTerm;
    Supervisor s(SupervisorOptions{.workers = 2, .stop_timeout_ms = 100}, hooks(plan_));
    ASSERT_TRUE(s.start(base::monotonic_ms())) << s.error();
    ASSERT_EQ(read_worker(s, 1, 5), "ready");
    const uint64_t stopped = base::monotonic_ms();
    s.stop(stopped);
    EXPECT_EQ(s.state(), Supervisor::State::kStopping);
    ASSERT_TRUE(run_until(s, [&] { return s.finished(); }));
    EXPECT_EQ(s.state(), Supervisor::State::kDone);
    EXPECT_GE(base::monotonic_ms() - stopped, 100u);
    ASSERT_EQ(plan_.down_status[1].size(), 1u);
    EXPECT_EQ(WTERMSIG(plan_.down_status[1][0]), SIGKILL);
    EXPECT_EQ(WTERMSIG(plan_.down_status[0][0]), SIGTERM);
}

TEST_F(ClusterSupervisor, TheDestructorKillsWhatStillRuns) {
    pid_t pid = -1;
    {
        Supervisor s(SupervisorOptions{.workers = 1}, hooks(plan_));
        ASSERT_TRUE(s.start(base::monotonic_ms())) << s.error();
        pid = s.worker_pid(0);
        EXPECT_EQ(echo_of(s, 0, "x"), "x");
    }
    // Reaped: no such child any more.
    EXPECT_EQ(waitpid(pid, nullptr, WNOHANG), -1);
    EXPECT_EQ(errno, ECHILD);
}

}  // namespace
}  // namespace wspush::cluster
