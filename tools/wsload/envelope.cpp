#include "wsload/envelope.h"

namespace wspush::wsload {

namespace {

class Cursor {
public:
    explicit Cursor(std::string_view s) : s_(s) {}

    void skip_ws() {
        while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
    }
    bool eat(char c) {
        skip_ws();
        if (i_ < s_.size() && s_[i_] == c) {
            ++i_;
            return true;
        }
        return false;
    }
    bool eat_word(std::string_view w) {
        skip_ws();
        if (s_.substr(i_, w.size()) != w) return false;
        i_ += w.size();
        return true;
    }
    bool at_end() {
        skip_ws();
        return i_ == s_.size();
    }
    [[nodiscard]] char peek() {
        skip_ws();
        return i_ < s_.size() ? s_[i_] : '\0';
    }

    // A JSON string (RFC 8259 section 7) into out. Returns an error text or nullptr.
    const char* string(std::string& out) {
        out.clear();
        if (!eat('"')) return "expected string";
        while (i_ < s_.size()) {
            // Copy the run up to the next quote, backslash or control character at once.
            const size_t run = run_end();
            out.append(s_.data() + i_, run - i_);
            i_ = run;
            if (i_ == s_.size()) break;
            const char c = s_[i_++];
            if (c == '"') return nullptr;
            if (c != '\\') return "control character in string";
            if (i_ >= s_.size()) break;
            switch (s_[i_++]) {
                case '"': out.push_back('"'); break;
                case '\\': out.push_back('\\'); break;
                case '/': out.push_back('/'); break;
                case 'b': out.push_back('\b'); break;
                case 'f': out.push_back('\f'); break;
                case 'n': out.push_back('\n'); break;
                case 'r': out.push_back('\r'); break;
                case 't': out.push_back('\t'); break;
                case 'u': {
                    uint32_t cp = 0;
                    if (!hex4(cp)) return "bad \\u escape";
                    // A high surrogate must be followed by an escaped low surrogate
                    // (RFC 8259 section 7: non-BMP characters as a UTF-16 pair).
                    if (cp >= 0xD800 && cp <= 0xDBFF) {
                        uint32_t lo = 0;
                        if (s_.substr(i_, 2) != "\\u") return "lone high surrogate";
                        i_ += 2;
                        if (!hex4(lo) || lo < 0xDC00 || lo > 0xDFFF) return "bad low surrogate";
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                        return "lone low surrogate";
                    }
                    put_utf8(cp, out);
                    break;
                }
                default: return "bad escape";
            }
        }
        return "unterminated string";
    }

    // An unsigned integer without sign, fraction or exponent (what seq values are).
    const char* number(uint64_t& v) {
        skip_ws();
        const size_t start = i_;
        v = 0;
        while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') {
            const uint64_t d = static_cast<uint64_t>(s_[i_] - '0');
            if (v > (UINT64_MAX - d) / 10) return "number too large";
            v = v * 10 + d;
            ++i_;
        }
        if (i_ == start) return "expected number";
        if (i_ - start > 1 && s_[start] == '0') return "leading zero";
        if (i_ < s_.size() && (s_[i_] == '.' || s_[i_] == 'e' || s_[i_] == 'E')) return "expected integer";
        return nullptr;
    }

    // The rest of a string whose opening quote was read, up to its closing quote (taken
    // too), when it has no escape and no control character; else false.
    bool plain(std::string_view& out) {
        const size_t run = run_end();
        if (run == s_.size() || s_[run] != '"') return false;
        out = s_.substr(i_, run - i_);
        i_ = run + 1;
        return true;
    }

private:
    // Where the run of plain string bytes from i_ ends: at the next quote, backslash or
    // control character, or at the end.
    [[nodiscard]] size_t run_end() const {
        size_t run = i_;
        while (run < s_.size() && s_[run] != '"' && s_[run] != '\\' && static_cast<unsigned char>(s_[run]) >= 0x20) {
            ++run;
        }
        return run;
    }

    bool hex4(uint32_t& v) {
        if (i_ + 4 > s_.size()) return false;
        v = 0;
        for (int k = 0; k < 4; ++k) {
            const char c = s_[i_++];
            v <<= 4;
            if (c >= '0' && c <= '9') v |= static_cast<uint32_t>(c - '0');
            else if (c >= 'a' && c <= 'f') v |= static_cast<uint32_t>(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F') v |= static_cast<uint32_t>(c - 'A' + 10);
            else return false;
        }
        return true;
    }

    static void put_utf8(uint32_t cp, std::string& out) {
        if (cp < 0x80) {
            out.push_back(static_cast<char>(cp));
        } else if (cp < 0x800) {
            out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        } else if (cp < 0x10000) {
            out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        } else {
            out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        }
    }

    std::string_view s_;
    size_t i_ = 0;
};

// Walks one flat JSON object: for each key, field(key, cursor) reads the value and returns
// nullptr, or an error text, or kSkip to have a string, unsigned number, true, false or
// null value skipped. Nested objects and arrays are not taken.
constexpr const char* kSkip = "skip";

template <class Field>
const char* walk_object(std::string_view json, Field&& field) {
    Cursor c(json);
    if (!c.eat('{')) return "expected object";
    std::string key;
    std::string skipped;
    if (!c.eat('}')) {
        do {
            if (const char* e = c.string(key)) return e;
            if (!c.eat(':')) return "expected ':'";
            const char* e = field(key, c);
            if (e == kSkip) {
                e = nullptr;
                const char next = c.peek();
                uint64_t ignored = 0;
                if (next == '"') e = c.string(skipped);
                else if (next >= '0' && next <= '9') e = c.number(ignored);
                else if (!c.eat_word("true") && !c.eat_word("false") && !c.eat_word("null")) e = "unsupported value";
            }
            if (e) return e;
        } while (c.eat(','));
        if (!c.eat('}')) return "expected ',' or '}'";
    }
    if (!c.at_end()) return "trailing bytes after object";
    return nullptr;
}

// The shape the servers send: {"type":"T","channel":"C","seq":N[,"epoch":"E"],"data":"D"}
// with no escape or control character in T, C, E or D. Read without the general walk (a
// fan-out run reads millions a second) but with the same Cursor, so what it takes it reads
// as the walk would; anything else returns false and goes the general way.
bool fast_envelope(std::string_view json, Envelope& out) {
    Cursor c(json);
    std::string_view type, channel, epoch, data;
    uint64_t seq = 0;
    if (!c.eat_word(R"({"type":")") || !c.plain(type) || type.empty() || !c.eat_word(R"(,"channel":")") ||
        !c.plain(channel) || !c.eat_word(R"(,"seq":)") || c.number(seq) != nullptr) {
        return false;
    }
    if (c.eat_word(R"(,"epoch":")") && !c.plain(epoch)) return false;
    if (!c.eat_word(R"(,"data":")") || !c.plain(data) || !c.eat('}') || !c.at_end()) return false;
    out.type.assign(type);
    out.channel.assign(channel);
    out.data.assign(data);
    out.seq = seq;
    out.has_seq = true;
    out.binary = false;
    return true;
}

}  // namespace

const char* parse_envelope(std::string_view json, Envelope& out) {
    if (fast_envelope(json, out)) return nullptr;
    out.type.clear();
    out.channel.clear();
    out.data.clear();
    out.seq = 0;
    out.has_seq = false;
    out.binary = false;
    const char* e = walk_object(json, [&](const std::string& key, Cursor& c) -> const char* {
        if (key == "type") return c.string(out.type);
        if (key == "channel") return c.string(out.channel);
        if (key == "data") return c.string(out.data);
        if (key == "seq") {
            const char* err = c.number(out.seq);
            out.has_seq = err == nullptr;
            return err;
        }
        if (key == "binary" && c.eat_word("true")) {
            out.binary = true;
            return nullptr;
        }
        return kSkip;
    });
    if (e) return e;
    if (out.type.empty()) return "no type";
    return nullptr;
}

const char* parse_webhook_body(std::string_view json, WebhookBody& out) {
    out = WebhookBody{};
    bool has_errcode = false;
    const char* e = walk_object(json, [&](const std::string& key, Cursor& c) -> const char* {
        if (key == "errcode") {
            has_errcode = true;
            return c.number(out.errcode);
        }
        if (key == "errmsg") return c.string(out.errmsg);
        if (key == "seq") {
            out.has_seq = true;
            return c.number(out.seq);
        }
        if (key == "delivered") {
            out.has_delivered = true;
            return c.number(out.delivered);
        }
        return kSkip;
    });
    if (e) return e;
    if (!has_errcode) return "no errcode";
    return nullptr;
}

}  // namespace wspush::wsload
