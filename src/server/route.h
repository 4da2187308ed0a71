// Routing of an upgrade request's target into a join plan: which channels to join, under
// which client id, resuming from where. A pure function of the target, unit-tested without
// sockets; what depends on the server's state (a channel's history, the channel cap) is
// decided by the caller afterwards.
//
//   /ws/<channel>[?ch=<channel>...][&id=<client-id>][&since=<since>...]
//
//   since=<seq>                    the one channel joined, from seq (legacy: current epoch)
//   since=<epoch>.<seq>            the same, naming the epoch the seq belongs to
//   since=<channel>:<seq>          a channel of several
//   since=<channel>:<epoch>.<seq>
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "push/hub.h"

namespace wspush::server {

inline constexpr size_t kMaxChannelsPerClient = 16;

struct Want {
    std::string_view name;  // valid channel name
    push::Since since;
    bool resume = false;    // a since= names this channel
};

struct JoinPlan {
    uint16_t status = 0;     // 0: go ahead; else the HTTP status to refuse with
    const char* reason = ""; // with a status: the one-line body
    Want wants[kMaxChannelsPerClient];
    size_t nwant = 0;
    std::string_view id;     // ?id=, empty when the server assigns one
};

// Plans the join for an upgrade at `path` with `query` (without the '?'). Views point into
// the arguments. Refuses (400/404) a path outside /ws/, a bad channel name or id, a
// reserved id (c<digits>), more than kMaxChannelsPerClient channels, an unknown parameter,
// a malformed or ambiguous since.
[[nodiscard]] JoinPlan plan_join(std::string_view path, std::string_view query) noexcept;

// Parses "<seq>" or "<epoch>.<seq>" (epoch: 16 lowercase hex digits). False on anything else.
[[nodiscard]] bool parse_since(std::string_view s, push::Since& out) noexcept;

}  // namespace wspush::server
