#include "support/conformance.h"

#include <algorithm>

#include "codec/utf8.h"

namespace wspush::testing {
namespace {

constexpr size_t kChunkedPrefix = 1024;
constexpr size_t kChunk = 4093;  // prime: chunk borders fall at every offset mod 4 and mod 8

std::string describe(const Frame& f) {
    std::string s = "opcode " + std::to_string(f.opcode) + ", " + std::to_string(f.payload.size()) + " bytes";
    if (f.opcode == kClose) s += ", code " + std::to_string(f.close_code());
    if (f.payload.size() <= 32 && f.opcode != kBinary) s += " \"" + f.payload + "\"";
    return s;
}

// Where two payloads first differ, for a readable failure on megabyte messages.
std::string first_difference(const std::string& got, const std::string& want) {
    auto at = std::mismatch(got.begin(), got.end(), want.begin(), want.end());
    return "got " + std::to_string(got.size()) + " bytes, want " + std::to_string(want.size()) +
           ", first difference at byte " + std::to_string(at.first - got.begin());
}

}  // namespace

bool deliver(RawClient& c, std::string_view bytes, Delivery how) {
    switch (how) {
        case Delivery::kWhole: return c.send_all(bytes);
        case Delivery::kBytewise: return c.send_bytewise(bytes);
        case Delivery::kChunked: {
            size_t head = std::min(bytes.size(), kChunkedPrefix);
            if (!c.send_bytewise(bytes.substr(0, head))) return false;
            for (size_t at = head; at < bytes.size(); at += kChunk)
                if (!c.send_all(bytes.substr(at, kChunk))) return false;
            return true;
        }
    }
    return false;
}

std::string text(std::string_view payload, bool fin) { return RawClient::frame(kText, payload, fin); }
std::string binary(std::string_view payload, bool fin) { return RawClient::frame(kBinary, payload, fin); }
std::string cont(std::string_view payload, bool fin) { return RawClient::frame(kCont, payload, fin); }
std::string ping(std::string_view payload) { return RawClient::frame(kPing, payload); }
std::string pong(std::string_view payload) { return RawClient::frame(kPong, payload); }
std::string close_raw(std::string_view payload) { return RawClient::frame(kClose, payload); }
std::string close_with(uint16_t code, std::string_view reason) { return RawClient::close_frame(code, reason); }

std::string fragmented(uint8_t op, std::string_view message, size_t size) {
    std::string out;
    size_t at = 0;
    do {
        size_t n = std::min(size, message.size() - at);
        bool fin = at + n == message.size();
        out += RawClient::frame(at == 0 ? op : kCont, message.substr(at, n), fin);
        at += n;
    } while (at < message.size());
    return out;
}

std::string utf8_text(size_t n) {
    constexpr std::string_view kUnit = "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5 \xf0\x9d\x84\x9e \xf4\x8f\xbf\xbf ascii ";
    std::string s;
    s.reserve(n);
    while (s.size() + kUnit.size() <= n) s += kUnit;
    s.append(n - s.size(), '.');
    return s;
}

std::string ascii_bytes(size_t n) {
    std::string s(n, ' ');
    for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(' ' + i % 95);
    return s;
}

std::string all_bytes(size_t n) {
    std::string s(n, '\0');
    for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + i / 256) & 0xFF);
    return s;
}

void PrintTo(const WireCase& c, std::ostream* os) {
    *os << c.name << " (" << c.send.size() << " bytes sent)";
}

WireCase echoes(std::string name, std::string send, std::vector<Reply> replies) {
    return WireCase{std::move(name), std::move(send), std::move(replies), kStaysOpen};
}

WireCase fails(std::string name, std::string send, uint16_t code, std::vector<Reply> replies) {
    return WireCase{std::move(name), std::move(send), std::move(replies), code};
}

std::string delivery_name(Delivery how) {
    switch (how) {
        case Delivery::kWhole: return "Whole";
        case Delivery::kBytewise: return "Bytewise";
        case Delivery::kChunked: return "Chunked";
    }
    return "Unknown";
}

void PrintTo(Delivery how, std::ostream* os) { *os << delivery_name(how); }

std::string delivery_param_name(const ::testing::TestParamInfo<Delivery>& info) { return delivery_name(info.param); }

std::string wire_param_name(const ::testing::TestParamInfo<WireParam>& info) {
    return std::get<0>(info.param).name + delivery_name(std::get<1>(info.param));
}

// ---------------------------------------------------------------- EchoServer

void EchoServer::start(std::vector<std::string> args) {
    server_ = std::make_unique<ServerProcess>();
    if (!server_->start(std::move(args))) {
        failed_log_ = server_->log();
        server_.reset();
    }
}

void EchoServer::stop() {
    // SIGTERM: a clean exit is 0; a crash, a sanitizer report or a hang is not.
    if (server_) {
        EXPECT_EQ(server_->stop(), 0) << "server exit status; its log:\n" << server_->log();
    }
    server_.reset();
    failed_log_.clear();
}

std::string EchoServer::log() { return server_ ? server_->log() : failed_log_; }

// ---------------------------------------------------------------- checks

::testing::AssertionResult open_client(RawClient& c, std::string_view extra_headers) {
    ServerProcess* srv = EchoServer::get();
    if (!srv) return ::testing::AssertionFailure() << "no server: " << EchoServer::log();
    if (!c.connect(srv->port())) return ::testing::AssertionFailure() << "connect failed";
    std::string head;
    int status = c.upgrade("/", extra_headers, &head);
    if (status != 101) return ::testing::AssertionFailure() << "upgrade answered " << status << ":\n" << head;
    return ::testing::AssertionSuccess();
}

::testing::AssertionResult expect_replies(RawClient& c, const std::vector<Reply>& want, int timeout_ms) {
    for (size_t i = 0; i < want.size(); ++i) {
        auto f = c.read_frame(timeout_ms);
        if (!f) return ::testing::AssertionFailure() << "reply " << i << ": nothing within " << timeout_ms << " ms";
        if (f->opcode != want[i].opcode)
            return ::testing::AssertionFailure() << "reply " << i << ": want opcode " << int(want[i].opcode)
                                                 << ", got " << describe(*f);
        if (f->payload != want[i].payload)
            return ::testing::AssertionFailure() << "reply " << i << ": " << first_difference(f->payload, want[i].payload);
        if (!f->fin || f->rsv || f->masked)
            return ::testing::AssertionFailure() << "reply " << i << ": fin " << f->fin << " rsv " << int(f->rsv)
                                                 << " masked " << f->masked << " (want fin, no rsv, unmasked)";
    }
    return ::testing::AssertionSuccess();
}

::testing::AssertionResult expect_still_open(RawClient& c, int timeout_ms) {
    constexpr std::string_view kProbe = "probe: still open?";
    if (!c.send_all(ping(kProbe))) return ::testing::AssertionFailure() << "connection closed (send failed)";
    auto f = c.read_frame(timeout_ms);
    if (!f) return ::testing::AssertionFailure() << "no Pong to the probe Ping within " << timeout_ms << " ms";
    if (f->opcode != kPong || f->payload != kProbe)
        return ::testing::AssertionFailure() << "want the probe's Pong next, got " << describe(*f);
    return ::testing::AssertionSuccess();
}

::testing::AssertionResult expect_close(RawClient& c, int code, int timeout_ms) {
    auto f = c.read_frame(timeout_ms);
    if (!f) return ::testing::AssertionFailure() << "no Close within " << timeout_ms << " ms";
    if (f->opcode != kClose) return ::testing::AssertionFailure() << "want a Close, got " << describe(*f);
    if (f->masked || !f->fin || f->rsv) return ::testing::AssertionFailure() << "Close not a plain server frame";
    if (code == kEmptyClose && !f->payload.empty())
        return ::testing::AssertionFailure() << "want an empty Close, got " << describe(*f);
    if (code != kEmptyClose && f->close_code() != code)
        return ::testing::AssertionFailure() << "want Close " << code << ", got " << describe(*f);
    if (!codec::utf8_valid(f->close_reason()))
        return ::testing::AssertionFailure() << "Close reason is not valid UTF-8";
    if (auto extra = c.read_frame(timeout_ms))
        return ::testing::AssertionFailure() << "frame after the Close: " << describe(*extra);
    if (!c.wait_eof(0)) return ::testing::AssertionFailure() << "server kept TCP open after its Close";
    return ::testing::AssertionSuccess();
}

::testing::AssertionResult expect_server_serves(std::string_view extra_headers) {
    RawClient c;
    if (auto ok = open_client(c, extra_headers); !ok) return ok;
    constexpr std::string_view kMessage = "still serving";
    if (!c.send_all(text(kMessage))) return ::testing::AssertionFailure() << "send failed";
    return expect_replies(c, {{kText, std::string(kMessage)}});
}

// ---------------------------------------------------------------- fixtures

void WireTest::SetUp() {
    if (!EchoServer::get()) FAIL() << "server did not start:\n" << EchoServer::log();
}

void WireTest::run_case(int timeout_ms) {
    const auto& [wc, how] = GetParam();
    RawClient c;
    ASSERT_TRUE(open_client(c));
    // A failing case may be cut short: the server stops reading after its Close.
    bool sent = deliver(c, wc.send, how);
    if (wc.close == kStaysOpen) {
        ASSERT_TRUE(sent);
    }
    ASSERT_TRUE(expect_replies(c, wc.replies, timeout_ms));
    if (wc.close == kStaysOpen) {
        EXPECT_TRUE(expect_still_open(c, timeout_ms));
    } else {
        EXPECT_TRUE(expect_close(c, wc.close, timeout_ms));
        EXPECT_TRUE(expect_server_serves());
    }
}

void EchoSuite::SetUp() {
    if (!EchoServer::get()) FAIL() << "server did not start:\n" << EchoServer::log();
}

}  // namespace wspush::testing
