#include "wsload/options.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <charconv>
#include <cstring>

namespace wspush::wsload {

namespace {

constexpr std::string_view kDefaultUrl = "ws://127.0.0.1:8080/";

uint64_t parse_count(std::string_view flag, std::string_view s) {
    uint64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size()) {
        throw UsageError(std::string(flag) + ": not a count: '" + std::string(s) + "'");
    }
    return v;
}

double parse_number(std::string_view flag, std::string_view s) {
    double v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || !(v >= 0)) {
        throw UsageError(std::string(flag) + ": not a number: '" + std::string(s) + "'");
    }
    return v;
}

// Robot tokens as the server takes them: 8..128 of [A-Za-z0-9_.~-] (they go into a header
// and a query string unescaped).
bool valid_token(std::string_view t) noexcept {
    if (t.size() < 8 || t.size() > 128) return false;
    for (const char c : t) {
        const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                        c == '_' || c == '.' || c == '~' || c == '-';
        if (!ok) return false;
    }
    return true;
}

bool valid_channel(std::string_view ch) noexcept {
    if (ch.empty() || ch.size() > 64) return false;
    for (const char c : ch) {
        const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                        c == '_' || c == '.' || c == '-';
        if (!ok) return false;
    }
    return true;
}

}  // namespace

const char* mode_name(Mode m) noexcept {
    switch (m) {
        case Mode::kIdle: return "idle";
        case Mode::kEcho: return "echo";
        case Mode::kFanout: return "fanout";
        case Mode::kChurn: return "churn";
        case Mode::kWebhook: return "webhook";
    }
    return "?";
}

double parse_duration(std::string_view s) {
    double scale = 1;
    std::string_view num = s;
    if (s.ends_with("ms")) {
        scale = 1e-3;
        num.remove_suffix(2);
    } else if (s.ends_with("s")) {
        num.remove_suffix(1);
    } else if (s.ends_with("m")) {
        scale = 60;
        num.remove_suffix(1);
    }
    if (num.empty()) throw UsageError("not a duration: '" + std::string(s) + "'");
    return parse_number("duration", num) * scale;
}

uint64_t parse_size(std::string_view s) {
    uint64_t scale = 1;
    std::string_view num = s;
    if (!s.empty() && (s.back() == 'K' || s.back() == 'k')) {
        scale = 1024;
        num.remove_suffix(1);
    } else if (!s.empty() && (s.back() == 'M' || s.back() == 'm')) {
        scale = 1024 * 1024;
        num.remove_suffix(1);
    }
    const uint64_t v = parse_count("size", num);
    if (v > (uint64_t{1} << 40) / scale) throw UsageError("size too large: '" + std::string(s) + "'");
    return v * scale;
}

Url parse_url(std::string_view s) {
    Url u;
    if (!s.starts_with("ws://")) throw UsageError("URL must start with ws:// : '" + std::string(s) + "'");
    std::string_view rest = s.substr(5);
    const size_t slash = rest.find('/');
    const std::string_view authority = rest.substr(0, slash);
    u.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
    std::string_view host;
    std::string_view port = "80";
    if (authority.starts_with("[")) {
        const size_t close = authority.find(']');
        if (close == std::string_view::npos) throw UsageError("bad IPv6 host in URL");
        host = authority.substr(1, close - 1);
        if (close + 1 < authority.size()) {
            if (authority[close + 1] != ':') throw UsageError("bad port in URL");
            port = authority.substr(close + 2);
        }
    } else {
        const size_t colon = authority.rfind(':');
        host = authority.substr(0, colon);
        if (colon != std::string_view::npos) port = authority.substr(colon + 1);
    }
    const uint64_t p = parse_count("port", port);
    if (p == 0 || p > 65535) throw UsageError("bad port in URL: '" + std::string(port) + "'");
    u.host_header = std::string(authority);

    const std::string h = host == "localhost" ? "127.0.0.1" : std::string(host);
    auto* v4 = reinterpret_cast<sockaddr_in*>(&u.addr);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&u.addr);
    if (inet_pton(AF_INET, h.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(static_cast<uint16_t>(p));
        u.addr_len = sizeof(sockaddr_in);
        u.loopback_v4 = (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
    } else if (inet_pton(AF_INET6, h.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(static_cast<uint16_t>(p));
        u.addr_len = sizeof(sockaddr_in6);
    } else {
        throw UsageError("URL host must be a numeric address or localhost: '" + std::string(host) + "'");
    }
    return u;
}

Options parse_options(int argc, const char* const* argv, bool& help) {
    Options o;
    help = false;
    bool mode_set = false;
    std::vector<std::string> url_args;
    bool k_set = false;
    bool m_set = false;
    bool d_set = false;
    bool n_set = false;
    bool via_set = false;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        auto value = [&]() -> std::string_view {
            if (i + 1 >= argc) throw UsageError(std::string(a) + " needs a value");
            return argv[++i];
        };
        if (a == "-h" || a == "--help") {
            help = true;
            return Options{};
        } else if (a == "--mode" || (!a.starts_with("-") && !mode_set)) {
            const std::string_view m = a == "--mode" ? value() : a;
            if (m == "idle") o.mode = Mode::kIdle;
            else if (m == "echo") o.mode = Mode::kEcho;
            else if (m == "fanout") o.mode = Mode::kFanout;
            else if (m == "churn") o.mode = Mode::kChurn;
            else if (m == "webhook") o.mode = Mode::kWebhook;
            else throw UsageError("unknown mode '" + std::string(m) + "'");
            mode_set = true;
        } else if (a == "--url" || a == "-u") {
            url_args.emplace_back(value());
        } else if (a == "-n") {
            o.subscribers = parse_count(a, value());
            n_set = true;
        } else if (a == "-c") {
            o.connections = parse_count(a, value());
        } else if (a == "-k") {
            o.inflight = parse_count(a, value());
            k_set = true;
        } else if (a == "-s" || a == "--size") {
            o.size = parse_size(value());
        } else if (a == "-m" || a == "--messages") {
            o.messages = parse_count(a, value());
            m_set = true;
        } else if (a == "-d" || a == "--duration") {
            o.duration_s = parse_duration(value());
            d_set = true;
        } else if (a == "--timeout") {
            o.timeout_s = parse_duration(value());
        } else if (a == "--rate") {
            o.rate = parse_number(a, value());
        } else if (a == "--lag") {
            o.lag = parse_count(a, value());
        } else if (a == "--parallel") {
            o.parallel = parse_count(a, value());
        } else if (a == "--text") {
            o.text = true;
        } else if (a == "--via") {
            const std::string_view v = value();
            if (v == "relay") o.via = Via::kRelay;
            else if (v == "control") o.via = Via::kControl;
            else if (v == "http") o.via = Via::kHttp;
            else throw UsageError("--via: control, relay or http, not '" + std::string(v) + "'");
            via_set = true;
        } else if (a == "--channels") {
            o.channels = parse_count(a, value());
        } else if (a == "--robot") {
            o.robot = true;
        } else if (a == "--no-keepalive") {
            o.keepalive = false;
        } else if (a == "--token") {
            o.token = value();
        } else if (a == "--control") {
            o.control = value();
        } else if (a == "--protocol") {
            o.protocol = value();
        } else if (a == "--hold-file") {
            o.hold_file = value();
        } else if (a == "--pid") {
            // PID[,PID...]: the CPU time of several processes together (a parent's workers).
            const std::string_view list = value();
            for (size_t at = 0; at <= list.size();) {
                size_t end = list.find(',', at);
                if (end == std::string_view::npos) end = list.size();
                o.pids.push_back(static_cast<pid_t>(parse_count(a, list.substr(at, end - at))));
                at = end + 1;
            }
        } else if (a == "--max-message") {
            o.max_message = parse_size(value());
        } else if (a == "-v" || a == "--verbose") {
            o.verbose = true;
        } else {
            throw UsageError("unknown argument '" + std::string(a) + "'");
        }
    }
    if (!mode_set) throw UsageError("no mode given (idle, echo, fanout, churn or webhook)");
    if (url_args.empty()) url_args.emplace_back(kDefaultUrl);
    for (const std::string& u : url_args) o.urls.push_back(parse_url(u));
    o.url = o.urls[0];
    if (o.mode == Mode::kFanout && !d_set) o.duration_s = 30;
    if (o.duration_s <= 0) throw UsageError("--duration must be positive");
    if (o.connections == 0 || o.parallel == 0) throw UsageError("-c and --parallel must be positive");
    if (o.inflight == 0 || o.lag == 0) throw UsageError("-k and --lag must be positive");
    if (o.mode == Mode::kFanout || o.mode == Mode::kWebhook) {
        const std::string m = mode_name(o.mode);
        if (o.protocol.empty()) o.protocol = "wspush.v1";
        // The channel is the URL's /ws/<ch> segment; a URL without one gets a fresh
        // channel per run, so that its seqs start at 1.
        const std::string_view path = o.url.path;
        if (path.starts_with("/ws/")) {
            o.channel = std::string(path.substr(4, path.find_first_of("?/", 4) - 4));
        } else if (path == "/") {
            o.channel = "wsload-" + std::to_string(::getpid());
            o.url.path = "/ws/" + o.channel;
        } else {
            throw UsageError(m + ": URL path must be /ws/<channel>");
        }
        if (!valid_channel(o.channel)) throw UsageError(m + ": bad channel name '" + o.channel + "'");
        o.urls[0] = o.url;
        for (Url& u : o.urls) {
            // Several servers (nodes, or one address per worker): one channel on all of them.
            if (u.path == "/") u.path = o.url.path;
            if (u.path != o.url.path) throw UsageError(m + ": every --url must name the same /ws/<channel>");
        }
        if (o.size > (uint64_t{1} << 20)) throw UsageError(m + ": -s at most 1M");
    }
    if (o.mode == Mode::kFanout) {
        if (!m_set) o.messages = 1000;
        if (!k_set) o.inflight = 64;
        if (o.messages == 0) throw UsageError("fanout: -m must be positive");
        if (o.subscribers == 0) throw UsageError("fanout: -n must be positive");
        if (o.via == Via::kHttp) throw UsageError("fanout: --via control or relay");
        if (o.via == Via::kControl && o.control.empty()) throw UsageError("fanout: --control PATH or --via relay needed");
    }
    if (o.mode == Mode::kWebhook) {
        if (!via_set) o.via = Via::kHttp;
        if (!n_set) o.subscribers = 1;
        if (o.subscribers > 1) throw UsageError("webhook: -n is 0 or 1");
        if (o.via == Via::kRelay) throw UsageError("webhook: --via http or control");
        if (o.via == Via::kControl && o.control.empty()) throw UsageError("webhook: --via control needs --control PATH");
        if (o.via == Via::kControl && (o.robot || !o.keepalive))
            throw UsageError("webhook: --robot and --no-keepalive are for --via http");
        if (o.via == Via::kHttp && o.token.empty()) throw UsageError("webhook: --token needed");
        if (o.via == Via::kHttp && !valid_token(o.token)) throw UsageError("webhook: bad token");
        if (!o.keepalive && k_set && o.inflight != 1) throw UsageError("webhook: --no-keepalive sends one request per connection (-k 1)");
        if (!o.keepalive) o.inflight = 1;
        if (o.channels == 0) throw UsageError("webhook: --channels must be positive");
        if (o.channels > 1 && (o.via != Via::kControl || o.subscribers != 0))
            throw UsageError("webhook: --channels is for --via control with -n 0");
        if (o.channels > 1 && o.channel.size() + 1 + std::to_string(o.channels - 1).size() > 64)
            throw UsageError("webhook: channel name too long for --channels");
    } else if (o.channels != 1) {
        throw UsageError("--channels is for webhook --via control");
    }
    if (o.mode == Mode::kIdle && o.subscribers == 0) throw UsageError("idle: -n must be positive");
    return o;
}

const char* usage() noexcept {
    return R"(usage: wsload <idle|echo|fanout|churn|webhook> [flags]
WebSocket load generator for wspushd; prints one summary line on stdout:
  wsload mode=<mode> key=value ...
and exits non-zero if any check failed.

  --url ws://HOST:PORT/PATH   server (default ws://127.0.0.1:8080/); given more than once,
                              connections go to each in turn (fanout: the publisher and
                              the first subscriber to the first)
  -d, --duration DUR          how long to run / hold (default 5s; 250ms, 10s, 2m)
  --timeout DUR               handshake, drain and close waits (default 10s)
  --pid PID[,PID...]          report the server's CPU time (server_cpu_s, cpu_us_per_msg;
                              several: their sum, e.g. every worker or node)
  -v, --verbose               more detail on stderr

idle    -n N [--hold-file PATH] [--parallel P]
        open N connections, hold them for the duration answering Pings; forks worker
        processes when N exceeds this process's file limit. --hold-file gets "ready\n"
        once every connection is up (or has failed).
echo    -c C -k K -s BYTES [-m TOTAL] [--text]
        C connections with K messages in flight each; every echo checked byte for byte.
fanout  -n N -m PUSHES -s BYTES [-k K] [--lag L] [--rate R] (--control PATH | --via relay)
        N subscribers on /ws/<channel> (wspush.v1; without a /ws/ path, a fresh channel);
        pushes go through the control socket (at most K PUBs unanswered) or, with
        --via relay, from one more client as text messages (at most K pushes undelivered).
        Either way at most L pushes (default 1000) may be undelivered, on average per
        subscriber. Publishing stops after -m pushes (default 1000) or --duration (30s).
        Checks every subscriber gets every seq once, in order; reports push-to-receive
        latency from the CLOCK_MONOTONIC stamp in each payload.
churn   -c C -s BYTES [-m TOTAL] [--text]
        C parallel loops of: connect, upgrade, one message and its echo, Close 1000.
webhook -c C -k K -s BYTES [-m TOTAL] [-n 0|1] (--token TOKEN [--robot] [--no-keepalive]
        | --via control --control PATH [--channels N])
        pushes to /ws/<channel>'s channel (without a /ws/ path, a fresh channel) over C
        connections with K requests pipelined on each: POST /push/<channel> (Bearer
        TOKEN, text/plain) or, --robot, POST /robot/send?access_token=TOKEN (a text card;
        the robot's own channel must be the URL's); --no-keepalive: C connections at a time,
        one request each (Connection: close). --via control: the same pushes as PUB lines
        on C control-socket connections, the baseline; --channels N (with -n 0): PUB to
        <channel>.0 .. <channel>.<N-1> in turn (fills a journal). Every reply must be a
        200 with errcode 0 (or OK seq=); with -n 1 (default) one subscriber checks it gets
        every push once, in seq order, the one each reply's seq names.
)";
}

}  // namespace wspush::wsload
