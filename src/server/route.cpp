#include "server/route.h"

#include "push/names.h"

namespace wspush::server {
namespace {

JoinPlan refuse(uint16_t status, const char* reason) noexcept {
    JoinPlan p;
    p.status = status;
    p.reason = reason;
    return p;
}

bool parse_seq(std::string_view s, uint64_t& out) noexcept {
    if (s.empty() || s.size() > 19) return false;  // 19 digits never overflow 64 bits
    uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    out = v;
    return true;
}

// Adds a channel to the plan (a repeated name joins once). False, with the plan refused,
// on a bad name or one channel too many.
bool add_channel(JoinPlan& p, std::string_view name) noexcept {
    if (!push::valid_name(name)) {
        p = refuse(400, "invalid channel name: use 1-64 of A-Z a-z 0-9 _ . -");
        return false;
    }
    for (size_t i = 0; i < p.nwant; ++i)
        if (p.wants[i].name == name) return true;
    if (p.nwant == kMaxChannelsPerClient) {
        p = refuse(400, "too many channels (at most 16)");
        return false;
    }
    p.wants[p.nwant++].name = name;
    return true;
}

// Applies the since= values once every channel is known (a since may precede its ch=).
bool apply_since(JoinPlan& p, std::string_view value) noexcept {
    size_t colon = value.rfind(':');
    Want* w = nullptr;
    std::string_view point = value;
    if (colon == std::string_view::npos) {
        if (p.nwant > 1) {
            p = refuse(400, "since=<seq> is ambiguous with several channels: use since=<channel>:<seq>");
            return false;
        }
        w = &p.wants[0];
    } else {
        std::string_view name = value.substr(0, colon);
        point = value.substr(colon + 1);
        for (size_t i = 0; i < p.nwant; ++i)
            if (p.wants[i].name == name) w = &p.wants[i];
        if (w == nullptr) {
            p = refuse(400, "since: names a channel this connection does not join");
            return false;
        }
    }
    if (!parse_since(point, w->since)) {
        p = refuse(400, "since: expected <seq> or <epoch>.<seq> (epoch: 16 hex digits)");
        return false;
    }
    w->resume = true;
    return true;
}

}  // namespace

bool parse_since(std::string_view s, push::Since& out) noexcept {
    push::Since sp;
    size_t dot = s.find('.');
    if (dot != std::string_view::npos) {
        if (!push::parse_epoch(s.substr(0, dot), sp.epoch)) return false;
        sp.has_epoch = true;
        s = s.substr(dot + 1);
    }
    if (!parse_seq(s, sp.seq)) return false;
    out = sp;
    return true;
}

JoinPlan plan_join(std::string_view path, std::string_view query) noexcept {
    if (!path.starts_with("/ws/")) return refuse(404, "channels live under /ws/<channel>");
    JoinPlan p;
    if (!add_channel(p, path.substr(4))) return p;
    std::string_view sinces[kMaxChannelsPerClient];
    size_t nsince = 0;
    while (!query.empty()) {
        size_t amp = query.find('&');
        std::string_view kv = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        if (kv.empty()) continue;
        size_t eq = kv.find('=');
        std::string_view key = kv.substr(0, eq);
        std::string_view val = eq == std::string_view::npos ? std::string_view{} : kv.substr(eq + 1);
        if (key == "ch") {
            if (!add_channel(p, val)) return p;
        } else if (key == "id") {
            if (!push::valid_name(val)) return refuse(400, "invalid client id: use 1-64 of A-Z a-z 0-9 _ . -");
            // Server-assigned ids name anonymous clients; a client claiming one could
            // receive what SEND addresses to somebody else.
            if (push::is_server_id(val)) return refuse(400, "id of the form c<number> is reserved for server-assigned ids");
            p.id = val;
        } else if (key == "since") {
            if (val.empty()) return refuse(400, "since: expected <seq> or <channel>:<seq>");
            if (nsince == kMaxChannelsPerClient) return refuse(400, "too many since= values");
            sinces[nsince++] = val;
        } else {
            return refuse(400, "unknown query parameter (expected ch, id, since)");
        }
    }
    for (size_t i = 0; i < nsince; ++i)
        if (!apply_since(p, sinces[i])) return p;
    return p;
}

}  // namespace wspush::server
