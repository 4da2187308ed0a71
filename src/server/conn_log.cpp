// Log lines about connections: who (the client id and the peer's address) and what, under
// each kind's storm limit. Built for size (-Os) and kept out of session.cpp, whose per-message
// path only calls in here when a connection ends or is refused.
#include <cstdarg>
#include <cstdio>

#include "base/log.h"
#include "base/log_storm.h"
#include "net/socket.h"
#include "server/server.h"

namespace wspush::server {
namespace {

using base::LogLevel;

constexpr int kind(ConnEvent e) { return static_cast<int>(e); }

// What each kind's summary line says of the lines it sums up, and their level.
base::LogStorm g_storms[] = {
    [kind(ConnEvent::kSlowConsumer)] = {"conn closed: slow consumer (1008)", LogLevel::kInfo},
    [kind(ConnEvent::kIdleTimeout)] = {"conn closed: idle timeout (1001)", LogLevel::kInfo},
    [kind(ConnEvent::kTooBig)] = {"conn closed: message too big (1009)", LogLevel::kInfo},
    [kind(ConnEvent::kProtocolError)] = {"conn closed: protocol error (1002)", LogLevel::kInfo},
    [kind(ConnEvent::kBadUtf8)] = {"conn closed: invalid UTF-8 (1007)", LogLevel::kInfo},
    [kind(ConnEvent::kOutOfMemory)] = {"conn closed: out of memory", LogLevel::kWarn},
    [kind(ConnEvent::kKicked)] = {"conn closed: kicked", LogLevel::kInfo},
    [kind(ConnEvent::kClientClosed)] = {"conn closed by the client", LogLevel::kDebug},
    [kind(ConnEvent::kUpgraded)] = {"conn upgraded", LogLevel::kDebug},
    [kind(ConnEvent::kRefused)] = {"http refused", LogLevel::kInfo},
    [kind(ConnEvent::kHeadTimeout)] = {"http closed: request not received in time (408)", LogLevel::kInfo},
    [kind(ConnEvent::kHttpSlow)] = {"http closed: not reading its answers", LogLevel::kInfo},
    [kind(ConnEvent::kServerFull)] = {"http refused: server full (503)", LogLevel::kWarn},
    [kind(ConnEvent::kPageError)] = {"http page errors", LogLevel::kDebug},
    [kind(ConnEvent::kWebhookAuth)] = {"webhook refused: token, route, address or signature", LogLevel::kInfo},
    [kind(ConnEvent::kWebhookRate)] = {"webhook refused: sending too fast (130101)", LogLevel::kInfo},
    [kind(ConnEvent::kWebhookBad)] = {"webhook refused: bad request", LogLevel::kInfo},
};
static_assert(sizeof g_storms / sizeof g_storms[0] == kind(ConnEvent::kCount), "one storm per kind");

}  // namespace

void Server::log_conn(int32_t fd, ConnEvent event, const char* fmt, ...) noexcept {
    base::LogStorm& storm = g_storms[kind(event)];
    if (!base::log_admit(storm, now_ms_)) return;
    char text[640];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    char peer[net::kPeerAddressChars];
    net::peer_address(fd, peer);
    // Its client id while it is an open WebSocket (before the upgrade there is none).
    const Connection* c = static_cast<size_t>(fd) < conns_cap_ ? &conns_[fd] : nullptr;
    char serial[24] = "-";
    const char* id = serial;
    if (c != nullptr && c->state == ConnState::kOpen) {
        if (c->has(kFlagNamed)) id = c->named->id.c_str();
        else snprintf(serial, sizeof serial, "c%llu", static_cast<unsigned long long>(c->serial));
    }
    base::log(storm.level, "conn %s %s %s", id, peer, text);
}

void Server::log_frame_error(const Connection& c) noexcept {
    const ws::FrameError& e = c.parser.error();
    switch (e.code) {
        case ws::kCloseMessageTooBig: {
            const uint64_t len = c.parser.declared_length();
            log_conn(fd_of(c), ConnEvent::kTooBig, "closed: message too big: %s%llu bytes, --max-message %llu (1009)",
                     len >= UINT32_MAX ? "at least " : "", static_cast<unsigned long long>(len),
                     static_cast<unsigned long long>(cfg_.max_message));
            return;
        }
        case ws::kCloseInvalidPayload: log_conn(fd_of(c), ConnEvent::kBadUtf8, "closed: %s (1007)", e.reason); return;
        case ws::kCloseInternalError: log_conn(fd_of(c), ConnEvent::kOutOfMemory, "closed: %s (1011)", e.reason); return;
        default: log_conn(fd_of(c), ConnEvent::kProtocolError, "closed: protocol error: %s (%u)", e.reason, e.code); return;
    }
}

void Server::log_webhook_refused(const Connection& c, const WebhookReply& w) noexcept {
    ConnEvent kind = ConnEvent::kWebhookBad;
    switch (w.errcode) {
        case robot::kUnknownToken:
        case robot::kPatternRobot:
        case robot::kNotAllowed:
        case robot::kSecurity: kind = ConnEvent::kWebhookAuth; break;
        case robot::kTooFast: kind = ConnEvent::kWebhookRate; break;
        default: break;
    }
    const int32_t robot = c.state == ConnState::kHttp && c.http ? c.http->robot : -1;
    const char* name = robot >= 0 ? cfg_.robots[static_cast<size_t>(robot)].name.c_str() : nullptr;
    log_conn(fd_of(c), kind, "webhook refused: %s%s%s%s (%d, HTTP %u)", name ? "robot " : "", name ? name : "",
             name ? ": " : "", w.errmsg.c_str(), w.errcode, w.status);
}

}  // namespace wspush::server
