// The control channel under pressure, against a running server: a TAIL reader that stops
// reading or vanishes while clients send, a control client that never reads its replies,
// the cap on control clients, and the signals an operator sends. Every wait is bounded.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

#include "support/flood.h"
#include "support/process_info.h"
#include "support/push_support.h"

namespace wspush::testing {
namespace {

using Clock = std::chrono::steady_clock;

long ms_since(Clock::time_point t) {
    return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count());
}

// Client message i: "m<i> " then padding up to `size` bytes; one line, so TAIL shows it as
// "MSG <id> <text>".
std::string numbered(int i, size_t size) {
    std::string s = "m" + std::to_string(i) + " ";
    if (s.size() < size) s.append(size - s.size(), 'x');
    return s;
}

// 200 frames of 32 KiB (6.4 MB): more than a TAIL reader's 4 MiB budget plus what the
// kernel buffers on a Unix socket.
constexpr int kFrames = 200;
constexpr size_t kFrameSize = 32 * 1024;

// Whether the server has taken in `n` client messages (within 20 s).
::testing::AssertionResult server_took_in(ControlConn& ctl, uint64_t n) {
    std::optional<uint64_t> seen;
    if (wait_until([&] { return (seen = stat(ctl, "messages_in")) == n; }, 20000))
        return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "messages_in is " << seen.value_or(0) << ", want " << n;
}

class ReliabilityControl : public PushServerTest {};

// TAIL readers that do not read while a client sends 200 frames of 32 KiB, each vanishing
// (the operator's socat killed) while a client message queued to it waits to be written:
// its reset and the message are handled in the same loop turn. The server keeps serving,
// and at the end exits 0 with no sanitizer or valgrind report (the fixture checks both).
TEST_F(ReliabilityControl, TailReaderVanishingMidTrafficLeavesTheServerServing) {
    ASSERT_TRUE(start());
    RawClient sender;
    ASSERT_TRUE(subscribe(sender, srv_.port(), "/ws/in?id=sender"));
    int sent = 0;
    for (int round = 0; round < 3; ++round) {
        ControlConn tail;
        ASSERT_TRUE(control(tail, srv_));
        ASSERT_EQ(tail.command("TAIL"), "OK");
        for (int i = 0; i < 40; ++i) ASSERT_TRUE(sender.send_frame(0x1, numbered(++sent, kFrameSize))) << sent;
        ASSERT_TRUE(server_took_in(ctl_, sent)) << srv_.log();
        // A client message, then the reset, wait in the server's epoll queue in that order.
        Frozen frozen(srv_.pid());
        ASSERT_TRUE(frozen.stopped());
        ASSERT_TRUE(sender.send_frame(0x1, numbered(++sent, 100)));  // read in one go
        ASSERT_TRUE(sender.wait_acked());
        tail.close();  // unread output pending: the server sees a reset
    }
    while (sent < kFrames) ASSERT_TRUE(sender.send_frame(0x1, numbered(++sent, kFrameSize))) << sent;
    ASSERT_TRUE(server_took_in(ctl_, kFrames)) << srv_.log();
    RawClient second;
    ASSERT_TRUE(subscribe(second, srv_.port(), "/ws/after"));
    EXPECT_EQ(cmd("PUB after still serving"), "OK seq=1 delivered=1");
    EXPECT_TRUE(next_data_is(second, "still serving"));
    EXPECT_EQ(stat(ctl_, "connections"), 2u);
}

// A TAIL reader whose budget is full while clients keep sending (4 MiB unread: messages to it
// are dropped from then on), then SIGTERM: a clean exit, and every client gets its Close 1001.
TEST_F(ReliabilityControl, ShutdownWithAFullTailBacklogClosesEveryClientWith1001) {
    ASSERT_TRUE(start());
    ControlConn tail;
    ASSERT_TRUE(control(tail, srv_));
    ASSERT_EQ(tail.command("TAIL"), "OK");
    RawClient sender, listener;
    ASSERT_TRUE(subscribe(sender, srv_.port(), "/ws/in?id=sender"));
    ASSERT_TRUE(subscribe(listener, srv_.port(), "/ws/news"));
    for (int i = 1; i <= kFrames; ++i) ASSERT_TRUE(sender.send_frame(0x1, numbered(i, kFrameSize))) << "frame " << i;
    ASSERT_TRUE(server_took_in(ctl_, kFrames)) << srv_.log();
    EXPECT_EQ(srv_.stop(SIGTERM), 0) << srv_.log();
    for (RawClient* c : {&sender, &listener}) {
        auto f = c->read_close();
        ASSERT_TRUE(f) << "no Close frame";
        EXPECT_EQ(f->close_code(), 1001);
    }
}

// Each TAIL reader has its own 4 MiB budget: a reader that keeps up gets every message while
// another one stalls; the stalled one stays connected, and once it reads it gets what fitted,
// then "DROPPED <n>", then the messages after those. Every message is either delivered to it
// or counted in n.
TEST_F(ReliabilityControl, EachTailReaderHasItsOwnBudgetAndLearnsWhatItMissed) {
    ASSERT_TRUE(start());
    ControlConn reader, stalled;
    ASSERT_TRUE(control(reader, srv_));
    ASSERT_TRUE(control(stalled, srv_));
    ASSERT_EQ(reader.command("TAIL"), "OK");
    ASSERT_EQ(stalled.command("TAIL"), "OK");
    RawClient sender;
    ASSERT_TRUE(subscribe(sender, srv_.port(), "/ws/in?id=src"));
    auto message = [](int i) { return numbered(i, i <= kFrames ? kFrameSize : 16); };
    for (int i = 1; i <= kFrames; ++i) {
        ASSERT_TRUE(sender.send_frame(0x1, message(i)));
        auto line = reader.read_line(10000);
        ASSERT_TRUE(line) << "the reading TAIL client lost message " << i;
        ASSERT_TRUE(*line == "MSG src " + message(i)) << "message " << i << ": " << line->substr(0, 40);
    }

    // The stalled reader drains. Whenever it has read all there is, one more message is sent:
    // the DROPPED line comes at the latest in front of it.
    int expect = 1, extra = kFrames;
    uint64_t dropped = 0;
    auto deadline = Clock::now() + std::chrono::seconds(30);
    for (;;) {
        auto line = stalled.read_line(1000);
        if (!line) {
            ASSERT_FALSE(stalled.eof()) << "the stalled TAIL reader was disconnected after " << expect - 1
                                        << " messages";
            ASSERT_LT(Clock::now(), deadline) << "no DROPPED line";
            ASSERT_TRUE(sender.send_frame(0x1, message(++extra)));
            ASSERT_EQ(reader.read_line(10000), "MSG src " + message(extra));
            continue;
        }
        if (line->rfind("DROPPED ", 0) == 0) {
            ASSERT_EQ(dropped, 0u) << "a second DROPPED line: " << *line;
            dropped = std::stoull(line->substr(8));
            ASSERT_GT(dropped, 0u) << *line;
            expect += static_cast<int>(dropped);
            continue;
        }
        ASSERT_TRUE(*line == "MSG src " + message(expect))
            << "want message " << expect << ", got " << line->substr(0, 40);
        ++expect;
        if (dropped > 0) break;  // a message after the DROPPED line
    }
    EXPECT_LT(dropped, static_cast<uint64_t>(kFrames)) << "nothing reached the stalled reader before its budget filled";
    auto total = stat(ctl_, "tail_dropped");
    if (!total) total = stat(ctl_, "drops.tail_dropped");
    EXPECT_EQ(total, dropped) << "STATS tail_dropped";
}

// A control client sends 8 MB of empty lines (each answered with an ERR line, 232 MB in all)
// and never reads: the server stops reading it once 1 MiB of replies is unread, so it stays
// small; and a WebSocket client keeps getting what a second control client publishes.
TEST_F(ReliabilityControl, ControlClientThatNeverReadsStaysBoundedAndStarvesNobody) {
    ASSERT_TRUE(start());
    RawClient sub;
    ASSERT_TRUE(subscribe(sub, srv_.port(), "/ws/live"));
    ControlConn flood;
    ASSERT_TRUE(control(flood, srv_));
    ASSERT_EQ(flood.command("PUB live first"), "OK seq=1 delivered=1");
    ASSERT_TRUE(next_data_is(sub, "first"));
    const uint64_t rss_before = resident_bytes(srv_.pid());
    const std::string lines(8u << 20, '\n');
    std::atomic<bool> done{false};
    size_t sent = 0;
    std::thread writer([&] {
        sent = send_until_stalled(flood.fd(), lines, 2000);
        done = true;
    });
    struct Joiner {
        std::thread& t;
        ~Joiner() {
            if (t.joinable()) t.join();
        }
    } joiner{writer};

    uint64_t rss_peak = rss_before;
    long worst_ms = 0;
    int published = 0;
    for (int i = 2; (!done || published < 5) && i < 100'000; ++i) {
        auto t0 = Clock::now();
        ASSERT_EQ(cmd("PUB live n" + std::to_string(i)), "OK seq=" + std::to_string(i) + " delivered=1");
        ASSERT_TRUE(next_data_is(sub, "n" + std::to_string(i), 0x1, 5000));
        worst_ms = std::max(worst_ms, ms_since(t0));
        rss_peak = std::max(rss_peak, resident_bytes(srv_.pid()));
        ++published;
    }
    EXPECT_LT(worst_ms, 2000) << "a PUB took this long to arrive while the flood ran";
    EXPECT_GT(sent, 0u);
    if (!sanitized(srv_.pid()) && !ServerProcess::wrapped()) {
        rss_peak = std::max(rss_peak, resident_bytes(srv_.pid()));
        EXPECT_LT(rss_peak - rss_before, 8u << 20)
            << "resident memory grew by " << (rss_peak - rss_before) << " bytes; " << sent << " bytes of lines were sent";
    }
}

TEST_F(ReliabilityControl, ControlClientsOverMaxControlAreRefused) {
    ASSERT_TRUE(start({"--max-control", "2"}));
    ControlConn second, third;
    ASSERT_TRUE(control(second, srv_));
    EXPECT_EQ(second.command("PUB x two"), "OK seq=1 delivered=0");
    ASSERT_TRUE(control(third, srv_));  // the kernel's backlog takes it; the server refuses it
    EXPECT_EQ(third.read_line().value_or("<timeout or EOF>"), "ERR too many control clients");
    EXPECT_TRUE(third.wait_eof());
    EXPECT_EQ(cmd("PUB x one"), "OK seq=2 delivered=0") << "the first client is still served";
    // Once one leaves, the next is accepted.
    second.close();
    std::string reply;
    EXPECT_TRUE(wait_until([&] {
        ControlConn again;
        reply = control(again, srv_) ? again.command("PUB x again").value_or("<timeout or EOF>") : "<refused>";
        return reply.rfind("OK seq=", 0) == 0;
    })) << reply;
}

// SIGHUP reloads the configuration (here: the command line again) and SIGUSR1 logs the STATS line; neither (nor SIGUSR2) stops the
// server: the client, the control connection and the socket file all stay. SIGTERM after
// that still exits 0 with Close 1001.
TEST_F(ReliabilityControl, HangupAndUsr1LeaveTheServerRunning) {
    ASSERT_TRUE(start());
    RawClient c;
    ASSERT_TRUE(subscribe(c, srv_.port(), "/ws/x"));
    ASSERT_EQ(kill(srv_.pid(), SIGHUP), 0);
    EXPECT_TRUE(srv_.wait_log("SIGHUP: reloaded the command line (no --config): nothing changed")) << srv_.log();
    ASSERT_EQ(kill(srv_.pid(), SIGUSR1), 0);
    EXPECT_TRUE(srv_.wait_log("{\"connections\":1,")) << "no STATS line after SIGUSR1:\n" << srv_.log();
    ASSERT_EQ(kill(srv_.pid(), SIGUSR2), 0);

    ASSERT_EQ(cmd("PUB x after signals"), "OK seq=1 delivered=1") << srv_.log();
    EXPECT_TRUE(next_data_is(c, "after signals"));
    struct stat st;
    EXPECT_EQ(lstat(srv_.control_path().c_str(), &st), 0) << "the control socket file is gone";
    ControlConn fresh;
    ASSERT_TRUE(control(fresh, srv_));
    EXPECT_EQ(fresh.command("PUB x fresh"), "OK seq=2 delivered=1");
    EXPECT_TRUE(next_data_is(c, "fresh"));

    EXPECT_EQ(srv_.stop(SIGTERM), 0) << srv_.log();
    auto f = c.read_close();
    ASSERT_TRUE(f) << "no Close frame";
    EXPECT_EQ(f->close_code(), 1001);
}

}  // namespace
}  // namespace wspush::testing
