// wsload command line: `wsload <mode> [flags]` (see usage()).
#pragma once
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>
#include <string_view>

namespace wspush::wsload {

enum class Mode : uint8_t { kIdle, kEcho, kFanout, kChurn, kWebhook };

// How pushes reach the server: --via.
enum class Via : uint8_t {
    kControl,  // PUB lines on the control socket (fanout's default)
    kRelay,    // text messages from one more WebSocket client (fanout)
    kHttp,     // POST /push/<channel> or /robot/send (webhook's default)
};

[[nodiscard]] const char* mode_name(Mode m) noexcept;

// A ws:// URL with a numeric host (IPv4, or IPv6 in brackets) or "localhost".
struct Url {
    std::string host_header;  // "127.0.0.1:8080", as sent in Host
    std::string path;         // "/ws/news?id=1"; "/" when the URL has none
    sockaddr_storage addr{};
    socklen_t addr_len = 0;
    bool loopback_v4 = false;  // 127.0.0.0/8: source addresses may be spread
};

struct Options {
    Mode mode = Mode::kEcho;
    Url url;
    std::vector<Url> urls;       // every --url given, in order (url is urls[0]): connection
                                 //     k goes to urls[k % size] (fanout: the publisher's
                                 //     and the first subscriber's is urls[0])
    std::string channel;         // fanout, webhook: the channel (from /ws/<ch> in the URL)
    uint64_t channels = 1;       // --channels: webhook --via control spreads its PUBs over
                                 //     <channel>.0 .. <channel>.<N-1> in turn (N > 1)
    uint64_t subscribers = 100;  // -n: idle connections / fanout subscribers / webhook
                                 //     checking subscribers (0 or 1, default 1)
    uint64_t connections = 1;    // -c: echo/webhook connections / churn parallelism
    uint64_t inflight = 1;       // -k: echo messages in flight per connection, fanout
                                 //     unanswered PUBs (or undelivered relayed pushes),
                                 //     webhook requests pipelined per connection
    uint64_t size = 64;          // -s: payload bytes
    uint64_t messages = 0;       // -m: echo/churn total (0: until --duration), fanout pushes
    double duration_s = 5;       // -d (fanout: 30 s, a bound on publishing -m pushes)
    double timeout_s = 10;       // --timeout: handshake, drain and close waits
    double rate = 0;             // --rate: fanout pushes per second (0: as fast as allowed)
    uint64_t lag = 1000;         // --lag: fanout pushes not yet received by every subscriber
                                 //     (on average) before publishing waits
    uint64_t parallel = 256;     // --parallel: handshakes in progress at once (idle, fanout)
    bool text = false;           // --text: echo/churn send text instead of binary
    Via via = Via::kControl;     // --via (webhook: kHttp unless given)
    bool robot = false;          // --robot: webhook posts to /robot/send
    bool keepalive = true;       // --no-keepalive: webhook opens a connection per request
    std::string token;           // --token: webhook Bearer token or access_token
    std::string control;         // --control PATH
    std::string protocol;        // --protocol; fanout defaults to wspush.v1
    std::string hold_file;       // --hold-file PATH (idle)
    std::vector<pid_t> pids;     // --pid: server processes to read CPU time of (summed)
    uint64_t max_message = uint64_t{64} << 20;
    bool verbose = false;

    [[nodiscard]] bool via_relay() const noexcept { return via == Via::kRelay; }
};

struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Parses argv. Throws UsageError with a readable message. Sets help=true for -h/--help
// (the other fields are then defaults).
[[nodiscard]] Options parse_options(int argc, const char* const* argv, bool& help);

// "10", "10s", "250ms", "2m" -> seconds. Throws UsageError.
[[nodiscard]] double parse_duration(std::string_view s);
// "64", "4K", "1M" (binary multiples) -> bytes. Throws UsageError.
[[nodiscard]] uint64_t parse_size(std::string_view s);
// Parses a ws:// URL. Throws UsageError.
[[nodiscard]] Url parse_url(std::string_view s);

[[nodiscard]] const char* usage() noexcept;

}  // namespace wspush::wsload
