#include "redis/resp.h"

#include <cstdlib>
#include <cstring>

namespace wspush::redis {
namespace {

// A signed decimal integer: optional '-', 1 to 19 digits, no overflow. False otherwise.
bool parse_int(std::string_view s, int64_t& out) noexcept {
    bool neg = false;
    if (!s.empty() && s[0] == '-') {
        neg = true;
        s.remove_prefix(1);
    }
    if (s.empty() || s.size() > 19) return false;
    uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    const uint64_t cap = neg ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
    if (v > cap) return false;
    out = neg ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
    return true;
}

// RESP3 double: "inf", "-inf", "nan" or a decimal with optional sign, point and exponent.
// strtod alone would also take hex floats, "infinity" and leading spaces.
bool parse_double(std::string_view s, double& out) noexcept {
    constexpr size_t kMaxDouble = 128;
    if (s.empty() || s.size() > kMaxDouble) return false;
    if (s == "inf" || s == "+inf") return out = __builtin_inf(), true;
    if (s == "-inf") return out = -__builtin_inf(), true;
    if (s == "nan" || s == "-nan") return out = __builtin_nan(""), true;
    bool digit = false;
    for (char c : s) {
        if (c >= '0' && c <= '9') digit = true;
        else if (c != '.' && c != 'e' && c != 'E' && c != '-' && c != '+') return false;
    }
    if (!digit) return false;
    char buf[kMaxDouble + 1];
    memcpy(buf, s.data(), s.size());
    buf[s.size()] = '\0';
    char* end = nullptr;
    out = strtod(buf, &end);
    return end == buf + s.size();
}

bool is_big_number(std::string_view s) noexcept {
    if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
    if (s.empty()) return false;
    for (char c : s)
        if (c < '0' || c > '9') return false;
    return true;
}

char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

size_t decimal_digits(uint64_t v) noexcept {
    size_t n = 1;
    while (v >= 10) v /= 10, ++n;
    return n;
}

// Writes "<c><v>\r\n" at out; returns the bytes written.
size_t put_header(char* out, char c, uint64_t v) noexcept {
    const size_t d = decimal_digits(v);
    out[0] = c;
    for (size_t i = d; i > 0; --i, v /= 10) out[i] = static_cast<char>('0' + v % 10);
    out[d + 1] = '\r';
    out[d + 2] = '\n';
    return d + 3;
}

}  // namespace

const char* type_name(Type t) noexcept {
    static constexpr const char* kNames[] = {
        [static_cast<int>(Type::kSimple)] = "simple string",
        [static_cast<int>(Type::kError)] = "error",
        [static_cast<int>(Type::kInteger)] = "integer",
        [static_cast<int>(Type::kBulk)] = "bulk string",
        [static_cast<int>(Type::kArray)] = "array",
        [static_cast<int>(Type::kNull)] = "null",
        [static_cast<int>(Type::kBoolean)] = "boolean",
        [static_cast<int>(Type::kDouble)] = "double",
        [static_cast<int>(Type::kBigNumber)] = "big number",
        [static_cast<int>(Type::kVerbatim)] = "verbatim string",
        [static_cast<int>(Type::kMap)] = "map",
        [static_cast<int>(Type::kSet)] = "set",
        [static_cast<int>(Type::kPush)] = "push",
    };
    return kNames[static_cast<int>(t)];
}

std::string_view Value::str() const noexcept {
    const Node& n = nodes_[i_];
    switch (n.type) {
        case Type::kSimple:
        case Type::kError:
        case Type::kBulk:
        case Type::kDouble:
        case Type::kBigNumber: return {bytes_ + n.off, n.size};
        case Type::kVerbatim: return {bytes_ + n.off + 4, n.size - 4};
        default: return {};
    }
}

std::string_view Value::format() const noexcept {
    const Node& n = nodes_[i_];
    return n.type == Type::kVerbatim ? std::string_view(bytes_ + n.off, 3) : std::string_view();
}

Value Value::at(size_t k) const noexcept {
    uint32_t j = i_ + 1;
    while (k-- > 0) j = nodes_[j].end;
    return Value(nodes_, bytes_, j);
}

bool Value::is(std::string_view s) const noexcept {
    const std::string_view v = str();
    if (v.size() != s.size() || (type() != Type::kBulk && type() != Type::kSimple && type() != Type::kVerbatim))
        return false;
    for (size_t i = 0; i < v.size(); ++i)
        if (lower(v[i]) != lower(s[i])) return false;
    return true;
}

void RespParser::reset() noexcept {
    raw_.clear();
    nodes_.clear();
    stack_.clear();
    phase_ = Phase::kType;
    done_ = false;
    error_ = nullptr;
}

void RespParser::trim(size_t keep) noexcept {
    if (raw_.capacity() > keep) {
        std::string copy(raw_);
        raw_.swap(copy);
    }
    if (nodes_.capacity() * sizeof(Node) > keep) nodes_.shrink_to_fit();
}

Parse RespParser::fail(const char* why) noexcept {
    error_ = why;
    return Parse::kError;
}

bool RespParser::append(const char* p, size_t n) noexcept {
    if (raw_.size() + n > limits_.max_reply) return refuse("reply longer than the limit");
    raw_.append(p, n);
    return true;
}

uint32_t RespParser::add_node(Type t) noexcept {
    const auto i = static_cast<uint32_t>(nodes_.size());
    Node& n = nodes_.emplace_back();
    n.type = t;
    n.end = i + 1;
    return i;
}

Parse RespParser::feed(const char* in, size_t n, size_t& used) noexcept {
    used = 0;
    if (error_) return Parse::kError;
    if (done_) {
        raw_.clear();
        nodes_.clear();
        done_ = false;
    }
    while (used < n) {
        switch (phase_) {
            case Phase::kType: {
                type_ = in[used];
                if (!strchr("+-:$*_#,(!=%~>|", type_) || type_ == '\0') return fail("not a RESP type byte");
                if (!append(in + used, 1)) return Parse::kError;
                ++used;
                line_start_ = static_cast<uint32_t>(raw_.size());
                phase_ = Phase::kLine;
                break;
            }
            case Phase::kLine: {
                const char* nl = static_cast<const char*>(memchr(in + used, '\n', n - used));
                const size_t take = nl ? static_cast<size_t>(nl - in) + 1 - used : n - used;
                // The line and its CR, and the LF once it is there.
                if (raw_.size() - line_start_ + take > kMaxLine + (nl ? 2 : 1)) return fail("line longer than the limit");
                if (!append(in + used, take)) return Parse::kError;
                used += take;
                if (!nl) break;
                if (!on_line()) return Parse::kError;
                if (done_) return Parse::kDone;
                break;
            }
            case Phase::kBlob: {
                const size_t take = blob_need_ < n - used ? static_cast<size_t>(blob_need_) : n - used;
                if (!append(in + used, take)) return Parse::kError;
                used += take;
                blob_need_ -= take;
                if (blob_need_ > 0) break;
                if (!on_blob()) return Parse::kError;
                if (done_) return Parse::kDone;
                break;
            }
        }
    }
    return Parse::kNeedMore;
}

bool RespParser::refuse(const char* why) noexcept {
    error_ = why;
    return false;
}

bool RespParser::null_value() noexcept {
    add_node(Type::kNull);
    value_done();
    return true;
}

bool RespParser::header_count(std::string_view line, bool null_ok, bool aggregate, int64_t& v) noexcept {
    if (line == "?")
        return refuse(aggregate ? "streamed aggregates are not supported" : "streamed strings are not supported");
    if (!parse_int(line, v) || v < -1 || (v == -1 && !null_ok))
        return refuse(aggregate ? "malformed element count" : "malformed length");
    return true;
}

bool RespParser::on_line() noexcept {
    const size_t end = raw_.size() - 2;
    if (raw_.size() < static_cast<size_t>(line_start_) + 2 || raw_[end] != '\r') return refuse("line not ended by CRLF");
    const std::string_view line(raw_.data() + line_start_, end - line_start_);
    if (line.find('\r') != std::string_view::npos) return refuse("CR inside a line");
    phase_ = Phase::kType;
    int64_t v = 0;
    switch (type_) {
        case '+':
        case '-':
        case '(': {
            if (type_ == '(' && !is_big_number(line)) return refuse("malformed big number");
            const Type t = type_ == '+' ? Type::kSimple : type_ == '-' ? Type::kError : Type::kBigNumber;
            Node& node = nodes_[add_node(t)];
            node.off = line_start_;
            node.size = static_cast<uint32_t>(line.size());
            value_done();
            return true;
        }
        case ':':
            if (!parse_int(line, v)) return refuse("malformed integer");
            nodes_[add_node(Type::kInteger)].integer = v;
            value_done();
            return true;
        case '_':
            if (!line.empty()) return refuse("malformed null");
            return null_value();
        case '#':
            if (line != "t" && line != "f") return refuse("malformed boolean");
            nodes_[add_node(Type::kBoolean)].integer = line == "t";
            value_done();
            return true;
        case ',': {
            double d = 0;
            if (!parse_double(line, d)) return refuse("malformed double");
            Node& node = nodes_[add_node(Type::kDouble)];
            node.number = d;
            node.off = line_start_;
            node.size = static_cast<uint32_t>(line.size());
            value_done();
            return true;
        }
        case '$':
        case '!':
        case '=': {
            if (!header_count(line, type_ == '$', false, v)) return false;
            if (v == -1) return null_value();  // RESP2 null bulk string
            if (static_cast<uint64_t>(v) > limits_.max_bulk) return refuse("bulk string longer than the limit");
            if (type_ == '=' && v < 4) return refuse("verbatim string without a format");
            const Type t = type_ == '$' ? Type::kBulk : type_ == '!' ? Type::kError : Type::kVerbatim;
            blob_node_ = add_node(t);
            nodes_[blob_node_].off = static_cast<uint32_t>(raw_.size());
            nodes_[blob_node_].size = static_cast<uint32_t>(v);
            blob_need_ = static_cast<uint64_t>(v) + 2;
            phase_ = Phase::kBlob;
            return true;
        }
        case '*':
        case '~':
        case '>':
        case '%':
        case '|': {
            if (!header_count(line, type_ == '*', true, v)) return false;
            if (v == -1) return null_value();  // RESP2 null array
            // Bounded before a map's count is doubled: a count near INT64_MAX must not overflow.
            if (v > static_cast<int64_t>(limits_.max_elements)) return refuse("aggregate with more elements than the limit");
            const bool pairs = type_ == '%' || type_ == '|';
            const Type t = type_ == '*' ? Type::kArray : type_ == '~' ? Type::kSet : type_ == '>' ? Type::kPush : Type::kMap;
            return open_aggregate(t, pairs ? 2 * v : v, type_ == '|');
        }
        default: break;
    }
    return refuse("not a RESP type byte");
}

bool RespParser::open_aggregate(Type t, int64_t count, bool attribute) noexcept {
    if (count > static_cast<int64_t>(limits_.max_elements)) return refuse("aggregate with more elements than the limit");
    if (count > 0 && stack_.size() >= limits_.max_depth) return refuse("aggregates nested deeper than the limit");
    Frame f{kAttribute, static_cast<uint32_t>(count), static_cast<uint32_t>(nodes_.size())};
    if (!attribute) {
        f.node = add_node(t);
        nodes_[f.node].size = static_cast<uint32_t>(count);
    }
    if (count > 0) {
        stack_.push_back(f);
        return true;
    }
    if (!attribute) value_done();  // an empty attribute is nothing at all
    return true;
}

bool RespParser::on_blob() noexcept {
    const size_t end = raw_.size() - 2;
    if (raw_[end] != '\r' || raw_[end + 1] != '\n') return refuse("string not ended by CRLF");
    phase_ = Phase::kType;
    const Node& n = nodes_[blob_node_];
    if (n.type == Type::kVerbatim && raw_[n.off + 3] != ':') return refuse("verbatim string without a format");
    value_done();
    return true;
}

void RespParser::value_done() noexcept {
    while (!stack_.empty()) {
        Frame& f = stack_.back();
        if (--f.remaining > 0) return;
        if (f.node == kAttribute) {
            // The attribute is complete and dropped; the value it describes is still to come
            // and counts where the attribute stood.
            nodes_.resize(f.mark);
            stack_.pop_back();
            return;
        }
        nodes_[f.node].end = static_cast<uint32_t>(nodes_.size());
        stack_.pop_back();
    }
    done_ = true;
}

size_t encode_command(std::span<const std::string_view> args, char* out, size_t cap) noexcept {
    size_t need = 3 + decimal_digits(args.size());
    for (std::string_view a : args) need += 5 + decimal_digits(a.size()) + a.size();
    if (need > cap) return need;
    char* p = out + put_header(out, '*', args.size());
    for (std::string_view a : args) {
        p += put_header(p, '$', a.size());
        if (!a.empty()) memcpy(p, a.data(), a.size());
        p += a.size();
        *p++ = '\r';
        *p++ = '\n';
    }
    return need;
}

}  // namespace wspush::redis
