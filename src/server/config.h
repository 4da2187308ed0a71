// Command-line configuration of wspushd.
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
    uint32_t ping_interval_ms = 25'000;
    uint32_t idle_timeout_ms = 60'000;
    uint32_t handshake_timeout_ms = 10'000;
    uint64_t send_buffer = 1u << 20;
    bool io_uring = true;                  // batched sends where the kernel allows io_uring
    bool http_stats = false;
    // Webhook (POST /robot/send, /push/<channel>, /send/<id>).
    std::vector<std::string> robot_specs;  // --robot values, in order
    std::vector<std::string> robot_files;  // --robots files, in order
    std::vector<robot::Robot> robots;      // both, parsed by parse_args
    uint64_t robot_max_body = 20'000;
    uint32_t body_timeout_ms = 10'000;
    uint32_t keepalive_timeout_ms = 15'000;
};

enum class ArgsResult : uint8_t { kOk, kHelp, kError };

// Parses argv into cfg. On kError, err holds a one-line message naming the flag.
[[nodiscard]] ArgsResult parse_args(int argc, char** argv, Config& cfg, std::string& err);

// The --help text: one entry per flag, "  <syntax>  <text> (default <value>)", the text
// possibly continued on indented lines; built from the same table parse_args uses.
[[nodiscard]] const char* usage();

[[nodiscard]] const char* mode_name(Mode m) noexcept;

// "1024", "64K", "16M", "1G" (binary multiples, either case). False on garbage or overflow.
[[nodiscard]] bool parse_size(std::string_view s, uint64_t& out) noexcept;
// "25" (seconds), "25s", "500ms", "2m". False on garbage or overflow past ~24 days.
[[nodiscard]] bool parse_duration_ms(std::string_view s, uint32_t& out) noexcept;
// "HOST:PORT" or "[v6]:PORT". False on a missing or out-of-range port.
[[nodiscard]] bool parse_listen(std::string_view s, std::string& host, uint16_t& port);

}  // namespace wspush::server
