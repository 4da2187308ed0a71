// Telling systemd how the service is (base/sd_notify.h speaks the protocol): READY=1 once
// listening, RELOADING=1 and READY=1 around SIGHUP, STOPPING=1 at shutdown, STATUS= with
// the counts whenever they changed, and WATCHDOG=1 at half of WatchdogSec= — from the event
// loop's own turn, so a loop that is stuck misses it and systemd restarts the service.
#include <cstdio>
#include <cstring>
#include <ctime>

#include "base/log.h"
#include "server/server.h"

namespace wspush::server {
namespace {

constexpr uint32_t kStatusEveryMs = 5000;  // how often STATUS= may change without a watchdog

}  // namespace

void Server::notify_start() {
    const char* err = "";
    if (!notify_.open(&err)) LOG_WARN("systemd notification off: %s", err);
    if (!notify_.active()) return;
    if (const uint32_t every = notify_.watchdog_every_ms(); every != 0)
        LOG_INFO("systemd watchdog: WATCHDOG=1 every %u ms", every);
    notify("READY=1\n");
    notify_at_ = now_ms_ + (notify_.watchdog_every_ms() != 0 ? notify_.watchdog_every_ms() : kStatusEveryMs);
}

void Server::notify_tick() {
    const uint32_t every = notify_.watchdog_every_ms();
    notify_at_ = now_ms_ + (every != 0 ? every : kStatusEveryMs);
    if (notify_figures() != notified_status_) {
        notify(every != 0 ? "WATCHDOG=1\n" : "");
    } else if (every != 0) {
        notify_.send("WATCHDOG=1\n");
    }
}

// The counts STATUS= shows, packed into one word to tell whether they changed.
uint64_t Server::notify_figures() const {
    const size_t controls = control_ ? control_->clients() : 0;
    // Disjoint bits: channels < 2^21 (--max-channels is at most 10^6), control clients < 2^11.
    return (static_cast<uint64_t>(stats_.clients) << 32) | (static_cast<uint64_t>(hub_.channel_count()) << 11) |
           controls;
}

// Sends `state` (lines ending in \n) with the current STATUS= line.
void Server::notify(const char* state) {
    if (!notify_.active()) return;
    char msg[256];
    size_t n = static_cast<size_t>(snprintf(msg, sizeof msg, "%s", state));
    if (strncmp(state, "RELOADING=1", 11) == 0) {
        // The time of the request, which systemd (Type=notify-reload) matches to its own.
        timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        n += static_cast<size_t>(snprintf(msg + n, sizeof msg - n, "MONOTONIC_USEC=%llu\n",
                                          static_cast<unsigned long long>(ts.tv_sec) * 1000000ULL +
                                              static_cast<unsigned long long>(ts.tv_nsec) / 1000));
    }
    const size_t controls = control_ ? control_->clients() : 0;
    if (stopping_) {
        n += static_cast<size_t>(snprintf(msg + n, sizeof msg - n, "STATUS=stopping: closing %u clients\n", stats_.clients));
    } else {
        n += static_cast<size_t>(snprintf(msg + n, sizeof msg - n, "STATUS=%u clients, %zu channels, %zu control clients\n",
                                          stats_.clients, hub_.channel_count(), controls));
    }
    notified_status_ = notify_figures();
    notify_.send({msg, n < sizeof msg ? n : sizeof msg - 1});
}

}  // namespace wspush::server
