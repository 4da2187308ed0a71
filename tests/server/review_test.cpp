// Event loop and connection handling under awkward timing: a peer that resets while the
// server is busy with someone else, a control client that half-closes, a resume whose replay
// is larger than --send-buffer, bytes that arrive with the handshake or after a Close.
// Each "Guards against" comment names the failure the test was written to catch.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <optional>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <string>
#include <vector>

#include "support/flood.h"
#include "support/process_info.h"
#include "support/push_support.h"

namespace wspush::testing {
namespace {

using Clock = std::chrono::steady_clock;

// Ends a TCP connection with a reset (SO_LINGER 0), as a crashed or killed peer does.
void reset(RawClient& c) {
    linger lg{1, 0};
    setsockopt(c.fd(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    c.close();
}

// A control connection the test can half-close (ControlConn cannot).
int unix_connect(const std::string& path) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path.c_str());
    if (fd >= 0 && connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

bool write_all(int fd, std::string_view s) {
    while (!s.empty()) {
        pollfd p{fd, POLLOUT, 0};
        if (poll(&p, 1, 5000) <= 0) return false;
        ssize_t w = send(fd, s.data(), s.size(), MSG_NOSIGNAL);
        if (w <= 0) return false;
        s.remove_prefix(static_cast<size_t>(w));
    }
    return true;
}

// Everything readable from fd until EOF (bounded: 10 s in all).
std::string read_to_eof(int fd) {
    std::string out;
    auto deadline = Clock::now() + std::chrono::seconds(10);
    char buf[65536];
    while (Clock::now() < deadline) {
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, 1000) <= 0) continue;
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        out.append(buf, static_cast<size_t>(n));
    }
    return out;
}

class Review : public PushServerTest {};

// Starts an echo-mode server with `extra` flags and opens a WebSocket client on it.
::testing::AssertionResult echo_client(ServerProcess& srv, RawClient& c, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--mode", "echo"};
    args.insert(args.end(), extra.begin(), extra.end());
    if (!srv.start(args)) return ::testing::AssertionFailure() << "server did not start: " << srv.log();
    if (!c.connect(srv.port())) return ::testing::AssertionFailure() << "connect failed";
    if (int st = c.upgrade("/"); st != 101) return ::testing::AssertionFailure() << "upgrade answered " << st;
    return ::testing::AssertionSuccess();
}

// --------------------------------------------------------------------- control channel

// Every reply is written before the connection closes when the client half-closes after a
// batch of commands -- the README's `... | socat - $S` usage.
// Guards against: control_input() reads EOF, calls control_flush() once and then
// control_close(): whatever did not fit in the socket buffer (about 200 KiB) is dropped.
// (With more than 1 MiB of replies the client is paused first and the same happens to the
// replies written after it resumes and meets EOF.)
TEST_F(Review, ControlHalfCloseStillGetsEveryReply) {
    ASSERT_TRUE(start());
    int fd = unix_connect(srv_.control_path());
    ASSERT_GE(fd, 0);
    ASSERT_EQ(cmd("PUB sync x").rfind("OK seq=", 0), 0u);  // fd has been accepted by now
    constexpr int kCommands = 2000;  // STATS replies are ~330 bytes: ~650 KiB, under the pause cap
    std::string batch;
    for (int i = 0; i < kCommands; ++i) batch += "STATS\n";
    {
        // The batch and its EOF arrive together, as from a pipe that was written at once.
        Frozen frozen(srv_.pid());
        ASSERT_TRUE(frozen.stopped());
        ASSERT_TRUE(write_all(fd, batch));
        shutdown(fd, SHUT_WR);
    }
    // A round trip on another control connection: the batch was queued before it, so it has
    // been handled by the time the reply comes. The test reads nothing before that, as a
    // reader slower than the server would.
    ASSERT_EQ(cmd("PUB sync x").rfind("OK seq=", 0), 0u);
    std::string out = read_to_eof(fd);
    close(fd);
    size_t lines = static_cast<size_t>(std::count(out.begin(), out.end(), '\n'));
    EXPECT_EQ(lines, static_cast<size_t>(kCommands)) << "bytes received: " << out.size();
}

// Guards against: "PUBB <ch> 0" as the last bytes received is not executed until more bytes arrive:
// control_input() only enters the in_pubb branch while pos < in.size().
TEST_F(Review, EmptyPubbAloneIsAnsweredAtOnce) {
    ASSERT_TRUE(start());
    RawClient c;
    ASSERT_TRUE(subscribe(c, srv_.port(), "/ws/cam"));
    ASSERT_TRUE(ctl_.send("PUBB cam 0\n"));
    EXPECT_EQ(ctl_.read_line(2000).value_or("<timeout>"), "OK seq=1 delivered=1");
}

TEST_F(Review, QuitIgnoresCommandsPipelinedBehindIt) {
    ASSERT_TRUE(start());
    ControlConn q;
    ASSERT_TRUE(control(q, srv_));
    ASSERT_TRUE(q.send("PUB x one\nQUIT\nPUB x two\nPUB x three\n"));
    EXPECT_EQ(q.read_line().value_or("<timeout>"), "OK seq=1 delivered=0");
    EXPECT_EQ(q.read_line().value_or("<timeout>"), "OK bye");
    EXPECT_TRUE(q.wait_eof());
    EXPECT_EQ(cmd("PUB x four"), "OK seq=2 delivered=0");
}

TEST_F(Review, PubLineExactlyAtTheLimitIsAccepted) {
    ASSERT_TRUE(start({"--max-message", "1K"}));
    RawClient c;
    ASSERT_TRUE(subscribe(c, srv_.port(), "/ws/x"));
    std::string text(1024, 'a');
    EXPECT_EQ(cmd("PUB x " + text), "OK seq=1 delivered=1");
    EXPECT_TRUE(next_data_is(c, text));
    EXPECT_EQ(cmd("PUB x " + text + "b"), "ERR message too big");
    // max-message + 256 bytes in all, sent in two pieces: still one line, one reply.
    std::string line = "PUB x " + std::string(1024 + 256 - 6, 'c');
    ASSERT_TRUE(ctl_.send(line.substr(0, 700)));
    ASSERT_TRUE(ctl_.send(line.substr(700) + "\nPUB x ok\n"));
    EXPECT_EQ(ctl_.read_line().value_or("<timeout>"), "ERR message too big");
    EXPECT_EQ(ctl_.read_line().value_or("<timeout>"), "OK seq=2 delivered=1");
}

// --------------------------------------------------------------------- fan-out

// A member whose socket fails while a publication is being delivered is removed from the
// channel's member list (swap-remove) in the middle of Hub::publish()'s loop.
// Guards against: send() -> flush() -> close_now() -> Hub::leave() moves the last member into the slot
// being visited: that member never gets the message.
TEST_F(Review, PeerResetDuringFanOutDoesNotSkipAnotherMember) {
    ASSERT_TRUE(start({"--send-buffer", "1024"}));
    RawClient a, b, c;
    ASSERT_TRUE(subscribe(a, srv_.port(), "/ws/ch"));  // members: a, b, c
    ASSERT_TRUE(subscribe(b, srv_.port(), "/ws/ch"));
    ASSERT_TRUE(subscribe(c, srv_.port(), "/ws/ch"));
    ASSERT_EQ(members(ctl_, "ch"), 3u);
    std::string x(2000, 'x'), y(2000, 'y'), z(2000, 'z');
    {
        Frozen frozen(srv_.pid());
        ASSERT_TRUE(frozen.stopped());
        // Three publications in one read: by the third, a's backlog is over the cap, so it
        // is flushed at once -- into a socket the peer has reset in the meantime.
        ASSERT_TRUE(ctl_.send("PUB ch " + x + "\nPUB ch " + y + "\nPUB ch " + z + "\n"));
        reset(a);
    }
    EXPECT_EQ(ctl_.read_line().value_or("<timeout>"), "OK seq=1 delivered=3");
    EXPECT_EQ(ctl_.read_line().value_or("<timeout>"), "OK seq=2 delivered=3");
    EXPECT_EQ(ctl_.read_line().value_or("<timeout>"), "OK seq=3 delivered=2");
    EXPECT_EQ(cmd("PUB ch end"), "OK seq=4 delivered=2");
    for (RawClient* r : {&b, &c}) {
        EXPECT_TRUE(next_data_is(*r, x));
        EXPECT_TRUE(next_data_is(*r, y));
        EXPECT_TRUE(next_data_is(*r, z));
        EXPECT_TRUE(next_data_is(*r, "end"));
    }
}

// Guards against: BROADCAST stops scanning once n reaches stats_.clients, but a
// slow consumer closed by send() during the scan lowers stats_.clients while still being
// counted in n: the client with the highest descriptor is never reached.
TEST_F(Review, BroadcastReachesEveryoneWhenOneIsASlowConsumer) {
    ASSERT_TRUE(start({"--send-buffer", "1024"}));
    RawClient slow, b, c;
    ASSERT_TRUE(subscribe(slow, srv_.port(), "/ws/flood"));  // lowest descriptor of the three
    ASSERT_TRUE(subscribe(b, srv_.port(), "/ws/quiet"));
    ASSERT_TRUE(subscribe(c, srv_.port(), "/ws/quiet"));
    // Fill the kernel buffers towards `slow` (it never reads) until one frame stays queued
    // in the server: then the next frame behind it is over the cap.
    std::string big(100 * 1024, 'f');
    bool queued = false;
    for (int i = 0; i < 400 && !queued; ++i) {
        ASSERT_EQ(cmd("PUB flood " + big).rfind("OK seq=", 0), 0u);
        auto clients = parse_json(cmd("CLIENTS flood").substr(3));
        ASSERT_TRUE(clients && clients->items.size() == 1u) << "closed before the test could start";
        queued = clients->items[0].get("queued")->uint().value_or(0) > 0;
    }
    ASSERT_TRUE(queued);
    ASSERT_TRUE(ctl_.send("PUB flood " + std::string(2000, 'g') + "\nBROADCAST hello\n"));
    EXPECT_EQ(ctl_.read_line().value_or("<timeout>").rfind("OK seq=", 0), 0u);
    EXPECT_EQ(ctl_.read_line().value_or("<timeout>"), "OK delivered=2");
    EXPECT_TRUE(next_data_is(b, "hello"));
    EXPECT_TRUE(next_data_is(c, "hello"));
}

// --------------------------------------------------------------------- resume

// A resume whose replay is larger than --send-buffer, with a gap on its second channel.
// The replay is not held to --send-buffer (deliver_replay), but the gap notice goes through
// send(), which judges the replayed backlog.
// Guards against: upgrade() closes the resuming client with 1008 "slow consumer", and
// then keeps queuing the second channel's replay behind its Close frame.
TEST_F(Review, ResumeWithLargeReplayAndAGapIsNotASlowConsumer) {
    // 20 MB of history: above the default budget, so it is raised for this test.
    ASSERT_TRUE(start({"--history", "20", "--history-bytes", "64M"}));
    constexpr int kBig = 20;
    std::string payload(1000 * 1000, 'p');
    for (int i = 0; i < kBig; ++i) ASSERT_EQ(cmd("PUB a " + payload), "OK seq=" + std::to_string(i + 1) + " delivered=0");
    for (int i = 1; i <= 25; ++i) ASSERT_EQ(cmd("PUB b m" + std::to_string(i)), "OK seq=" + std::to_string(i) + " delivered=0");
    RawClient c;
    ASSERT_TRUE(subscribe(c, srv_.port(), "/ws/a?ch=b&since=a:0&since=b:0", true));
    int data = 0;
    bool gap = false;
    std::optional<Frame> close;
    int after_close = 0;
    for (int i = 0; i < kBig + 1 + 20 + 5; ++i) {
        auto f = c.read_frame(5000);
        if (!f) break;
        if (close) {
            ++after_close;
            continue;
        }
        if (f->opcode == 0x8) {
            close = f;
            continue;
        }
        if (f->payload.find("\"type\":\"gap\"") != std::string::npos) gap = true;
        else ++data;
        if (data == kBig + 20) break;
    }
    EXPECT_FALSE(close) << "Close " << close->close_code() << " " << close->close_reason();
    EXPECT_EQ(after_close, 0) << "frames after the Close frame";
    EXPECT_TRUE(gap);
    EXPECT_EQ(data, kBig + 20);
}

// The peer resets while its resume is being handled: the gap notice's flush fails and the
// connection is torn down inside upgrade().
// Guards against: upgrade() goes on using the connection after close_now():
// it joins channel b with a Subscription in the freed c.more array (use after free), leaving
// a dangling member, queues the replay on the freed slot, and puts fd -1 on the flush list.
TEST_F(Review, ResetDuringResumeLeavesNoDanglingMember) {
    ASSERT_TRUE(start({"--send-buffer", "1024", "--history", "3"}));
    std::string kb(1000, 'k');
    for (int i = 0; i < 3; ++i) ASSERT_EQ(cmd("PUB a " + kb).rfind("OK seq=", 0), 0u);
    for (int i = 0; i < 5; ++i) ASSERT_EQ(cmd("PUB b small").rfind("OK seq=", 0), 0u);
    RawClient c;
    ASSERT_TRUE(c.connect(srv_.port()));
    {
        Frozen frozen(srv_.pid());
        ASSERT_TRUE(frozen.stopped());
        ASSERT_TRUE(c.send_all(RawClient::upgrade_request("/ws/a?ch=b&since=a:0&since=b:0", kEnvelopeHeader)));
        reset(c);
    }
    EXPECT_EQ(cmd("PUB b after"), "OK seq=6 delivered=0");
    EXPECT_EQ(members(ctl_, "b"), 0u);
    EXPECT_EQ(members(ctl_, "a"), 0u);
    EXPECT_EQ(stat(ctl_, "connections"), 0u);
}

// --------------------------------------------------------------------- close handshake

// A client that sends a large message, its Close, then half-closes (FIN) before reading:
// it must still get the whole echo and the Close reply.
// Guards against: read_client() on EOF flushes once and closes: what the socket
// did not take (the rest of the echo and the Close reply) is dropped.
TEST(ReviewEcho, HalfCloseAfterCloseStillGetsTheEchoAndTheCloseReply) {
    ServerProcess srv;
    RawClient c;
    ASSERT_TRUE(echo_client(srv, c, {"--max-message", "16M", "--send-buffer", "64M"}));
    std::string big(8 << 20, 'e');
    ASSERT_TRUE(c.send_all(RawClient::frame(0x2, big) + RawClient::close_frame(1000)));
    shutdown(c.fd(), SHUT_WR);
    auto f = c.read_frame(10000);
    ASSERT_TRUE(f) << "the echo was cut off";
    EXPECT_EQ(f->opcode, 0x2);
    EXPECT_EQ(f->payload.size(), big.size());
    auto cl = c.read_frame();
    ASSERT_TRUE(cl) << "no Close reply";
    EXPECT_EQ(cl->opcode, 0x8);
    EXPECT_EQ(cl->close_code(), 1000);
    EXPECT_TRUE(c.wait_eof());
    EXPECT_EQ(srv.stop(SIGTERM), 0);
}

TEST(ReviewEcho, FramesInTheHandshakePacketAreProcessed) {
    ServerProcess srv;
    ASSERT_TRUE(srv.start({"--mode", "echo"})) << srv.log();
    for (bool bytewise : {false, true}) {
        RawClient c;
        ASSERT_TRUE(c.connect(srv.port()));
        std::string all = RawClient::upgrade_request("/") + RawClient::frame(0x1, "early") +
                          RawClient::frame(0x9, "p") + RawClient::frame(0x2, "bin", false) +
                          RawClient::frame(0x0, "ary");
        ASSERT_TRUE(bytewise ? c.send_bytewise(all) : c.send_all(all));
        std::string head = c.read_http();
        ASSERT_EQ(head.rfind("HTTP/1.1 101", 0), 0u) << head;
        auto t = c.read_frame();
        ASSERT_TRUE(t);
        EXPECT_EQ(t->payload, "early");
        auto pong = c.read_frame();
        ASSERT_TRUE(pong);
        EXPECT_EQ(pong->opcode, 0xA);
        EXPECT_EQ(pong->payload, "p");
        auto b = c.read_frame();
        ASSERT_TRUE(b);
        EXPECT_EQ(b->opcode, 0x2);
        EXPECT_EQ(b->payload, "binary");
    }
    EXPECT_EQ(srv.stop(SIGTERM), 0);
}

TEST(ReviewEcho, BytesAfterCloseAreIgnoredAndCloseComesBeforeFin) {
    ServerProcess srv;
    RawClient c;
    ASSERT_TRUE(echo_client(srv, c));
    ASSERT_TRUE(c.send_all(RawClient::close_frame(4001, "done") + RawClient::frame(0x1, "late") +
                           RawClient::frame(0x9, "late")));
    auto f = c.read_frame();
    ASSERT_TRUE(f);
    EXPECT_EQ(f->opcode, 0x8) << "a reply to a frame sent after the Close";
    EXPECT_EQ(f->close_code(), 4001);
    // The server's FIN follows its Close; nothing else comes.
    EXPECT_FALSE(c.read_frame(2000));
    EXPECT_TRUE(c.wait_eof(0));
    EXPECT_EQ(srv.stop(SIGTERM), 0);
}

TEST(ReviewEcho, CloseWithoutCodeIsAnsweredWithoutCode) {
    ServerProcess srv;
    RawClient c;
    ASSERT_TRUE(echo_client(srv, c));
    ASSERT_TRUE(c.send_frame(0x8, ""));
    auto f = c.read_frame();
    ASSERT_TRUE(f);
    EXPECT_EQ(f->opcode, 0x8);
    EXPECT_EQ(f->payload, "") << "1005 must never be sent on the wire";
    EXPECT_TRUE(c.wait_eof());
    EXPECT_EQ(srv.stop(SIGTERM), 0);
}

// Echoes, Pings and a Close in one stream to a client that reads nothing until it has sent
// all of it (a 4 KiB receive window): the replies to each read are sent together and what
// the socket does not take waits in the queue. Every echo must come once and in order, each
// Pong exactly where its Ping was (after the echoes sent before it, before those after it;
// a Pong may stand for a later Ping of the same spot), and the Close last.
TEST(ReviewEcho, RepliesStayInOrderWhenTheSocketFills) {
    ServerProcess srv;
    ASSERT_TRUE(srv.start({"--mode", "echo", "--send-buffer", "4M"})) << srv.log();
    RawClient c;
    ASSERT_TRUE(c.connect_small_window(srv.port()));
    ASSERT_EQ(c.upgrade("/"), 101);
    constexpr int kEchoes = 3000;
    std::string stream;
    std::vector<int> ping_spot;  // ping k: echoes sent before it
    for (int i = 0; i < kEchoes; ++i) {
        std::string p = std::to_string(i);
        stream += RawClient::frame(0x1, p + std::string(200 - p.size(), '.'));
        if (i % 37 == 36) {
            stream += RawClient::frame(0x9, std::to_string(ping_spot.size()));
            ping_spot.push_back(i + 1);
        }
    }
    stream += RawClient::close_frame(1000);
    ASSERT_EQ(send_until_stalled(c.fd(), stream, 5000), stream.size()) << "the server stopped reading";
    FrameScanner in(c.fd());
    int echoes = 0;
    size_t pongs = 0;
    int last_ping = -1;
    for (Frame f; in.next(f, 5000);) {
        if (f.opcode == 0x8) {
            EXPECT_EQ(f.close_code(), 1000);
            break;
        }
        if (f.opcode == 0xA) {
            const int k = std::stoi(f.payload);
            ASSERT_GT(k, last_ping) << "Pongs out of order";
            ASSERT_EQ(ping_spot[static_cast<size_t>(k)], echoes) << "the Pong to Ping " << k << " is out of place";
            last_ping = k;
            ++pongs;
            continue;
        }
        ASSERT_EQ(f.opcode, 0x1);
        ASSERT_EQ(f.payload.substr(0, f.payload.find('.')), std::to_string(echoes)) << "echo out of order";
        ++echoes;
    }
    EXPECT_EQ(echoes, kEchoes);
    EXPECT_GT(pongs, 0u);
    EXPECT_EQ(last_ping, static_cast<int>(ping_spot.size()) - 1) << "the last Ping went unanswered";
    EXPECT_TRUE(c.wait_eof());
    EXPECT_EQ(srv.stop(SIGTERM), 0);
}

// 122-byte payloads: 128-byte client frames, 512 to a 64 KiB read, so every full read ends
// on a frame boundary and its echoes all go into the cork.
std::string cork_payload(int i) {
    char head[16];
    snprintf(head, sizeof head, "%07d:", i);
    return std::string(head) + std::string(122 - 8, static_cast<char>('a' + i % 26));
}

// Echoes corked for one read, cut by a full socket in the middle of a frame: the rest of that
// frame must still go out whole before anything else, even when the client is then judged a
// slow consumer (the verdict drops only frames not started). Guards against: the cork's
// unwritten tail queued as an unstarted frame, dropped whole, and the Close sent right behind
// half a frame.
TEST(ReviewEcho, CorkRemainderIsNeverDroppedMidFrame) {
    ServerProcess srv;
    ASSERT_TRUE(srv.start({"--mode", "echo", "--send-buffer", "64K", "--ping-interval", "400ms",
                           "--idle-timeout", "60s"}))
        << srv.log();
    RawClient c;
    ASSERT_TRUE(c.connect_small_window(srv.port()));
    ASSERT_EQ(c.upgrade("/"), 101);
    constexpr int kFrames = 200000;
    std::string burst;
    for (int i = 0; i < kFrames; ++i) burst += RawClient::frame(0x1, cork_payload(i));
    ASSERT_EQ(burst.size(), size_t{128} * kFrames);
    // Frozen while the first part arrives: the server then reads whole 64 KiB (frame-aligned)
    // chunks, corks their echoes, and one cork write comes back short once its socket fills.
    size_t off = 0;
    auto pump = [&](int quiet_ms) {
        auto idle_since = std::chrono::steady_clock::now();
        while (off < burst.size()) {
            ssize_t w = send(c.fd(), burst.data() + off, burst.size() - off, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (w > 0) {
                off += static_cast<size_t>(w);
                idle_since = std::chrono::steady_clock::now();
                continue;
            }
            if (std::chrono::steady_clock::now() - idle_since > std::chrono::milliseconds(quiet_ms)) return;
            pollfd pfd{c.fd(), POLLOUT, 0};
            poll(&pfd, 1, quiet_ms);  // room in the socket, or quiet_ms of none
        }
    };
    {
        Frozen frozen(srv.pid());
        ASSERT_TRUE(frozen.stopped());
        pump(300);
    }
    pump(300);
    // Quiet past --ping-interval: the heartbeat's Ping meets a backlog over --send-buffer and
    // the client is judged a slow consumer: Close 1008 behind what was started.
    poll(nullptr, 0, 900);  // the quiet period under test, not a wait for an event
    int i = 0;
    for (;;) {
        std::optional<Frame> f = c.read_frame(3000);
        ASSERT_TRUE(f.has_value()) << "stream ended or stalled mid-frame after " << i << " echoes, no Close";
        if (f->opcode == 0x9 || f->opcode == 0xA) continue;
        if (f->opcode == 0x8) {
            EXPECT_EQ(f->close_code(), 1008);
            break;
        }
        ASSERT_EQ(f->opcode, 0x1) << "echo " << i;
        ASSERT_EQ(f->payload, cork_payload(i)) << "echo " << i << " is corrupt";
        ++i;
    }
}

// --------------------------------------------------------------------- resource bounds

// A channel nobody is in and that keeps no history should not stay in memory.
// Guards against: Hub never removes a channel: every
// distinct /ws/<name> a client ever joined stays in the map for the process lifetime, so a
// client looping over random channel names grows the server without bound (and STATS/CHANNELS
// list them, though METRICS documents "Channels with members or history").
TEST_F(Review, EmptyChannelsWithoutHistoryAreForgotten) {
    ASSERT_TRUE(start());
    for (int i = 0; i < 50; ++i) {
        RawClient c;
        ASSERT_TRUE(subscribe(c, srv_.port(), "/ws/tmp" + std::to_string(i)));
    }
    ASSERT_TRUE(wait_until([&] { return stat(ctl_, "connections") == 0u; }));
    EXPECT_EQ(stat(ctl_, "channels"), 0u);
}

}  // namespace
}  // namespace wspush::testing
