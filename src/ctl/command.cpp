#include "ctl/command.h"

#include <charconv>

#include "codec/utf8.h"
#include "push/hub.h"
#include "ws/close_code.h"

namespace wspush::ctl {
namespace {

struct VerbName {
    std::string_view name;
    Verb verb;
};

constexpr VerbName kVerbs[] = {
    {"PUB", Verb::kPub},         {"PUBB", Verb::kPubb},       {"SEND", Verb::kSend},
    {"BROADCAST", Verb::kBroadcast}, {"STATS", Verb::kStats}, {"METRICS", Verb::kMetrics},
    {"CLIENTS", Verb::kClients}, {"CHANNELS", Verb::kChannels}, {"KICK", Verb::kKick},
    {"TAIL", Verb::kTail},       {"HELP", Verb::kHelp},       {"QUIT", Verb::kQuit},
};

bool iequal(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'a' && x <= 'z') x = static_cast<char>(x - 32);
        if (x != y) return false;
    }
    return true;
}

// Splits off the next space-delimited word.
std::string_view next_word(std::string_view& s) noexcept {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    size_t sp = s.find(' ');
    std::string_view w = s.substr(0, sp);
    s = sp == std::string_view::npos ? std::string_view{} : s.substr(sp + 1);
    return w;
}

ParseResult fail(const char* why) noexcept {
    ParseResult r;
    r.error = why;
    return r;
}

bool parse_uint(std::string_view s, uint64_t& out) noexcept {
    if (s.empty()) return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

ParseResult parse_command(std::string_view line, uint64_t max_payload) noexcept {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::string_view rest = line;
    std::string_view word = next_word(rest);
    if (word.empty()) return fail("empty command (try HELP)");
    ParseResult r;
    bool found = false;
    for (const VerbName& v : kVerbs) {
        if (iequal(word, v.name)) {
            r.cmd.verb = v.verb;
            found = true;
            break;
        }
    }
    if (!found) return fail("unknown command (try HELP)");
    if (!codec::utf8_valid(rest)) return fail("command is not valid UTF-8");
    Command& c = r.cmd;
    switch (c.verb) {
        case Verb::kPub:
        case Verb::kSend:
            c.name = next_word(rest);
            if (c.name.empty()) return fail(c.verb == Verb::kPub ? "usage: PUB <channel> <text>" : "usage: SEND <client-id> <text>");
            if (!push::valid_name(c.name)) return fail(c.verb == Verb::kPub ? "invalid channel name" : "invalid client id");
            c.text = rest;
            if (c.text.size() > max_payload) return fail("message too big");
            break;
        case Verb::kPubb: {
            c.name = next_word(rest);
            std::string_view n = next_word(rest);
            if (c.name.empty() || n.empty() || !rest.empty()) return fail("usage: PUBB <channel> <nbytes>");
            if (!push::valid_name(c.name)) return fail("invalid channel name");
            if (!parse_uint(n, c.nbytes)) return fail("PUBB: nbytes must be a number");
            if (c.nbytes > max_payload) return fail("message too big");
            break;
        }
        case Verb::kBroadcast:
            c.text = rest;
            if (c.text.size() > max_payload) return fail("message too big");
            break;
        case Verb::kClients:
            c.name = next_word(rest);
            if (!rest.empty()) return fail("usage: CLIENTS [channel]");
            if (!c.name.empty() && !push::valid_name(c.name)) return fail("invalid channel name");
            break;
        case Verb::kKick: {
            c.name = next_word(rest);
            if (c.name.empty()) return fail("usage: KICK <client-id> [code] [reason]");
            if (!push::valid_name(c.name)) return fail("invalid client id");
            std::string_view code = next_word(rest);
            if (!code.empty()) {
                uint64_t v;
                if (!parse_uint(code, v) || v > 4999 || v == 1005 || v == 1006 || !ws::close_code_valid(static_cast<uint16_t>(v)))
                    return fail("KICK: invalid close code");
                c.code = static_cast<uint16_t>(v);
            }
            c.text = rest;
            if (c.text.size() > 123) return fail("KICK: reason longer than 123 bytes");
            break;
        }
        default:
            if (!rest.empty()) return fail("this command takes no arguments");
            break;
    }
    r.ok = true;
    return r;
}

std::string_view help_text() noexcept {
    return "PUB <channel> <text>              push a text message to a channel\n"
           "PUBB <channel> <nbytes>           then nbytes raw bytes: push a binary message\n"
           "SEND <client-id> <text>           to every connection with that id\n"
           "BROADCAST <text>                  to every client\n"
           "STATS                             figures as one JSON object\n"
           "METRICS                           figures in Prometheus text format\n"
           "CLIENTS [channel]                 connected clients as JSON\n"
           "CHANNELS                          channels as JSON\n"
           "KICK <client-id> [code] [reason]  close that client's connections\n"
           "TAIL                              client messages as MSG/MSGT/MSGB lines\n"
           "HELP                              this text\n"
           "QUIT                              close this control connection\n"
           "OK\n";
}

}  // namespace wspush::ctl
