// Test support for push mode: a small JSON reader (objects keep their key order, so the
// envelope's key order can be checked), subscriber and STATS helpers, a strict sequence
// check, and one-shot HTTP requests. Every wait is bounded.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "support/test_server.h"

namespace wspush::testing {

// A parsed JSON value.
struct Json {
    enum class Kind : uint8_t { kNull, kBool, kNumber, kString, kArray, kObject };
    Kind kind = Kind::kNull;
    bool boolean = false;
    std::string text;                                   // kString: decoded; kNumber: as written
    std::vector<Json> items;                            // kArray
    std::vector<std::pair<std::string, Json>> members;  // kObject, in document order

    // Member `key` of an object; nullptr when absent or not an object.
    [[nodiscard]] const Json* get(std::string_view key) const;
    // A number that is a non-negative integer; nullopt otherwise.
    [[nodiscard]] std::optional<uint64_t> uint() const;
    // An object's keys in document order.
    [[nodiscard]] std::vector<std::string> keys() const;
};

// Parses one JSON document (RFC 8259; \u escapes, surrogate pairs included, decode to
// UTF-8). nullopt on any syntax error or trailing garbage.
[[nodiscard]] std::optional<Json> parse_json(std::string_view s);

// The request header that negotiates the wspush.v1 envelope.
inline constexpr std::string_view kEnvelopeHeader = "Sec-WebSocket-Protocol: wspush.v1\r\n";

// Connects c to 127.0.0.1:port and upgrades at `target`, offering wspush.v1 when
// `envelope`. True on 101 (with the envelope protocol chosen when it was offered).
[[nodiscard]] bool subscribe(RawClient& c, uint16_t port, std::string_view target,
                             bool envelope = false);

// The next text or binary frame, skipping Ping and Pong; nullopt on timeout, EOF or Close.
[[nodiscard]] std::optional<Frame> read_data(RawClient& c, int timeout_ms = 5000);

// Whether the next data frame on c carries exactly `payload` with `opcode` (0x1 text,
// 0x2 binary); the failure message says what came instead.
[[nodiscard]] ::testing::AssertionResult next_data_is(RawClient& c, std::string_view payload, uint8_t opcode = 0x1,
                                                      int timeout_ms = 5000);

// Whether the next data frame on c is the envelope `want`, in which `"epoch":"*"` stands
// for the channel's epoch (16 lowercase hex digits); the epoch seen goes to *epoch.
[[nodiscard]] ::testing::AssertionResult next_envelope_is(RawClient& c, std::string_view want,
                                                          std::string* epoch = nullptr, int timeout_ms = 5000);

// The next data frame parsed as JSON; nullopt on timeout, EOF, Close or bad JSON.
[[nodiscard]] std::optional<Json> read_json(RawClient& c, int timeout_ms = 5000);

// The seq of a {"type":"msg",...} envelope; 0 when it is not one.
[[nodiscard]] uint64_t envelope_seq(const Json& j);

// Publishes "m<seq>" on ch for seqs from..to, pipelined on ctl, checking that the replies
// give those seqs (a fatal failure otherwise).
void publish_numbered(ControlConn& ctl, const std::string& ch, uint64_t from, uint64_t to);
// Reads the envelopes of seqs from..to of ch from c, in order, each with data "m<seq>" and,
// when `epoch` is not empty, that epoch (a fatal failure otherwise).
void expect_numbered(RawClient& c, const std::string& ch, uint64_t from, uint64_t to, std::string_view epoch = {});

// Sends STATS and parses the JSON after "OK ". nullopt when the reply is anything else.
[[nodiscard]] std::optional<Json> stats(ControlConn& ctl);
// One STATS figure by dotted path ("drops.idle_timeout"); nullopt when missing.
[[nodiscard]] std::optional<uint64_t> stat(ControlConn& ctl, std::string_view path);

// Re-evaluates `check` until it is true or timeout_ms have passed, pausing pause_ms between
// evaluations (0: check should itself wait, e.g. a control round trip). True if it became
// true.
[[nodiscard]] bool wait_until(const std::function<bool()>& check, int timeout_ms = 5000, int pause_ms = 0);

// The member count CHANNELS reports for channel ch (0 when it is not listed: the server
// forgets a channel with no members and no history); nullopt when CHANNELS fails.
[[nodiscard]] std::optional<uint64_t> members(ControlConn& ctl, std::string_view ch);

// The epoch CHANNELS reports for channel ch (16 hex digits); empty when it is not listed.
[[nodiscard]] std::string epoch_of(ControlConn& ctl, std::string_view ch);

// The entry CHANNELS reports for channel ch ({"name":…,"members":…,"epoch":…,"last_seq":…,…});
// nullopt when it is not listed or CHANNELS fails.
[[nodiscard]] std::optional<Json> channel_of(ControlConn& ctl, std::string_view ch);

// Connects a control client to srv's control socket (false if that fails).
[[nodiscard]] bool control(ControlConn& ctl, const ServerProcess& srv);

// Reads a TAIL block: exactly n raw bytes followed by LF (the bytes may contain LFs).
// nullopt on timeout or when the byte after them is not LF.
[[nodiscard]] std::optional<std::string> read_block(ControlConn& ctl, size_t n, int timeout_ms = 5000);

// A whole HTTP exchange on a fresh connection: `request` sent as is, the response head and
// (Content-Length) body returned. Empty on connect failure or timeout.
[[nodiscard]] std::string http_exchange(uint16_t port, std::string_view request);
// GET target with a Host header.
[[nodiscard]] std::string http_get(uint16_t port, std::string_view target);
// The status code of an HTTP response (0 if it is not one).
[[nodiscard]] int http_status(std::string_view response);

// Checks a stream of sequence numbers: each must be exactly one more than the one before.
// Keeps the first violation.
class SeqCheck {
public:
    explicit SeqCheck(uint64_t last = 0) noexcept : last_(last) {}
    void add(uint64_t seq);
    [[nodiscard]] uint64_t last() const noexcept { return last_; }
    [[nodiscard]] uint64_t count() const noexcept { return count_; }
    [[nodiscard]] bool ok() const noexcept { return error_.empty(); }
    [[nodiscard]] const std::string& error() const noexcept { return error_; }

private:
    uint64_t last_;
    uint64_t count_ = 0;
    std::string error_;
};

// A fixture owning a server (push mode unless the arguments say otherwise) and one control
// connection to it. At the end the server must exit 0 on SIGTERM with no sanitizer or
// valgrind report in its log (valgrind's --error-exitcode makes the exit status non-zero too).
class PushServerTest : public ::testing::Test {
protected:
    void TearDown() override;
    // Starts the server with `args` and connects ctl_. False (with the server's log as a
    // test failure) when either fails.
    [[nodiscard]] bool start(std::vector<std::string> args = {});
    // One command on ctl_: its reply line, or "<timeout>".
    std::string cmd(std::string_view line);

    ServerProcess srv_;
    ControlConn ctl_;
};

}  // namespace wspush::testing
