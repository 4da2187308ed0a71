// Resident memory of a running server under hostile or bursty clients: a Ping flood, a relay
// client filling history on fresh channels, a huge --history, and what comes back after
// thousands of clients or large messages have gone. Resident memory is read from
// /proc/<pid>/statm; a sanitized server (quarantined frees) or one under valgrind says
// nothing there, so those checks are skipped for them.
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <sys/socket.h>
#include <vector>

#include "support/flood.h"
#include "support/process_info.h"
#include "support/push_support.h"

namespace wspush::testing {
namespace {

using Clock = std::chrono::steady_clock;

// Whether resident memory of srv can be judged (not ASan, not valgrind).
bool rss_meaningful(const ServerProcess& srv) { return !sanitized(srv.pid()) && !ServerProcess::wrapped(); }

#define SKIP_UNLESS_RSS_MEANINGFUL(srv)                                                              \
    do {                                                                                             \
        if (!rss_meaningful(srv)) {                                                                  \
            GTEST_SKIP() << "resident memory is not the server's own under a sanitizer or valgrind"; \
        }                                                                                            \
    } while (0)

// n as 8 bytes, big-endian: a Ping payload that tells Pings apart.
std::string counter(uint64_t n) {
    std::string p(8, '\0');
    for (int i = 0; i < 8; ++i) p[i] = static_cast<char>(n >> (56 - 8 * i));
    return p;
}

class ReliabilityMemory : public PushServerTest {};

// 2 million empty Pings from a client that does not read. A Pong waiting to be written is
// replaced by the next one (RFC 6455 5.5.3), so the server holds at most one: its resident
// memory grows by less than 4 MiB. When the client reads, the last Pong answers its last
// Ping, and the connection is still open.
TEST_F(ReliabilityMemory, PingFloodHoldsOnePongForTheLatestPing) {
    if (ServerProcess::wrapped()) GTEST_SKIP() << "2 million Pings take too long under a wrapper";
    ASSERT_TRUE(start());
    RawClient c;
    ASSERT_TRUE(c.connect_small_window(srv_.port()));  // Pongs back up in the server sooner
    ASSERT_EQ(c.upgrade("/ws/x"), 101);
    const uint64_t rss_before = resident_bytes(srv_.pid());
    uint64_t rss_peak = rss_before;

    constexpr size_t kPings = 2'000'000, kBatch = 50'000;
    const std::string ping = RawClient::frame(0x9, "");
    std::string batch;
    for (size_t i = 0; i < kBatch; ++i) batch += ping;
    size_t sent = 0;  // bytes
    for (size_t done = 0; done < kPings; done += kBatch) {
        size_t n = send_until_stalled(c.fd(), batch, 2000);
        sent += n;
        rss_peak = std::max(rss_peak, resident_bytes(srv_.pid()));
        if (n < batch.size()) break;  // the server stopped reading for 2 s
    }
    // The last Ping may have been cut: its rest, then one with a counter, sent while reading.
    const uint64_t pings = (sent + ping.size() - 1) / ping.size() + 1;
    const std::string want = counter(pings);
    std::string rest = ping.substr(sent % ping.size() ? sent % ping.size() : ping.size()) + RawClient::frame(0x9, want);

    int wide = 1 << 20;  // reads fast from now on
    setsockopt(c.fd(), SOL_SOCKET, SO_RCVBUF, &wide, sizeof wide);
    FrameScanner scan(c.fd());
    Frame f;
    uint64_t pongs = 0;
    bool found = false;
    auto deadline = Clock::now() + std::chrono::seconds(60);
    while (!found && Clock::now() < deadline) {
        if (!rest.empty()) {
            ssize_t w = send(c.fd(), rest.data(), rest.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            ASSERT_FALSE(w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) << strerror(errno);
            if (w > 0) rest.erase(0, static_cast<size_t>(w));
        }
        if (!scan.next(f, rest.empty() ? 10000 : 10)) {
            ASSERT_FALSE(rest.empty()) << "nothing more after " << pongs << " Pongs";
            continue;
        }
        ASSERT_EQ(f.opcode, 0xA) << "after " << pongs << " Pongs (Close code " << f.close_code() << ")";
        ++pongs;
        found = f.payload == want;
        if (!found) {
            ASSERT_EQ(f.payload, "") << "Pong " << pongs;
        }
    }
    EXPECT_TRUE(found) << "no Pong for the last Ping after " << pongs << " Pongs";
    if (rss_meaningful(srv_)) {
        EXPECT_LT(rss_peak - rss_before, 4u << 20)
            << "resident memory grew by " << (rss_peak - rss_before) << " bytes for " << pings << " Pings";
    }
    // Still open: a publication arrives behind the Pongs.
    EXPECT_EQ(cmd("PUB x alive"), "OK seq=1 delivered=1");
    bool alive = false;
    while (!alive && scan.next(f, 5000)) {
        ASSERT_NE(f.opcode, 0x8) << "Close " << f.close_code();
        alive = f.opcode == 0x1 && f.payload == "alive";
    }
    EXPECT_TRUE(alive);
}

// One anonymous relay client on 16 fresh channels sends 20 text messages of 256 KiB; each is
// published on all 16 (80 MB with the envelopes if all were kept). Returns once the server
// has taken them in; *rss_peak is the most resident memory seen meanwhile.
void relay_burst(ServerProcess& srv, ControlConn& ctl, uint64_t* rss_peak) {
    std::string target = "/ws/b0";
    for (int i = 1; i < 16; ++i) target += (i == 1 ? "?ch=b" : "&ch=b") + std::to_string(i);
    RawClient c;
    ASSERT_TRUE(subscribe(c, srv.port(), target));
    const std::string text(256 * 1024, 't');
    for (int i = 0; i < 20; ++i) {
        ASSERT_TRUE(c.send_frame(0x1, text)) << "message " << i;
        *rss_peak = std::max(*rss_peak, resident_bytes(srv.pid()));
    }
    ASSERT_TRUE(wait_until([&] { return stat(ctl, "messages_in") == 20u; }, 20000));
    *rss_peak = std::max(*rss_peak, resident_bytes(srv.pid()));
}

TEST_F(ReliabilityMemory, RelayHistoryStaysWithinTheByteBudget) {
    ASSERT_TRUE(start({"--mode", "relay", "--history-bytes", "1M"}));
    const uint64_t rss_before = resident_bytes(srv_.pid());
    uint64_t rss_peak = rss_before;
    ASSERT_NO_FATAL_FAILURE(relay_burst(srv_, ctl_, &rss_peak));
    auto s = stats(ctl_);
    ASSERT_TRUE(s);
    const Json* kept = s->get("history_bytes");
    EXPECT_LE(kept ? kept->uint().value_or(UINT64_MAX) : UINT64_MAX, (1u << 20) + 600 * 1024)
        << "STATS history_bytes (the largest value: missing)";
    const Json* evicted = s->get("history_evicted");
    EXPECT_GT(evicted ? evicted->uint().value_or(0) : 0, 0u) << "STATS history_evicted (0: missing)";
    if (rss_meaningful(srv_)) {
        EXPECT_LT(rss_peak - rss_before, 8u << 20) << "resident memory grew by " << (rss_peak - rss_before);
    }
    // The client has left (relay_burst's client is gone): a channel stays only while the
    // budget keeps a message of it, and no more than 6 messages of 256 KiB fit.
    ASSERT_TRUE(wait_until([&] { return stat(ctl_, "connections") == 0u; }));
    EXPECT_LE(stat(ctl_, "channels").value_or(UINT64_MAX), 6u) << cmd("CHANNELS").substr(0, 300);
}

TEST_F(ReliabilityMemory, WithoutHistoryARelayClientsChannelsLeaveWithIt) {
    ASSERT_TRUE(start({"--mode", "relay", "--history-bytes", "0"}));
    uint64_t rss_peak = 0;
    ASSERT_NO_FATAL_FAILURE(relay_burst(srv_, ctl_, &rss_peak));
    ASSERT_TRUE(wait_until([&] { return stat(ctl_, "connections") == 0u; }));
    EXPECT_EQ(cmd("CHANNELS"), "OK []");
    EXPECT_EQ(stat(ctl_, "history_bytes"), 0u);
}

TEST_F(ReliabilityMemory, PubToANewChannelWithoutHistoryLeavesNoChannel) {
    ASSERT_TRUE(start({"--history", "0"}));
    EXPECT_EQ(cmd("PUB fresh x"), "OK seq=1 delivered=0");
    EXPECT_EQ(cmd("CHANNELS"), "OK []");
    EXPECT_EQ(stat(ctl_, "channels"), 0u);
}

// --history 1000000 allows rings of a million messages; they grow as used, so 50 channels
// holding one message each cost little.
TEST_F(ReliabilityMemory, LargeHistorySettingCostsNothingUntilUsed) {
    ASSERT_TRUE(start({"--history", "1000000"}));
    SKIP_UNLESS_RSS_MEANINGFUL(srv_);
    const uint64_t rss_before = resident_bytes(srv_.pid());
    for (int i = 0; i < 50; ++i) ASSERT_EQ(cmd("PUB ch" + std::to_string(i) + " x"), "OK seq=1 delivered=0");
    uint64_t grew = resident_bytes(srv_.pid()) - rss_before;
    EXPECT_LT(grew, 2u << 20) << "resident memory grew by " << grew << " bytes for 50 one-message channels";
}

TEST_F(ReliabilityMemory, ChannelsBeyondMaxChannelsAreRefused) {
    ASSERT_TRUE(start({"--max-channels", "4"}));
    for (int i = 1; i <= 4; ++i) ASSERT_EQ(cmd("PUB k" + std::to_string(i) + " x"), "OK seq=1 delivered=0");
    EXPECT_EQ(cmd("PUB k5 x"), "ERR too many channels");
    ASSERT_TRUE(ctl_.send("PUBB k5 1\nz"));
    EXPECT_EQ(ctl_.read_line().value_or("<timeout>"), "ERR too many channels");
    for (const char* target : {"/ws/k6", "/ws/k1?ch=k7"}) {
        RawClient c;
        std::string head;
        ASSERT_TRUE(c.connect(srv_.port()));
        EXPECT_EQ(c.upgrade(target, {}, &head), 503) << target << ": " << head;
        EXPECT_NE(head.find("\r\n\r\ntoo many channels"), std::string::npos) << head;
    }
    // The channels that exist go on.
    RawClient member;
    ASSERT_TRUE(subscribe(member, srv_.port(), "/ws/k1?ch=k2"));
    EXPECT_EQ(cmd("PUB k1 y"), "OK seq=2 delivered=1");
    EXPECT_TRUE(next_data_is(member, "y"));
    EXPECT_EQ(stat(ctl_, "channels"), 4u);
}

// Resident memory comes back within 512 KiB of its level before 5000 clients came and went
// (the connection table's pages of closed descriptors released, the heap trimmed), at the
// latest a second after the server is idle.
TEST_F(ReliabilityMemory, MemoryComesBackAfterFiveThousandClientsLeave) {
    if (ServerProcess::wrapped()) GTEST_SKIP() << "5000 clients take too long under a wrapper";
    constexpr size_t kClients = 5000;
    ASSERT_TRUE(raise_nofile(kClients + 200)) << "this process may not open " << kClients << " sockets";
    ASSERT_TRUE(start());
    SKIP_UNLESS_RSS_MEANINGFUL(srv_);
    {
        RawClient warm;  // the first client's one-time allocations belong to the baseline
        ASSERT_TRUE(subscribe(warm, srv_.port(), "/ws/crowd"));
    }
    ASSERT_TRUE(wait_until([&] { return stat(ctl_, "sockets") == 0u; }));
    const uint64_t rss_before = resident_bytes(srv_.pid());
    {
        std::vector<RawClient> clients(kClients);
        for (size_t i = 0; i < kClients; ++i) ASSERT_TRUE(subscribe(clients[i], srv_.port(), "/ws/crowd")) << i;
        ASSERT_EQ(stat(ctl_, "connections"), kClients);
    }
    ASSERT_TRUE(wait_until([&] { return stat(ctl_, "sockets") == 0u; }, 10000));
    uint64_t rss = 0;
    EXPECT_TRUE(wait_until([&] { return (rss = resident_bytes(srv_.pid())) <= rss_before + 512 * 1024; }, 5000, 50))
        << "resident memory stays " << (rss - rss_before) << " bytes above its level before the clients";
}

// Two echoes of 16 MiB, then the client leaves: resident memory comes back within 1 MiB.
TEST(ReliabilityEchoMemory, MemoryComesBackAfterLargeMessages) {
    if (ServerProcess::wrapped()) GTEST_SKIP() << "resident memory is valgrind's under a wrapper";
    ServerProcess srv;
    ASSERT_TRUE(srv.start({"--mode", "echo", "--max-message", "16M"})) << srv.log();
    SKIP_UNLESS_RSS_MEANINGFUL(srv);
    auto echo = [&](size_t size) {
        RawClient c;
        ASSERT_TRUE(c.connect(srv.port()));
        ASSERT_EQ(c.upgrade("/"), 101);
        std::string frame = RawClient::frame(0x2, std::string(size, 'e'));
        for (int i = 0; i < 2; ++i) {
            ASSERT_TRUE(c.send_all(frame));
            auto f = c.read_frame(30000);
            ASSERT_TRUE(f) << "no echo";
            ASSERT_EQ(f->payload.size(), size);
        }
    };
    ASSERT_NO_FATAL_FAILURE(echo(1000));  // warms up what every connection uses
    const uint64_t rss_before = resident_bytes(srv.pid());
    ASSERT_NO_FATAL_FAILURE(echo(16u << 20));
    uint64_t rss = 0;
    EXPECT_TRUE(wait_until([&] { return (rss = resident_bytes(srv.pid())) <= rss_before + (1u << 20); }, 5000, 50))
        << "resident memory stays " << (rss - rss_before) << " bytes above its level before the large messages";
    EXPECT_EQ(srv.stop(), 0);
    EXPECT_EQ(memory_error_report(srv.log()), "") << srv.log();
}

}  // namespace
}  // namespace wspush::testing
