// uws_push: the loads of tools/bench/peers.sh served by uWebSockets (uSockets epoll, no SSL,
// no compression) instead of wspushd, so that build/wsload drives both alike. Ours; it is
// built by bench/peers/peers.mk from uWebSockets' own source, never by the main Makefile.
//
//   uws_push --listen 127.0.0.1:0 --control PATH [--mode push|relay|echo] [--max-message N]
//
// It takes the flags tools/bench/server.sh passes to wspushd and prints the same
// "listening on HOST:PORT" line on stderr. What each mode does, as wspushd does it:
//   push   /ws/<channel> joins topic <channel> (wspush.v1 chosen when offered); the control
//          socket takes "PUB <channel> <text>\n" and answers "OK seq=N delivered=K\n" after
//          one app.publish() of the wspush.v1 envelope (src/push/envelope.h's bytes).
//   relay  push, and a client's text message is published, as an envelope with the next seq,
//          to the other members of its channel (ws->publish skips the sender).
//   echo   any path; every message is sent back as it came.
// Not served: resume (since=), history, gap notices, binary envelopes, more than one channel
// per connection, any other control command. Channels live until the process ends.
#include <sys/random.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>
#include <unordered_map>

#include "App.h"
#include "push/names.h"

namespace {

using wspush::push::format_epoch;
using wspush::push::json_escape;
using wspush::push::kEpochChars;
using wspush::push::valid_name;

constexpr std::string_view kProtocol = "wspush.v1";
// wspushd's defaults: --send-buffer 1M (a slower client is closed), ping every 25 s and
// 60 s idle (uWS has one idle timeout, pinging before it ends).
constexpr unsigned kSendBuffer = 1u << 20;
constexpr unsigned short kIdleSeconds = 60;

enum class Mode { kPush, kRelay, kEcho };

struct Flags {
    std::string host = "127.0.0.1";
    int port = 8080;
    std::string control = "./uws_push.sock";
    Mode mode = Mode::kPush;
    unsigned max_message = 1u << 20;
};

struct Channel {
    uint64_t epoch = 0;
    uint64_t seq = 0;
};

struct Socket {
    std::string channel;  // the topic joined; empty in echo mode
};

// Channels by name, numbered as wspushd numbers them: epochs are a random 32-bit start in
// the high half and the creation count in the low half.
class Channels {
public:
    Channels() {
        uint32_t id = 0;
        if (getrandom(&id, sizeof id, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof id)) {
            id = static_cast<uint32_t>(time(nullptr)) ^ (static_cast<uint32_t>(getpid()) << 16);
        }
        base_ = static_cast<uint64_t>(id) << 32;
    }

    Channel& get(std::string_view name) {
        auto [it, fresh] = map_.try_emplace(std::string(name));
        if (fresh) it->second.epoch = base_ + ++created_;
        return it->second;
    }

    // The next envelope of `name`: {"type":"msg","channel":..,"seq":..,"epoch":..,"data":..}.
    // Returns its seq; the text is left in envelope() until the next call.
    uint64_t next(std::string_view name, std::string_view data) {
        Channel& ch = get(name);
        const uint64_t seq = ++ch.seq;
        char digits[20];
        const auto r = std::to_chars(digits, digits + sizeof digits, seq);
        char ep[kEpochChars];
        format_epoch(ch.epoch, ep);
        env_.assign(R"({"type":"msg","channel":")").append(name).append(R"(","seq":)");
        env_.append(digits, r.ptr).append(R"(,"epoch":")").append(ep, kEpochChars);
        env_.append(R"(","data":")");
        json_escape(env_, data);
        env_.append(R"("})");
        return seq;
    }
    [[nodiscard]] std::string_view envelope() const { return env_; }

private:
    std::unordered_map<std::string, Channel> map_;
    uint64_t base_ = 0;
    uint64_t created_ = 0;
    std::string env_;
};

uWS::App* g_app = nullptr;
Channels g_channels;

// ---------------------------------------------------------------- control socket
// A uSockets context of its own on the same loop, listening on a Unix socket. Each
// connection keeps the unfinished line and the unsent replies (heap strings: the socket
// extension is raw memory).
struct CtlConn {
    std::string* rx;
    std::string* tx;
};

CtlConn& ctl(us_socket_t* s) { return *static_cast<CtlConn*>(us_socket_ext(0, s)); }

// Writes what tx holds; keeps the rest for on_writable.
void ctl_flush(us_socket_t* s) {
    std::string& tx = *ctl(s).tx;
    if (tx.empty()) return;
    const int n = us_socket_write(0, s, tx.data(), static_cast<int>(tx.size()), 0);
    tx.erase(0, n > 0 ? static_cast<size_t>(n) : 0);
}

void ctl_command(std::string_view line, std::string& reply) {
    if (!line.starts_with("PUB ")) {
        reply.append("ERR unknown command\n");
        return;
    }
    line.remove_prefix(4);
    const size_t sp = line.find(' ');
    const std::string_view name = line.substr(0, sp);
    const std::string_view text = sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1);
    if (!valid_name(name)) {
        reply.append("ERR bad channel\n");
        return;
    }
    const uint64_t seq = g_channels.next(name, text);
    const unsigned delivered = g_app->numSubscribers(name);
    g_app->publish(name, g_channels.envelope(), uWS::OpCode::TEXT);
    reply.append("OK seq=").append(std::to_string(seq)).append(" delivered=").append(std::to_string(delivered)).append("\n");
}

us_socket_t* ctl_open(us_socket_t* s, int, char*, int) {
    ctl(s) = CtlConn{new std::string, new std::string};
    return s;
}

us_socket_t* ctl_data(us_socket_t* s, char* data, int length) {
    std::string& rx = *ctl(s).rx;
    rx.append(data, static_cast<size_t>(length));
    size_t start = 0;
    for (size_t nl; (nl = rx.find('\n', start)) != std::string::npos; start = nl + 1) {
        std::string_view line(rx.data() + start, nl - start);
        if (line.ends_with('\r')) line.remove_suffix(1);
        ctl_command(line, *ctl(s).tx);
    }
    rx.erase(0, start);
    ctl_flush(s);
    return s;
}

us_socket_t* ctl_writable(us_socket_t* s) {
    ctl_flush(s);
    return s;
}

us_socket_t* ctl_close(us_socket_t* s, int, void*) {
    delete ctl(s).rx;
    delete ctl(s).tx;
    return s;
}

us_socket_t* ctl_end(us_socket_t* s) { return us_socket_close(0, s, 0, nullptr); }
us_socket_t* ctl_timeout(us_socket_t* s) { return s; }

bool listen_control(const std::string& path) {
    us_loop_t* loop = reinterpret_cast<us_loop_t*>(uWS::Loop::get());
    us_socket_context_t* ctx = us_create_socket_context(0, loop, 0, {});
    us_socket_context_on_open(0, ctx, ctl_open);
    us_socket_context_on_data(0, ctx, ctl_data);
    us_socket_context_on_writable(0, ctx, ctl_writable);
    us_socket_context_on_close(0, ctx, ctl_close);
    us_socket_context_on_end(0, ctx, ctl_end);
    us_socket_context_on_timeout(0, ctx, ctl_timeout);
    us_socket_context_on_long_timeout(0, ctx, ctl_timeout);
    ::unlink(path.c_str());
    return us_socket_context_listen_unix(0, ctx, path.c_str(), 0, sizeof(CtlConn)) != nullptr;
}

// ---------------------------------------------------------------- WebSocket
using Ws = uWS::WebSocket<false, true, Socket>;

// wspush.v1 when the client offers it among its subprotocols, else none.
std::string_view choose_protocol(std::string_view offered) {
    while (!offered.empty()) {
        const size_t comma = offered.find(',');
        std::string_view p = offered.substr(0, comma);
        while (p.starts_with(' ')) p.remove_prefix(1);
        while (p.ends_with(' ')) p.remove_suffix(1);
        if (p == kProtocol) return kProtocol;
        if (comma == std::string_view::npos) break;
        offered.remove_prefix(comma + 1);
    }
    return {};
}

uWS::App::WebSocketBehavior<Socket> behavior(const Flags& f) {
    uWS::App::WebSocketBehavior<Socket> b;
    b.maxPayloadLength = f.max_message;
    b.idleTimeout = kIdleSeconds;
    b.maxBackpressure = kSendBuffer;
    b.closeOnBackpressureLimit = true;
    return b;
}

void serve_channels(uWS::App& app, const Flags& f) {
    auto b = behavior(f);
    b.upgrade = [](uWS::HttpResponse<false>* res, uWS::HttpRequest* req, us_socket_context_t* ctx) {
        std::string_view name = req->getUrl().substr(4);  // after "/ws/"
        if (!valid_name(name)) {
            res->writeStatus("404 Not Found")->end("no such channel\n");
            return;
        }
        res->template upgrade<Socket>(Socket{std::string(name)}, req->getHeader("sec-websocket-key"),
                                      choose_protocol(req->getHeader("sec-websocket-protocol")),
                                      req->getHeader("sec-websocket-extensions"), ctx);
    };
    b.open = [](Ws* ws) {
        const std::string& name = ws->getUserData()->channel;
        g_channels.get(name);
        ws->subscribe(name);
    };
    if (f.mode == Mode::kRelay) {
        b.message = [](Ws* ws, std::string_view msg, uWS::OpCode op) {
            if (op != uWS::OpCode::TEXT) return;  // binary envelopes (base64) are not served
            const std::string& name = ws->getUserData()->channel;
            g_channels.next(name, msg);
            ws->publish(name, g_channels.envelope(), uWS::OpCode::TEXT);
        };
    }
    app.ws<Socket>("/ws/*", std::move(b));
}

void serve_echo(uWS::App& app, const Flags& f) {
    auto b = behavior(f);
    b.message = [](Ws* ws, std::string_view msg, uWS::OpCode op) { ws->send(msg, op); };
    app.ws<Socket>("/*", std::move(b));
}

// ---------------------------------------------------------------- flags
bool parse_flags(int argc, char** argv, Flags& f) {
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string_view k = argv[i];
        const std::string_view v = argv[i + 1];
        if (k == "--listen") {
            const size_t colon = v.rfind(':');
            if (colon == std::string_view::npos) return false;
            f.host = std::string(v.substr(0, colon));
            const auto r = std::from_chars(v.data() + colon + 1, v.data() + v.size(), f.port);
            if (r.ec != std::errc() || r.ptr != v.data() + v.size()) return false;
        } else if (k == "--control") {
            f.control = std::string(v);
        } else if (k == "--mode") {
            if (v == "push") f.mode = Mode::kPush;
            else if (v == "relay") f.mode = Mode::kRelay;
            else if (v == "echo") f.mode = Mode::kEcho;
            else return false;
        } else if (k == "--max-message") {
            // wspushd's suffixes, as the bench scripts use them: 64M, 1M.
            unsigned scale = 1;
            std::string_view num = v;
            if (num.ends_with('M')) scale = 1u << 20, num.remove_suffix(1);
            else if (num.ends_with('K')) scale = 1u << 10, num.remove_suffix(1);
            unsigned n = 0;
            const auto r = std::from_chars(num.data(), num.data() + num.size(), n);
            if (r.ec != std::errc() || r.ptr != num.data() + num.size()) return false;
            f.max_message = n * scale;
        } else {
            return false;
        }
    }
    return argc % 2 == 1;
}

}  // namespace

int main(int argc, char** argv) {
    Flags f;
    if (!parse_flags(argc, argv, f)) {
        fprintf(stderr, "usage: uws_push --listen HOST:PORT --control PATH [--mode push|relay|echo] [--max-message N[K|M]]\n");
        return 2;
    }
    uWS::App app;
    g_app = &app;
    if (f.mode == Mode::kEcho) {
        serve_echo(app, f);
    } else {
        serve_channels(app, f);
        if (!listen_control(f.control)) {
            fprintf(stderr, "cannot listen on %s\n", f.control.c_str());
            return 1;
        }
    }
    bool ok = false;
    app.listen(f.host, f.port, [&](us_listen_socket_t* ls) {
        if (ls == nullptr) return;
        ok = true;
        fprintf(stderr, "listening on %s:%d\n", f.host.c_str(), us_socket_local_port(0, reinterpret_cast<us_socket_t*>(ls)));
    });
    if (!ok) {
        fprintf(stderr, "cannot listen on %s:%d\n", f.host.c_str(), f.port);
        return 1;
    }
    app.run();
    return 0;
}
