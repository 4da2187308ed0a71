#include "server/config.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <limits>
#include <type_traits>

#include "base/read_file.h"
#include "redis/endpoint.h"

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

// Setters: parse a flag's value into cfg, or return false (cfg untouched) when it is not
// acceptable. Each integer flag is bounded so that the field's type cannot wrap.
using Setter = bool (*)(std::string_view value, Config& cfg);

template <auto Member, uint64_t Lo, uint64_t Hi>
bool set_count(std::string_view value, Config& cfg) {
    using Field = std::remove_cvref_t<decltype(cfg.*Member)>;
    static_assert(Hi <= std::numeric_limits<Field>::max());
    uint64_t v;
    if (!parse_u64(value, v) || v < Lo || v > Hi) return false;
    cfg.*Member = static_cast<Field>(v);
    return true;
}

template <auto Member, uint64_t Lo, uint64_t Hi>
bool set_size(std::string_view value, Config& cfg) {
    uint64_t v;
    if (!parse_size(value, v) || v < Lo || v > Hi) return false;
    cfg.*Member = v;
    return true;
}

template <auto Member>
bool set_duration(std::string_view value, Config& cfg) {
    uint32_t ms;
    if (!parse_duration_ms(value, ms) || ms == 0) return false;
    cfg.*Member = ms;
    return true;
}

// A boolean flag alone means true (parse_args passes "true"); with "=" it takes exactly one
// of these four spellings, so a typo such as --http-stats=flase is an error, not "on".
template <auto Member>
bool set_bool(std::string_view value, Config& cfg) {
    if (value == "true" || value == "1") cfg.*Member = true;
    else if (value == "false" || value == "0") cfg.*Member = false;
    else return false;
    return true;
}

bool set_mode(std::string_view value, Config& cfg) {
    if (value == "push") cfg.mode = Mode::kPush;
    else if (value == "echo") cfg.mode = Mode::kEcho;
    else if (value == "relay") cfg.mode = Mode::kRelay;
    else return false;
    return true;
}

bool set_fsync(std::string_view value, Config& cfg) {
    if (value == "always") cfg.fsync = JournalSync::kAlways;
    else if (value == "batch") cfg.fsync = JournalSync::kBatch;
    else if (value == "never") cfg.fsync = JournalSync::kNever;
    else return false;
    return true;
}

constexpr uint64_t kKiB = 1ull << 10;
constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kGiB = 1ull << 30;

struct Flag {
    std::string_view syntax;  // as --help and the README show it; the name ends at ' ' or '['
    std::string_view help;    // wrapped to kUsageWidth by build_usage
    std::string_view def;     // the default as --help shows it; empty: none
    const char* expect;       // what a bad value is told it should have been
    Setter set;
    bool boolean = false;     // takes no separate argument; "=value" optional
    // A repeatable flag: empties its list. The command line's values replace the file's.
    void (*clear)(Config& cfg) = nullptr;
    // A secret: taken from a --config file only (a command line shows in ps and /proc).
    bool file_only = false;
};

template <auto Member>
bool set_text(std::string_view value, Config& cfg) {
    if (value.empty()) return false;
    (cfg.*Member).assign(value);
    return true;
}

// Every flag, in --help order.
constexpr Flag kFlags[] = {
    {.syntax = "--config FILE",
     .help = "read settings from FILE first: key = value lines, keys named as these flags; "
             "flags given here override it; SIGHUP reads it again",
     .def = "none", .expect = "a file name",
     .set = [](std::string_view v, Config& c) {
         if (v.empty()) return false;
         c.config_path.assign(v);
         return true;
     }},
    {.syntax = "--listen HOST:PORT",
     .help = "address for WebSocket and HTTP clients; IPv6 as [::]:8080, port 0 picks a free port",
     .def = "0.0.0.0:8080", .expect = "HOST:PORT or [IPv6]:PORT",
     .set = [](std::string_view v, Config& c) { return parse_listen(v, c.listen_host, c.listen_port); }},
    {.syntax = "--mode push|echo|relay",
     .help = "push: channels and the control socket; echo: every message echoed back "
             "(conformance runs); relay: push, and a client's message also goes to the other "
             "members of its channels",
     .def = "push", .expect = "push, echo or relay", .set = set_mode},
    // Messages are assembled in one buffer with 32-bit lengths.
    {.syntax = "--max-message BYTES", .help = "largest message a client may send, 1 to 1G",
     .def = "1M", .expect = "a size from 1 to 1G", .set = set_size<&Config::max_message, 1, kGiB>},
    {.syntax = "--max-connections N", .help = "WebSocket clients at once; more get 503",
     .def = "descriptor limit - 64 - max-control", .expect = "a count from 1 to 10000000",
     .set = set_count<&Config::max_connections, 1, 10'000'000>},
    {.syntax = "--protocols LIST", .help = "subprotocols we speak, comma-separated; the first the client offers that is listed is chosen",
     .def = "none", .expect = "a list",
     .set = [](std::string_view v, Config& c) { c.protocols = split_list(v); return true; }},
    {.syntax = "--origins LIST", .help = "allowed Origin values, comma-separated; others get 403",
     .def = "any", .expect = "a list",
     .set = [](std::string_view v, Config& c) { c.origins = split_list(v); return true; }},
    {.syntax = "--log-level LEVEL", .help = "debug, info, warn or error", .def = "info",
     .expect = "debug, info, warn or error",
     .set = [](std::string_view v, Config& c) { return base::parse_log_level(v, c.log_level); }},
    {.syntax = "--log-time[=true|false|1|0]",
     .help = "start each log line with the UTC time (the journal adds its own)", .def = "false",
     .expect = "true, false, 1 or 0", .set = set_bool<&Config::log_time>, .boolean = true},
    // sockaddr_un.sun_path holds 108 bytes with the terminating NUL.
    {.syntax = "--control PATH", .help = "control socket (push and relay modes), created 0600",
     .def = "./wspushd.sock", .expect = "a socket path under 108 bytes",
     .set = [](std::string_view v, Config& c) {
         if (v.empty() || v.size() >= 108) return false;
         c.control_path.assign(v);
         return true;
     }},
    {.syntax = "--max-control N", .help = "control clients at once, 1 to 1024", .def = "16",
     .expect = "a count from 1 to 1024", .set = set_count<&Config::max_control, 1, 1024>},
    {.syntax = "--history N", .help = "messages kept per channel for resume, 0 to 1000000",
     .def = "100", .expect = "a count from 0 to 1000000",
     .set = set_count<&Config::history, 0, 1'000'000>},
    {.syntax = "--history-bytes BYTES",
     .help = "budget for all channels' history together, 0 to 1G; the oldest message goes "
             "first; 0 keeps no history",
     .def = "8M", .expect = "a size from 0 to 1G", .set = set_size<&Config::history_bytes, 0, kGiB>},
    {.syntax = "--max-channels N", .help = "channels that may exist at once, 1 to 1000000",
     .def = "4096", .expect = "a count from 1 to 1000000",
     .set = set_count<&Config::max_channels, 1, 1'000'000>},
    {.syntax = "--journal DIR",
     .help = "keep channel history on disk in DIR (created 0750), so numbering and resume "
             "survive a restart and a push answered OK survives a crash (README, \"Durability\")",
     .def = "none", .expect = "a directory name",
     .set = [](std::string_view v, Config& c) {
         if (v.empty()) return false;
         c.journal_dir.assign(v);
         return true;
     }},
    {.syntax = "--fsync always|batch|never",
     .help = "when a journaled push is answered OK: always: after an fdatasync of its record; "
             "batch: after one fdatasync per loop turn; never: once written, no fdatasync",
     .def = "batch", .expect = "always, batch or never", .set = set_fsync},
    {.syntax = "--journal-max BYTES",
     .help = "disk the journal may use, 1M to 1024G; the oldest segments are compacted or dropped",
     .def = "64M", .expect = "a size from 1M to 1024G",
     .set = set_size<&Config::journal_max, kMiB, 1024 * kGiB>},
    {.syntax = "--redis HOST:PORT|unix:PATH",
     .help = "number, keep and fan out channels through this Redis or Valkey, so several "
             "wspushd share them and a client may resume on any (README, \"Many boxes\"); "
             "not with --journal; a host name is looked up once, at start",
     .def = "none", .expect = "HOST:PORT or unix:PATH",
     .set = [](std::string_view v, Config& c) {
         redis::Endpoint ep;
         std::string why;
         if (!redis::parse_endpoint(v, ep, why)) return false;
         c.redis.assign(v);
         return true;
     }},
    {.syntax = "--redis-prefix P",
     .help = "start of every Redis key and pub/sub channel, so deployments can share a Redis",
     .def = "wspush:", .expect = "a prefix without spaces",
     .set = [](std::string_view v, Config& c) {
         if (v.empty() || v.size() > 64 || v.find_first_of(" \t\r\n") != std::string_view::npos) return false;
         c.redis_prefix.assign(v);
         return true;
     }},
    {.syntax = "--redis-user NAME", .help = "Redis ACL user (config file only)", .def = "none",
     .expect = "a user name", .set = set_text<&Config::redis_user>, .file_only = true},
    {.syntax = "--redis-password PASS", .help = "Redis password, AUTH (config file only)", .def = "none",
     .expect = "a password", .set = set_text<&Config::redis_password>, .file_only = true},
    {.syntax = "--redis-db N", .help = "Redis database number (SELECT)", .def = "0",
     .expect = "a count from 0 to 1000000", .set = set_count<&Config::redis_db, 0, 1'000'000>},
    {.syntax = "--redis-max-queued N",
     .help = "pushes held while Redis is away, 1 to 1000000 (and 16M of payload); more are refused",
     .def = "10000", .expect = "a count from 1 to 1000000",
     .set = set_count<&Config::redis_max_queued, 1, 1'000'000>},
    {.syntax = "--ping-interval DUR", .help = "Ping a client quiet this long", .def = "25s",
     .expect = "a duration such as 25s or 500ms", .set = set_duration<&Config::ping_interval_ms>},
    {.syntax = "--idle-timeout DUR", .help = "close a client silent this long", .def = "60s",
     .expect = "a duration such as 60s or 500ms", .set = set_duration<&Config::idle_timeout_ms>},
    {.syntax = "--handshake-timeout DUR", .help = "close a connection not upgraded by then",
     .def = "10s", .expect = "a duration such as 10s or 500ms",
     .set = set_duration<&Config::handshake_timeout_ms>},
    {.syntax = "--send-buffer BYTES", .help = "cap on a client's unread output, 1K to 2G", .def = "1M",
     .expect = "a size from 1K to 2G", .set = set_size<&Config::send_buffer, kKiB, 2 * kGiB>},
    {.syntax = "--io-uring[=true|false|1|0]",
     .help = "send a loop turn's writes in batches through io_uring where the kernel allows it; "
             "false: one write per socket",
     .def = "true", .expect = "true, false, 1 or 0", .set = set_bool<&Config::io_uring>, .boolean = true},
    {.syntax = "--workers N",
     .help = "worker processes sharing the listening port, 1 to 64 (one per core); 1: a single "
             "process; more: a parent numbers every push for all of them (README, \"Many cores\")",
     .def = "1", .expect = "a count from 1 to 64", .set = set_count<&Config::workers, 1, 64>},
    {.syntax = "--http-stats[=true|false|1|0]", .help = "serve GET /stats, /metrics and /status (a page with charts)",
     .def = "false", .expect = "true, false, 1 or 0", .set = set_bool<&Config::http_stats>,
     .boolean = true},
    {.syntax = "--robot 'TOKEN CHANNEL [OPTION=VALUE...]'",
     .help = "a webhook robot (repeatable): its token, its channel (or a pattern such as "
             "sensors.* for /push and /send), and name=, secret=, keywords=, allow=, rate=, "
             "throttle=, overflow= (README, \"Webhook\")",
     .def = "none", .expect = "a robot spec",
     .set = [](std::string_view v, Config& c) { c.robot_specs.emplace_back(v); return true; },
     .clear = [](Config& c) {
         c.robot_specs.clear();
         c.robot_spec_at.clear();
     }},
    {.syntax = "--robots FILE", .help = "more robots, one spec a line, # comments (repeatable)",
     .def = "none", .expect = "a file name",
     .set = [](std::string_view v, Config& c) {
         if (v.empty()) return false;
         c.robot_files.emplace_back(v);
         return true;
     },
     .clear = [](Config& c) { c.robot_files.clear(); }},
    {.syntax = "--robot-max-body BYTES", .help = "largest webhook body, 1 to 64M; larger gets 460101/413",
     .def = "20000", .expect = "a size from 1 to 64M", .set = set_size<&Config::robot_max_body, 1, 64 << 20>},
    {.syntax = "--body-timeout DUR", .help = "close a webhook request whose body is not in by then",
     .def = "10s", .expect = "a duration such as 10s or 500ms", .set = set_duration<&Config::body_timeout_ms>},
    {.syntax = "--keepalive-timeout DUR", .help = "close an idle kept-alive HTTP connection after this",
     .def = "15s", .expect = "a duration such as 15s or 500ms",
     .set = set_duration<&Config::keepalive_timeout_ms>},
    // Handled before the table is searched; listed here for --help.
    {.syntax = "--help", .help = "this text", .def = "", .expect = "", .set = nullptr},
};

constexpr size_t kHelpColumn = 28;  // where the help text starts
constexpr size_t kUsageWidth = 80;  // --help lines are at most this long

constexpr std::string_view kUsageTail =
    "BYTES is a number with an optional K, M or G (binary multiples; k, m, g too).\n"
    "DUR is a number with an optional unit: ms, s (default) or m.\n"
    "A boolean flag alone means true; with =, it takes true, false, 1 or 0.\n"
    "A --config file has a line \"key = value\" per setting (key: a flag without --).\n";

std::string_view flag_name(const Flag& f) noexcept { return f.syntax.substr(0, f.syntax.find_first_of(" [")); }

const Flag* find_flag(std::string_view name) noexcept {
    for (const Flag& f : kFlags) {
        if (f.set != nullptr && flag_name(f) == name) return &f;
    }
    return nullptr;
}

// Appends the words of `text` from column kHelpColumn on, wrapping at kUsageWidth onto
// lines indented to kHelpColumn. `last`, if any, is kept whole as a final word.
void append_wrapped(std::string& u, std::string_view text, std::string_view last) {
    size_t col = kHelpColumn;
    auto put = [&](std::string_view word) {
        if (col > kHelpColumn && col + 1 + word.size() > kUsageWidth) {
            u += '\n';
            u.append(kHelpColumn, ' ');
            col = kHelpColumn;
        } else if (col > kHelpColumn) {
            u += ' ';
            ++col;
        }
        u += word;
        col += word.size();
    };
    while (!text.empty()) {
        const size_t sp = text.find(' ');
        put(text.substr(0, sp));
        text.remove_prefix(sp == std::string_view::npos ? text.size() : sp + 1);
    }
    if (!last.empty()) put(last);
}

std::string build_usage() {
    std::string u = "usage: wspushd [options]\n";
    for (const Flag& f : kFlags) {
        u += "  ";
        u += f.syntax;
        // A syntax too wide for the column gets a line of its own.
        if (f.syntax.size() + 4 > kHelpColumn) {
            u += '\n';
            u.append(kHelpColumn, ' ');
        } else {
            u.append(kHelpColumn - 2 - f.syntax.size(), ' ');
        }
        append_wrapped(u, f.help, f.def.empty() ? "" : "(default " + std::string(f.def) + ")");
        u += '\n';
    }
    return u += kUsageTail;
}

}  // namespace

// Built on first use. A namespace-scope string rather than a function-local static: the
// server is single-threaded, and a local static's thread-safe guard (__cxa_guard_acquire)
// would link libstdc++'s exception machinery into the server.
namespace {
std::string g_usage;
}  // namespace

const char* usage() {
    if (g_usage.empty()) g_usage = build_usage();
    return g_usage.c_str();
}

const char* fsync_name(JournalSync s) noexcept {
    switch (s) {
        case JournalSync::kAlways: return "always";
        case JournalSync::kBatch: return "batch";
        case JournalSync::kNever: return "never";
    }
    return "?";
}

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

namespace {

// --robot values first, then --robots files, each numbered in that order; then the table as
// a whole (unique tokens and names).
bool load_robot_table(Config& cfg, std::string& err) {
    cfg.robots.clear();
    for (const std::string& spec : cfg.robot_specs) {
        robot::Robot r;
        if (!robot::parse_robot(spec, cfg.robots.size() + 1, r, err)) {
            err = "--robot: " + err;
            return false;
        }
        cfg.robots.push_back(std::move(r));
    }
    for (const std::string& path : cfg.robot_files) {
        if (!robot::load_robots(path, cfg.robots, err)) {
            err = "--robots: " + err;
            return false;
        }
    }
    size_t at = 0;
    if (!robot::check_robots(cfg.robots, err, &at)) {
        // A robot line of the --config file is named by its place.
        const bool placed = at < cfg.robot_spec_at.size() && !cfg.robot_spec_at[at].empty();
        err = (placed ? cfg.robot_spec_at[at] + ": robot: " : "robots: ") + err;
        return false;
    }
    return true;
}

}  // namespace

namespace {

// One flag of the command line and its value (a view into the argument).
struct Setting {
    const Flag* flag;
    std::string_view value;
};

// Splits the command line into settings; the values are checked when applied.
ArgsResult scan_args(const std::vector<std::string>& args, std::vector<Setting>& out, std::string& err) {
    std::string_view bare_boolean;  // the previous argument, if a boolean flag without "="
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string_view arg = args[i];
        std::string_view flag = arg;
        std::string_view value;
        bool has_value = false;
        if (size_t eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
            flag = arg.substr(0, eq);
            value = arg.substr(eq + 1);
            has_value = true;
        }
        if (flag == "--help" || flag == "-h") return ArgsResult::kHelp;
        if (!flag.starts_with("--")) {
            err = "unexpected argument '" + std::string(arg) + "'";
            if (!bare_boolean.empty()) err += " after " + std::string(bare_boolean) + " (booleans take =VALUE)";
            return ArgsResult::kError;
        }
        const Flag* f = find_flag(flag);
        if (f == nullptr) {
            err = "unknown flag '" + std::string(flag) + "' (see --help)";
            return ArgsResult::kError;
        }
        if (f->file_only) {
            err = std::string(flag) + ": only in a --config file (a command line shows in ps)";
            return ArgsResult::kError;
        }
        bare_boolean = f->boolean && !has_value ? flag : std::string_view();
        if (f->boolean && !has_value) {
            value = "true";  // never the next argument: "--http-stats false" is an error
        } else if (!has_value) {
            if (i + 1 >= args.size()) {
                err = std::string(flag) + ": missing value";
                return ArgsResult::kError;
            }
            value = args[++i];
        }
        out.push_back({f, value});
    }
    return ArgsResult::kOk;
}

bool apply(const Setting& s, Config& cfg, std::string& err) {
    if (s.flag->set(s.value, cfg)) return true;
    err = std::string(flag_name(*s.flag)) + ": expected " + s.flag->expect + ": '" + std::string(s.value) + "'";
    return false;
}

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

// Defaults, then the --config file, then the command line over it, then the robot table.
ArgsResult build(const std::vector<std::string>& args, Config& cfg, std::string& err) {
    std::vector<Setting> cmd;
    if (ArgsResult r = scan_args(args, cmd, err); r != ArgsResult::kOk) return r;
    for (const Setting& s : cmd)
        if (s.flag == &kFlags[0] && !apply(s, cfg, err)) return ArgsResult::kError;  // --config
    if (!cfg.config_path.empty() && !read_config_file(cfg.config_path, cfg, err)) return ArgsResult::kError;
    for (const Flag& f : kFlags)
        if (f.clear && std::any_of(cmd.begin(), cmd.end(), [&](const Setting& s) { return s.flag == &f; })) f.clear(cfg);
    for (const Setting& s : cmd)
        if (!apply(s, cfg, err)) return ArgsResult::kError;
    cfg.command_line = args;
    if (cfg.workers > 1 && !cfg.journal_dir.empty()) {
        err = "--journal cannot be used with --workers above 1 (README, \"Many cores\")";
        return ArgsResult::kError;
    }
    if (!cfg.redis.empty() && !cfg.journal_dir.empty()) {
        err = "--redis and --journal exclude each other: with --redis, Redis holds the channels' history";
        return ArgsResult::kError;
    }
    return load_robot_table(cfg, err) ? ArgsResult::kOk : ArgsResult::kError;
}

}  // namespace

ArgsResult parse_args(int argc, char** argv, Config& cfg, std::string& err) {
    return build(std::vector<std::string>(argv + (argc > 0), argv + argc), cfg, err);
}

bool reload_config(const Config& cfg, Config& out, std::string& err) {
    out = Config();
    return build(cfg.command_line, out, err) == ArgsResult::kOk;
}

bool parse_config_text(std::string_view name, std::string_view text, Config& cfg, std::string& err) {
    uint32_t set_on[std::size(kFlags)] = {};  // the line that set each flag (0: none yet)
    uint32_t line_no = 0;
    auto fail = [&](std::string_view reason) {
        err = std::string(name) + ':' + std::to_string(line_no) + ": ";
        err += reason;
        return false;
    };
    while (!text.empty()) {
        ++line_no;
        const size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
        if (line.size() - line.ends_with('\r') > kMaxConfigLine)  // a CRLF line's CR is not counted
            return fail("line longer than " + std::to_string(kMaxConfigLine) + " bytes");
        if (line.find('\0') != std::string_view::npos) return fail("NUL byte");
        line = trim(line);
        if (line.empty() || line.front() == '#') continue;
        const size_t eq = line.find('=');
        if (eq == std::string_view::npos) return fail("expected key = value");
        const std::string key(trim(line.substr(0, eq)));
        std::string_view value = trim(line.substr(eq + 1));
        if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front())
            value = value.substr(1, value.size() - 2);
        const Flag* f = key.starts_with("-") || key == "config" ? nullptr : find_flag("--" + key);
        if (f == nullptr) {
            if (key == "config") return fail("config: a configuration file cannot name another");
            return fail("unknown key '" + key + "' (keys are the flags without --, see wspushd --help)");
        }
        uint32_t& first = set_on[f - kFlags];
        if (first != 0 && f->clear == nullptr)
            return fail(key + ": already set on line " + std::to_string(first));
        first = line_no;
        if (!f->set(value, cfg)) return fail(key + ": expected " + f->expect + ": '" + std::string(value) + "'");
        if (key == "robot") {  // checked here, where the line is known (built again later)
            robot::Robot r;
            std::string why;
            if (!robot::parse_robot(value, cfg.robot_specs.size(), r, why)) return fail("robot: " + why);
            cfg.robot_spec_at.resize(cfg.robot_specs.size());
            cfg.robot_spec_at.back() = std::string(name) + ':' + std::to_string(line_no);
        }
    }
    return true;
}

bool read_config_file(const std::string& path, Config& cfg, std::string& err) {
    std::string text;
    return base::read_small_file(path, kMaxConfigBytes, text, err) && parse_config_text(path, text, cfg, err);
}

}  // namespace wspush::server
