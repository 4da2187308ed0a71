// Resume with since=: replay then live, several channels, gaps (older than --history, or
// beyond the last seq after a restart), and exactly-once delivery while pushes continue
// during reconnects.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "support/push_support.h"

namespace wspush::testing {
namespace {

class Resume : public PushServerTest {
protected:
    void publish(const std::string& ch, uint64_t from, uint64_t to) { publish_numbered(ctl_, ch, from, to); }
    static void expect_seqs(RawClient& c, const std::string& ch, uint64_t from, uint64_t to) {
        expect_numbered(c, ch, from, to);
    }
};

TEST_F(Resume, SinceReplaysTheRestThenLive) {
    ASSERT_TRUE(start());
    ASSERT_NO_FATAL_FAILURE(publish("feed", 1, 5));
    RawClient raw, env;
    ASSERT_TRUE(subscribe(raw, srv_.port(), "/ws/feed?since=2"));
    ASSERT_TRUE(subscribe(env, srv_.port(), "/ws/feed?since=2", true));
    ASSERT_NO_FATAL_FAILURE(publish("feed", 6, 6));
    for (const char* want : {"m3", "m4", "m5", "m6"}) EXPECT_TRUE(next_data_is(raw, want));
    ASSERT_NO_FATAL_FAILURE(expect_seqs(env, "feed", 3, 6));
}

TEST_F(Resume, SinceZeroReplaysEverythingKept) {
    ASSERT_TRUE(start());
    ASSERT_NO_FATAL_FAILURE(publish("feed", 1, 3));
    RawClient env;
    ASSERT_TRUE(subscribe(env, srv_.port(), "/ws/feed?since=0", true));
    ASSERT_NO_FATAL_FAILURE(expect_seqs(env, "feed", 1, 3));
}

TEST_F(Resume, SinceLatestReplaysNothing) {
    ASSERT_TRUE(start());
    ASSERT_NO_FATAL_FAILURE(publish("feed", 1, 4));
    RawClient raw;
    ASSERT_TRUE(subscribe(raw, srv_.port(), "/ws/feed?since=4"));
    ASSERT_NO_FATAL_FAILURE(publish("feed", 5, 5));
    EXPECT_TRUE(next_data_is(raw, "m5"));
}

TEST_F(Resume, SinceZeroOnANewChannel) {
    ASSERT_TRUE(start());
    RawClient raw;
    ASSERT_TRUE(subscribe(raw, srv_.port(), "/ws/fresh?since=0")) << "nothing missed: no 410";
    ASSERT_NO_FATAL_FAILURE(publish("fresh", 1, 1));
    EXPECT_TRUE(next_data_is(raw, "m1"));
}

TEST_F(Resume, PerChannelSince) {
    ASSERT_TRUE(start());
    ASSERT_NO_FATAL_FAILURE(publish("a", 1, 3));
    ASSERT_NO_FATAL_FAILURE(publish("b", 1, 4));
    ASSERT_NO_FATAL_FAILURE(publish("c", 1, 2));
    RawClient env;
    // a from 1, b from 3, c joined live only.
    ASSERT_TRUE(subscribe(env, srv_.port(), "/ws/a?ch=b&ch=c&since=b:3&since=a:1", true));
    ASSERT_NO_FATAL_FAILURE(expect_seqs(env, "a", 2, 3));
    ASSERT_NO_FATAL_FAILURE(expect_seqs(env, "b", 4, 4));
    ASSERT_NO_FATAL_FAILURE(publish("c", 3, 3));
    ASSERT_NO_FATAL_FAILURE(expect_seqs(env, "c", 3, 3));
}

// ------------------------------------------------------------------ gaps

TEST_F(Resume, OlderThanHistoryGivesGapThenWhatIsKept) {
    ASSERT_TRUE(start({"--history", "5"}));
    ASSERT_NO_FATAL_FAILURE(publish("feed", 1, 10));
    RawClient env;
    ASSERT_TRUE(subscribe(env, srv_.port(), "/ws/feed?since=2", true));
    EXPECT_TRUE(next_envelope_is(env, R"({"type":"gap","channel":"feed","epoch":"*","since":2,"first":6})"));
    ASSERT_NO_FATAL_FAILURE(expect_seqs(env, "feed", 6, 10));
    ASSERT_NO_FATAL_FAILURE(publish("feed", 11, 11));
    ASSERT_NO_FATAL_FAILURE(expect_seqs(env, "feed", 11, 11));
}

TEST_F(Resume, JustInsideHistoryHasNoGap) {
    ASSERT_TRUE(start({"--history", "5"}));
    ASSERT_NO_FATAL_FAILURE(publish("feed", 1, 10));
    RawClient env, raw;
    ASSERT_TRUE(subscribe(env, srv_.port(), "/ws/feed?since=5", true));
    ASSERT_NO_FATAL_FAILURE(expect_seqs(env, "feed", 6, 10));
    ASSERT_TRUE(subscribe(raw, srv_.port(), "/ws/feed?since=5"));
    for (const char* want : {"m6", "m7", "m8", "m9", "m10"}) EXPECT_TRUE(next_data_is(raw, want));
}

TEST_F(Resume, OlderThanHistoryRefusesARawClient) {
    ASSERT_TRUE(start({"--history", "5"}));
    ASSERT_NO_FATAL_FAILURE(publish("feed", 1, 10));
    RawClient raw;
    ASSERT_TRUE(raw.connect(srv_.port()));
    std::string head;
    EXPECT_EQ(raw.upgrade("/ws/feed?since=4", {}, &head), 410) << head;
    RawClient multi;
    ASSERT_TRUE(multi.connect(srv_.port()));
    EXPECT_EQ(multi.upgrade("/ws/ok?ch=feed&since=feed:1", {}, &head), 410) << head;
}

TEST_F(Resume, BeyondTheLastSeqIsAGap) {
    ASSERT_TRUE(start());
    ASSERT_NO_FATAL_FAILURE(publish("feed", 1, 3));
    RawClient env;
    ASSERT_TRUE(subscribe(env, srv_.port(), "/ws/feed?since=10", true));
    EXPECT_TRUE(next_envelope_is(env, R"({"type":"gap","channel":"feed","epoch":"*","since":10,"first":1})"));
    ASSERT_NO_FATAL_FAILURE(expect_seqs(env, "feed", 1, 3));
    RawClient raw;
    ASSERT_TRUE(raw.connect(srv_.port()));
    EXPECT_EQ(raw.upgrade("/ws/feed?since=10"), 410);
}

// A client that saw seq 3 before the server restarted: the new server's channel starts
// again at 1, so since=3 is beyond its last seq.
TEST_F(Resume, AfterARestartTheClientIsToldToResync) {
    {
        ServerProcess before;
        ASSERT_TRUE(before.start({})) << before.log();
        ControlConn ctl;
        ASSERT_TRUE(control(ctl, before));
        for (int i = 1; i <= 3; ++i) EXPECT_EQ(ctl.command("PUB feed old"), "OK seq=" + std::to_string(i) + " delivered=0");
        ASSERT_EQ(before.stop(), 0);
    }
    ASSERT_TRUE(start());
    ASSERT_NO_FATAL_FAILURE(publish("feed", 1, 1));
    RawClient env;
    ASSERT_TRUE(subscribe(env, srv_.port(), "/ws/feed?since=3", true));
    EXPECT_TRUE(next_envelope_is(env, R"({"type":"gap","channel":"feed","epoch":"*","since":3,"first":1})"));
    ASSERT_NO_FATAL_FAILURE(expect_seqs(env, "feed", 1, 1));
}

// ------------------------------------------------------------------ exactly once

// Shared state of the publisher and the subscribers below.
struct Race {
    std::mutex mu;
    std::condition_variable cv;
    uint64_t published = 0;           // seqs confirmed by OK replies
    std::vector<uint64_t> progress;   // highest seq each subscriber has seen
    std::atomic<bool> failed{false};
};

// A publisher pipelines PUBs in batches from its own control connection while every
// subscriber keeps dropping its connection and resuming with since=<last seen>. Each
// reconnect waits until something was published while it was away, so each one replays.
// Every subscriber must see every seq exactly once, in order.
TEST_F(Resume, ExactlyOnceWhilePushesContinueDuringReconnects) {
    constexpr uint64_t kTotal = 3000;
    constexpr uint64_t kBatch = 50;
    constexpr int kSubscribers = 4;
    ASSERT_TRUE(start({"--history", "10000"}));
    Race race;
    race.progress.assign(kSubscribers, 0);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);

    struct Result {
        SeqCheck seqs;
        int reconnects = 0;
        std::string error;
    };
    std::vector<Result> results(kSubscribers);
    std::vector<RawClient> first(kSubscribers);
    for (auto& c : first) ASSERT_TRUE(subscribe(c, srv_.port(), "/ws/feed", true));

    auto subscriber = [&](int me) {
        Result& r = results[me];
        RawClient* c = &first[me];
        RawClient again;
        uint64_t stay = 37 + 23 * static_cast<uint64_t>(me);  // messages per connection
        while (r.seqs.last() < kTotal && !race.failed) {
            for (uint64_t n = 0; n < stay && r.seqs.last() < kTotal; ++n) {
                auto j = read_json(*c, 10000);
                if (!j) {
                    r.error = "no message after seq " + std::to_string(r.seqs.last());
                    race.failed = true;
                    race.cv.notify_all();
                    return;
                }
                r.seqs.add(envelope_seq(*j));
                std::lock_guard<std::mutex> lock(race.mu);
                race.progress[me] = r.seqs.last();
                race.cv.notify_all();
            }
            if (r.seqs.last() >= kTotal) break;
            c->close();
            {
                std::unique_lock<std::mutex> lock(race.mu);
                race.cv.wait_until(lock, deadline, [&] { return race.published > r.seqs.last() || race.failed; });
            }
            c = &again;
            if (!subscribe(again, srv_.port(), "/ws/feed?since=" + std::to_string(r.seqs.last()), true)) {
                r.error = "resume refused after seq " + std::to_string(r.seqs.last());
                race.failed = true;
                race.cv.notify_all();
                return;
            }
            ++r.reconnects;
        }
    };

    std::string publish_error;
    auto publisher = [&] {
        ControlConn pub;
        if (!control(pub, srv_)) {
            publish_error = "control connect failed";
            race.failed = true;
            return;
        }
        for (uint64_t from = 1; from <= kTotal && !race.failed; from += kBatch) {
            {
                // Stay at most two batches ahead of the slowest subscriber.
                std::unique_lock<std::mutex> lock(race.mu);
                bool ok = race.cv.wait_until(lock, deadline, [&] {
                    return race.failed || *std::min_element(race.progress.begin(), race.progress.end()) + 2 * kBatch >=
                                              race.published;
                });
                if (!ok) {
                    publish_error = "subscribers stalled at " + std::to_string(race.published);
                    race.failed = true;
                    race.cv.notify_all();
                    return;
                }
            }
            std::string batch;
            for (uint64_t s = from; s < from + kBatch; ++s) batch += "PUB feed " + std::to_string(s) + "\n";
            if (!pub.send(batch)) {
                publish_error = "control send failed";
                race.failed = true;
                return;
            }
            for (uint64_t s = from; s < from + kBatch; ++s) {
                auto l = pub.read_line(10000);
                if (!l || l->rfind("OK seq=" + std::to_string(s) + " ", 0) != 0) {
                    publish_error = "reply for seq " + std::to_string(s) + ": " + l.value_or("<timeout>");
                    race.failed = true;
                    race.cv.notify_all();
                    return;
                }
            }
            std::lock_guard<std::mutex> lock(race.mu);
            race.published = from + kBatch - 1;
            race.cv.notify_all();
        }
    };

    std::vector<std::thread> threads;
    threads.emplace_back(publisher);
    for (int i = 0; i < kSubscribers; ++i) threads.emplace_back(subscriber, i);
    for (auto& t : threads) t.join();

    EXPECT_EQ(publish_error, "");
    for (int i = 0; i < kSubscribers; ++i) {
        SCOPED_TRACE("subscriber " + std::to_string(i));
        const Result& r = results[i];
        EXPECT_EQ(r.error, "");
        EXPECT_TRUE(r.seqs.ok()) << r.seqs.error();
        EXPECT_EQ(r.seqs.last(), kTotal);
        EXPECT_EQ(r.seqs.count(), kTotal) << "duplicates or losses";
        EXPECT_GE(r.reconnects, 10);
    }
}

}  // namespace
}  // namespace wspush::testing
