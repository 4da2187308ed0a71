// The control channel: the Unix socket that `socat` talks to. Owns the listening socket and
// every control client (their buffers, budgets and lifetimes); runs the line protocol and
// hands each parsed command to a CommandHandler (the server), which knows channels and
// connections. TAIL output is fanned out here.
//
// Limits (each client):
//
//   what                      bound                          when reached
//   clients at once           ControlLimits::max_clients     `ERR too many control clients`, closed
//   unread output             ControlLimits::out_cap (1 MiB) input not read until it drains
//   TAIL output               ControlLimits::tail_cap (4 MiB) TAIL messages dropped, then `DROPPED n`
//   read per event            kReadBudget (64 KiB)           the rest is read on the next turn
//   a command line            max_message + 256              `ERR line too long`, line skipped
//   peer                      same uid or root (SO_PEERCRED) `ERR permission denied`, closed
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/intrusive_list.h"
#include "ctl/command.h"
#include "ctl/control_client.h"
#include "net/reactor.h"
#include "ws/frame.h"

namespace wspush::ctl {

// Whether a reply may be written at once, or is held: until the server's journal has made
// the command's effect durable (ControlChannel::settle, every held reply at once), or until
// the --workers parent has answered for it (ControlChannel::resolve, one reply by its
// ticket). The two are not used together (--journal is refused with --workers > 1).
enum class Reply : uint8_t { kFinal, kHeld };

// What the control channel asks of the server.
class CommandHandler {
public:
    // Runs cmd (for PUBB, `payload` holds its bytes; views are valid during the call only)
    // and appends the reply, ending in '\n', to `out`. Never called for TAIL, HELP or QUIT.
    // kHeld: the reply is what will be said if the journal's next commit succeeds; nothing
    // from it on is written to the client until settle().
    virtual Reply execute(const Command& cmd, std::string_view payload, std::string& out) noexcept = 0;

protected:
    ~CommandHandler() = default;
};

struct ControlLimits {
    uint32_t max_clients = 16;
    uint64_t max_payload = 1u << 20;   // PUB/PUBB/SEND payloads (--max-message)
    size_t out_cap = 1u << 20;         // unread replies before input pauses
    size_t tail_cap = 4u << 20;        // unread TAIL output before messages are dropped
};

class ControlChannel {
public:
    static constexpr size_t kReadBudget = 64 * 1024;

    // `tag` is or-ed into each client's 8-aligned address to form its epoll tag; the server's
    // dispatch hands such events back to on_client_event().
    ControlChannel(net::Reactor& reactor, CommandHandler& handler, const ControlLimits& limits,
                   uint64_t tag) noexcept;
    // Closes every client and the listener (unlinking the socket path).
    ~ControlChannel();
    ControlChannel(const ControlChannel&) = delete;
    ControlChannel& operator=(const ControlChannel&) = delete;

    // Creates the socket at path (mode 0600), listening, registered with `listen_tag`.
    // False with err set (one readable line) on failure.
    [[nodiscard]] bool open(const std::string& path, uint64_t listen_tag, std::string& err);
    // Serves on a listening socket made by someone else (socket activation): its file is
    // theirs, so it is not removed at close.
    [[nodiscard]] bool adopt(int listen_fd, uint64_t listen_tag, std::string& err);
    // Stops accepting, removes the socket path and condemns every client (SIGTERM), each
    // after one non-blocking write of its output up to a reply still held.
    void close_all() noexcept;

    // The listening socket is readable: accept every waiting client.
    void on_accept() noexcept;
    // An epoll event for the client whose tag is `tag` (its address | the tag bits).
    void on_client_event(uint64_t tag, uint32_t events) noexcept;

    // A WebSocket client's message for every TAIL reader. Queued, written before the loop
    // sleeps; a reader whose TAIL output is full misses it (counted, told by DROPPED n).
    void tail(std::string_view client_id, ws::Opcode op, std::string_view data) noexcept;
    [[nodiscard]] bool has_tail_readers() const noexcept { return tail_readers_ != 0; }

    // The journal's commit is done: held replies go out as they are (error empty), or each
    // becomes "ERR journal: <error>". Call before flush_pending().
    void settle(std::string_view error) noexcept;
    [[nodiscard]] bool has_held() const noexcept { return !held_.empty(); }
    // The ticket the reply being made by execute() gets if it returns kHeld (for the
    // handler, during execute()).
    [[nodiscard]] uint64_t next_ticket() const noexcept { return tickets_ + 1; }
    // The held reply `ticket` is known now: `text` (ending in '\n') takes its place (empty:
    // the reply goes out as it was made; "ERR ..." is logged as a refused command) and is
    // written with what follows, up to the next reply still held. Nothing if the ticket is
    // not held (its client is gone).
    void resolve(uint64_t ticket, std::string_view text) noexcept;

    // Before the loop sleeps: write queued output; resume clients whose read budget ran out.
    void flush_pending() noexcept;
    // Whether some client still has input to read this turn (the loop must not block).
    [[nodiscard]] bool has_ready() const noexcept { return !ready_.empty(); }
    // After the loop turn: free condemned clients.
    void reap() noexcept;

    [[nodiscard]] size_t clients() const noexcept { return clients_.size(); }
    // A new --max-message (a reload): for the lines read from now on.
    void set_max_payload(uint64_t n) noexcept { limits_.max_payload = n; }
    [[nodiscard]] uint64_t tail_dropped_total() const noexcept { return tail_dropped_total_; }
    // A client message dropped before it reached a TAIL reader (another worker's, --workers).
    void count_tail_dropped() noexcept { ++tail_dropped_total_; }
    [[nodiscard]] uint64_t refused_total() const noexcept { return refused_total_; }

private:
    using ClientList = base::IntrusiveList<ControlClient, &ControlClient::link>;
    using FlushList = base::IntrusiveList<ControlClient, &ControlClient::flush_link>;
    using ReadyList = base::IntrusiveList<ControlClient, &ControlClient::ready_link>;
    using HeldList = base::IntrusiveList<ControlClient, &ControlClient::held_link>;

    void refuse(int fd, std::string_view line) noexcept;
    void read_input(ControlClient& cc) noexcept;
    void process(ControlClient& cc) noexcept;
    void run_line(ControlClient& cc, std::string_view line) noexcept;
    // Runs cmd through the handler, noting a held reply.
    void execute(ControlClient& cc, const Command& cmd, std::string_view payload) noexcept;
    void write_output(ControlClient& cc) noexcept;
    void schedule_flush(ControlClient& cc) noexcept;
    // The only way out: closes the fd, unlinks cc from every list; freed by reap().
    void condemn(ControlClient& cc) noexcept;
    [[nodiscard]] bool paused(const ControlClient& cc) const noexcept {
        return cc.out.size() >= limits_.out_cap;
    }

    net::Reactor& reactor_;
    CommandHandler& handler_;
    ControlLimits limits_;
    uint64_t tag_;
    int listen_fd_ = -1;
    std::string path_;
    ClientList clients_;
    ClientList dead_;
    FlushList flush_;
    ReadyList ready_;
    HeldList held_;
    uint64_t tickets_ = 0;  // held replies so far
    uint32_t tail_readers_ = 0;
    uint64_t tail_dropped_total_ = 0;
    uint64_t refused_total_ = 0;
};

}  // namespace wspush::ctl
