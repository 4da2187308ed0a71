// JSON (RFC 8259) for webhook bodies, jsmn style: one pass over the whole buffer fills a
// caller-provided array of tokens; nothing is allocated and no value is copied. Strings stay
// views into the input (escapes undecoded) until unescape() writes one into a caller buffer.
//
// Strict: exactly RFC 8259's grammar, the whole input one value (any type) with optional
// whitespace around it; the input must be UTF-8 (section 8.1), with no byte order mark.
// Bounded: input bytes, nesting depth and the token count (the array's capacity) are limits,
// each with its own error.
// Duplicate member names (section 4 leaves their meaning to the implementation) are an
// error: the browser's JSON.parse keeps the last one and get() would find the first, so a
// document accepted here means the same thing to both. Names are compared once unescaped
// ("a" and "\u0061" are the same name).
#pragma once
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string_view>

namespace wspush::json {

enum class Type : uint8_t { kObject, kArray, kString, kNumber, kTrue, kFalse, kNull };

constexpr uint32_t kNone = UINT32_MAX;  // "no token": absent member, no parent

// Tokens are in document order; the root is token 0. An object's members follow it as
// (name, value) token pairs; an array's elements follow it; a container's descendants are
// the tokens [i + 1, next).
struct Token {
    uint32_t start;   // offset of the first byte; strings: the byte after the opening quote
    uint32_t end;     // offset one past the last byte; strings: of the closing quote
    uint32_t next;    // index of the first token after this value's subtree
    uint32_t parent;  // enclosing object or array (also for member names); kNone for the root
    uint32_t size;    // object: members; array: elements; string: bytes once unescaped; else 0
    uint32_t hash;    // member names: FNV-1a of the unescaped name; else 0
    Type type;
    uint8_t flags;    // kEscaped, kName
};

constexpr uint8_t kEscaped = 1;  // a string holding at least one backslash escape
constexpr uint8_t kName = 2;     // a string that is an object member's name

enum class Error : uint8_t {
    kNone,
    kUnexpectedEnd,      // the input ended inside a value, or held no value at all
    kUnexpectedByte,     // no value starts with this byte
    kTrailingComma,      // ',' directly before ']' or '}'
    kExpectedName,       // an object member must start with a string
    kExpectedColon,      // after a member name
    kExpectedCommaOrEnd, // after a value inside an array or object (or a mismatched bracket)
    kTrailingData,       // bytes after the root value
    kBadLiteral,         // not true, false or null
    kBadNumber,          // '-' without a digit, '.' or exponent without a digit
    kLeadingZero,        // 01, -01
    kControlInString,    // U+0000..U+001F must be escaped
    kBadEscape,          // a backslash before a byte other than " \ / b f n r t u
    kBadUnicodeEscape,   // \u without four hex digits
    kLoneSurrogate,      // \uD800..\uDFFF not forming a high-low pair
    kBadUtf8,            // a byte sequence that is not UTF-8 (overlong, surrogate, cut, ...)
    kDuplicateName,      // an object names the same member twice
    kTooDeep,            // nesting beyond Limits::max_depth
    kTooManyTokens,      // more values and names than the token array holds
    kTooLarge,           // input longer than Limits::max_bytes
};

// A short static text for the error ("duplicate member name").
[[nodiscard]] const char* describe(Error e) noexcept;

struct Limits {
    uint32_t max_bytes = 1u << 20;  // longest input accepted
    uint32_t max_depth = 32;        // arrays and objects nested deeper are an error
};

struct Result {
    Error error = Error::kNone;
    uint32_t offset = 0;  // error: offset of the offending byte (the input length if it ended)
    uint32_t count = 0;   // success: tokens used

    [[nodiscard]] bool ok() const noexcept { return error == Error::kNone; }
};

// A parsed document: the input and its tokens, both owned by the caller and borrowed here.
struct Document {
    std::string_view text;
    const Token* tokens = nullptr;
    uint32_t count = 0;

    // The value of member `name` of object token `obj`, or kNone when obj is kNone, not an
    // object, or has no such member. O(members); compares unescaped names.
    [[nodiscard]] uint32_t get(uint32_t obj, std::string_view name) const noexcept;
    // get() applied along a path of member names from `from`: path(0, {"text", "content"}).
    [[nodiscard]] uint32_t path(uint32_t from, std::initializer_list<std::string_view> names) const noexcept;
    // Element `index` of array token `arr`, or kNone. O(index).
    [[nodiscard]] uint32_t at(uint32_t arr, uint32_t index) const noexcept;
    // Whether token i exists and has type t (false for kNone).
    [[nodiscard]] bool is(uint32_t i, Type t) const noexcept { return i < count && tokens[i].type == t; }
    // The token's bytes as in the input; for a string, between the quotes, escapes undecoded.
    [[nodiscard]] std::string_view raw(uint32_t i) const noexcept;
    // Whether string token i, unescaped, equals s. False for a token that is not a string.
    [[nodiscard]] bool equals(uint32_t i, std::string_view s) const noexcept;
    // Writes string token i unescaped (exactly tokens[i].size bytes) to out. Returns that
    // length, or -1 when i is not a string or out_cap is too small.
    [[nodiscard]] ptrdiff_t string(uint32_t i, char* out, size_t out_cap) const noexcept;
    // A number token written as an integer (no fraction or exponent) that fits in int64_t.
    [[nodiscard]] bool integer(uint32_t i, int64_t* out) const noexcept;
};

// Parses all of `text` into tokens[0..capacity). On success fills *doc (which borrows text
// and tokens) and returns the token count; on failure returns the first error found in input
// order and its offset, and *doc is left untouched. Never reads outside text.
[[nodiscard]] Result parse(std::string_view text, Token* tokens, uint32_t capacity, Document* doc,
                           const Limits& limits = {}) noexcept;

// Decodes the contents of a JSON string (the bytes between the quotes) into out[0..out_cap):
// escapes become UTF-8, a surrogate pair one 4-byte sequence. Returns the length written, or
// -1 when `escaped` is not valid string content (bad or truncated escape, lone surrogate, an
// unescaped '"' or control character, invalid UTF-8) or does not fit. The unescaped form is
// never longer than the escaped one, so out_cap = escaped.size() always suffices.
[[nodiscard]] ptrdiff_t unescape(std::string_view escaped, char* out, size_t out_cap) noexcept;

}  // namespace wspush::json
