// The control channel's line protocol: one command per line, parsed without touching a socket.
#pragma once
#include <cstdint>
#include <string_view>

namespace wspush::ctl {

enum class Verb : uint8_t {
    kPub,        // PUB <channel> <text>
    kPubb,       // PUBB <channel> <nbytes>, then nbytes raw bytes
    kSend,       // SEND <client-id> <text>
    kBroadcast,  // BROADCAST <text>
    kStats,      // STATS
    kMetrics,    // METRICS
    kClients,    // CLIENTS [channel]
    kChannels,   // CHANNELS
    kKick,       // KICK <client-id> [code] [reason]
    kTail,       // TAIL
    kHelp,       // HELP
    kQuit,       // QUIT
};

struct Command {
    Verb verb = Verb::kHelp;
    std::string_view name;   // channel or client id (PUB, PUBB, SEND, CLIENTS, KICK)
    std::string_view text;   // message text (PUB, SEND, BROADCAST) or KICK reason
    uint64_t nbytes = 0;     // PUBB
    uint16_t code = 0;       // KICK close code (0: default 1008)
};

struct ParseResult {
    bool ok = false;
    Command cmd;
    const char* error = "";  // when !ok: the text after "ERR "
};

// Parses one line, without its LF (a trailing CR is ignored). Verbs are case-insensitive.
// Names are checked against the channel/id character set; texts against UTF-8; KICK codes
// against the codes an endpoint may send (1000, 3000-4999 and the 1001-1011 application set).
// max_payload bounds PUBB's nbytes. Views in the result point into `line`.
[[nodiscard]] ParseResult parse_command(std::string_view line, uint64_t max_payload) noexcept;

// The HELP text: lines, each ending in '\n', the last one "OK".
[[nodiscard]] std::string_view help_text() noexcept;

}  // namespace wspush::ctl
