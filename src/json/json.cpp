// JSON parser: a loop over "what may come next" (Expect) with the open containers kept as
// parent links in the tokens themselves, so no stack beyond the token array is needed.
// Strings are validated and measured by one scanner, scan_string(), whose Sink parameter
// decides what happens to the decoded bytes: counted (parse), hashed too (member names) or
// written out (unescape).
#include "json/json.h"

#include <array>
#include <charconv>
#include <cstring>

#include "codec/hex.h"
#include "codec/utf8.h"

namespace wspush::json {

namespace {

using codec::hex_value;

// Bytes a string holds as they are and that need no further look: U+0020..U+007F except
// '"' and '\'. Control characters must be escaped (RFC 8259 section 7); bytes >= 0x80 go
// to the UTF-8 validator.
constexpr std::array<bool, 256> make_plain() {
    std::array<bool, 256> t{};
    for (int c = 0x20; c < 0x80; ++c) t[c] = c != '"' && c != '\\';
    return t;
}
constexpr std::array<bool, 256> kPlain = make_plain();

// The two-character escapes of RFC 8259 section 7 and what each stands for; 0: not one.
constexpr std::array<char, 256> make_simple_escapes() {
    std::array<char, 256> t{};
    t['"'] = '"';
    t['\\'] = '\\';
    t['/'] = '/';
    t['b'] = '\b';
    t['f'] = '\f';
    t['n'] = '\n';
    t['r'] = '\r';
    t['t'] = '\t';
    return t;
}
constexpr std::array<char, 256> kSimpleEscape = make_simple_escapes();

constexpr bool is_ws(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// The four hex digits at p (the caller checked they are there), or -1.
int32_t hex4(const char* p) noexcept {
    int32_t v = 0;
    for (int i = 0; i < 4; ++i) {
        const int d = hex_value(p[i]);
        if (d < 0) return -1;
        v = v << 4 | d;
    }
    return v;
}

constexpr bool is_high_surrogate(uint32_t cp) noexcept { return cp >= 0xD800 && cp <= 0xDBFF; }
constexpr bool is_low_surrogate(uint32_t cp) noexcept { return cp >= 0xDC00 && cp <= 0xDFFF; }
constexpr uint32_t combine(uint32_t hi, uint32_t lo) noexcept { return 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00); }

// UTF-8 for a scalar value (never a surrogate here). Returns the byte count, 1 to 4.
size_t encode_utf8(uint32_t cp, char* out) noexcept {
    if (cp < 0x80) {
        out[0] = static_cast<char>(cp);
        return 1;
    }
    if (cp < 0x800) {
        out[0] = static_cast<char>(0xC0 | cp >> 6);
        out[1] = static_cast<char>(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = static_cast<char>(0xE0 | cp >> 12);
        out[1] = static_cast<char>(0x80 | (cp >> 6 & 0x3F));
        out[2] = static_cast<char>(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = static_cast<char>(0xF0 | cp >> 18);
    out[1] = static_cast<char>(0x80 | (cp >> 12 & 0x3F));
    out[2] = static_cast<char>(0x80 | (cp >> 6 & 0x3F));
    out[3] = static_cast<char>(0x80 | (cp & 0x3F));
    return 4;
}

struct Scan {
    Error error;
    const char* at;  // success: the closing quote (or the end); error: the offending byte
    bool escaped = false;
};

// Sinks for scan_string: where the decoded bytes go.
struct CountSink {
    uint32_t size = 0;
    void put(const char*, size_t n) noexcept { size += static_cast<uint32_t>(n); }
};

struct HashSink {  // member names: length and FNV-1a, for the duplicate check
    uint32_t size = 0;
    uint32_t hash = 2166136261u;
    void put(const char* p, size_t n) noexcept {
        size += static_cast<uint32_t>(n);
        for (size_t i = 0; i < n; ++i) hash = (hash ^ static_cast<uint8_t>(p[i])) * 16777619u;
    }
};

struct WriteSink {
    char* out;
    size_t cap;
    size_t len = 0;
    bool overflow = false;
    void put(const char* p, size_t n) noexcept {
        if (overflow || n > cap - len) {
            overflow = true;
            return;
        }
        std::memcpy(out + len, p, n);
        len += n;
    }
};

// One escape starting at the backslash p.
template <class Sink>
Scan scan_escape(const char* p, const char* end, Sink& sink) noexcept {
    if (end - p < 2) return {Error::kUnexpectedEnd, end};
    if (p[1] != 'u') {
        const char c = kSimpleEscape[static_cast<uint8_t>(p[1])];
        if (c == 0) return {Error::kBadEscape, p};
        sink.put(&c, 1);
        return {Error::kNone, p + 2};
    }
    // \uXXXX: a UTF-16 code unit (section 7). Check what has arrived before saying "end".
    for (const char* q = p + 2; q < end && q < p + 6; ++q) {
        if (hex_value(*q) < 0) return {Error::kBadUnicodeEscape, p};
    }
    if (end - p < 6) return {Error::kUnexpectedEnd, end};
    uint32_t cp = static_cast<uint32_t>(hex4(p + 2));
    const char* next = p + 6;
    if (is_low_surrogate(cp)) return {Error::kLoneSurrogate, p};
    if (is_high_surrogate(cp)) {
        // Characters outside the BMP are a high-low pair of escapes; anything else after a
        // high surrogate leaves it alone, which UTF-8 cannot carry.
        const int32_t lo = end - next >= 6 && next[0] == '\\' && next[1] == 'u' ? hex4(next + 2) : -1;
        if (lo < 0 || !is_low_surrogate(static_cast<uint32_t>(lo))) return {Error::kLoneSurrogate, p};
        cp = combine(cp, static_cast<uint32_t>(lo));
        next += 6;
    }
    char utf8[4];
    sink.put(utf8, encode_utf8(cp, utf8));
    return {Error::kNone, next};
}

// The first byte of [p, end) at which a UTF-8 check fails, or end if the bytes are a valid
// prefix (the sequence was cut off by the byte at end). Error path only.
const char* first_bad_utf8(const char* p, const char* end) noexcept {
    codec::Utf8Validator v;
    for (; p < end; ++p) {
        if (!v.feed(reinterpret_cast<const uint8_t*>(p), 1)) return p;
    }
    return end;
}

// Validates and decodes string content from p. kQuoted: a string token, ending at an
// unescaped '"' (its absence is kUnexpectedEnd). Otherwise the content runs to `end` and a
// '"' is an error.
template <bool kQuoted, class Sink>
Scan scan_string(const char* p, const char* const end, Sink& sink) noexcept {
    bool escaped = false;
    for (;;) {
        const char* run = p;
        while (p < end && kPlain[static_cast<uint8_t>(*p)]) ++p;
        if (p != run) sink.put(run, static_cast<size_t>(p - run));
        if (p == end) return {kQuoted ? Error::kUnexpectedEnd : Error::kNone, p, escaped};
        const auto c = static_cast<uint8_t>(*p);
        if (c == '"') return {kQuoted ? Error::kNone : Error::kUnexpectedByte, p, escaped};
        if (c == '\\') {
            escaped = true;
            const Scan s = scan_escape(p, end, sink);
            if (s.error != Error::kNone) return s;
            p = s.at;
            continue;
        }
        if (c < 0x20) return {Error::kControlInString, p};
        // A run of bytes >= 0x80. Valid UTF-8 never has an ASCII byte inside a sequence, so
        // each run must be complete on its own (section 8.1: JSON text is UTF-8).
        run = p;
        while (p < end && static_cast<uint8_t>(*p) >= 0x80) ++p;
        codec::Utf8Validator v;
        if (!v.feed(reinterpret_cast<const uint8_t*>(run), static_cast<size_t>(p - run)) || !v.complete()) {
            return {Error::kBadUtf8, first_bad_utf8(run, p)};
        }
        sink.put(run, static_cast<size_t>(p - run));
    }
}

// Decodes string content that parse() has already validated, a byte at a time: for
// comparisons, which stop at the first difference and need no buffer.
class Unescaper {
public:
    explicit Unescaper(std::string_view s) noexcept : p_(s.data()), end_(s.data() + s.size()) {}

    // The next decoded byte, or -1 at the end.
    int next() noexcept {
        if (pos_ < len_) return static_cast<uint8_t>(buf_[pos_++]);
        if (p_ == end_) return -1;
        if (*p_ != '\\') return static_cast<uint8_t>(*p_++);
        if (p_[1] != 'u') {
            const char c = kSimpleEscape[static_cast<uint8_t>(p_[1])];
            p_ += 2;
            return static_cast<uint8_t>(c);
        }
        uint32_t cp = static_cast<uint32_t>(hex4(p_ + 2));
        p_ += 6;
        if (is_high_surrogate(cp)) {
            cp = combine(cp, static_cast<uint32_t>(hex4(p_ + 2)));
            p_ += 6;
        }
        len_ = static_cast<uint8_t>(encode_utf8(cp, buf_));
        pos_ = 1;
        return static_cast<uint8_t>(buf_[0]);
    }

private:
    const char* p_;
    const char* end_;
    char buf_[4];
    uint8_t len_ = 0;
    uint8_t pos_ = 0;
};

bool same_bytes(Unescaper a, Unescaper b) noexcept {
    for (;;) {
        const int x = a.next();
        if (x != b.next()) return false;
        if (x < 0) return true;
    }
}

bool same_bytes(Unescaper a, std::string_view b) noexcept {
    for (const char c : b) {
        if (a.next() != static_cast<uint8_t>(c)) return false;
    }
    return a.next() < 0;
}

// A token's bytes in the input (a string's between its quotes).
std::string_view contents(const char* text, const Token& t) noexcept {
    return std::string_view(text + t.start, t.end - t.start);
}

// What the parser accepts next.
enum class Expect : uint8_t {
    kValue,         // the root, or after ':'
    kElementOrEnd,  // after '['
    kElement,       // after ',' in an array
    kNameOrEnd,     // after '{'
    kName,          // after ',' in an object
    kColon,         // after a member name
    kCommaOrEnd,    // after a value inside a container
    kEnd,           // after the root value: only whitespace
};

class Parser {
public:
    Parser(std::string_view text, Token* tokens, uint32_t capacity, const Limits& limits) noexcept
        : begin_(text.data()), p_(text.data()), end_(text.data() + text.size()), tok_(tokens),
          cap_(capacity), max_depth_(limits.max_depth) {}

    Result run() noexcept;

private:
    [[nodiscard]] uint32_t offset(const char* p) const noexcept { return static_cast<uint32_t>(p - begin_); }
    [[nodiscard]] bool fail(Error e, const char* at) noexcept {
        result_.error = e;
        result_.offset = offset(at);
        return false;
    }
    [[nodiscard]] Expect after_value() const noexcept { return cur_ == kNone ? Expect::kEnd : Expect::kCommaOrEnd; }
    [[nodiscard]] bool value(Expect* next) noexcept;
    [[nodiscard]] bool add(Type type, uint8_t flags, uint32_t* index) noexcept;
    [[nodiscard]] bool open(Type type) noexcept;
    [[nodiscard]] bool close() noexcept;
    [[nodiscard]] bool string(uint8_t flags) noexcept;
    [[nodiscard]] bool number() noexcept;
    [[nodiscard]] bool literal(std::string_view word, Type type) noexcept;
    [[nodiscard]] bool unique_name(uint32_t name) noexcept;

    const char* const begin_;
    const char* p_;
    const char* const end_;
    Token* const tok_;
    const uint32_t cap_;
    const uint32_t max_depth_;
    uint32_t count_ = 0;
    uint32_t cur_ = kNone;  // innermost open container
    uint32_t depth_ = 0;    // open containers
    Result result_;
};

// A new token at p_, a child of the innermost container. Objects count members by their
// names, arrays count elements.
bool Parser::add(Type type, uint8_t flags, uint32_t* index) noexcept {
    if (count_ == cap_) return fail(Error::kTooManyTokens, p_);
    const uint32_t i = count_++;
    tok_[i] = Token{offset(p_), offset(p_), i + 1, cur_, 0, 0, type, flags};
    if (cur_ != kNone && (tok_[cur_].type == Type::kArray || (flags & kName) != 0)) ++tok_[cur_].size;
    *index = i;
    return true;
}

bool Parser::open(Type type) noexcept {
    if (depth_ == max_depth_) return fail(Error::kTooDeep, p_);
    uint32_t i;
    if (!add(type, 0, &i)) return false;
    cur_ = i;
    ++depth_;
    ++p_;
    return true;
}

bool Parser::close() noexcept {
    Token& t = tok_[cur_];
    t.end = offset(p_) + 1;
    t.next = count_;
    cur_ = t.parent;
    --depth_;
    ++p_;
    return true;
}

bool Parser::string(uint8_t flags) noexcept {
    uint32_t i;
    if (!add(Type::kString, flags, &i)) return false;
    Scan s;
    uint32_t size, hash = 0;
    if ((flags & kName) != 0) {
        HashSink sink;
        s = scan_string<true>(p_ + 1, end_, sink);
        size = sink.size;
        hash = sink.hash;
    } else {
        CountSink sink;
        s = scan_string<true>(p_ + 1, end_, sink);
        size = sink.size;
    }
    if (s.error != Error::kNone) return fail(s.error, s.at);
    Token& t = tok_[i];
    t.start = offset(p_ + 1);
    t.end = offset(s.at);
    t.size = size;
    t.hash = hash;
    if (s.escaped) t.flags |= kEscaped;
    p_ = s.at + 1;
    return (flags & kName) == 0 || unique_name(i);
}

// The new member name `name` against the earlier names of the same object: O(members), so
// O(k^2) per object of k members, k <= capacity / 2. The hash and length rule out almost
// every pair before any byte is compared.
bool Parser::unique_name(uint32_t name) noexcept {
    const Token& n = tok_[name];
    uint32_t other = n.parent + 1;
    for (uint32_t m = 1; m < tok_[n.parent].size; ++m, other = tok_[other + 1].next) {
        const Token& o = tok_[other];
        if (o.hash == n.hash && o.size == n.size &&
            same_bytes(Unescaper(contents(begin_, o)), Unescaper(contents(begin_, n)))) {
            return fail(Error::kDuplicateName, begin_ + n.start - 1);
        }
    }
    return true;
}

// RFC 8259 section 6: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
bool Parser::number() noexcept {
    uint32_t i;
    if (!add(Type::kNumber, 0, &i)) return false;
    const char* p = p_;
    if (*p == '-') ++p;
    if (p == end_ || !is_digit(*p)) return fail(Error::kBadNumber, p);
    if (*p++ == '0') {
        if (p < end_ && is_digit(*p)) return fail(Error::kLeadingZero, p);
    } else {
        while (p < end_ && is_digit(*p)) ++p;
    }
    if (p < end_ && *p == '.') {
        if (++p == end_ || !is_digit(*p)) return fail(Error::kBadNumber, p);
        while (p < end_ && is_digit(*p)) ++p;
    }
    if (p < end_ && (*p == 'e' || *p == 'E')) {
        if (++p < end_ && (*p == '+' || *p == '-')) ++p;
        if (p == end_ || !is_digit(*p)) return fail(Error::kBadNumber, p);
        while (p < end_ && is_digit(*p)) ++p;
    }
    tok_[i].end = offset(p);
    p_ = p;
    return true;
}

bool Parser::literal(std::string_view word, Type type) noexcept {
    uint32_t i;
    if (!add(type, 0, &i)) return false;
    const size_t have = static_cast<size_t>(end_ - p_) < word.size() ? static_cast<size_t>(end_ - p_) : word.size();
    if (std::memcmp(p_, word.data(), have) != 0) return fail(Error::kBadLiteral, p_);
    if (have < word.size()) return fail(Error::kUnexpectedEnd, end_);
    p_ += word.size();
    tok_[i].end = offset(p_);
    return true;
}

// A value starting at p_ (not whitespace, not the end).
bool Parser::value(Expect* next) noexcept {
    switch (*p_) {
        case '{':
            *next = Expect::kNameOrEnd;
            return open(Type::kObject);
        case '[':
            *next = Expect::kElementOrEnd;
            return open(Type::kArray);
        case '"':
            *next = after_value();
            return string(0);
        case 't':
            *next = after_value();
            return literal("true", Type::kTrue);
        case 'f':
            *next = after_value();
            return literal("false", Type::kFalse);
        case 'n':
            *next = after_value();
            return literal("null", Type::kNull);
        default:
            if (*p_ == '-' || is_digit(*p_)) {
                *next = after_value();
                return number();
            }
            return fail(Error::kUnexpectedByte, p_);
    }
}

Result Parser::run() noexcept {
    Expect expect = Expect::kValue;
    for (;;) {
        while (p_ < end_ && is_ws(*p_)) ++p_;
        if (p_ == end_) {
            if (expect != Expect::kEnd) (void)fail(Error::kUnexpectedEnd, p_);
            break;
        }
        const char c = *p_;
        bool ok = true;
        switch (expect) {
            case Expect::kEnd:
                ok = fail(Error::kTrailingData, p_);
                break;
            case Expect::kColon:
                if (c != ':') {
                    ok = fail(Error::kExpectedColon, p_);
                    break;
                }
                ++p_;
                expect = Expect::kValue;
                break;
            case Expect::kCommaOrEnd: {
                const bool object = tok_[cur_].type == Type::kObject;
                if (c == ',') {
                    ++p_;
                    expect = object ? Expect::kName : Expect::kElement;
                } else if (c == (object ? '}' : ']')) {
                    ok = close();
                    expect = after_value();
                } else {
                    ok = fail(Error::kExpectedCommaOrEnd, p_);
                }
                break;
            }
            case Expect::kNameOrEnd:
            case Expect::kName:
                if (c == '"') {
                    ok = string(kName);
                    expect = Expect::kColon;
                } else if (c == '}' && expect == Expect::kNameOrEnd) {
                    ok = close();
                    expect = after_value();
                } else {
                    ok = fail(c == '}' ? Error::kTrailingComma : Error::kExpectedName, p_);
                }
                break;
            case Expect::kElementOrEnd:
            case Expect::kElement:
                if (c != ']') {
                    ok = value(&expect);
                } else if (expect == Expect::kElementOrEnd) {
                    ok = close();
                    expect = after_value();
                } else {
                    ok = fail(Error::kTrailingComma, p_);
                }
                break;
            case Expect::kValue:
                ok = value(&expect);
                break;
        }
        if (!ok) break;
    }
    if (result_.error == Error::kNone) result_.count = count_;
    return result_;
}

}  // namespace

const char* describe(Error e) noexcept {
    switch (e) {
        case Error::kNone: return "ok";
        case Error::kUnexpectedEnd: return "unexpected end of input";
        case Error::kUnexpectedByte: return "unexpected byte: no value starts with it";
        case Error::kTrailingComma: return "trailing comma";
        case Error::kExpectedName: return "expected a member name (a string)";
        case Error::kExpectedColon: return "expected ':' after a member name";
        case Error::kExpectedCommaOrEnd: return "expected ',' or the end of the array or object";
        case Error::kTrailingData: return "unexpected data after the JSON value";
        case Error::kBadLiteral: return "invalid literal (true, false, null)";
        case Error::kBadNumber: return "invalid number";
        case Error::kLeadingZero: return "number with a leading zero";
        case Error::kControlInString: return "unescaped control character in a string";
        case Error::kBadEscape: return "invalid escape in a string";
        case Error::kBadUnicodeEscape: return "\\u escape without four hex digits";
        case Error::kLoneSurrogate: return "unpaired UTF-16 surrogate escape";
        case Error::kBadUtf8: return "invalid UTF-8";
        case Error::kDuplicateName: return "duplicate member name";
        case Error::kTooDeep: return "nested too deeply";
        case Error::kTooManyTokens: return "too many values";
        case Error::kTooLarge: return "document too large";
    }
    return "unknown error";
}

Result parse(std::string_view text, Token* tokens, uint32_t capacity, Document* doc, const Limits& limits) noexcept {
    if (text.size() > limits.max_bytes) return Result{Error::kTooLarge, limits.max_bytes, 0};
    Parser parser(text, tokens, capacity, limits);
    const Result r = parser.run();
    if (r.ok()) *doc = Document{text, tokens, r.count};
    return r;
}

ptrdiff_t unescape(std::string_view escaped, char* out, size_t out_cap) noexcept {
    WriteSink sink{out, out_cap};
    const Scan s = scan_string<false>(escaped.data(), escaped.data() + escaped.size(), sink);
    if (s.error != Error::kNone || sink.overflow) return -1;
    return static_cast<ptrdiff_t>(sink.len);
}

std::string_view Document::raw(uint32_t i) const noexcept {
    return i < count ? contents(text.data(), tokens[i]) : std::string_view();
}

uint32_t Document::get(uint32_t obj, std::string_view name) const noexcept {
    if (!is(obj, Type::kObject)) return kNone;
    uint32_t key = obj + 1;
    for (uint32_t m = 0; m < tokens[obj].size; ++m, key = tokens[key + 1].next) {
        if (equals(key, name)) return key + 1;
    }
    return kNone;
}

uint32_t Document::path(uint32_t from, std::initializer_list<std::string_view> names) const noexcept {
    for (const std::string_view name : names) from = get(from, name);
    return from;
}

uint32_t Document::at(uint32_t arr, uint32_t index) const noexcept {
    if (!is(arr, Type::kArray) || index >= tokens[arr].size) return kNone;
    uint32_t e = arr + 1;
    for (uint32_t k = 0; k < index; ++k) e = tokens[e].next;
    return e;
}

bool Document::equals(uint32_t i, std::string_view s) const noexcept {
    if (!is(i, Type::kString) || tokens[i].size != s.size()) return false;
    if ((tokens[i].flags & kEscaped) == 0) return raw(i) == s;
    return same_bytes(Unescaper(raw(i)), s);
}

ptrdiff_t Document::string(uint32_t i, char* out, size_t out_cap) const noexcept {
    if (!is(i, Type::kString) || tokens[i].size > out_cap) return -1;
    if ((tokens[i].flags & kEscaped) == 0) {
        std::memcpy(out, text.data() + tokens[i].start, tokens[i].size);
        return tokens[i].size;
    }
    return unescape(raw(i), out, out_cap);
}

bool Document::integer(uint32_t i, int64_t* out) const noexcept {
    if (!is(i, Type::kNumber)) return false;
    const std::string_view r = raw(i);
    int64_t v;
    const auto [end, ec] = std::from_chars(r.data(), r.data() + r.size(), v);
    if (ec != std::errc() || end != r.data() + r.size()) return false;
    *out = v;
    return true;
}

}  // namespace wspush::json
