#include "server/config.h"

#include <charconv>
#include <cstring>

namespace wspush::server {
namespace {

bool parse_u64(std::string_view s, uint64_t& out) noexcept {
    if (s.empty()) return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size();
}

std::vector<std::string> split_list(std::string_view s) {
    std::vector<std::string> out;
    while (!s.empty()) {
        size_t comma = s.find(',');
        std::string_view item = s.substr(0, comma);
        while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
        while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
        if (!item.empty()) out.emplace_back(item);
        if (comma == std::string_view::npos) break;
        s.remove_prefix(comma + 1);
    }
    return out;
}

constexpr const char kUsage[] =
    "usage: wspushd [options]\n"
    "  --listen HOST:PORT        address to accept WebSocket clients on (default 0.0.0.0:8080;\n"
    "                            IPv6 as [::]:8080; port 0 picks a free port)\n"
    "  --mode push|echo|relay    push: channels + control socket (default); echo: echo every\n"
    "                            message (conformance runs); relay: push, and client messages\n"
    "                            go to the other members of their channels\n"
    "  --max-message BYTES       largest message accepted, K/M suffixes (default 1M)\n"
    "  --max-connections N       cap on WebSocket clients (default: descriptor limit)\n"
    "  --protocols LIST          subprotocols we speak, comma-separated, in preference order\n"
    "  --origins LIST            allowed Origin values; others get 403 (default: any)\n"
    "  --log-level LEVEL         debug, info, warn or error (default info)\n"
    "  --control PATH            control socket (default ./wspushd.sock)\n"
    "  --history N               messages kept per channel for resume (default 100)\n"
    "  --ping-interval DUR       Ping a client quiet this long (default 25s)\n"
    "  --idle-timeout DUR        close a client silent this long (default 60s)\n"
    "  --handshake-timeout DUR   close a connection not upgraded by then (default 10s)\n"
    "  --send-buffer BYTES       per-client queued output cap (default 1M)\n"
    "  --http-stats              serve GET /stats and GET /metrics (default off)\n"
    "  --help                    this text\n"
    "DUR is a number with an optional unit: ms, s (default) or m.\n";

}  // namespace

const char* usage() noexcept { return kUsage; }

const char* mode_name(Mode m) noexcept {
    switch (m) {
        case Mode::kPush: return "push";
        case Mode::kEcho: return "echo";
        case Mode::kRelay: return "relay";
    }
    return "?";
}

bool parse_size(std::string_view s, uint64_t& out) noexcept {
    uint64_t mult = 1;
    if (!s.empty()) {
        char c = s.back();
        if (c == 'K' || c == 'k') mult = 1ull << 10;
        if (c == 'M' || c == 'm') mult = 1ull << 20;
        if (c == 'G' || c == 'g') mult = 1ull << 30;
        if (mult != 1) s.remove_suffix(1);
    }
    uint64_t v;
    if (!parse_u64(s, v) || v > UINT64_MAX / mult) return false;
    out = v * mult;
    return true;
}

bool parse_duration_ms(std::string_view s, uint32_t& out) noexcept {
    uint64_t mult = 1000;
    if (s.ends_with("ms")) {
        mult = 1;
        s.remove_suffix(2);
    } else if (s.ends_with("s")) {
        s.remove_suffix(1);
    } else if (s.ends_with("m")) {
        mult = 60'000;
        s.remove_suffix(1);
    }
    uint64_t v;
    if (!parse_u64(s, v) || v > (1ull << 31) / mult) return false;
    out = static_cast<uint32_t>(v * mult);
    return true;
}

bool parse_listen(std::string_view s, std::string& host, uint16_t& port) {
    size_t colon = s.rfind(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    std::string_view h = s.substr(0, colon);
    if (h.front() == '[') {
        if (h.size() < 3 || h.back() != ']') return false;
        h = h.substr(1, h.size() - 2);
    } else if (h.find(':') != std::string_view::npos) {
        return false;  // bare IPv6 must be bracketed
    }
    uint64_t p;
    if (!parse_u64(s.substr(colon + 1), p) || p > 65535) return false;
    host.assign(h);
    port = static_cast<uint16_t>(p);
    return true;
}

ArgsResult parse_args(int argc, char** argv, Config& cfg, std::string& err) {
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        std::string_view flag = arg;
        std::string_view value;
        bool has_value = false;
        if (size_t eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
            flag = arg.substr(0, eq);
            value = arg.substr(eq + 1);
            has_value = true;
        }
        auto need = [&]() -> bool {
            if (has_value) return true;
            if (i + 1 >= argc) {
                err = std::string(flag) + ": missing value";
                return false;
            }
            value = argv[++i];
            return true;
        };
        auto bad = [&](const char* what) {
            err = std::string(flag) + ": " + what + ": '" + std::string(value) + "'";
            return ArgsResult::kError;
        };
        if (flag == "--help" || flag == "-h") return ArgsResult::kHelp;
        if (flag == "--http-stats") {
            cfg.http_stats = true;
            continue;
        }
        if (!flag.starts_with("--")) {
            err = "unexpected argument '" + std::string(arg) + "'";
            return ArgsResult::kError;
        }
        if (flag == "--listen") {
            if (!need()) return ArgsResult::kError;
            if (!parse_listen(value, cfg.listen_host, cfg.listen_port))
                return bad("expected HOST:PORT or [IPv6]:PORT");
        } else if (flag == "--mode") {
            if (!need()) return ArgsResult::kError;
            if (value == "push") cfg.mode = Mode::kPush;
            else if (value == "echo") cfg.mode = Mode::kEcho;
            else if (value == "relay") cfg.mode = Mode::kRelay;
            else return bad("expected push, echo or relay");
        } else if (flag == "--max-message") {
            if (!need()) return ArgsResult::kError;
            // Messages are assembled in one buffer with 32-bit lengths.
            if (!parse_size(value, cfg.max_message) || cfg.max_message == 0 ||
                cfg.max_message > (1ull << 30))
                return bad("expected a size from 1 to 1G");
        } else if (flag == "--max-connections") {
            if (!need()) return ArgsResult::kError;
            uint64_t v;
            if (!parse_u64(value, v) || v == 0 || v > 10'000'000) return bad("expected a positive count");
            cfg.max_connections = static_cast<uint32_t>(v);
        } else if (flag == "--protocols") {
            if (!need()) return ArgsResult::kError;
            cfg.protocols = split_list(value);
        } else if (flag == "--origins") {
            if (!need()) return ArgsResult::kError;
            cfg.origins = split_list(value);
        } else if (flag == "--log-level") {
            if (!need()) return ArgsResult::kError;
            if (!base::parse_log_level(value, cfg.log_level))
                return bad("expected debug, info, warn or error");
        } else if (flag == "--control") {
            if (!need()) return ArgsResult::kError;
            if (value.empty() || value.size() >= 108) return bad("expected a socket path under 108 bytes");
            cfg.control_path.assign(value);
        } else if (flag == "--history") {
            if (!need()) return ArgsResult::kError;
            uint64_t v;
            if (!parse_u64(value, v) || v > 1'000'000) return bad("expected a count from 0 to 1000000");
            cfg.history = static_cast<uint32_t>(v);
        } else if (flag == "--ping-interval") {
            if (!need()) return ArgsResult::kError;
            if (!parse_duration_ms(value, cfg.ping_interval_ms) || cfg.ping_interval_ms == 0)
                return bad("expected a duration such as 25s or 500ms");
        } else if (flag == "--idle-timeout") {
            if (!need()) return ArgsResult::kError;
            if (!parse_duration_ms(value, cfg.idle_timeout_ms) || cfg.idle_timeout_ms == 0)
                return bad("expected a duration such as 60s or 500ms");
        } else if (flag == "--handshake-timeout") {
            if (!need()) return ArgsResult::kError;
            if (!parse_duration_ms(value, cfg.handshake_timeout_ms) || cfg.handshake_timeout_ms == 0)
                return bad("expected a duration such as 10s or 500ms");
        } else if (flag == "--send-buffer") {
            if (!need()) return ArgsResult::kError;
            if (!parse_size(value, cfg.send_buffer) || cfg.send_buffer < 1024 ||
                cfg.send_buffer > (1ull << 31))
                return bad("expected a size from 1K to 2G");
        } else {
            err = "unknown flag '" + std::string(flag) + "' (see --help)";
            return ArgsResult::kError;
        }
    }
    return ArgsResult::kOk;
}

}  // namespace wspush::server
