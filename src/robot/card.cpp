// Robot cards: one pass over the parsed body checks each field the msgtype's table names and
// writes the canonical payload as it goes; strings are unescaped once, then re-escaped.
#include "robot/card.h"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <utility>

#include "json/json.h"
#include "push/names.h"

namespace wspush::robot {

namespace {

using json::kNone;
using json::Type;

constexpr uint32_t kMaxTokens = 4096;    // values and names in one body; more is kBadJson
constexpr size_t kMaxUrlBytes = 2048;    // one URL, as given
constexpr size_t kMaxSummaryBytes = 120;
constexpr size_t kMaxShownBytes = 32;    // of an unknown msgtype, in its errmsg
constexpr size_t kMaxIdBytes = 64;       // one atUserIds or atMobiles entry
constexpr uint32_t kMaxEntries = 10;     // actionCard.btns, feedCard.links

// What a string field holds, which decides its checks and where else it goes.
enum class Kind : uint8_t {
    kText,   // human-readable: joins search_text
    kTitle,  // kText, and the summary when it is the card's first title
    kUrl,    // kept as given (the page sanitises); at most kMaxUrlBytes
};

struct Field {
    std::string_view name;
    Kind kind;
    bool required;  // required strings must also be non-empty
};

// Each object's string fields, in payload order.
constexpr Field kTextFields[] = {{"content", Kind::kText, true}};
constexpr Field kLinkFields[] = {
    {"title", Kind::kTitle, true},
    {"text", Kind::kText, true},
    {"messageUrl", Kind::kUrl, true},
    {"picUrl", Kind::kUrl, false},
};
constexpr Field kTitleTextFields[] = {{"title", Kind::kTitle, true}, {"text", Kind::kText, true}};  // markdown, actionCard
constexpr Field kSingleFields[] = {{"singleTitle", Kind::kText, true}, {"singleURL", Kind::kUrl, true}};
constexpr Field kButtonFields[] = {{"title", Kind::kText, true}, {"actionURL", Kind::kUrl, true}};
constexpr Field kFeedLinkFields[] = {
    {"title", Kind::kTitle, true},  // the first link's title is the summary
    {"messageURL", Kind::kUrl, true},
    {"picURL", Kind::kUrl, false},
};

// The card under construction and where a refusal goes.
struct Builder {
    const json::Document& doc;
    CardError& err;
    Card card;
    std::string value;  // the string field read last, unescaped
};

std::string cat(std::initializer_list<std::string_view> parts) {
    std::string s;
    for (std::string_view p : parts) s += p;
    return s;
}

bool fail(CardError& err, ErrCode code, std::string message) {
    err.code = code;
    err.message = std::move(message);
    return false;
}

// "markdown" + "title" -> "markdown.title"; a top-level name has no prefix.
std::string join(std::string_view path, std::string_view name) {
    return path.empty() ? std::string(name) : cat({path, ".", name});
}

std::string indexed(std::string_view path, uint32_t i) {
    return cat({path, "[", std::to_string(i), "]"});
}

// s cut to at most max bytes without splitting a UTF-8 sequence (s is valid UTF-8).
std::string_view cut_utf8(std::string_view s, size_t max) {
    if (s.size() <= max) return s;
    size_t n = max;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
    return s.substr(0, n);
}

// The first line of s holding more than blanks, without its surrounding blanks.
std::string_view first_line(std::string_view s) {
    constexpr std::string_view kBlanks = " \t\r";
    while (!s.empty()) {
        const size_t eol = std::min(s.find('\n'), s.size());
        std::string_view line = s.substr(0, eol);
        const size_t from = line.find_first_not_of(kBlanks);
        if (from != std::string_view::npos) return line.substr(from, line.find_last_not_of(kBlanks) + 1 - from);
        s.remove_prefix(std::min(eol + 1, s.size()));
    }
    return {};
}

// Payload writers. key() adds the comma unless the member opens its object.
void key(std::string& p, std::string_view name) {
    if (p.back() != '{') p += ',';
    p += '"';
    p += name;
    p += "\":";
}

void quoted(std::string& p, std::string_view s) {
    p += '"';
    push::json_escape(p, s);
    p += '"';
}

void number(std::string& p, uint64_t v) {
    char buf[24];
    p.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

// "robot":NAME,"time":MS and the closing brace: every payload's tail.
void stamp(std::string& p, std::string_view robot_name, uint64_t now_ms) {
    key(p, "robot");
    quoted(p, robot_name);
    key(p, "time");
    number(p, now_ms);
    p += '}';
}

void unescape(const json::Document& doc, uint32_t i, std::string& out) {
    out.resize(doc.tokens[i].size);
    [[maybe_unused]] const ptrdiff_t n = doc.string(i, out.data(), out.size());
    assert(n == static_cast<ptrdiff_t>(out.size()));  // the parser measured it
}

// kTrue stands for either boolean.
bool has_type(const json::Document& doc, uint32_t i, Type t) {
    return t == Type::kTrue ? doc.is(i, Type::kTrue) || doc.is(i, Type::kFalse) : doc.is(i, t);
}

std::string_view type_name(Type t) {
    switch (t) {
        case Type::kObject: return "an object";
        case Type::kArray: return "an array";
        case Type::kString: return "a string";
        default: return "a boolean";
    }
}

// Member `name` of object `obj` (found at `path`) into *out: its token, or kNone when absent
// and not required. False with the refusal set when absent and required, or of another type.
bool member(Builder& b, uint32_t obj, std::string_view path, std::string_view name, Type t, bool required,
            uint32_t* out) {
    *out = b.doc.get(obj, name);
    if (*out == kNone) return !required || fail(b.err, kMissingField, cat({"missing field ", join(path, name)}));
    if (has_type(b.doc, *out, t)) return true;
    return fail(b.err, kBadField, cat({"field ", join(path, name), " must be ", type_name(t)}));
}

// Checks string field f of `obj` and unescapes it into b.value. *present: whether it is there.
bool read_string(Builder& b, uint32_t obj, std::string_view path, const Field& f, bool* present) {
    uint32_t i;
    if (!member(b, obj, path, f.name, Type::kString, f.required, &i)) return false;
    *present = i != kNone;
    if (!*present) return true;
    unescape(b.doc, i, b.value);
    if (f.required && b.value.empty())
        return fail(b.err, kBadField, cat({"field ", join(path, f.name), " must not be empty"}));
    if (f.kind == Kind::kUrl && b.value.size() > kMaxUrlBytes)
        return fail(b.err, kBadField, cat({"field ", join(path, f.name), " is longer than 2048 bytes"}));
    return true;
}

// Writes the given fields of `obj` to the payload, in table order.
bool write_fields(Builder& b, uint32_t obj, std::string_view path, std::span<const Field> fields) {
    for (const Field& f : fields) {
        bool present;
        if (!read_string(b, obj, path, f, &present)) return false;
        if (!present) continue;
        key(b.card.payload, f.name);
        quoted(b.card.payload, b.value);
        if (f.kind == Kind::kUrl) continue;
        if (!b.card.search_text.empty()) b.card.search_text += '\n';
        b.card.search_text += b.value;
        if (f.kind == Kind::kTitle && b.card.summary.empty()) b.card.summary = b.value;
    }
    return true;
}

// Writes array `name` of `obj`: 1..kMaxEntries objects, each with the given fields.
bool write_entries(Builder& b, uint32_t obj, std::string_view path, std::string_view name,
                   std::span<const Field> fields) {
    uint32_t arr;
    if (!member(b, obj, path, name, Type::kArray, true, &arr)) return false;
    const std::string at = join(path, name);
    const uint32_t n = b.doc.tokens[arr].size;
    if (n == 0) return fail(b.err, kBadField, cat({"field ", at, " must not be empty"}));
    if (n > kMaxEntries) return fail(b.err, kBadField, cat({"field ", at, " has more than 10 entries"}));
    std::string& p = b.card.payload;
    key(p, name);
    p += '[';
    for (uint32_t i = 0, e = arr + 1; i < n; ++i, e = b.doc.tokens[e].next) {
        const std::string entry = indexed(at, i);
        if (!b.doc.is(e, Type::kObject)) return fail(b.err, kBadField, cat({"field ", entry, " must be an object"}));
        p += i == 0 ? "{" : ",{";
        if (!write_fields(b, e, entry, fields)) return false;
        p += '}';
    }
    p += ']';
    return true;
}

// An optional "0"/"1" flag of an actionCard: the string, or the number 0 or 1; written as a
// string.
bool write_flag(Builder& b, uint32_t obj, std::string_view path, std::string_view name) {
    const uint32_t i = b.doc.get(obj, name);
    if (i == kNone) return true;
    int64_t v = -1;
    if (b.doc.equals(i, "0")) v = 0;
    else if (b.doc.equals(i, "1")) v = 1;
    else if (!b.doc.is(i, Type::kNumber) || !b.doc.integer(i, &v)) v = -1;
    if (v != 0 && v != 1) return fail(b.err, kBadField, cat({"field ", join(path, name), " must be \"0\" or \"1\""}));
    key(b.card.payload, name);
    b.card.payload += v == 0 ? "\"0\"" : "\"1\"";
    return true;
}

// actionCard after title and text: singleTitle + singleURL (which win, as on the robots'
// side, when btns is there too) or btns; then the optional flags.
bool write_action_card(Builder& b, uint32_t obj, std::string_view path) {
    const bool single = b.doc.get(obj, "singleTitle") != kNone || b.doc.get(obj, "singleURL") != kNone;
    if (single) {
        if (!write_fields(b, obj, path, kSingleFields)) return false;
    } else if (b.doc.get(obj, "btns") != kNone) {
        if (!write_entries(b, obj, path, "btns", kButtonFields)) return false;
    } else {
        return fail(b.err, kMissingField, "missing field actionCard.singleTitle or actionCard.btns");
    }
    return write_flag(b, obj, path, "btnOrientation") && write_flag(b, obj, path, "hideAvatar");
}

bool write_feed_card(Builder& b, uint32_t obj, std::string_view path) {
    return write_entries(b, obj, path, "links", kFeedLinkFields);
}

struct Msg {
    std::string_view name;  // the msgtype, also its object's member name
    MsgType type;
    std::span<const Field> fields;                           // its object's string fields
    bool (*rest)(Builder&, uint32_t obj, std::string_view);  // the other members, or null
};

constexpr Msg kMsgs[] = {
    {"text", MsgType::kText, kTextFields, nullptr},
    {"link", MsgType::kLink, kLinkFields, nullptr},
    {"markdown", MsgType::kMarkdown, kTitleTextFields, nullptr},
    {"actionCard", MsgType::kActionCard, kTitleTextFields, write_action_card},
    {"feedCard", MsgType::kFeedCard, {}, write_feed_card},
};

// The msgtype's table entry, or false with the refusal set.
bool find_msg(Builder& b, const Msg** out) {
    uint32_t i;
    if (!member(b, 0, "", "msgtype", Type::kString, true, &i)) return false;
    for (const Msg& m : kMsgs) {
        if (!b.doc.equals(i, m.name)) continue;
        *out = &m;
        return true;
    }
    unescape(b.doc, i, b.value);
    const std::string_view shown = cut_utf8(b.value, kMaxShownBytes);
    std::string msg = "unknown msgtype \"";
    push::json_escape(msg, shown);  // one line, whatever it holds
    msg += shown.size() < b.value.size() ? "\"..." : "\"";
    return fail(b.err, kUnknownMsgtype, std::move(msg));
}

// One of "at"'s id arrays: each entry 1..kMaxIdBytes, written and added to mention_ids when
// not already named there (so atMobiles drops an entry atUserIds had).
bool write_ids(Builder& b, uint32_t at, std::string_view name) {
    uint32_t arr;
    if (!member(b, at, "at", name, Type::kArray, false, &arr)) return false;
    if (arr == kNone) return true;
    std::string& p = b.card.payload;
    std::vector<std::string>& ids = b.card.mention_ids;
    key(p, name);
    p += '[';
    const size_t first = p.size();
    for (uint32_t i = 0, e = arr + 1; i < b.doc.tokens[arr].size; ++i, e = b.doc.tokens[e].next) {
        const std::string entry = indexed(cat({"at.", name}), i);
        if (!b.doc.is(e, Type::kString)) return fail(b.err, kBadField, cat({"field ", entry, " must be a string"}));
        unescape(b.doc, e, b.value);
        if (b.value.empty() || b.value.size() > kMaxIdBytes)
            return fail(b.err, kBadField, cat({"field ", entry, " must be 1 to 64 bytes"}));
        if (std::find(ids.begin(), ids.end(), b.value) != ids.end()) continue;
        if (ids.size() == kMaxMentions) return fail(b.err, kBadField, "at: more than 64 mentions");
        ids.push_back(b.value);
        if (p.size() > first) p += ',';
        quoted(p, b.value);
    }
    p += ']';
    return true;
}

// The optional "at": atUserIds, atMobiles, isAtAll, each only when given.
bool write_at(Builder& b) {
    uint32_t at;
    if (!member(b, 0, "", "at", Type::kObject, false, &at)) return false;
    if (at == kNone) return true;
    key(b.card.payload, "at");
    b.card.payload += '{';
    if (!write_ids(b, at, "atUserIds") || !write_ids(b, at, "atMobiles")) return false;
    uint32_t all;
    if (!member(b, at, "at", "isAtAll", Type::kTrue, false, &all)) return false;
    if (all != kNone) {
        b.card.at_all = b.doc.is(all, Type::kTrue);
        key(b.card.payload, "isAtAll");
        b.card.payload += b.card.at_all ? "true" : "false";
    }
    b.card.payload += '}';
    return true;
}

// Everything after the parse: msgtype, its object, "at"; then the summary.
bool build(Builder& b, std::string_view robot_name, uint64_t now_ms) {
    const Msg* m = nullptr;
    if (!find_msg(b, &m)) return false;
    uint32_t obj;
    if (!member(b, 0, "", m->name, Type::kObject, true, &obj)) return false;
    std::string& p = b.card.payload;
    b.card.type = m->type;
    p = "{";
    key(p, "msgtype");
    quoted(p, m->name);
    key(p, m->name);
    p += '{';
    if (!write_fields(b, obj, m->name, m->fields)) return false;
    if (m->rest != nullptr && !m->rest(b, obj, m->name)) return false;
    p += '}';
    if (!write_at(b)) return false;
    stamp(p, robot_name, now_ms);
    // No title (text): the content's first line. Titles are never empty.
    const std::string_view summary = b.card.summary.empty() ? first_line(b.card.search_text) : b.card.summary;
    b.card.summary = std::string(cut_utf8(summary, kMaxSummaryBytes));
    return true;
}

}  // namespace

bool parse_card(std::string_view body, std::string_view robot_name, uint64_t now_ms, Card* out, CardError* err) {
    // A value takes at least one byte, so body.size() + 1 tokens always suffice below the cap.
    std::vector<json::Token> tokens(std::min<size_t>(body.size() + 1, kMaxTokens));
    json::Document doc;
    json::Limits limits;
    limits.max_bytes = UINT32_MAX;  // the caller enforces max_body; offsets are 32-bit
    const json::Result r = json::parse(body, tokens.data(), static_cast<uint32_t>(tokens.size()), &doc, limits);
    if (!r.ok())
        return fail(*err, kBadJson,
                    cat({"body is not valid JSON: ", json::describe(r.error), " at byte ", std::to_string(r.offset)}));
    if (!doc.is(0, Type::kObject)) return fail(*err, kBadJson, "body must be a JSON object");
    Builder b{doc, *err, {}, {}};
    if (!build(b, robot_name, now_ms)) return false;
    *out = std::move(b.card);
    return true;
}

std::string digest_payload(std::string_view robot_name, uint64_t now_ms, std::string_view title,
                           std::string_view text, const DigestFacts& facts) {
    std::string p = "{\"msgtype\":\"markdown\",\"markdown\":{";
    key(p, "title");
    quoted(p, title);
    key(p, "text");
    quoted(p, text);
    p += "},\"digest\":{";
    const std::pair<std::string_view, uint64_t> counts[] = {
        {"count", facts.count}, {"first", facts.first_ms}, {"last", facts.last_ms}, {"omitted", facts.omitted}};
    for (const auto& [name, v] : counts) {
        key(p, name);
        number(p, v);
    }
    p += '}';
    if (!facts.mention_ids.empty() || facts.at_all) {
        p += ",\"at\":{\"atUserIds\":[";
        for (size_t i = 0; i < facts.mention_ids.size(); ++i) {
            if (i) p += ',';
            p += '"';
            push::json_escape(p, facts.mention_ids[i]);
            p += '"';
        }
        p += facts.at_all ? "],\"isAtAll\":true}" : "],\"isAtAll\":false}";
    }
    stamp(p, robot_name, now_ms);
    return p;
}

}  // namespace wspush::robot
