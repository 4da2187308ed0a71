// libFuzzer entry point for json::parse and json::unescape (make fuzz-build). Checks, for any
// input: the parse stays inside the input (ASan), an error offset lies within it, and an
// accepted document is UTF-8, has well-formed tokens, finds each member by its decoded name,
// and re-validates: written out again from its tokens, it parses to the same values.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "codec/utf8.h"
#include "json/json.h"

namespace {

using namespace wspush::json;

constexpr uint32_t kCapacity = 512;

void require(bool ok) {
    if (!ok) std::abort();
}

std::string decoded(const Document& d, uint32_t i) {
    std::string s(d.tokens[i].size, '\0');
    require(d.string(i, s.data(), s.size()) == static_cast<ptrdiff_t>(s.size()));
    return s;
}

// JSON for a decoded string: quotes, backslashes and control characters escaped.
void write_string(const std::string& s, std::string* out) {
    *out += '"';
    for (const char c : s) {
        if (c == '"' || c == '\\') {
            *out += '\\';
            *out += c;
        } else if (static_cast<uint8_t>(c) < 0x20) {
            char esc[8];
            std::snprintf(esc, sizeof esc, "\\u%04x", static_cast<unsigned>(c));
            *out += esc;
        } else {
            *out += c;
        }
    }
    *out += '"';
}

// Writes token i (and its subtree) compactly; returns the index after it.
uint32_t write_value(const Document& d, uint32_t i, std::string* out) {
    const Token& t = d.tokens[i];
    switch (t.type) {
        case Type::kObject:
        case Type::kArray: {
            const bool object = t.type == Type::kObject;
            *out += object ? '{' : '[';
            uint32_t k = i + 1;
            for (uint32_t m = 0; m < t.size; ++m) {
                if (m > 0) *out += ',';
                if (object) {
                    write_string(decoded(d, k), out);
                    *out += ':';
                    ++k;
                }
                k = write_value(d, k, out);
            }
            require(k == t.next);
            *out += object ? '}' : ']';
            return t.next;
        }
        case Type::kString:
            write_string(decoded(d, i), out);
            return i + 1;
        default:
            *out += d.raw(i);
            return i + 1;
    }
}

void check_document(const Document& d, std::string_view text) {
    require(wspush::codec::utf8_valid(text));
    require(d.tokens[0].parent == kNone && d.tokens[0].next == d.count);
    for (uint32_t i = 0; i < d.count; ++i) {
        const Token& t = d.tokens[i];
        require(t.start <= t.end && t.end <= text.size());
        require(t.next > i && t.next <= d.count);
        if (i > 0) require(t.parent < i && t.next <= d.tokens[t.parent].next);
        if (t.type == Type::kString) {
            const std::string s = decoded(d, i);
            require(wspush::codec::utf8_valid(s));
            require(d.equals(i, s));
            if (!s.empty()) {
                std::string shorter(s.size() - 1, '\0');
                require(d.string(i, shorter.data(), shorter.size()) == -1);
            }
        }
        if (t.type == Type::kObject) {
            // Names are unique, so each finds its own value.
            uint32_t k = i + 1;
            for (uint32_t m = 0; m < t.size; ++m, k = d.tokens[k + 1].next) {
                require((d.tokens[k].flags & kName) != 0);
                require(d.get(i, decoded(d, k)) == k + 1);
            }
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);

    // unescape() on arbitrary bytes: never longer than its input, always UTF-8.
    std::string buf(size, '\0');
    const ptrdiff_t n = unescape(text, buf.data(), buf.size());
    require(n >= -1 && n <= static_cast<ptrdiff_t>(size));
    if (n >= 0) require(wspush::codec::utf8_valid(std::string_view(buf.data(), static_cast<size_t>(n))));

    static Token tokens[kCapacity];
    Document doc;
    Limits limits;
    limits.max_depth = 24;
    const Result r = parse(text, tokens, kCapacity, &doc, limits);
    if (!r.ok()) {
        require(r.offset <= size);
        require(doc.tokens == nullptr);
        return 0;
    }
    require(r.count == doc.count && r.count > 0);
    check_document(doc, text);

    std::string again;
    write_value(doc, 0, &again);
    static Token tokens2[kCapacity];
    Document doc2;
    require(parse(again, tokens2, kCapacity, &doc2, limits).ok());
    require(doc2.count == doc.count);
    for (uint32_t i = 0; i < doc.count; ++i) {
        require(doc2.tokens[i].type == doc.tokens[i].type && doc2.tokens[i].size == doc.tokens[i].size &&
                doc2.tokens[i].next == doc.tokens[i].next && doc2.tokens[i].parent == doc.tokens[i].parent);
        if (doc.tokens[i].type == Type::kString) require(decoded(doc2, i) == decoded(doc, i));
    }
    return 0;
}
