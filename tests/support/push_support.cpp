#include "support/push_support.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <csignal>
#include <poll.h>

#include "support/process_info.h"

namespace wspush::testing {
namespace {

// Recursive descent over RFC 8259, depth-bounded.
class JsonReader {
public:
    explicit JsonReader(std::string_view s) : s_(s) {}

    bool document(Json& out) {
        if (!value(out, 0)) return false;
        space();
        return at_ == s_.size();
    }

private:
    static constexpr int kMaxDepth = 64;

    void space() {
        while (at_ < s_.size() && (s_[at_] == ' ' || s_[at_] == '\t' || s_[at_] == '\n' || s_[at_] == '\r')) ++at_;
    }
    bool eat(char c) {
        space();
        if (at_ < s_.size() && s_[at_] == c) {
            ++at_;
            return true;
        }
        return false;
    }
    bool word(std::string_view w) {
        if (s_.substr(at_, w.size()) != w) return false;
        at_ += w.size();
        return true;
    }

    bool value(Json& out, int depth) {
        if (depth > kMaxDepth) return false;
        space();
        if (at_ >= s_.size()) return false;
        switch (s_[at_]) {
            case '{': return object(out, depth);
            case '[': return array(out, depth);
            case '"': out.kind = Json::Kind::kString; return string(out.text);
            case 't': out.kind = Json::Kind::kBool; out.boolean = true; return word("true");
            case 'f': out.kind = Json::Kind::kBool; return word("false");
            case 'n': out.kind = Json::Kind::kNull; return word("null");
            default: out.kind = Json::Kind::kNumber; return number(out.text);
        }
    }

    bool object(Json& out, int depth) {
        out.kind = Json::Kind::kObject;
        ++at_;
        if (eat('}')) return true;
        do {
            space();
            std::pair<std::string, Json> m;
            if (at_ >= s_.size() || s_[at_] != '"' || !string(m.first) || !eat(':') || !value(m.second, depth + 1))
                return false;
            out.members.push_back(std::move(m));
        } while (eat(','));
        return eat('}');
    }

    bool array(Json& out, int depth) {
        out.kind = Json::Kind::kArray;
        ++at_;
        if (eat(']')) return true;
        do {
            out.items.emplace_back();
            if (!value(out.items.back(), depth + 1)) return false;
        } while (eat(','));
        return eat(']');
    }

    bool digits() {
        size_t from = at_;
        while (at_ < s_.size() && s_[at_] >= '0' && s_[at_] <= '9') ++at_;
        return at_ > from;
    }

    bool number(std::string& out) {
        size_t from = at_;
        if (at_ < s_.size() && s_[at_] == '-') ++at_;
        if (at_ < s_.size() && s_[at_] == '0') ++at_;
        else if (!digits()) return false;
        if (at_ < s_.size() && s_[at_] == '.' && (++at_, !digits())) return false;
        if (at_ < s_.size() && (s_[at_] == 'e' || s_[at_] == 'E')) {
            ++at_;
            if (at_ < s_.size() && (s_[at_] == '+' || s_[at_] == '-')) ++at_;
            if (!digits()) return false;
        }
        out.assign(s_.substr(from, at_ - from));
        return true;
    }

    bool hex4(uint32_t& v) {
        if (s_.size() - at_ < 4) return false;
        v = 0;
        for (int i = 0; i < 4; ++i) {
            char c = s_[at_++];
            int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
            if (d < 0) return false;
            v = v * 16 + static_cast<uint32_t>(d);
        }
        return true;
    }

    static void put_utf8(std::string& out, uint32_t cp) {
        if (cp < 0x80) {
            out += static_cast<char>(cp);
        } else if (cp < 0x800) {
            out += static_cast<char>(0xC0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out += static_cast<char>(0xE0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else {
            out += static_cast<char>(0xF0 | (cp >> 18));
            out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        }
    }

    bool escape(std::string& out) {
        if (at_ >= s_.size()) return false;
        char c = s_[at_++];
        switch (c) {
            case '"': case '\\': case '/': out += c; return true;
            case 'b': out += '\b'; return true;
            case 'f': out += '\f'; return true;
            case 'n': out += '\n'; return true;
            case 'r': out += '\r'; return true;
            case 't': out += '\t'; return true;
            case 'u': break;
            default: return false;
        }
        uint32_t cp;
        if (!hex4(cp)) return false;
        if (cp >= 0xDC00 && cp <= 0xDFFF) return false;  // a lone low surrogate
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t lo;
            if (!word("\\u") || !hex4(lo) || lo < 0xDC00 || lo > 0xDFFF) return false;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        put_utf8(out, cp);
        return true;
    }

    bool string(std::string& out) {
        ++at_;  // the opening quote
        for (;;) {
            if (at_ >= s_.size()) return false;
            char c = s_[at_++];
            if (c == '"') return true;
            if (static_cast<unsigned char>(c) < 0x20) return false;  // must be escaped
            if (c != '\\') out += c;
            else if (!escape(out)) return false;
        }
    }

    std::string_view s_;
    size_t at_ = 0;
};

}  // namespace

const Json* Json::get(std::string_view key) const {
    if (kind != Kind::kObject) return nullptr;
    for (const auto& [k, v] : members)
        if (k == key) return &v;
    return nullptr;
}

std::optional<uint64_t> Json::uint() const {
    uint64_t v;
    if (kind != Kind::kNumber) return std::nullopt;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || p != text.data() + text.size()) return std::nullopt;
    return v;
}

std::vector<std::string> Json::keys() const {
    std::vector<std::string> out;
    for (const auto& m : members) out.push_back(m.first);
    return out;
}

std::optional<Json> parse_json(std::string_view s) {
    Json j;
    JsonReader r(s);
    if (!r.document(j)) return std::nullopt;
    return j;
}

bool subscribe(RawClient& c, uint16_t port, std::string_view target, bool envelope) {
    if (!c.connect(port)) return false;
    std::string head;
    if (c.upgrade(target, envelope ? kEnvelopeHeader : std::string_view{}, &head) != 101) return false;
    return !envelope || head.find("Sec-WebSocket-Protocol: wspush.v1\r\n") != std::string::npos;
}

std::optional<Frame> read_data(RawClient& c, int timeout_ms) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        auto f = c.read_frame(static_cast<int>(std::max<int64_t>(left.count(), 0)));
        if (!f || f->opcode == 0x8) return std::nullopt;
        if (f->opcode == 0x1 || f->opcode == 0x2) return f;
    }
}

::testing::AssertionResult next_data_is(RawClient& c, std::string_view payload, uint8_t opcode, int timeout_ms) {
    auto f = read_data(c, timeout_ms);
    if (!f) return ::testing::AssertionFailure() << "no data frame (timeout, EOF or Close)";
    if (f->opcode != opcode || f->payload != payload) {
        auto shown = [](std::string_view s) { return s.size() > 200 ? std::string(s.substr(0, 200)) + "..." : std::string(s); };
        return ::testing::AssertionFailure() << "got opcode " << int(f->opcode) << " with " << f->payload.size()
                                             << " bytes '" << shown(f->payload) << "', want opcode " << int(opcode)
                                             << " with " << payload.size() << " bytes '" << shown(payload) << "'";
    }
    if (!f->fin || f->masked || f->rsv) return ::testing::AssertionFailure() << "not a final, unmasked frame";
    return ::testing::AssertionSuccess();
}

::testing::AssertionResult next_envelope_is(RawClient& c, std::string_view want, std::string* epoch, int timeout_ms) {
    auto f = read_data(c, timeout_ms);
    if (!f) return ::testing::AssertionFailure() << "no data frame (timeout, EOF or Close)";
    constexpr std::string_view kKey = "\"epoch\":\"";
    std::string got = f->payload;
    size_t at = got.find(kKey);
    if (at == std::string::npos) return ::testing::AssertionFailure() << "no epoch in " << got;
    at += kKey.size();
    std::string e = got.substr(at, 16);
    if (e.size() != 16 || e.find_first_not_of("0123456789abcdef") != std::string::npos || got.compare(at + 16, 1, "\"") != 0)
        return ::testing::AssertionFailure() << "epoch is not 16 lowercase hex digits: " << got;
    got.replace(at, 16, "*");
    if (got != want) return ::testing::AssertionFailure() << "got " << f->payload << ", want " << want;
    if (epoch) *epoch = e;
    return ::testing::AssertionSuccess();
}

std::optional<Json> read_json(RawClient& c, int timeout_ms) {
    auto f = read_data(c, timeout_ms);
    if (!f) return std::nullopt;
    return parse_json(f->payload);
}

uint64_t envelope_seq(const Json& j) {
    const Json* type = j.get("type");
    const Json* seq = j.get("seq");
    if (!type || type->text != "msg" || !seq) return 0;
    return seq->uint().value_or(0);
}

void publish_numbered(ControlConn& ctl, const std::string& ch, uint64_t from, uint64_t to) {
    std::string batch;
    for (uint64_t s = from; s <= to; ++s) batch += "PUB " + ch + " m" + std::to_string(s) + "\n";
    ASSERT_TRUE(ctl.send(batch));
    for (uint64_t s = from; s <= to; ++s) {
        auto l = ctl.read_line();
        ASSERT_TRUE(l) << "no reply for seq " << s;
        ASSERT_EQ(l->rfind("OK seq=" + std::to_string(s) + " ", 0), 0u) << *l;
    }
}

void expect_numbered(RawClient& c, const std::string& ch, uint64_t from, uint64_t to, std::string_view epoch) {
    for (uint64_t s = from; s <= to; ++s) {
        auto j = read_json(c);
        ASSERT_TRUE(j) << "seq " << s << " missing";
        ASSERT_TRUE(j->get("type") && j->get("channel") && j->get("data") && j->get("epoch")) << "seq " << s;
        ASSERT_EQ(j->get("type")->text, "msg") << "seq " << s;
        EXPECT_EQ(j->get("channel")->text, ch);
        ASSERT_EQ(envelope_seq(*j), s);
        if (!epoch.empty()) {
            EXPECT_EQ(j->get("epoch")->text, epoch) << "seq " << s;
        }
        EXPECT_EQ(j->get("data")->text, "m" + std::to_string(s));
    }
}

std::optional<Json> stats(ControlConn& ctl) {
    auto line = ctl.command("STATS");
    if (!line || line->rfind("OK ", 0) != 0) return std::nullopt;
    return parse_json(std::string_view(*line).substr(3));
}

std::optional<uint64_t> stat(ControlConn& ctl, std::string_view path) {
    auto j = stats(ctl);
    if (!j) return std::nullopt;
    const Json* at = &*j;
    while (at && !path.empty()) {
        size_t dot = path.find('.');
        at = at->get(path.substr(0, dot));
        path = dot == std::string_view::npos ? std::string_view{} : path.substr(dot + 1);
    }
    if (!at) return std::nullopt;
    return at->uint();
}

bool wait_until(const std::function<bool()>& check, int timeout_ms, int pause_ms) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
        if (check()) return true;
        if (std::chrono::steady_clock::now() >= deadline) return false;
        if (pause_ms > 0) poll(nullptr, 0, pause_ms);
    }
}

std::optional<uint64_t> members(ControlConn& ctl, std::string_view ch) {
    auto line = ctl.command("CHANNELS");
    if (!line || line->rfind("OK ", 0) != 0) return std::nullopt;
    auto list = parse_json(std::string_view(*line).substr(3));
    if (!list) return std::nullopt;
    for (const Json& c : list->items) {
        const Json* name = c.get("name");
        const Json* n = c.get("members");
        if (name && n && name->text == ch) return n->uint();
    }
    return 0;  // the server forgets a channel with no members and no history
}

std::optional<Json> channel_of(ControlConn& ctl, std::string_view ch) {
    auto line = ctl.command("CHANNELS");
    if (!line || line->rfind("OK ", 0) != 0) return std::nullopt;
    auto list = parse_json(std::string_view(*line).substr(3));
    if (!list) return std::nullopt;
    for (const Json& c : list->items) {
        const Json* name = c.get("name");
        if (name && name->text == ch) return c;
    }
    return std::nullopt;
}

std::string epoch_of(ControlConn& ctl, std::string_view ch) {
    auto c = channel_of(ctl, ch);
    const Json* epoch = c ? c->get("epoch") : nullptr;
    return epoch ? epoch->text : std::string();
}

bool control(ControlConn& ctl, const ServerProcess& srv) { return ctl.connect(srv.control_path()); }

std::optional<std::string> read_block(ControlConn& ctl, size_t n, int timeout_ms) {
    // Lines split only at LF: joining them with LF gives the bytes back.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    std::string out;
    while (out.size() < n + 1) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        auto line = ctl.read_line(static_cast<int>(std::max<int64_t>(left.count(), 0)));
        if (!line) return std::nullopt;
        out += *line;
        out += '\n';
    }
    if (out.size() != n + 1) return std::nullopt;
    out.pop_back();
    return out;
}

std::string http_exchange(uint16_t port, std::string_view request) {
    RawClient c;
    if (!c.connect(port) || !c.send_all(request)) return {};
    return c.read_http();
}

std::string http_get(uint16_t port, std::string_view target) {
    std::string req = "GET ";
    req += target;
    req += " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    return http_exchange(port, req);
}

int http_status(std::string_view response) {
    if (response.size() < 12 || response.substr(0, 5) != "HTTP/") return 0;
    int status = 0;
    std::from_chars(response.data() + 9, response.data() + 12, status);
    return status;
}

bool PushServerTest::start(std::vector<std::string> args) {
    if (!srv_.start(std::move(args))) {
        ADD_FAILURE() << "server did not start:\n" << srv_.log();
        return false;
    }
    if (!control(ctl_, srv_)) {
        ADD_FAILURE() << "control socket " << srv_.control_path() << " refused:\n" << srv_.log();
        return false;
    }
    return true;
}

void PushServerTest::TearDown() {
    ctl_.close();
    if (srv_.pid() > 0) {
        EXPECT_EQ(srv_.stop(SIGTERM), 0) << "exit status after SIGTERM";
    }
    std::string log = srv_.log();
    EXPECT_EQ(memory_error_report(log), "") << log;
}

std::string PushServerTest::cmd(std::string_view line) { return ctl_.command(line).value_or("<timeout>"); }

void SeqCheck::add(uint64_t seq) {
    ++count_;
    if (seq != last_ + 1 && error_.empty())
        error_ = "after seq " + std::to_string(last_) + " came " + std::to_string(seq) + " (arrival " +
                 std::to_string(count_) + ")";
    last_ = seq;
}

}  // namespace wspush::testing
