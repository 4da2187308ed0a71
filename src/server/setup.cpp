// The server's set-up and teardown: limits, the connection table, the listening, signal
// and control sockets. Run once per process, so built for size (Makefile, HOT_SRC).
#include "server/server.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <malloc.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "net/activation.h"
#include "net/socket.h"
#include "server/loop_tags.h"

namespace wspush::server {
namespace {

using namespace loop;

constexpr uint32_t kFdReserve = 64;      // descriptors kept for listeners, logs, the spare
constexpr size_t kMallocMmapThreshold = 128 * 1024;  // larger blocks: own mapping, freed whole

// Epochs: a random 32-bit start id in the high half, the channel's creation count in the
// low half, so numbering differs across restarts and never repeats within one run.
// A seed for the ?id= index: from the kernel, else the clock, the pid and ASLR.
uint64_t random_seed() {
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof seed))
        seed = static_cast<uint64_t>(time(nullptr)) ^ (static_cast<uint64_t>(getpid()) << 32) ^
               reinterpret_cast<uintptr_t>(&seed);
    return seed;
}

uint64_t epoch_base() {
    uint32_t id = 0;
    if (getrandom(&id, sizeof id, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof id))
        id = static_cast<uint32_t>(time(nullptr)) ^ (static_cast<uint32_t>(getpid()) << 16);
    return static_cast<uint64_t>(id) << 32;
}

}  // namespace

Server::Server(const Config& cfg)
    : cfg_(cfg),
      wheel_(base::monotonic_ms()),
      hub_(push::HubLimits{.history = cfg.history,
                           .history_bytes = cfg.history_bytes,
                           .max_channels = cfg.max_channels,
                           .epoch_base = epoch_base()}),
      ids_(random_seed()) {
    build_views();
    init_robots();
}

void Server::build_views() {
    protocol_views_.assign(cfg_.protocols.begin(), cfg_.protocols.end());
    if (cfg_.mode != Mode::kEcho &&
        std::find(protocol_views_.begin(), protocol_views_.end(), kEnvelopeProtocol) == protocol_views_.end())
        protocol_views_.push_back(kEnvelopeProtocol);
    origin_views_.assign(cfg_.origins.begin(), cfg_.origins.end());
}

Server::~Server() {
    if (redis_) redis_->stop();  // its completions may answer control clients: before they go
    while (!live_.empty()) condemn(conns_[live_.back()]);
    reap();
    control_.reset();
    ids_.for_each([](NamedId& n) { delete &n; });
    if (conns_) munmap(conns_, conns_bytes_);
    if (colds_) munmap(colds_, colds_bytes_);
    for (push::Subscription* more : more_) delete[] more;
    if (ping_) ping_->unref();
    free(rbuf_);
    free(batch_);
    for (int fd : {listen_fd_, signal_fd_, spare_fd_})
        if (fd >= 0) ::close(fd);
}

uint32_t Server::client_cap() const noexcept {
    const uint64_t by_descriptors = conns_cap_ - kFdReserve - cfg_.max_control;
    return static_cast<uint32_t>(cfg_.max_connections && cfg_.max_connections < by_descriptors ? cfg_.max_connections
                                                                                               : by_descriptors);
}

bool Server::start(std::string& err) {
    base::set_log_level(cfg_.log_level);
    base::set_log_time(cfg_.log_time);
    // Blocks above the threshold get their own mapping and go back to the system when freed
    // (a fixed threshold: glibc's dynamic one rises after the first large free and then
    // keeps 16 MiB echoes in the heap for good).
    mallopt(M_MMAP_THRESHOLD, static_cast<int>(kMallocMmapThreshold));
    // Every connection is a descriptor: take the whole hard limit.
    rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    getrlimit(RLIMIT_NOFILE, &rl);
    uint64_t nofile = std::min<uint64_t>(rl.rlim_cur, 1u << 22);
    const uint64_t reserve = kFdReserve + cfg_.max_control;
    if (nofile <= reserve + 1) {
        err = "descriptor limit too low (" + std::to_string(nofile) + ")";
        return false;
    }
    conns_cap_ = nofile;
    max_clients_ = client_cap();

    // One slot per possible descriptor in each table (page-aligned, so every hot record is
    // one cache line). Anonymous pages cost nothing until a connection with that fd
    // touches them; trim_memory() gives back the pages of closed ones.
    conns_bytes_ = conns_cap_ * sizeof(Connection);
    colds_bytes_ = conns_cap_ * sizeof(ConnectionCold);
    void* mem = mmap(nullptr, conns_bytes_, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    void* cold_mem = mmap(nullptr, colds_bytes_, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mem != MAP_FAILED) conns_ = static_cast<Connection*>(mem);
    if (cold_mem != MAP_FAILED) colds_ = static_cast<ConnectionCold*>(cold_mem);
    if (mem == MAP_FAILED || cold_mem == MAP_FAILED) {
        err = std::string("mmap connection table: ") + strerror(errno);
        return false;
    }
    rbuf_ = static_cast<uint8_t*>(malloc(kReadBufSize + kCorkSize));
    if (rbuf_ == nullptr) {
        err = "out of memory";
        return false;
    }
    cork_ = rbuf_ + kReadBufSize;
    // Batched sends where the kernel allows io_uring; else (or without memory for the
    // batch's buffers, untouched until a fan-out uses them) one write per socket.
    const char* sends = "one write per socket (--io-uring=false)";
    char why[96];
    if (cfg_.io_uring) {
        if (int rc = send_ring_.open(); rc < 0) {
            snprintf(why, sizeof why, "one write per socket (io_uring: %s)", strerror(-rc));
            sends = why;
        } else if ((batch_ = static_cast<BatchSlot*>(malloc(sizeof(BatchSlot) * net::SendRing::kBatch))) == nullptr) {
            send_ring_.close();
            sends = "one write per socket (no memory for the batch)";
        } else {
            sends = "batched through io_uring";
        }
    }
    LOG_INFO("sends: %s", sends);

    if (int rc = reactor_.open(); rc < 0) {
        err = std::string("epoll_create1: ") + strerror(-rc);
        return false;
    }
    signal(SIGPIPE, SIG_IGN);  // writev has no MSG_NOSIGNAL; EPIPE is handled where it occurs
    sigset_t mask;
    sigemptyset(&mask);
    for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2}) sigaddset(&mask, sig);
    sigprocmask(SIG_BLOCK, &mask, nullptr);
    signal_fd_ = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (signal_fd_ < 0) {
        err = std::string("signalfd: ") + strerror(errno);
        return false;
    }
    spare_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
    // Channels come back from the journal before any client can ask for them.
    if (!open_journal(err)) return false;
    if (!open_redis(err)) return false;

    // Sockets a service manager opened for us (socket activation) take the place of
    // --listen and --control; a worker's are its parent's (become_worker).
    net::Inherited inherited;
    if (worker_) {
        inherited.tcp = worker_listen_fd_;
        inherited.control = worker_control_fd_;
    } else if (!net::inherited_sockets(inherited, err)) {
        return false;
    }
    listen_fd_ = inherited.tcp >= 0 ? inherited.tcp : net::listen_tcp(cfg_.listen_host, cfg_.listen_port, err);
    if (listen_fd_ < 0) return false;
    if (inherited.control >= 0 && cfg_.mode == Mode::kEcho) {
        LOG_WARN("socket activation: echo mode has no control socket; closing the one passed");
        ::close(inherited.control);
        inherited.control = -1;
    }
    // A worker watches the shared listener (one accept queue: one worker is woken per
    // connection) and the control socket once its parent says so (worker_ready()): after the
    // history for resume came, when it restarted.
    if ((!worker_ && reactor_.add(listen_fd_, EPOLLIN | EPOLLET, kTagListen) < 0) ||
        reactor_.add(signal_fd_, EPOLLIN | EPOLLET, kTagSignal) < 0) {
        err = std::string("epoll_ctl: ") + strerror(errno);
        return false;
    }
    if (cfg_.mode != Mode::kEcho) {
        ctl::ControlLimits limits;
        limits.max_clients = cfg_.max_control;
        limits.max_payload = cfg_.max_message;
        control_ = std::make_unique<ctl::ControlChannel>(reactor_, *this, limits, kTagControl);
        if (!worker_ && (inherited.control >= 0 ? !control_->adopt(inherited.control, kTagControlListen, err)
                                                : !control_->open(cfg_.control_path, kTagControlListen, err)))
            return false;
    }
    if (worker_ && !start_worker(err)) return false;
    now_ms_ = start_ms_ = base::monotonic_ms();
    LOG_INFO("descriptor limit %llu: up to %u WebSocket connections", static_cast<unsigned long long>(nofile),
             max_clients_);
    if (control_ && !worker_)
        LOG_INFO("control socket %s", inherited.control >= 0 ? (net::local_address(inherited.control) + " (socket activation)").c_str()
                                                              : cfg_.control_path.c_str());
    if (!cfg_.robots.empty() && cfg_.mode != Mode::kEcho) {
        std::string names;  // by name: a token is never logged
        for (const robot::Robot& r : cfg_.robots) names += (names.empty() ? "" : ", ") + r.name + " -> " + r.channel;
        LOG_INFO("webhook: %zu robot(s): %s", cfg_.robots.size(), names.c_str());
    }
    if (!worker_)  // a worker's "serving" line comes with worker_ready()
        LOG_INFO("listening on %s (%s mode, up to %u connections%s)", net::local_address(listen_fd_).c_str(),
                 mode_name(cfg_.mode), max_clients_, inherited.tcp >= 0 ? ", socket activation" : "");
    notify_start();
    if (cfg_.http_stats) status_at_ = now_ms_ + StatusRing::kEveryMs;
    return true;
}

}  // namespace wspush::server
