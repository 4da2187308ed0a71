// libFuzzer entry point for the control channel's line protocol (make fuzz): ctl::parse_command
// and the line assembly of ctl::ControlChannel, on a real Unix socket and epoll instance. The
// first byte picks max_payload (so that "line too long" is reachable), the rest is what a
// control client sends. Checks:
//   - sent whole, in pseudo-random pieces (one read each) and byte by byte, then half-closed,
//     the channel runs the same commands (and PUBB payloads) and writes the same replies;
//   - every command it runs is well-formed (valid names, UTF-8 texts within max_payload, a
//     PUBB payload of exactly nbytes);
//   - parse_command on each line: an accepted command, written out again in canonical form
//     (upper-case verb, single spaces), parses to the same command, and so does its line
//     with the verb in lower case; any line with a CR appended gets the same verdict.
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <vector>

#include "codec/utf8.h"
#include "ctl/command.h"
#include "ctl/control_channel.h"
#include "fuzz_util.h"
#include "push/names.h"

namespace {

using namespace wspush;
using fuzz::require;

constexpr uint64_t kListenTag = 2;
constexpr uint64_t kClientTag = 5;
constexpr std::string_view kVerbs[] = {"PUB", "PUBB", "SEND", "BROADCAST", "STATS", "METRICS",
                                       "CLIENTS", "CHANNELS", "KICK", "TAIL", "HELP", "QUIT"};

struct Recorder final : ctl::CommandHandler {
    ctl::Reply execute(const ctl::Command& cmd, std::string_view payload, std::string& out) noexcept override {
        require(cmd.verb != ctl::Verb::kTail && cmd.verb != ctl::Verb::kHelp && cmd.verb != ctl::Verb::kQuit);
        require(cmd.name.empty() || push::valid_name(cmd.name));
        // A KICK reason must fit a Close frame; other texts are messages.
        require(codec::utf8_valid(cmd.text) && cmd.text.size() <= (cmd.verb == ctl::Verb::kKick ? 123 : max_payload));
        // A PUBB's payload is the nbytes its line announced (the Command carries only the
        // channel name then); whether they are the right bytes, the split runs tell.
        if (cmd.verb == ctl::Verb::kPubb) require(payload.size() <= max_payload);
        else require(payload.empty());
        log += std::string(kVerbs[static_cast<size_t>(cmd.verb)]) + " [" + std::string(cmd.name) + "] [" +
               std::string(cmd.text) + "] " + std::to_string(cmd.code) + " [" + std::string(payload) + "]\n";
        out += "OK\n";
        return ctl::Reply::kFinal;
    }
    uint64_t max_payload = 0;
    std::string log;
};

struct Transcript {
    std::string commands;  // what the handler ran
    std::string replies;   // what the client read
    bool operator==(const Transcript&) const = default;
};

// A control channel listening on its own socket, one per max_payload, kept across inputs
// (setting one up costs more than the input); each run is a fresh client.
struct Harness {
    explicit Harness(uint64_t max_payload) {
        handler.max_payload = max_payload;
        require(reactor.open() == 0);
        ctl::ControlLimits limits;
        limits.max_payload = max_payload;
        channel = std::make_unique<ctl::ControlChannel>(reactor, handler, limits, kClientTag);
        path = "/tmp/wspush-command-fuzz-" + std::to_string(getpid()) + "-" + std::to_string(max_payload) + ".sock";
        unlink(path.c_str());
        std::string err;
        require(channel->open(path, kListenTag, err));
    }
    ~Harness() { channel.reset(); }  // closes the clients, removes the socket

    // One loop turn as the server runs it.
    void turn(int timeout_ms) {
        epoll_event evs[8];
        const int n = reactor.wait(evs, 8, timeout_ms);
        for (int i = 0; i < n; ++i) {
            if (evs[i].data.u64 == kListenTag) channel->on_accept();
            else channel->on_client_event(evs[i].data.u64, evs[i].events);
        }
        channel->flush_pending();
        channel->reap();
    }

    Recorder handler;
    net::Reactor reactor;
    std::unique_ptr<ctl::ControlChannel> channel;
    std::string path;
};

// Reads what is there; false once the server has closed the connection.
bool drain(int fd, std::string& into) {
    static char buf[65536];
    for (;;) {
        const ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0) {
            into.append(buf, static_cast<size_t>(n));
            continue;
        }
        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    }
}

Transcript run(Harness& h, std::string_view wire, const std::vector<size_t>& ends) {
    h.handler.log.clear();
    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    h.path.copy(sa.sun_path, h.path.size());
    require(connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    h.turn(1000);  // accepts

    Transcript t;
    bool open = true;
    size_t begin = 0;
    for (const size_t end : ends) {
        if (end > begin) {
            // Each piece is one read: it is all in the socket before the channel looks.
            const ssize_t w = send(fd, wire.data() + begin, end - begin, MSG_NOSIGNAL);
            if (w < 0) break;  // QUIT closed the connection
            require(static_cast<size_t>(w) == end - begin);
            h.turn(1000);  // the bytes are there: returns at once
        }
        begin = end;
        open = drain(fd, t.replies);
        if (!open) break;
    }
    // Half-close, as `... | socat` does: the channel answers what came and closes.
    shutdown(fd, SHUT_WR);
    while (open) {
        h.turn(1000);
        open = drain(fd, t.replies);
    }
    close(fd);
    t.commands = std::move(h.handler.log);
    return t;
}

std::string canonical(const ctl::Command& c) {
    std::string s(kVerbs[static_cast<size_t>(c.verb)]);
    switch (c.verb) {
        case ctl::Verb::kPub:
        case ctl::Verb::kSend: return s + " " + std::string(c.name) + " " + std::string(c.text);
        case ctl::Verb::kPubb: return s + " " + std::string(c.name) + " " + std::to_string(c.nbytes);
        case ctl::Verb::kBroadcast: return s + " " + std::string(c.text);
        case ctl::Verb::kClients: return c.name.empty() ? s : s + " " + std::string(c.name);
        case ctl::Verb::kKick:
            s += " " + std::string(c.name);
            return c.code == 0 ? s : s + " " + std::to_string(c.code) + " " + std::string(c.text);
        default: return s;
    }
}

bool same(const ctl::ParseResult& a, const ctl::ParseResult& b) {
    if (a.ok != b.ok) return false;
    if (!a.ok) return std::string_view(a.error) == b.error;
    return a.cmd.verb == b.cmd.verb && a.cmd.name == b.cmd.name && a.cmd.text == b.cmd.text &&
           a.cmd.nbytes == b.cmd.nbytes && a.cmd.code == b.cmd.code;
}

void check_line(std::string_view line, uint64_t max_payload) {
    const ctl::ParseResult r = ctl::parse_command(line, max_payload);
    // CRLF is accepted: the same verdict, error or command.
    if (!line.ends_with('\r')) require(same(ctl::parse_command(std::string(line) + "\r", max_payload), r));
    if (!r.ok) {
        require(*r.error != '\0');
        return;
    }
    require(r.cmd.name.empty() || push::valid_name(r.cmd.name));
    require(codec::utf8_valid(r.cmd.text));
    const std::string again = canonical(r.cmd);
    require(same(ctl::parse_command(again, max_payload), r));
    std::string lower(line);
    for (size_t i = lower.find_first_not_of(' '); i < lower.size() && lower[i] != ' '; ++i)
        if (lower[i] >= 'A' && lower[i] <= 'Z') lower[i] = static_cast<char>(lower[i] + 32);
    require(same(ctl::parse_command(lower, max_payload), r));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    const uint64_t max_payload = (data[0] & 1) != 0 ? 1 << 20 : 16;
    const std::string_view wire(reinterpret_cast<const char*>(data) + 1, size - 1);

    for (size_t from = 0; from < wire.size();) {
        const size_t lf = std::min(wire.find('\n', from), wire.size());
        check_line(wire.substr(from, lf - from), max_payload);
        from = lf + 1;
    }

    static Harness small(16), large(1 << 20);
    Harness& h = max_payload == 16 ? small : large;
    const Transcript whole = run(h, wire, {wire.size()});
    fuzz::Splitter split(fuzz::tail_seed(data, size));
    // Each read costs the channel a 64 KiB buffer: pieces of up to 32 bytes, and byte by
    // byte only for short inputs.
    require(run(h, wire, split.ends(wire.size(), 32)) == whole);
    if (wire.size() <= 40) require(run(h, wire, split.ends(wire.size(), 1)) == whole);
    return 0;
}
