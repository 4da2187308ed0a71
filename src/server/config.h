// Configuration of wspushd: command-line flags, and a --config file of the same settings.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/log.h"
#include "robot/robot.h"

namespace wspush::server {

enum class Mode : uint8_t {
    kPush,   // channels under /ws/<channel>, control socket; client messages go to TAIL
    kEcho,   // every message echoed back (conformance runs); upgrade on any path
    kRelay,  // like push, and a client's message goes to the other members of its channels
};

// --fsync: when a journaled publication counts as written (src/journal/journal.h).
enum class JournalSync : uint8_t { kAlways, kBatch, kNever };

struct Config {
    std::string listen_host = "0.0.0.0";
    uint16_t listen_port = 8080;
    Mode mode = Mode::kPush;
    uint64_t max_message = 1u << 20;
    uint32_t max_connections = 0;  // 0: descriptor limit - 64 - max_control
    std::vector<std::string> protocols;
    std::vector<std::string> origins;
    base::LogLevel log_level = base::LogLevel::kInfo;
    bool log_time = false;                 // each log line starts with the UTC time
    std::string control_path = "./wspushd.sock";
    uint32_t max_control = 16;             // control clients at once (1..1024)
    uint32_t history = 100;                // messages kept per channel (0..1000000)
    uint64_t history_bytes = 8u << 20;     // budget for all channels' history (0..1G)
    uint32_t max_channels = 4096;          // channels that may exist at once (1..1000000)
    // --journal: channel history on disk (src/journal/journal.h); empty: none.
    std::string journal_dir;
    JournalSync fsync = JournalSync::kBatch;
    uint64_t journal_max = 64ull << 20;    // all segments together (1M..1T)
    // --redis: channels numbered, kept and fanned out through Redis (README, "Many boxes").
    std::string redis;                     // HOST:PORT or unix:PATH; empty: none
    std::string redis_prefix = "wspush:";  // every key and pub/sub channel starts with it
    std::string redis_user;                // config file only: AUTH user (ACL)
    std::string redis_password;            // config file only: AUTH password
    uint32_t redis_db = 0;                 // SELECT (0..1000000)
    uint32_t redis_max_queued = 10000;     // publishes waiting while Redis is away (1..1000000)
    uint32_t ping_interval_ms = 25'000;
    uint32_t idle_timeout_ms = 60'000;
    uint32_t handshake_timeout_ms = 10'000;
    uint64_t send_buffer = 1u << 20;
    bool io_uring = true;                  // batched sends where the kernel allows io_uring
    bool http_stats = false;
    uint32_t workers = 1;                  // --workers: processes sharing the port (1..64)
    // Webhook (POST /robot/send, /push/<channel>, /send/<id>).
    std::vector<std::string> robot_specs;  // --robot values, in order
    std::vector<std::string> robot_spec_at; // where each robot_specs entry is: "FILE:LINE", "" (a flag)
    std::vector<std::string> robot_files;  // --robots files, in order
    std::vector<robot::Robot> robots;      // both, parsed by parse_args
    uint64_t robot_max_body = 20'000;
    uint32_t body_timeout_ms = 10'000;
    uint32_t keepalive_timeout_ms = 15'000;
    // --config: the file read first, the command line applied over it (at start and at each
    // SIGHUP, which reads the file again and applies command_line over it again).
    std::string config_path;               // empty: no file
    std::vector<std::string> command_line; // argv[1..], as given
};

enum class ArgsResult : uint8_t { kOk, kHelp, kError };

// Parses argv into cfg. On kError, err holds a one-line message naming the flag.
[[nodiscard]] ArgsResult parse_args(int argc, char** argv, Config& cfg, std::string& err);

// The configuration again, as parse_args built it: defaults, then cfg.config_path's file (if
// any), then cfg.command_line over it, into a fresh `out` (SIGHUP). False with err set (a
// file's errors as "FILE:LINE: reason"); `out` is then not to be used.
[[nodiscard]] bool reload_config(const Config& cfg, Config& out, std::string& err);

// The lines of a configuration file (`name` names it in errors): "key = value", the key a
// long flag's name without "--", the value as that flag takes it (a pair of enclosing quotes
// is removed); blank lines and lines starting with '#' are skipped. A key other than a
// repeatable one (robot, robots) may appear once. Applies each value to cfg through the
// flag table. False with err = "NAME:LINE: reason".
[[nodiscard]] bool parse_config_text(std::string_view name, std::string_view text, Config& cfg, std::string& err);
// Reads the file at `path` (at most kMaxConfigBytes, lines of at most kMaxConfigLine bytes)
// and parses it as above. False with err = "PATH: reason" or "PATH:LINE: reason".
[[nodiscard]] bool read_config_file(const std::string& path, Config& cfg, std::string& err);
inline constexpr size_t kMaxConfigBytes = 1u << 20;
inline constexpr size_t kMaxConfigLine = 4096;

// The --help text: one entry per flag, "  <syntax>  <text> (default <value>)", the text
// possibly continued on indented lines; built from the same table parse_args uses.
[[nodiscard]] const char* usage();

[[nodiscard]] const char* mode_name(Mode m) noexcept;
[[nodiscard]] const char* fsync_name(JournalSync s) noexcept;

// "1024", "64K", "16M", "1G" (binary multiples, either case). False on garbage or overflow.
[[nodiscard]] bool parse_size(std::string_view s, uint64_t& out) noexcept;
// "25" (seconds), "25s", "500ms", "2m". False on garbage or overflow past ~24 days.
[[nodiscard]] bool parse_duration_ms(std::string_view s, uint32_t& out) noexcept;
// "HOST:PORT" or "[v6]:PORT". False on a missing or out-of-range port.
[[nodiscard]] bool parse_listen(std::string_view s, std::string& host, uint16_t& port);

}  // namespace wspush::server
