// libFuzzer entry point for the request-target helpers of http/query.h and the upgrade
// route (server::plan_join) (make fuzz). The input is a request-target. Checks, against
// plain reference splits written here: path_of/query_of cut the target where RFC 3986 says;
// next_param yields exactly the non-empty '&' pieces, named up to the first '=';
// find_param counts them; percent_decode agrees with a reference decoder (result, length,
// double-encoding, too-long), and decodes a full re-encoding back. For the route: an
// accepted plan names valid, distinct channels (at most 16), an id that is valid and not
// server-assigned, resumes only what a since= named, and written out again as a canonical
// target (/ws/<first>?ch=...&id=...&since=<channel>:<epoch>.<seq>) it plans the same;
// parse_since on the whole input agrees with a reading of its contract.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_util.h"
#include "http/query.h"
#include "push/names.h"
#include "server/route.h"

namespace {

using namespace wspush;
using fuzz::require;

int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

void check_target(std::string_view target) {
    const std::string_view path = http::path_of(target), query = http::query_of(target);
    require(target.starts_with(path) && path.find_first_of("?#") == std::string_view::npos);
    require(path.size() == target.size() || target[path.size()] == '?' || target[path.size()] == '#');
    const size_t q = target.find('?');
    if (q == std::string_view::npos) {
        require(query.empty());
    } else {
        require(query.data() == target.data() + q + 1 && query.find('#') == std::string_view::npos);
        require(q + 1 + query.size() == target.size() || target[q + 1 + query.size()] == '#');
    }
}

std::string_view name_of(std::string_view piece) { return piece.substr(0, piece.find('=')); }
std::string_view value_of(std::string_view piece) {
    const size_t eq = piece.find('=');
    return eq == std::string_view::npos ? std::string_view() : piece.substr(eq + 1);
}

void check_params(std::string_view query) {
    std::vector<std::string_view> pieces;
    for (size_t from = 0; from <= query.size();) {
        const size_t amp = std::min(query.find('&', from), query.size());
        if (amp > from) pieces.push_back(query.substr(from, amp - from));
        from = amp + 1;
    }
    std::string_view rest = query;
    http::QueryParam p;
    for (size_t i = 0; i < pieces.size(); ++i) {
        require(http::next_param(rest, &p));
        require(p.name == name_of(pieces[i]) && p.value == value_of(pieces[i]));
        if (i >= 32) continue;  // enough to check find_param; each check scans every piece
        std::string_view first;
        size_t count = 0;
        for (const std::string_view other : pieces) {
            if (name_of(other) == p.name && count++ == 0) first = value_of(other);
        }
        std::string_view value;
        require(http::find_param(query, p.name, &value) == count && value == first);
    }
    require(!http::next_param(rest, &p));
}

void check_decode(std::string_view in, http::Plus plus) {
    // Reference: one pass, '%' and two hex digits or a bad escape.
    std::string want;
    bool bad = false;
    for (size_t i = 0; i < in.size() && !bad; ++i) {
        if (in[i] == '%') {
            bad = i + 2 >= in.size() || hex(in[i + 1]) < 0 || hex(in[i + 2]) < 0;
            if (!bad) want += static_cast<char>(hex(in[i + 1]) * 16 + hex(in[i + 2]));
            i += 2;
        } else {
            want += in[i] == '+' && plus == http::Plus::kSpace ? ' ' : in[i];
        }
    }
    std::string out(in.size(), '\0');
    const http::Decoded d = http::percent_decode(in, out.data(), out.size(), plus);
    if (bad) {
        require(d.status == http::DecodeStatus::kBadEscape);
        return;
    }
    bool escape = false;
    for (size_t i = 0; i + 2 < want.size(); ++i) escape |= want[i] == '%' && hex(want[i + 1]) >= 0 && hex(want[i + 2]) >= 0;
    require(d.status == (escape ? http::DecodeStatus::kDoubleEncoded : http::DecodeStatus::kOk));
    require(std::string_view(out.data(), d.len) == want);
    if (!want.empty()) {
        std::string small(want.size() - 1, '\0');
        require(http::percent_decode(in, small.data(), small.size(), plus).status == http::DecodeStatus::kTooLong);
    }
    // Every byte of the input encoded: decodes to the input itself.
    std::string encoded;
    for (const char c : in) {
        char e[4];
        std::snprintf(e, sizeof e, "%%%02X", static_cast<uint8_t>(c));
        encoded += e;
    }
    std::string back(encoded.size(), '\0');
    const http::Decoded b = http::percent_decode(encoded, back.data(), back.size(), plus);
    require(b.status != http::DecodeStatus::kBadEscape && b.status != http::DecodeStatus::kTooLong);
    require(std::string_view(back.data(), b.len) == in);
}

// parse_since against its contract: "<seq>" or "<epoch>.<seq>", the epoch 16 lowercase hex
// digits, the seq 1 to 19 decimal digits (so it always fits in 64 bits), nothing else.
void check_since(std::string_view s) {
    push::Since got;
    const bool ok = server::parse_since(s, got);
    const size_t dot = s.find('.');
    const std::string_view epoch = dot == std::string_view::npos ? "" : s.substr(0, dot);
    const std::string_view seq = dot == std::string_view::npos ? s : s.substr(dot + 1);
    bool want = !seq.empty() && seq.size() <= 19 && seq.find_first_not_of("0123456789") == std::string_view::npos;
    if (dot != std::string_view::npos)
        want = want && epoch.size() == 16 && epoch.find_first_not_of("0123456789abcdef") == std::string_view::npos;
    require(ok == want);
    if (!ok) return;
    unsigned __int128 v = 0;
    for (const char c : seq) v = v * 10 + static_cast<unsigned>(c - '0');
    require(got.seq == v && got.has_epoch == (dot != std::string_view::npos));
    uint64_t e = 0;
    for (const char c : epoch) e = e << 4 | static_cast<uint64_t>(hex(c));
    require(got.epoch == e);
}

std::string since_text(const server::Want& w) {
    char buf[64];
    if (w.since.has_epoch)
        std::snprintf(buf, sizeof buf, "%016llx.%llu", static_cast<unsigned long long>(w.since.epoch),
                      static_cast<unsigned long long>(w.since.seq));
    else
        std::snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(w.since.seq));
    return std::string(w.name) + ":" + buf;
}

void check_route(std::string_view target) {
    const server::JoinPlan plan = server::plan_join(http::path_of(target), http::query_of(target));
    if (plan.status != 0) {
        require((plan.status == 400 || plan.status == 404) && plan.nwant <= server::kMaxChannelsPerClient);
        require(plan.status != 404 || !http::path_of(target).starts_with("/ws/"));
        return;
    }
    require(plan.nwant >= 1 && plan.nwant <= server::kMaxChannelsPerClient);
    require(plan.id.empty() || (push::valid_name(plan.id) && !push::is_server_id(plan.id)));
    std::string again = "/ws/" + std::string(plan.wants[0].name) + "?";
    for (size_t i = 0; i < plan.nwant; ++i) {
        require(push::valid_name(plan.wants[i].name));
        for (size_t j = 0; j < i; ++j) require(plan.wants[j].name != plan.wants[i].name);
        if (i > 0) again += "&ch=" + std::string(plan.wants[i].name);
        if (plan.wants[i].resume) again += "&since=" + since_text(plan.wants[i]);
    }
    if (!plan.id.empty()) again += "&id=" + std::string(plan.id);
    const server::JoinPlan p2 = server::plan_join(http::path_of(again), http::query_of(again));
    require(p2.status == 0 && p2.nwant == plan.nwant && p2.id == plan.id);
    for (size_t i = 0; i < plan.nwant; ++i) {
        const server::Want &a = plan.wants[i], &b = p2.wants[i];
        require(a.name == b.name && a.resume == b.resume);
        if (a.resume)
            require(a.since.seq == b.since.seq && a.since.has_epoch == b.since.has_epoch && a.since.epoch == b.since.epoch);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view target(reinterpret_cast<const char*>(data), size);
    check_target(target);
    check_params(http::query_of(target));
    check_params(target);
    check_decode(target, http::Plus::kLiteral);
    check_decode(target, http::Plus::kSpace);
    check_route(target);
    check_since(target);
    return 0;
}
