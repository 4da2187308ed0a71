// GET /status and /status.json (--http-stats): the sampling tick and the JSON the page draws.
#include "server/status.h"

#include <cstdio>

#include "server/server.h"

extern "C" const char wspush_status_page_begin[];
extern "C" const char wspush_status_page_end[];

namespace wspush::server {

std::string_view status_page() noexcept {
    return {wspush_status_page_begin, static_cast<size_t>(wspush_status_page_end - wspush_status_page_begin)};
}

void Server::status_tick() {
    status_at_ = now_ms_ + StatusRing::kEveryMs;
    const auto narrow = [](uint64_t v) { return static_cast<uint32_t>(v > UINT32_MAX ? UINT32_MAX : v); };
    status_.add({.pushes = narrow(stats_.published - status_published_),
                 .deliveries = narrow(stats_.messages_out - status_delivered_),
                 .clients = stats_.clients,
                 .rss_kib = narrow(resident_bytes() / 1024)});
    status_published_ = stats_.published;
    status_delivered_ = stats_.messages_out;
}

std::string Server::status_json() const {
    using ull = unsigned long long;
    char head[640];
    snprintf(head, sizeof head,
             "{\"uptime_s\":%llu,\"clients\":%u,\"channels\":%zu,\"control_clients\":%zu,\"robots\":%zu,"
             "\"published\":%llu,\"delivered\":%llu,\"slow_consumer\":%llu,\"server_full\":%llu,\"http_error\":%llu,"
             "\"webhook_errors\":%llu,\"rss_bytes\":%llu,\"every_ms\":%u,\"samples\":[",
             (ull)((now_ms_ - start_ms_) / 1000), stats_.clients, hub_.channel_count(),
             control_ ? control_->clients() : size_t{0}, cfg_.robots.size(), (ull)stats_.published,
             (ull)stats_.messages_out, (ull)stats_.drop_slow_consumer, (ull)stats_.drop_server_full,
             (ull)stats_.drop_http_error, (ull)stats_.webhook_errors, (ull)resident_bytes(), StatusRing::kEveryMs);
    std::string out = head;
    out.reserve(out.size() + status_.size() * 40 + 4);
    for (uint32_t i = 0; i < status_.size(); ++i) {
        const StatusRing::Sample& s = status_.at(i);
        char row[64];
        snprintf(row, sizeof row, "%s[%u,%u,%u,%u]", i ? "," : "", s.pushes, s.deliveries, s.clients, s.rss_kib);
        out += row;
    }
    out += "]}";
    return out;
}

}  // namespace wspush::server
