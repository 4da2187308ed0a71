// Plain HTTP on a client connection: pages and webhook requests, their bodies, keep-alive
// and pipelining. (The WebSocket upgrade is session.cpp's; what a webhook request does is
// webhook.cpp's.)
//
// One connection, one request at a time, in order: a request is answered before the next
// one in the buffer is parsed. Bytes stay in the connection's `in` buffer (see
// http_session.h); nothing is parsed twice except a complete head, which is re-read when its
// body is complete (its views would not survive the buffer growing meanwhile).
#include <cstring>
#include <new>

#include "base/log.h"
#include "http/handshake.h"
#include "http/query.h"
#include "http/response.h"
#include "server/demo_page.h"
#include "server/server.h"

namespace wspush::server {
namespace {

// Responses a client has not read beyond which its further requests wait (it pipelines and
// does not read: TCP pushes back instead of our memory growing).
constexpr uint64_t kHttpOutCap = 64 * 1024;

// RFC 9112 9.3: HTTP/1.1 stays open unless "Connection: close"; HTTP/1.0 only with
// "Connection: keep-alive".
bool wants_keep_alive(const http::Request& req) {
    std::string_view conn = req.header("Connection");
    if (http::list_has_token(conn, "close")) return false;
    return req.minor_version >= 1 || http::list_has_token(conn, "keep-alive");
}

HttpRoute route_of(std::string_view path) {
    if (path == "/robot/send") return HttpRoute::kRobot;
    if (path.starts_with("/push/")) return HttpRoute::kPush;
    if (path.starts_with("/send/")) return HttpRoute::kSend;
    return HttpRoute::kPage;
}

}  // namespace

uint64_t Server::input_cap(const Connection& c) const noexcept {
    return c.state == ConnState::kHttp ? kHttpOutCap : cfg_.send_buffer;
}

void Server::on_http_bytes(Connection& c, uint8_t* p, size_t n) {
    if (redis_unpark(c)) [[unlikely]] {  // a parked upgrade (--redis): nothing is due before its 101
        reply_http(c, 400, "data before the upgrade was answered");
        return;
    }
    // A whole upgrade head in the first read (nearly every WebSocket client): no copy.
    if (c.in == nullptr && c.http == nullptr) {
        http::Request req;
        http::ParseResult r = http::parse_request(reinterpret_cast<const char*>(p), n, 0, req);
        if (r.status == http::ParseStatus::kError) {
            reply_http(c, r.http_status, r.reason);
            return;
        }
        if (r.status == http::ParseStatus::kDone && http::wants_upgrade(req)) {
            if (on_request(c, req) && c.state == ConnState::kOpen && n > r.consumed)
                on_frames(c, p + r.consumed, n - r.consumed);
            return;
        }
    }
    // The first byte of the next request on an idle kept-alive connection: its head has
    // --handshake-timeout from now.
    if (c.in == nullptr && c.http != nullptr && !c.http->in_body)
        wheel_.arm(cold(c).timer, now_ms_ + cfg_.handshake_timeout_ms);
    const size_t last = c.in != nullptr && !(c.http && c.http->in_body) ? c.in->payload_size() : 0;
    if (!append_in(c, p, n, 1024)) return;
    serve_http(c, last);
}

void Server::serve_http(Connection& c, size_t last) {
    while (c.state == ConnState::kHttp && c.in != nullptr) {
        if (c.http && c.http->held) return;  // the journal's commit answers it, then serves on
        if (c.out.cost() >= kHttpOutCap) {
            c.set(kFlagInputPaused);  // flush() resumes it
            if (c.http) c.http->resume = true;
            return;
        }
        if (c.http && c.http->in_body) {
            if (!read_body(c)) return;
            continue;
        }
        char* buf = reinterpret_cast<char*>(c.in->payload());
        const size_t len = c.in->payload_size();
        http::Request req;
        http::ParseResult r = http::parse_request(buf, len, last, req);
        last = 0;
        if (r.status == http::ParseStatus::kNeedMore) return;
        if (r.status == http::ParseStatus::kError) {
            reply_http(c, r.http_status, r.reason);
            return;
        }
        if (http::wants_upgrade(req)) {
            end_http_session(c);
            // The buffer must outlive the request's views and the early frame bytes behind it.
            push::Message* head = c.in;
            c.in = nullptr;
            if (on_request(c, req) && c.state == ConnState::kOpen && len > r.consumed)
                on_frames(c, reinterpret_cast<uint8_t*>(buf) + r.consumed, len - r.consumed);
            head->unref();
            return;
        }
        begin_request(c, req, r.consumed);
        // A body that came with its head is read now, while the head's views still hold
        // (nothing was appended to the buffer since): no second parse of the head.
        if (c.state == ConnState::kHttp && c.http && c.http->in_body && !read_body(c, &req)) return;
    }
}

void Server::begin_request(Connection& c, const http::Request& req, size_t head_len) {
    if (cfg_.mode == Mode::kEcho) {
        reply_http(c, 426, "this endpoint speaks WebSocket only");
        return;
    }
    if (c.http == nullptr) {
        c.http = new (std::nothrow) HttpSession();
        if (c.http == nullptr) {
            out_of_memory(c);
            return;
        }
    }
    HttpSession& s = *c.http;
    s.head_len = static_cast<uint32_t>(head_len);
    s.payload = 0;
    s.robot = -1;
    s.route = route_of(http::path_of(req.target));
    s.keep_alive = wants_keep_alive(req) && !stopping_;
    // RFC 9110 10.1.1: an expectation we cannot meet (only 100-continue exists).
    if (req.has_header("Expect") && !http::iequals(req.header("Expect"), "100-continue")) {
        reply_http(c, 417, "only Expect: 100-continue is understood");
        return;
    }
    const bool webhook = s.route != HttpRoute::kPage && !cfg_.robots.empty();
    if (!webhook || req.method != "POST") {
        // No body is read here. The framing is still checked as strictly as a webhook
        // body's (one that could be read two ways is refused), and a request that has a
        // body is answered with Connection: close: its body must never be taken for the next
        // request (request smuggling).
        http::BodyDecoder framing;
        if (!framing.start(req, UINT64_MAX)) {
            reply_http(c, framing.error().http_status, framing.error().reason);
            return;
        }
        char none = 0;
        if (framing.decode(&none, 0, &none).status != http::BodyStatus::kDone) s.keep_alive = false;
        if (!webhook) {
            if (!answer_page(c, req)) return;  // held: the answer serves the next request
        } else {
            if (req.method == "OPTIONS")
                reply(c, http::allow_head(204, "POST, OPTIONS"), {});
            else
                page_error(c, 405, "only POST is accepted here", req.method == "HEAD", "POST, OPTIONS");
        }
        if (c.state == ConnState::kHttp) next_request(c, head_len);
        return;
    }
    WebhookReply early;
    if (!check_webhook_head(c, req, early)) {
        s.keep_alive = false;  // the body is not read
        reply_webhook(c, early);
        return;
    }
    const uint64_t limit = cfg_.robot_max_body;
    if (!s.body.start(req, limit)) {
        const http::BodyError& e = s.body.error();
        s.keep_alive = false;
        if (e.http_status == 413) reply_webhook(c, too_large(s.route));
        else reply_http(c, e.http_status, e.reason);
        return;
    }
    s.in_body = true;
    wheel_.arm(cold(c).timer, now_ms_ + cfg_.body_timeout_ms);
    // RFC 9110 10.1.1: the client waits for this before sending the body (it may also
    // give up waiting and send it anyway; either way the body is read next).
    if (req.has_header("Expect") && req.minor_version >= 1 && c.in->payload_size() == head_len &&
        req.header("Content-Length") != "0") {
        if (!queue_owned(c, push::Message::make_raw(http::kContinue.data(), http::kContinue.size()))) return;
        schedule_flush(c);
    }
}

bool Server::read_body(Connection& c, const http::Request* head) {
    HttpSession& s = *c.http;
    char* buf = reinterpret_cast<char*>(c.in->payload());
    char* body = buf + s.head_len + s.payload;  // decoded payload ends here; raw bytes follow
    const size_t raw = c.in->payload_size() - s.head_len - s.payload;
    http::BodyResult r = s.body.decode(body, raw, body);
    s.payload += static_cast<uint32_t>(r.produced);
    switch (r.status) {
        case http::BodyStatus::kNeedMore:
            c.in->truncate(s.head_len + s.payload);  // every raw byte decoded (or framing)
            return false;
        case http::BodyStatus::kError: {
            const http::BodyError& e = s.body.error();
            s.in_body = false;
            s.keep_alive = false;
            if (e.http_status == 413) reply_webhook(c, too_large(s.route));
            else reply_http(c, e.http_status, e.reason);
            return false;
        }
        case http::BodyStatus::kDone: break;
    }
    // Bytes after the body belong to the next request: close the gap the framing left.
    const size_t rest = raw - r.consumed;
    if (rest && r.consumed != r.produced) memmove(body + r.produced, body + r.consumed, rest);
    c.in->truncate(s.head_len + s.payload + rest);
    s.in_body = false;
    http::Request req;
    if (head == nullptr) {
        // The buffer may have moved since the head was parsed: parse it again (it parsed
        // whole before, so the same bytes parse the same).
        (void)http::parse_request(buf, s.head_len, 0, req);
        head = &req;
    }
    WebhookReply w = webhook(c, *head, std::string_view(buf + s.head_len, s.payload));
    if (w.held) {
        hold_webhook(c, std::move(w), s.head_len + s.payload);
        return false;
    }
    reply_webhook(c, w);
    if (c.state != ConnState::kHttp) return false;
    next_request(c, s.head_len + s.payload);
    return true;
}

void Server::next_request(Connection& c, size_t used) {
    if (!c.http || !c.http->keep_alive) return;  // reply() already closed it
    if (used >= c.in->payload_size()) {
        c.in->unref();
        c.in = nullptr;
        wheel_.arm(cold(c).timer, now_ms_ + cfg_.keepalive_timeout_ms);
    } else {
        c.in->consume(used);
        wheel_.arm(cold(c).timer, now_ms_ + cfg_.handshake_timeout_ms);
    }
}

void Server::end_http_session(Connection& c) {
    delete c.http;
    c.http = nullptr;
}

void Server::reply(Connection& c, http::ResponseHead head, std::string_view body, bool head_only) {
    if (c.state != ConnState::kHttp) return;
    head.content_length = body.size();
    head.keep_alive = c.http && c.http->keep_alive;
    char h[512];
    const size_t hn = http::write_head(h, sizeof h, head);
    const size_t bn = head_only ? 0 : body.size();
    // An unsealed buffer goes out as the raw bytes written into it: no second copy.
    push::Message* m = push::Message::make_buffer(hn + bn);
    if (m) {
        memcpy(m->payload(), h, hn);
        if (bn) memcpy(m->payload() + hn, body.data(), bn);
        m->extend(hn + bn);
    }
    if (head.keep_alive) {
        if (queue_owned(c, m)) schedule_flush(c);
        return;
    }
    respond(c, m);
}

bool Server::answer_page(Connection& c, const http::Request& req) {
    const std::string_view path = http::path_of(req.target);
    const bool head_only = req.method == "HEAD";  // RFC 9110 9.3.2: same head, no body
    if (route_of(path) != HttpRoute::kPage) {  // the webhook's paths, with no robot configured
        page_error(c, 404, "no robot is configured (--robot, --robots)", head_only);
        return true;
    }
    if (req.method == "OPTIONS") {
        reply(c, http::allow_head(204, "GET, HEAD, OPTIONS"), {});
        return true;
    }
    if (req.method != "GET" && !head_only) {
        page_error(c, 405, "only GET and HEAD are served here", false, "GET, HEAD, OPTIONS");
        return true;
    }
    if (worker_ && cfg_.http_stats && (path == "/stats" || path == "/metrics") &&
        page_everywhere(c, path == "/metrics", head_only))
        return false;
    if (path == "/" || path == "/index.html") {
        reply(c, http::ok_head("text/html; charset=utf-8"), demo_page(), head_only);
    } else if (cfg_.http_stats && path == "/stats") {
        reply(c, http::ok_head("application/json"), stats_json(), head_only);
    } else if (cfg_.http_stats && path == "/status") {
        reply(c, http::ok_head("text/html; charset=utf-8"), status_page(), head_only);
    } else if (cfg_.http_stats && path == "/status.json") {
        reply(c, http::ok_head("application/json"), status_json(), head_only);
    } else if (cfg_.http_stats && path == "/metrics") {
        reply(c, http::ok_head("text/plain; version=0.0.4"), metrics_text(), head_only);
    } else if (path.starts_with("/ws/")) {
        reply_http(c, 426, "upgrade to WebSocket to join a channel");
    } else {
        page_error(c, 404, "no such page", head_only);
    }
    return true;
}

void Server::page_error(Connection& c, uint16_t status, std::string_view reason, bool head_only,
                        std::string_view allow) {
    // A kept-alive connection survives a 404 (a browser asks for /favicon.ico).
    log_conn(fd_of(c), ConnEvent::kPageError, "page error: %.*s (%u)", static_cast<int>(reason.size()), reason.data(), status);
    http::ResponseHead h = http::ok_head("text/plain");
    h.status = status;
    h.allow = allow;
    std::string body(reason);
    body += '\n';
    reply(c, h, body, head_only);
}

}  // namespace wspush::server
