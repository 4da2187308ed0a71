// Robot specs: one line of whitespace-separated fields, parsed without exceptions. Error
// messages name the field and, for the harmless ones, its value; they never repeat the
// token or the secret, since startup errors end up in logs.
#include "robot/robot.h"

#include <algorithm>
#include <charconv>

#include "base/equal_ct.h"
#include "base/read_file.h"
#include "codec/sha256.h"
#include "codec/utf8.h"
#include "push/names.h"

namespace wspush::robot {

namespace {

constexpr uint32_t kMaxDurationMs = 24 * 3'600'000;  // rate= window and throttle= cap
constexpr size_t kMaxShown = 40;                     // bytes of a bad value quoted back
constexpr std::string_view kBlanks = " \t\r\n\v\f";

// Sets err and returns false, for "return fail(err, ...)".
bool fail(std::string& err, std::string msg) {
    err = std::move(msg);
    return false;
}

// The next whitespace-separated field of `rest`, or empty once there is none.
std::string_view next_field(std::string_view& rest) noexcept {
    const size_t start = rest.find_first_not_of(kBlanks);
    if (start == std::string_view::npos) {
        rest = {};
        return {};
    }
    rest.remove_prefix(start);
    const size_t end = std::min(rest.find_first_of(kBlanks), rest.size());
    const std::string_view field = rest.substr(0, end);
    rest.remove_prefix(end);
    return field;
}

// The next ','-separated item of `rest` (possibly empty); false once rest is used up.
bool next_item(std::string_view& rest, bool& more, std::string_view& item) noexcept {
    if (!more) return false;
    const size_t comma = rest.find(',');
    item = rest.substr(0, comma);
    more = comma != std::string_view::npos;
    rest = more ? rest.substr(comma + 1) : std::string_view();
    return true;
}

// A value quoted for an error message: printable ASCII only, at most kMaxShown bytes.
std::string shown(std::string_view v) {
    std::string out = "\"";
    for (size_t i = 0; i < v.size() && i < kMaxShown; ++i) out += (v[i] >= 0x20 && v[i] < 0x7f) ? v[i] : '?';
    if (v.size() > kMaxShown) out += "...";
    out += '"';
    return out;
}

bool valid_token(std::string_view t) noexcept {
    if (t.size() < kMinTokenLength || t.size() > kMaxTokenLength) return false;
    for (char c : t) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                        c == '_' || c == '.' || c == '~' || c == '-';
        if (!ok) return false;
    }
    return true;
}

// A channel name, "prefix.*" with a valid prefix, or "*".
bool valid_channel_spec(std::string_view c) noexcept {
    if (c == "*") return true;
    if (c.ends_with(".*")) c.remove_suffix(2);
    return push::valid_name(c);
}

// An option name safe to repeat in an error: short and lower case, so that a secret pasted
// without its "secret=" is never echoed.
bool showable_key(std::string_view k) noexcept {
    if (k.empty() || k.size() > 16) return false;
    return std::all_of(k.begin(), k.end(), [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; });
}

// Plain decimal digits, nothing else.
bool parse_u64(std::string_view s, uint64_t& out) noexcept {
    if (s.empty()) return false;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size();
}

// Duration units, longest suffix first so that "ms" is not read as "m".
struct Unit {
    std::string_view suffix;
    uint32_t ms;
};
constexpr Unit kUnits[] = {
    {"ms", 1},
    {"s", 1000},
    {"m", 60'000},
    {"h", 3'600'000},
    {"", 1000},  // plain seconds
};

// A duration as the server's flags write it ("500ms", "60s", "10m", "60"), and hours ("1h").
// At most kMaxDurationMs. Written here, not taken from server/config: robot sits below it.
bool parse_duration(std::string_view s, uint32_t& out) noexcept {
    const Unit* u = kUnits;
    while (!s.ends_with(u->suffix)) ++u;  // the last suffix always matches
    uint64_t v;
    if (!parse_u64(s.substr(0, s.size() - u->suffix.size()), v) || v > kMaxDurationMs / u->ms) return false;
    out = static_cast<uint32_t>(v * u->ms);
    return true;
}

bool parse_keywords(std::string_view v, Robot& r, std::string& err) {
    std::string_view item;
    bool more = true;
    while (next_item(v, more, item)) {
        if (item.empty()) return fail(err, "keywords: empty keyword");
        if (r.keywords.size() == kMaxKeywords)
            return fail(err, "keywords: more than " + std::to_string(kMaxKeywords));
        if (item.size() > kMaxKeywordLength)
            return fail(err, "keywords: " + shown(item) + " is over " + std::to_string(kMaxKeywordLength) + " bytes");
        if (!codec::utf8_valid(item)) return fail(err, "keywords: " + shown(item) + " is not UTF-8");
        r.keywords.emplace_back(item);
    }
    return true;
}

bool parse_allow(std::string_view v, Robot& r, std::string& err) {
    std::string_view item;
    bool more = true;
    while (next_item(v, more, item)) {
        if (r.allow.size() == kMaxAllow) return fail(err, "allow: more than " + std::to_string(kMaxAllow) + " entries");
        AddressRange range;
        if (!parse_range(item, range)) return fail(err, "allow: bad address or CIDR range " + shown(item));
        r.allow.push_back(range);
    }
    return true;
}

// rate=N/DUR
bool parse_rate(std::string_view v, Robot& r, std::string& err) {
    const size_t slash = v.find('/');
    uint64_t count = 0;
    uint32_t window = 0;
    if (slash == std::string_view::npos || !parse_u64(v.substr(0, slash), count) || count < 1 ||
        count > kMaxRate || !parse_duration(v.substr(slash + 1), window) || window == 0)
        return fail(err, "rate: want N/DURATION with N 1.." + std::to_string(kMaxRate) +
                             " and DURATION 1ms..24h (\"20/60s\"), got " + shown(v));
    r.rate = static_cast<uint32_t>(count);
    r.window_ms = window;
    return true;
}

bool parse_name(std::string_view v, Robot& r, std::string& err) {
    if (!push::valid_name(v)) return fail(err, "name: want 1..64 of [A-Za-z0-9_.-], got " + shown(v));
    r.name.assign(v);
    r.named = true;
    return true;
}

bool parse_secret(std::string_view v, Robot& r, std::string& err) {
    if (v.empty()) return fail(err, "secret: empty");
    r.secret.assign(v);
    return true;
}

bool parse_throttle(std::string_view v, Robot& r, std::string& err) {
    if (parse_duration(v, r.throttle_ms)) return true;
    return fail(err, "throttle: want a duration 0..24h (\"10m\"), got " + shown(v));
}

bool parse_overflow(std::string_view v, Robot& r, std::string& err) {
    if (v == "digest") r.overflow = Overflow::kDigest;
    else if (v == "refuse") r.overflow = Overflow::kRefuse;
    else return fail(err, "overflow: want digest or refuse, got " + shown(v));
    return true;
}

struct Option {
    std::string_view key;
    bool (*parse)(std::string_view value, Robot& r, std::string& err);
};

// Every NAME=VALUE option; parse_robot allows each at most once.
constexpr Option kOptions[] = {
    {.key = "name", .parse = parse_name},
    {.key = "secret", .parse = parse_secret},
    {.key = "keywords", .parse = parse_keywords},  // a,b: each must occur in the message
    {.key = "allow", .parse = parse_allow},        // CIDR,...: source addresses
    {.key = "rate", .parse = parse_rate},          // N/DURATION
    {.key = "throttle", .parse = parse_throttle},  // DURATION, 0: none
    {.key = "overflow", .parse = parse_overflow},  // digest|refuse
};
constexpr size_t kOptionCount = std::size(kOptions);

}  // namespace

bool Robot::is_pattern() const noexcept { return channel == "*" || channel.ends_with(".*"); }

bool Robot::covers(std::string_view c) const noexcept {
    if (channel == "*") return true;
    if (!channel.ends_with(".*")) return c == channel;
    // "a.*" covers "a.x" and "a.x.y": the prefix with its dot, and at least one byte more.
    const std::string_view prefix = std::string_view(channel).substr(0, channel.size() - 1);
    return c.size() > prefix.size() && c.starts_with(prefix);
}

bool parse_robot(std::string_view spec, size_t index, Robot& out, std::string& err) {
    Robot r;
    const std::string_view token = next_field(spec);
    if (token.empty()) return fail(err, "missing token");
    if (!valid_token(token))
        return fail(err, "token: want " + std::to_string(kMinTokenLength) + ".." + std::to_string(kMaxTokenLength) +
                             " of [A-Za-z0-9_.~-]");
    r.token.assign(token);
    // Not quoted back: a spec with its fields swapped would show the token here.
    const std::string_view channel = next_field(spec);
    if (channel.empty()) return fail(err, "missing channel");
    if (!valid_channel_spec(channel))
        return fail(err, "channel: want a channel name (1..64 of [A-Za-z0-9_.-]), \"prefix.*\" or \"*\"");
    r.channel.assign(channel);

    bool seen[kOptionCount] = {};
    for (std::string_view field = next_field(spec); !field.empty(); field = next_field(spec)) {
        const size_t eq = field.find('=');
        if (eq == std::string_view::npos) return fail(err, "unexpected field (options are NAME=VALUE)");
        const std::string_view key = field.substr(0, eq);
        size_t which = 0;
        while (which < kOptionCount && kOptions[which].key != key) ++which;
        if (which == kOptionCount)
            return fail(err, showable_key(key) ? "unknown option " + std::string(key) : "unknown option");
        if (seen[which]) return fail(err, "option " + std::string(key) + " given twice");
        seen[which] = true;
        if (!kOptions[which].parse(field.substr(eq + 1), r, err)) return false;
    }
    if (r.name.empty()) r.name = "robot" + std::to_string(index);
    out = std::move(r);
    return true;
}

bool load_robots(const std::string& path, std::vector<Robot>& out, std::string& err) {
    std::string text;
    if (!base::read_small_file(path, kMaxRobotsFileBytes, text, err)) return false;
    const size_t before = out.size();
    size_t lineno = 0;
    for (std::string_view rest = text; !rest.empty();) {
        ++lineno;
        const size_t nl = rest.find('\n');
        const std::string_view line = rest.substr(0, nl);
        rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
        const size_t start = line.find_first_not_of(kBlanks);
        if (start == std::string_view::npos || line[start] == '#') continue;
        std::string msg;
        Robot r;
        if (out.size() - before >= kMaxRobots) msg = "more than " + std::to_string(kMaxRobots) + " robots";
        else if (parse_robot(line, out.size() + 1, r, msg)) out.push_back(std::move(r));
        if (!msg.empty()) {
            err = path + ":" + std::to_string(lineno) + ": " + msg;
            out.resize(before);
            return false;
        }
    }
    return true;
}

bool check_robots(const std::vector<Robot>& robots, std::string& err, size_t* at) {
    if (robots.size() > kMaxRobots)
        return fail(err, std::to_string(robots.size()) + " robots (at most " + std::to_string(kMaxRobots) + ")");
    // O(n^2) at startup with n <= kMaxRobots: about half a million short compares at most.
    for (size_t i = 0; i < robots.size(); ++i) {
        for (size_t j = 0; j < i; ++j) {
            const bool same_token = robots[i].token == robots[j].token;
            if (!same_token && robots[i].name != robots[j].name) continue;
            const std::string pair = " (robots " + std::to_string(j + 1) + " and " + std::to_string(i + 1) + ")";
            if (at) *at = i;
            return fail(err, same_token ? "duplicate token" + pair : "duplicate name " + shown(robots[i].name) + pair);
        }
    }
    return true;
}

std::vector<codec::Sha256Digest> token_digests(const std::vector<Robot>& robots) {
    std::vector<codec::Sha256Digest> out;
    out.reserve(robots.size());
    for (const Robot& r : robots) out.push_back(codec::sha256(r.token));
    return out;
}

ptrdiff_t find_token(const std::vector<codec::Sha256Digest>& digests, std::string_view token) noexcept {
    // Hashing both sides makes every comparison 32 bytes, whatever the lengths.
    const codec::Sha256Digest want = codec::sha256(token);
    ptrdiff_t found = -1;
    for (size_t i = 0; i < digests.size(); ++i) {
        // Branch-free select of the first match: no early exit, no data-dependent jump.
        const bool match = base::equal_ct(want.data(), digests[i].data(), want.size());
        const ptrdiff_t take = -static_cast<ptrdiff_t>(match & (found < 0));  // all ones or zero
        found = (found & ~take) | (static_cast<ptrdiff_t>(i) & take);
    }
    return found;
}

ptrdiff_t find_robot(const std::vector<Robot>& robots, std::string_view token) {
    return find_token(token_digests(robots), token);
}

}  // namespace wspush::robot
