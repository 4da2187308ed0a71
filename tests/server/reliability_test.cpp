// Reliability of a running server where clients or the machine misbehave: ids a client must
// not be able to claim, resume across a restart (epochs), a client whose input is paused,
// the slow consumer's Close frame, and a storm of connections when descriptors run out.
// Every wait is bounded.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <poll.h>
#include <string>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

#include "support/flood.h"
#include "support/process_info.h"
#include "support/push_support.h"

namespace wspush::testing {
namespace {

using Clock = std::chrono::steady_clock;

long ms_since(Clock::time_point t) {
    return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count());
}

class Reliability : public PushServerTest {
protected:
    // The upgrade status for target on a fresh connection, the response in *head.
    int upgrade_status(std::string_view target, std::string* head = nullptr, bool envelope = false) {
        RawClient c;
        if (!c.connect(srv_.port())) return 0;
        return c.upgrade(target, envelope ? kEnvelopeHeader : std::string_view{}, head);
    }
    // The ids CLIENTS lists for channel ch.
    std::vector<std::string> ids(std::string_view ch) {
        std::vector<std::string> out;
        auto list = parse_json(cmd("CLIENTS " + std::string(ch)).substr(3));
        if (list)
            for (const Json& c : list->items) out.push_back(c.get("id")->text);
        return out;
    }
};

// ------------------------------------------------------------------ client ids

bool server_assigned_form(std::string_view id) {
    return id.size() > 1 && id[0] == 'c' && id.find_first_not_of("0123456789", 1) == std::string_view::npos;
}

// `c<number>` is the form of the ids the server gives anonymous clients: a client may not
// claim one, so SEND c<n> reaches only the client the server named so.
TEST_F(Reliability, ServerAssignedIdsCannotBeClaimed) {
    ASSERT_TRUE(start());
    for (const char* id : {"c1", "c0", "c42", "c007", "c18446744073709551615"}) {
        std::string head;
        EXPECT_EQ(upgrade_status("/ws/x?id=" + std::string(id), &head), 400) << id << ": " << head;
        EXPECT_NE(head.find("\r\n\r\nid of the form c<number> is reserved for server-assigned ids"), std::string::npos)
            << head;
    }
    for (const char* id : {"cam", "c1x", "C1", "xc1", "c-1"}) {
        RawClient named;
        EXPECT_TRUE(subscribe(named, srv_.port(), "/ws/y?id=" + std::string(id))) << id;
    }

    RawClient anon, other;
    ASSERT_TRUE(subscribe(anon, srv_.port(), "/ws/x"));
    ASSERT_TRUE(subscribe(other, srv_.port(), "/ws/x?id=someone"));
    std::string id;
    for (const std::string& i : ids("x"))
        if (i != "someone") id = i;
    ASSERT_TRUE(server_assigned_form(id)) << "anonymous client's id: '" << id << "'";
    RawClient attacker;  // stays connected if the server lets it in
    ASSERT_TRUE(attacker.connect(srv_.port()));
    std::string head;
    EXPECT_EQ(attacker.upgrade("/ws/x?id=" + id, {}, &head), 400) << "an attacker claimed " << id << ": " << head;

    EXPECT_EQ(cmd("SEND " + id + " for you only"), "OK delivered=1");
    EXPECT_TRUE(next_data_is(anon, "for you only"));
    EXPECT_EQ(cmd("PUB x marker"), "OK seq=1 delivered=2") << "only anon and someone are on x";
    EXPECT_TRUE(next_data_is(other, "marker")) << "someone else got the SEND";
    EXPECT_TRUE(next_data_is(anon, "marker"));

    // Ids are not reused: the next anonymous client gets a new one.
    anon.close();
    attacker.close();
    ASSERT_TRUE(wait_until([&] { return stat(ctl_, "connections") == 1u; }));
    RawClient next;
    ASSERT_TRUE(subscribe(next, srv_.port(), "/ws/z"));
    auto now = ids("z");
    ASSERT_EQ(now.size(), 1u);
    EXPECT_TRUE(server_assigned_form(now[0])) << now[0];
    EXPECT_NE(now[0], id);
}

// ------------------------------------------------------------------ epochs

bool is_epoch(std::string_view e) {
    return e.size() == 16 && e.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

std::string envelope(std::string_view epoch, uint64_t seq, std::string_view data) {
    return R"({"type":"msg","channel":"feed","seq":)" + std::to_string(seq) + R"(,"epoch":")" + std::string(epoch) +
           R"(","data":")" + std::string(data) + R"("})";
}

// Publishes "m<seq>" for seqs from..to on channel feed, pipelined, checking each reply.
void publish(ControlConn& ctl, uint64_t from, uint64_t to) {
    std::string batch;
    for (uint64_t s = from; s <= to; ++s) batch += "PUB feed m" + std::to_string(s) + "\n";
    ASSERT_TRUE(ctl.send(batch));
    for (uint64_t s = from; s <= to; ++s) {
        auto l = ctl.read_line();
        ASSERT_TRUE(l);
        ASSERT_EQ(l->rfind("OK seq=" + std::to_string(s) + " ", 0), 0u) << *l;
    }
}

// Every channel's numbering has an epoch, new in every server run. A client that saw seq
// 50 of the previous run is told of the gap (410 without the envelope) instead of getting
// 51.. of the new run; a since= in the current epoch resumes exactly.
TEST_F(Reliability, ResumeAcrossARestartIsAGapInTheNewEpoch) {
    const std::string path = "/tmp/wspush-epoch-" + std::to_string(getpid()) + ".sock";
    unlink(path.c_str());
    std::string e1;
    {
        ServerProcess before;
        ASSERT_TRUE(before.start({"--control", path})) << before.log();
        ControlConn ctl;
        ASSERT_TRUE(control(ctl, before));
        RawClient env;
        ASSERT_TRUE(subscribe(env, before.port(), "/ws/feed", true));
        ASSERT_NO_FATAL_FAILURE(publish(ctl, 1, 50));
        for (uint64_t s = 1; s <= 50; ++s) {
            auto f = read_data(env);
            ASSERT_TRUE(f) << "seq " << s;
            auto j = parse_json(f->payload);
            ASSERT_TRUE(j && j->get("epoch")) << "no epoch in " << f->payload;
            if (s == 1) e1 = j->get("epoch")->text;
            ASSERT_TRUE(is_epoch(e1)) << f->payload;
            ASSERT_EQ(f->payload, envelope(e1, s, "m" + std::to_string(s)));
        }
        ASSERT_EQ(before.stop(), 0) << before.log();
    }
    ASSERT_TRUE(start({"--control", path}));
    ASSERT_NO_FATAL_FAILURE(publish(ctl_, 1, 60));

    std::string e2;
    for (std::string since : {e1 + ".50", "feed:" + e1 + ".50"}) {
        RawClient env;
        ASSERT_TRUE(subscribe(env, srv_.port(), "/ws/feed?since=" + since, true)) << since;
        auto gap = read_data(env);
        ASSERT_TRUE(gap);
        auto j = parse_json(gap->payload);
        ASSERT_TRUE(j && j->get("epoch")) << gap->payload;
        e2 = j->get("epoch")->text;
        EXPECT_TRUE(is_epoch(e2) && e2 != e1) << "new epoch " << e2 << ", old " << e1;
        EXPECT_EQ(gap->payload, R"({"type":"gap","channel":"feed","epoch":")" + e2 + R"(","since":50,"first":1})");
        for (uint64_t s = 1; s <= 60; ++s) ASSERT_TRUE(next_data_is(env, envelope(e2, s, "m" + std::to_string(s))));
    }
    std::string head;
    EXPECT_EQ(upgrade_status("/ws/feed?since=" + e1 + ".50", &head), 410) << head;

    // The current epoch resumes exactly: 56..60, then live.
    RawClient env, raw;
    ASSERT_TRUE(subscribe(env, srv_.port(), "/ws/feed?since=" + e2 + ".55", true));
    ASSERT_TRUE(subscribe(raw, srv_.port(), "/ws/feed?since=feed:" + e2 + ".55"));
    ASSERT_NO_FATAL_FAILURE(publish(ctl_, 61, 61));
    for (uint64_t s = 56; s <= 61; ++s) {
        EXPECT_TRUE(next_data_is(env, envelope(e2, s, "m" + std::to_string(s))));
        EXPECT_TRUE(next_data_is(raw, "m" + std::to_string(s)));
    }
    for (std::string bad : {std::string(16, 'z') + ".5", e2.substr(0, 15) + ".5", e2 + "0.5", "feed:" + e2 + ".x"}) {
        EXPECT_EQ(upgrade_status("/ws/feed?since=" + bad, &head, true), 400) << bad << ": " << head;
    }
}

// ------------------------------------------------------------------ paused input

constexpr const char* kPausedFlags[] = {"--idle-timeout", "1s", "--ping-interval", "300ms", "--send-buffer", "4K"};

// Reads frames until done(frame), answering the server's Pings and sending `keepalive`
// every 250 ms, as a live client does (reading what backed up may take longer than
// --idle-timeout). Fails on a Close, or 5 s of silence.
::testing::AssertionResult read_until(RawClient& c, const std::function<bool(const Frame&)>& done,
                                      const std::string& keepalive) {
    auto last = Clock::now();
    for (int n = 0;; ++n) {
        if (ms_since(last) >= 250) {
            if (!c.send_all(keepalive)) return ::testing::AssertionFailure() << "send failed";
            last = Clock::now();
        }
        auto f = c.read_frame(5000);
        if (!f) return ::testing::AssertionFailure() << "nothing after " << n << " frames";
        if (f->opcode == 0x8)
            return ::testing::AssertionFailure() << "Close " << f->close_code() << " " << f->close_reason() << " after "
                                                 << n << " frames";
        if (done(*f)) return ::testing::AssertionSuccess();
        if (f->opcode == 0x9 && !c.send_frame(0xA, f->payload)) return ::testing::AssertionFailure() << "send failed";
    }
}

// Lets a client that kept its window small read quickly from now on.
void widen_receive_buffer(int fd) {
    int size = 1 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
}

// Sends `burst` at once, then one frame from next() every 20 ms for 3 s, never reading.
// Returns how many trickle frames went out; fails if the server stopped taking bytes.
void burst_then_trickle(RawClient& c, const std::string& burst, const std::function<std::string()>& next) {
    ASSERT_EQ(send_until_stalled(c.fd(), burst, 2000), burst.size());
    auto t0 = Clock::now();
    while (ms_since(t0) < 3000) {
        std::string f = next();
        ASSERT_EQ(send_until_stalled(c.fd(), f, 2000), f.size()) << "the server stopped reading or closed";
        poll(nullptr, 0, 20);  // a steady trickle, not a flood
    }
}

// A 125-byte Ping payload starting with a decimal counter.
std::string ping_payload(int i) {
    std::string p = std::to_string(i) + " ";
    return p + std::string(125 - p.size(), 'p');
}

// A client sends a burst of 40,000 Pings (5 MB of Pongs: more than the kernel buffers
// towards it), then one every 20 ms for 3 s, never reading. Its Pongs may back up in the
// server, which may stop reading it, but bytes keep arriving from it: it is neither closed
// as idle after --idle-timeout 1s nor judged a slow consumer.
TEST_F(Reliability, ClientSendingPingsWithoutReadingIsNotClosedAsIdle) {
    std::vector<std::string> flags(std::begin(kPausedFlags), std::end(kPausedFlags));
    ASSERT_TRUE(start(flags));
    RawClient c;
    ASSERT_TRUE(c.connect_small_window(srv_.port()));
    ASSERT_EQ(c.upgrade("/ws/x"), 101);
    int sent = 0;
    std::string burst;
    while (sent < 40000) burst += RawClient::frame(0x9, ping_payload(++sent));
    ASSERT_NO_FATAL_FAILURE(burst_then_trickle(c, burst, [&] { return RawClient::frame(0x9, ping_payload(++sent)); }));
    EXPECT_EQ(stat(ctl_, "drops.idle_timeout"), 0u);
    EXPECT_EQ(stat(ctl_, "connections"), 1u);
    // It reads now: Pongs up to its last Ping's, and a publication behind them. (Its
    // keepalive Pings repeat the last payload: a Pong that replaces another answers the same.)
    widen_receive_buffer(c.fd());
    const std::string keepalive = RawClient::frame(0x9, ping_payload(sent));
    EXPECT_TRUE(read_until(
        c, [&](const Frame& f) { return f.opcode == 0xA && f.payload == ping_payload(sent); }, keepalive));
    EXPECT_EQ(cmd("PUB x still open"), "OK seq=1 delivered=1");
    EXPECT_TRUE(read_until(c, [](const Frame& f) { return f.opcode == 0x1 && f.payload == "still open"; }, keepalive));
}

// ------------------------------------------------------------------ slow consumer

// The kernel holds a few MiB for a subscriber with a full window. This one stops reading
// until the server gives up on it, then reads again at once, but slowly (16 KiB every 20 ms:
// those MiB take longer than the 2 s linger): it gets whole frames in order and last the
// Close 1008 "slow consumer", not EOF. The server keeps the connection while the client is
// still taking its bytes (a socket closed with unsent data is the kernel's to throw away
// under memory pressure), and lets it go once the Close is read.
TEST_F(Reliability, SlowConsumerThatReadsAgainGetsItsCloseAfterItsLastFrame) {
    ASSERT_TRUE(start({"--send-buffer", "64K"}));
    RawClient slow;
    ASSERT_TRUE(subscribe(slow, srv_.port(), "/ws/flood"));
    const std::string filler(4000, 's');
    int published = 0;
    ASSERT_TRUE(wait_until([&] {
        std::string batch;
        for (int i = 0; i < 16; ++i) batch += "PUB flood " + std::to_string(++published) + " " + filler + "\n";
        if (!ctl_.send(batch)) return false;
        for (int i = 0; i < 16; ++i)
            if (!ctl_.read_line()) return false;
        return stat(ctl_, "drops.slow_consumer") == 1u;
    }, 20000)) << "never declared slow after " << published << " messages";

    FrameScanner scan(slow.fd());
    scan.pace(16 * 1024, 20);
    Frame f;
    int data = 0;
    bool closed = false;
    long held_at_ms = -1;  // when, past the first linger, the server still held the socket
    const auto t0 = Clock::now();
    while (!closed && scan.next(f, 5000)) {
        closed = f.opcode == 0x8;
        if (closed) break;
        ASSERT_EQ(f.opcode, 0x1);
        ASSERT_EQ(f.payload, std::to_string(data + 1) + " " + filler) << "frame " << data + 1;
        ++data;
        if (held_at_ms < 0 && ms_since(t0) > 3000 && stat(ctl_, "sockets") == 1u) held_at_ms = ms_since(t0);
    }
    ASSERT_TRUE(closed) << "EOF without a Close frame after " << data << " of " << published << " frames, "
                        << ms_since(t0) << " ms of reading";
    EXPECT_EQ(f.close_code(), 1008);
    EXPECT_EQ(f.close_reason(), "slow consumer");
    EXPECT_GT(held_at_ms, 3000) << "the server let the socket go while the client was still reading ("
                                << ms_since(t0) << " ms of reading)";
    EXPECT_FALSE(scan.next(f, 5000)) << "a frame after the Close";
    EXPECT_TRUE(wait_until([&] { return stat(ctl_, "sockets") == 0u; }, 5000)) << "still held after the Close";
}

// A subscriber with a small window is judged slow in the middle of a 300 KB frame, so the
// server still holds most of that frame in its own queue, more than the kernel takes at once.
// It then reads steadily at 10 KB/s. Each time the kernel has room, the server hands it
// another piece (and the kernel's unsent count rises), between those writes the count falls:
// the client is taking bytes all along, so the server must hold the socket until it has
// taken nearly everything, then the Close 1008, never EOF inside the frame.
// (Its own suite: half a minute of slow reading that loads nothing, so it runs beside the
// other tests rather than alone with the Reliability suite.)
class SlowClose : public Reliability {};

TEST_F(SlowClose, SlowConsumerInsideALargeFrameIsHeldWhileItKeepsReading) {
    ASSERT_TRUE(start({"--send-buffer", "64K"}));
    RawClient slow;
    ASSERT_TRUE(slow.connect_small_window(srv_.port(), 4096, 1024));
    ASSERT_EQ(slow.upgrade("/ws/big"), 101);
    const std::string big(300000, 'B');
    ASSERT_EQ(cmd("PUB big " + big), "OK seq=1 delivered=1");
    const std::string filler(4000, 's');
    int published = 1;
    ASSERT_TRUE(wait_until([&] {
        ++published;
        return cmd("PUB big " + filler).starts_with("OK seq=") && stat(ctl_, "drops.slow_consumer") == 1u;
    }, 20000)) << "never declared slow after " << published << " messages";

    // The frame (10-byte header), then the Close: 2 + 2 + "slow consumer".
    const size_t owed = 10 + big.size() + 4 + 13;
    std::string got;
    long let_go_owing = -1;  // bytes the client still had to read when the server let go
    const auto t0 = Clock::now();
    auto checked = Clock::now();
    while (got.size() < owed && ms_since(t0) < 90000) {
        pollfd p{slow.fd(), POLLIN, 0};
        if (poll(&p, 1, 5000) <= 0) break;
        char buf[1000];
        const ssize_t n = recv(slow.fd(), buf, sizeof buf, 0);
        if (n <= 0) break;
        got.append(buf, static_cast<size_t>(n));
        if (let_go_owing < 0 && Clock::now() - checked > std::chrono::milliseconds(500)) {
            checked = Clock::now();
            if (stat(ctl_, "sockets") == 0u) let_go_owing = static_cast<long>(owed - got.size());
        }
        usleep(100 * 1000);
    }
    EXPECT_LT(let_go_owing, 64 * 1024) << "the server let go with " << let_go_owing << " bytes still owed, "
                                       << ms_since(t0) << " ms into reading";
    ASSERT_EQ(got.size(), owed) << "EOF after " << got.size() << " of " << owed << " bytes";
    EXPECT_EQ(static_cast<uint8_t>(got[0]), 0x81);
    EXPECT_EQ(got.substr(10, big.size()), big);
    EXPECT_EQ(got.substr(10 + big.size()), std::string("\x88\x0f\x03\xf0", 4) + "slow consumer");
}

// ------------------------------------------------------------------ descriptors

// Out of descriptors (the limit lowered under the running server, as when something else
// took them): 300 connections in a burst are refused without a log line each, without
// spinning, and once descriptors free up the server accepts again.
TEST_F(Reliability, DescriptorExhaustionIsLoggedOnceASecondAndPasses) {
    if (ServerProcess::wrapped()) GTEST_SKIP() << "valgrind keeps descriptors of its own near the limit";
    ASSERT_TRUE(raise_nofile(1000));
    ASSERT_TRUE(start({"--handshake-timeout", "60s"}));
    RawClient before;
    ASSERT_TRUE(subscribe(before, srv_.port(), "/ws/x"));
    const int top = highest_fd(srv_.pid());
    ASSERT_GT(top, 0);
    rlimit low{static_cast<rlim_t>(top + 9), static_cast<rlim_t>(top + 9)};
    ASSERT_EQ(prlimit(srv_.pid(), RLIMIT_NOFILE, &low, nullptr), 0);

    const uint64_t cpu_before = cpu_time_ms(srv_.pid());
    const auto t0 = Clock::now();
    {
        std::vector<RawClient> storm(300);
        for (auto& c : storm) ASSERT_TRUE(c.connect(srv_.port()));
        EXPECT_TRUE(srv_.wait_log("out of descriptors")) << srv_.log();
        EXPECT_EQ(cmd("PUB x during"), "OK seq=1 delivered=1") << "the server is stuck";
        EXPECT_TRUE(next_data_is(before, "during"));
    }
    // The storm's clients are gone: a new one is accepted and served.
    RawClient after;
    EXPECT_TRUE(wait_until([&] { return subscribe(after, srv_.port(), "/ws/x"); }, 10000, 50)) << srv_.log();
    EXPECT_EQ(cmd("PUB x after"), "OK seq=2 delivered=2");
    EXPECT_TRUE(next_data_is(after, "after"));
    const long wall_ms = ms_since(t0);
    const uint64_t cpu_ms = cpu_time_ms(srv_.pid()) - cpu_before;
    EXPECT_LT(cpu_ms, static_cast<uint64_t>(wall_ms / 2 + 200)) << "the server spun: " << cpu_ms << " ms of CPU in "
                                                                << wall_ms << " ms";
    std::string log = srv_.log();
    size_t lines = 0;
    for (size_t at = log.find("out of descriptors"); at != std::string::npos; at = log.find("out of descriptors", at + 1))
        ++lines;
    EXPECT_LE(lines, static_cast<size_t>(2 + wall_ms / 1000)) << "one log line per refused connection:\n"
                                                                << log.substr(0, 2000);
}

}  // namespace
}  // namespace wspush::testing
