// The journal end to end (--journal): a channel's epoch, numbering and history survive a
// restart and a SIGKILL (every publication answered OK is there, once, in order, under its
// seq; a client resumes after what it received without a gap, so nothing reaches a client
// before it is in the journal's file), a torn or corrupt tail is cut with a warning, a full
// disk (a file-size limit) fails publications with ERR journal (webhook 503) while delivery
// goes on, a journal of another format version is refused, and replies keep their order
// while PUBs wait for the disk.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <random>
#include <thread>

#include "journal/format.h"
#include "journal/journal_util.h"
#include "support/push_support.h"
#include "support/webhook_support.h"

namespace wspush::testing {
namespace {

using journal::testing::TempDir;

// The first line of log containing needle; empty when none does.
std::string line_with(const std::string& log, std::string_view needle) {
    size_t at = log.find(needle);
    if (at == std::string::npos) return {};
    size_t begin = log.rfind('\n', at);
    begin = begin == std::string::npos ? 0 : begin + 1;
    size_t end = log.find('\n', at);
    return log.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

class JournalServer : public PushServerTest {
protected:
    // Starts the server on the journal directory, `more` arguments after.
    [[nodiscard]] bool start_journal(std::vector<std::string> more = {}) {
        std::vector<std::string> args = {"--journal", dir_.path()};
        args.insert(args.end(), more.begin(), more.end());
        return start(args);
    }
    // SIGTERM, which must end the server with status 0.
    void stop_clean() {
        ctl_.close();
        ASSERT_EQ(srv_.stop(SIGTERM), 0) << srv_.log();
    }
    void publish(const std::string& ch, uint64_t from, uint64_t to) { publish_numbered(ctl_, ch, from, to); }
    static void expect_seqs(RawClient& c, const std::string& ch, const std::string& epoch, uint64_t from, uint64_t to) {
        expect_numbered(c, ch, from, to, epoch);
    }
    // The path of the newest segment (.wsj) in the journal; empty when there is none.
    [[nodiscard]] std::string newest_segment() const {
        uint64_t newest = 0;
        bool any = false;
        for (const auto& e : std::filesystem::directory_iterator(dir_.path())) {
            uint64_t n = 0;
            if (journal::parse_segment_name(e.path().filename().string(), n) && (!any || n > newest)) {
                newest = n;
                any = true;
            }
        }
        return any ? dir_.file(journal::segment_name(newest)) : std::string();
    }

    // Publishes m1..m5 on "feed", stops, lets `damage` change the newest segment and starts
    // again, which must log a warning that it cut bytes (the line in cut_); feed's epoch
    // goes to epoch_.
    void restart_damaged(const std::function<void(const std::string&)>& damage) {
        ASSERT_TRUE(start_journal());
        ASSERT_NO_FATAL_FAILURE(publish("feed", 1, 5));
        epoch_ = epoch_of(ctl_, "feed");
        ASSERT_NO_FATAL_FAILURE(stop_clean());
        const std::string segment = newest_segment();
        ASSERT_FALSE(segment.empty());
        ASSERT_NO_FATAL_FAILURE(damage(segment));
        ASSERT_TRUE(start_journal());
        ASSERT_TRUE(srv_.wait_log(": cut ")) << srv_.log();
        cut_ = line_with(srv_.log(), ": cut ");
        EXPECT_NE(cut_.find("warn"), std::string::npos) << "a warning: " << cut_;
    }
    // After restart_damaged: feed has m1..m<kept> in its epoch, and numbering goes on.
    void expect_kept(uint64_t kept) {
        EXPECT_EQ(epoch_of(ctl_, "feed"), epoch_);
        RawClient env;
        ASSERT_TRUE(subscribe(env, srv_.port(), "/ws/feed?since=" + epoch_ + ".0", true));
        ASSERT_NO_FATAL_FAILURE(expect_seqs(env, "feed", epoch_, 1, kept));
        ASSERT_NO_FATAL_FAILURE(publish("feed", kept + 1, kept + 1));
        ASSERT_NO_FATAL_FAILURE(expect_seqs(env, "feed", epoch_, kept + 1, kept + 1));
    }

    TempDir dir_;
    std::string epoch_, cut_;
};

// ------------------------------------------------------------------ restart

TEST_F(JournalServer, RestartKeepsTheEpochAndResumesExactlyOnce) {
    ASSERT_TRUE(start_journal());
    ASSERT_NO_FATAL_FAILURE(publish("feed", 1, 5));
    const std::string epoch = epoch_of(ctl_, "feed");
    ASSERT_EQ(epoch.size(), 16u);
    ASSERT_NO_FATAL_FAILURE(stop_clean());

    ASSERT_TRUE(start_journal());
    ASSERT_TRUE(srv_.wait_log("messages recovered")) << srv_.log();
    const std::string recovered = line_with(srv_.log(), "messages recovered");
    EXPECT_NE(recovered.find("journal " + dir_.path() + ": 1 channel"), std::string::npos) << recovered;
    EXPECT_NE(recovered.find(" 5 messages recovered"), std::string::npos) << recovered;
    EXPECT_EQ(epoch_of(ctl_, "feed"), epoch) << "the channel came back in its epoch";

    RawClient env, raw;
    ASSERT_TRUE(subscribe(env, srv_.port(), "/ws/feed?since=" + epoch + ".2", true));
    ASSERT_NO_FATAL_FAILURE(expect_seqs(env, "feed", epoch, 3, 5));
    ASSERT_TRUE(subscribe(raw, srv_.port(), "/ws/feed?since=4")) << "the current epoch: no 410";
    EXPECT_EQ(cmd("PUB feed m6"), "OK seq=6 delivered=2") << "numbering goes on in the same epoch";
    ASSERT_NO_FATAL_FAILURE(expect_seqs(env, "feed", epoch, 6, 6));
    EXPECT_TRUE(next_data_is(raw, "m5"));
    EXPECT_TRUE(next_data_is(raw, "m6"));
    // Anything sent twice would come before this.
    EXPECT_EQ(cmd("PUB feed m7"), "OK seq=7 delivered=2");
    ASSERT_NO_FATAL_FAILURE(expect_seqs(env, "feed", epoch, 7, 7));
    EXPECT_TRUE(next_data_is(raw, "m7"));
}

TEST_F(JournalServer, WithoutAJournalARestartChangesTheEpoch) {
    ASSERT_TRUE(start());
    ASSERT_NO_FATAL_FAILURE(publish("feed", 1, 3));
    const std::string epoch = epoch_of(ctl_, "feed");
    ASSERT_EQ(epoch.size(), 16u);
    ASSERT_NO_FATAL_FAILURE(stop_clean());

    ASSERT_TRUE(start());
    EXPECT_EQ(cmd("PUB feed m1"), "OK seq=1 delivered=0") << "numbering starts again";
    const std::string now = epoch_of(ctl_, "feed");
    EXPECT_NE(now, epoch);
    RawClient env;
    ASSERT_TRUE(subscribe(env, srv_.port(), "/ws/feed?since=" + epoch + ".3", true));
    auto gap = read_json(env);
    ASSERT_TRUE(gap);
    EXPECT_EQ(gap->get("type")->text, "gap");
    EXPECT_EQ(gap->get("epoch")->text, now);
    EXPECT_EQ(gap->get("since")->uint(), 3u);
    EXPECT_EQ(gap->get("first")->uint(), 1u);
    ASSERT_NO_FATAL_FAILURE(expect_seqs(env, "feed", now, 1, 1));
}

TEST_F(JournalServer, WebhookPushSurvivesARestart) {
    const std::vector<std::string> robot = {"--robot", "sensor-token-01 sensors.*"};
    ASSERT_TRUE(start_journal(robot));
    const std::string bearer = "Authorization: Bearer sensor-token-01\r\n";
    {
        RawClient c;
        ASSERT_TRUE(c.connect(srv_.port()));
        HttpReply r = post(c, "/push/sensors.temp", "m1", "text/plain", bearer);
        EXPECT_EQ(r.body, R"({"errcode":0,"errmsg":"ok","seq":1,"delivered":0})");
        r = post(c, "/push/sensors.temp", "m2", "text/plain", bearer);
        EXPECT_EQ(r.body, R"({"errcode":0,"errmsg":"ok","seq":2,"delivered":0})");
    }
    const std::string epoch = epoch_of(ctl_, "sensors.temp");
    ASSERT_NO_FATAL_FAILURE(stop_clean());

    ASSERT_TRUE(start_journal(robot));
    RawClient env;
    ASSERT_TRUE(subscribe(env, srv_.port(), "/ws/sensors.temp?since=" + epoch + ".0", true));
    ASSERT_NO_FATAL_FAILURE(expect_seqs(env, "sensors.temp", epoch, 1, 2));
    RawClient c;
    ASSERT_TRUE(c.connect(srv_.port()));
    HttpReply r = post(c, "/push/sensors.temp", "m3", "text/plain", bearer);
    EXPECT_EQ(r.body, R"({"errcode":0,"errmsg":"ok","seq":3,"delivered":1})");
    ASSERT_NO_FATAL_FAILURE(expect_seqs(env, "sensors.temp", epoch, 3, 3));
}

// ------------------------------------------------------------------ kill -9

// What the test knows of one channel across rounds.
struct Known {
    std::string epoch;                        // once a message of it was seen
    std::map<std::string, uint64_t> sent;     // payload -> its place in the send order
    std::map<uint64_t, std::string> at;       // seq -> payload: acknowledged, seen or recovered
    std::map<uint64_t, bool> acked;           // seqs an OK reply gave
    uint64_t watched = 0;                     // the watcher's last seq of this channel
};

// Checks that message (seq, data) of channel k is one that was sent, in send order after
// the one before it, and the same as whatever was known at that seq; records it.
::testing::AssertionResult consistent(Known& k, uint64_t seq, const std::string& data) {
    auto sent = k.sent.find(data);
    if (sent == k.sent.end()) return ::testing::AssertionFailure() << "seq " << seq << ": '" << data << "' was never sent";
    auto known = k.at.find(seq);
    if (known != k.at.end() && known->second != data)
        return ::testing::AssertionFailure() << "seq " << seq << " is '" << data << "', was '" << known->second << "'"
                                             << (k.acked.count(seq) ? " (acknowledged)" : "");
    auto before = k.at.find(seq - 1);
    if (seq > 1 && before != k.at.end() && k.sent[before->second] >= sent->second)
        return ::testing::AssertionFailure() << "seq " << seq << " '" << data << "' was sent before seq " << seq - 1
                                             << " '" << before->second << "'";
    k.at[seq] = data;
    return ::testing::AssertionSuccess();
}

// Rounds of: start on the same journal, check what the last round left (every channel from
// its first seq, and the watcher resuming where it was), publish pipelined PUBs on a few
// channels while a watcher receives them, SIGKILL the server at a seeded random point.
TEST_F(JournalServer, KillNineLosesNothingAcknowledged) {
    const std::vector<std::string> channels = {"k0", "k1", "k2"};
    const int rounds = ServerProcess::wrapped() ? 2 : 6;
    const int seed = ::testing::UnitTest::GetInstance()->random_seed();
    SCOPED_TRACE("--gtest_random_seed=" + std::to_string(seed) + " repeats this run");
    std::mt19937 rng(static_cast<uint32_t>(seed) * 7919u + 17u);
    std::map<std::string, Known> known;
    uint64_t counter = 0;
    RawClient watcher;

    // Every channel from since=<epoch>.0, then the watcher resumed; both must match `known`.
    auto check_recovered = [&]() {
        for (const std::string& ch : channels) {
            SCOPED_TRACE("channel " + ch);
            Known& k = known[ch];
            auto info = channel_of(ctl_, ch);
            if (!info) {
                ASSERT_TRUE(k.acked.empty() && k.at.empty()) << "a channel with acknowledged messages is gone";
                continue;
            }
            ASSERT_TRUE(info->get("epoch") && info->get("last_seq")) << "CHANNELS entry without epoch or last_seq";
            const std::string epoch = info->get("epoch")->text;
            const uint64_t last = info->get("last_seq")->uint().value_or(0);
            if (!k.epoch.empty()) { ASSERT_EQ(epoch, k.epoch) << "the epoch changed"; }
            if (last == 0) continue;
            k.epoch = epoch;
            if (!k.at.empty()) { ASSERT_GE(last, k.at.rbegin()->first) << "acknowledged or delivered seqs are gone"; }
            RawClient replay;
            ASSERT_TRUE(subscribe(replay, srv_.port(), "/ws/" + ch + "?since=" + epoch + ".0", true));
            for (uint64_t s = 1; s <= last; ++s) {
                auto j = read_json(replay);
                ASSERT_TRUE(j) << "seq " << s << " of " << last << " missing";
                ASSERT_EQ(j->get("type")->text, "msg") << "seq " << s << ": not a message";
                ASSERT_EQ(envelope_seq(*j), s);
                EXPECT_EQ(j->get("epoch")->text, epoch);
                ASSERT_TRUE(consistent(k, s, j->get("data")->text));
            }
        }
    };
    // The watcher: every channel, resuming where it was in each channel it has an epoch for.
    auto watch = [&]() {
        std::string target = "/ws/" + channels[0] + "?";
        for (size_t i = 1; i < channels.size(); ++i) target += "ch=" + channels[i] + "&";
        for (const std::string& ch : channels) {
            const Known& k = known[ch];
            if (!k.epoch.empty()) target += "since=" + ch + ":" + k.epoch + "." + std::to_string(k.watched) + "&";
        }
        target.pop_back();
        ASSERT_TRUE(subscribe(watcher, srv_.port(), target, true)) << target;
    };
    // One frame the watcher received: in order after the last one of its channel, no gap.
    auto watched = [&](const Frame& f) -> ::testing::AssertionResult {
        auto j = parse_json(f.payload);
        if (!j || !j->get("type") || j->get("type")->text != "msg" || !j->get("channel"))
            return ::testing::AssertionFailure() << "the watcher got " << f.payload;
        Known& k = known[j->get("channel")->text];
        const std::string epoch = j->get("epoch")->text;
        if (k.epoch.empty()) k.epoch = epoch;
        if (epoch != k.epoch) return ::testing::AssertionFailure() << "epoch changed: " << f.payload;
        const uint64_t seq = envelope_seq(*j);
        if (seq != k.watched + 1)
            return ::testing::AssertionFailure() << "the watcher got seq " << seq << " after " << k.watched << ": "
                                                 << f.payload;
        k.watched = seq;
        return consistent(k, seq, j->get("data")->text);
    };

    for (int round = 0; round <= rounds; ++round) {
        const char* policy = round == 0 ? "always" : round == 1 ? "never" : "batch";
        SCOPED_TRACE("round " + std::to_string(round) + " --fsync " + policy);
        ASSERT_TRUE(start_journal({"--fsync", policy, "--history", "100000"}));
        ASSERT_NO_FATAL_FAILURE(check_recovered());
        ASSERT_NO_FATAL_FAILURE(watch());
        if (round == rounds) break;

        // Pipelined PUBs, at most 64 unanswered, on random channels, until `acks` replies.
        std::uniform_int_distribution<int> pick(0, static_cast<int>(channels.size()) - 1);
        const int acks = std::uniform_int_distribution<int>(10, round == 0 ? 120 : 500)(rng);
        ControlConn pub;
        ASSERT_TRUE(control(pub, srv_));
        std::deque<std::pair<std::string, std::string>> unanswered;  // channel, payload
        auto send_batch = [&]() {
            std::string batch;
            for (int n = std::uniform_int_distribution<int>(1, 32)(rng); n > 0; --n) {
                const std::string& ch = channels[static_cast<size_t>(pick(rng))];
                std::string payload = ch + "-" + std::to_string(round) + "-" + std::to_string(++counter);
                known[ch].sent[payload] = counter;
                batch += "PUB " + ch + " " + payload + "\n";
                unanswered.emplace_back(ch, std::move(payload));
            }
            return pub.send(batch);
        };
        auto answered = [&](const std::string& line) -> ::testing::AssertionResult {
            if (unanswered.empty()) return ::testing::AssertionFailure() << "a reply too many: " << line;
            auto [ch, payload] = unanswered.front();
            unanswered.pop_front();
            if (line.rfind("OK seq=", 0) != 0) return ::testing::AssertionFailure() << "PUB " << payload << ": " << line;
            const uint64_t seq = std::stoull(line.substr(7));
            known[ch].acked[seq] = true;
            return consistent(known[ch], seq, payload);
        };
        auto drain_watcher = [&](int timeout_ms) {
            while (auto f = read_data(watcher, timeout_ms)) ASSERT_TRUE(watched(*f));
        };
        for (int got = 0; got < acks; ++got) {
            if (unanswered.size() < 64) { ASSERT_TRUE(send_batch()); }
            auto line = pub.read_line(10000);
            ASSERT_TRUE(line) << "no reply after " << got;
            ASSERT_TRUE(answered(*line));
            ASSERT_NO_FATAL_FAILURE(drain_watcher(0));
        }
        // The kill lands at a random moment of the server's work on one more batch: reading
        // it, publishing, writing, syncing (an fdatasync takes about a millisecond) or replying.
        ASSERT_TRUE(send_batch());
        std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(0, 3000)(rng)));
        ASSERT_EQ(srv_.stop(SIGKILL), 128 + SIGKILL);
        // The replies written before the kill acknowledge too; the watcher's frames stand.
        while (auto line = pub.read_line(5000)) ASSERT_TRUE(answered(*line));
        ASSERT_TRUE(pub.eof());
        ASSERT_NO_FATAL_FAILURE(drain_watcher(5000));
        ASSERT_TRUE(watcher.wait_eof(5000));
        ctl_.close();
    }

    // The watcher's replay (what it missed) then a new message per channel, each once.
    for (const std::string& ch : channels) {
        Known& k = known[ch];
        if (k.at.empty()) continue;
        while (k.watched < k.at.rbegin()->first) {
            auto f = read_data(watcher);
            ASSERT_TRUE(f) << ch << ": the watcher's replay stopped at " << k.watched;
            ASSERT_TRUE(watched(*f));
        }
    }
    for (const std::string& ch : channels) {
        Known& k = known[ch];
        const std::string payload = ch + "-final";
        k.sent[payload] = ++counter;
        const uint64_t seq = k.at.empty() ? 1 : k.at.rbegin()->first + 1;
        const std::string reply = cmd("PUB " + ch + " " + payload);
        EXPECT_EQ(reply.rfind("OK seq=" + std::to_string(seq) + " ", 0), 0u) << reply;
        auto f = read_data(watcher);
        ASSERT_TRUE(f);
        ASSERT_TRUE(watched(*f));
        EXPECT_EQ(k.at[seq], payload);
    }
}

// The highest seq of a message of channel ch in the journal's files as they are now.
uint64_t highest_on_disk(const std::string& dir, const std::string& ch) {
    uint64_t high = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        uint64_t n = 0;
        if (!journal::parse_segment_name(e.path().filename().string(), n)) continue;
        std::ifstream in(e.path(), std::ios::binary);
        const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        (void)journal::scan_records(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                                    [&](const journal::Record& r, uint64_t) {
                                        if (r.is_message() && r.channel == ch) high = std::max(high, r.seq);
                                    });
    }
    return high;
}

// Whether pid is stopped (state T in /proc/<pid>/stat), waiting up to 2 s for it.
bool wait_stopped(pid_t pid) {
    return wait_until(
        [pid] {
            std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
            std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
            size_t paren = stat.rfind(')');
            return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'T';
        },
        2000, 1);
}

// A message a client has received must already be in the journal's file (written, if not
// yet synced): a process crash loses nothing written, so what a client saw is still there
// after a restart, and it resumes after it without a gap. A small --send-buffer makes the
// server write to the client while a long pipelined batch of PUBs is still being read;
// the server is stopped (SIGSTOP) as soon as the client has something, and the file must
// hold every seq the client received.
TEST_F(JournalServer, NothingIsDeliveredBeforeItIsWritten) {
    ASSERT_TRUE(start_journal({"--send-buffer", "1K"}));
    for (int attempt = 0; attempt < 30; ++attempt) {
        SCOPED_TRACE("attempt " + std::to_string(attempt));
        const std::string ch = "w" + std::to_string(attempt);
        RawClient watcher;
        ASSERT_TRUE(subscribe(watcher, srv_.port(), "/ws/" + ch, true));
        ControlConn pub;
        ASSERT_TRUE(control(pub, srv_));
        std::string batch;
        for (int i = 1; i <= 2000; ++i) batch += "PUB " + ch + " " + std::to_string(i) + "\n";
        ASSERT_TRUE(pub.send(batch));
        pollfd p{watcher.fd(), POLLIN, 0};
        ASSERT_EQ(poll(&p, 1, 5000), 1) << "nothing delivered";
        kill(srv_.pid(), SIGSTOP);
        struct Continue {
            pid_t pid;
            ~Continue() {
                if (pid > 0) kill(pid, SIGCONT);  // also when an assertion leaves early
            }
        } cont{srv_.pid()};
        ASSERT_TRUE(wait_stopped(srv_.pid()));
        // Everything the stopped server wrote is in the client's socket now.
        uint64_t seen = 0;
        std::string epoch;
        while (auto f = read_data(watcher, 0)) {
            auto j = parse_json(f->payload);
            ASSERT_TRUE(j && j->get("epoch"));
            seen = envelope_seq(*j);
            epoch = j->get("epoch")->text;
        }
        const uint64_t written = highest_on_disk(dir_.path(), ch);
        if (seen > written) {
            ADD_FAILURE() << "the client has seq " << seen << " of " << ch << ", the journal's file only up to "
                          << written;
            // What that means for the client: after a crash it resumes after seq `seen`.
            cont.pid = -1;
            ASSERT_EQ(srv_.stop(SIGKILL), 128 + SIGKILL);
            ASSERT_TRUE(start_journal({"--send-buffer", "1K"}));
            RawClient again;
            ASSERT_TRUE(subscribe(again, srv_.port(), "/ws/" + ch + "?since=" + epoch + "." + std::to_string(seen), true));
            EXPECT_EQ(cmd("PUB " + ch + " after"), "OK seq=" + std::to_string(seen + 1) + " delivered=1");
            auto j = read_json(again);
            ASSERT_TRUE(j);
            EXPECT_EQ(envelope_seq(*j), seen + 1) << "resumed after seq " << seen << ", got " << j->get("type")->text;
            return;
        }
        kill(srv_.pid(), SIGCONT);
        cont.pid = -1;
        for (int i = 1; i <= 2000; ++i) {
            auto l = pub.read_line(10000);
            ASSERT_TRUE(l) << "reply " << i;
            ASSERT_EQ(l->rfind("OK seq=" + std::to_string(i) + " ", 0), 0u) << *l;
        }
        ASSERT_EQ(highest_on_disk(dir_.path(), ch), 2000u) << "answered, so written";
    }
}

// ------------------------------------------------------------------ damaged tail


TEST_F(JournalServer, GarbageAfterTheLastRecordIsCut) {
    ASSERT_NO_FATAL_FAILURE(restart_damaged([](const std::string& segment) {
        std::ofstream out(segment, std::ios::binary | std::ios::app);
        std::string garbage(37, '\0');
        for (size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<char>(0x5a ^ (i * 29));
        out << garbage;
    }));
    EXPECT_NE(cut_.find(" 37 bytes"), std::string::npos) << "the bytes cut: " << cut_;
    ASSERT_NO_FATAL_FAILURE(expect_kept(5));
}

TEST_F(JournalServer, ATornLastRecordIsCut) {
    // The last record is "m5" on "feed": a 28-byte header, 4 bytes of name, 2 of payload.
    constexpr uint64_t kLast = journal::kRecordHeaderSize + 4 + 2;
    ASSERT_NO_FATAL_FAILURE(restart_damaged([&](const std::string& segment) {
        const uint64_t size = std::filesystem::file_size(segment);
        ASSERT_GE(size, journal::kSegmentHeaderSize + 5 * kLast) << "not the records written";
        std::filesystem::resize_file(segment, size - 11);
    }));
    EXPECT_NE(cut_.find(" " + std::to_string(kLast - 11) + " bytes"), std::string::npos) << "the bytes cut: " << cut_;
    ASSERT_NO_FATAL_FAILURE(expect_kept(4));
}

// ------------------------------------------------------------------ full disk

// A file-size limit stands for a full disk: the first PUB whose record does not fit is
// answered ERR journal, yet delivered and kept in memory; the server goes on serving, and
// writes again (a new segment) once it retries.
TEST_F(JournalServer, AFullDiskFailsPublicationsNotDelivery) {
    srv_.rlimit_fsize = 64 << 10;
    ASSERT_TRUE(start_journal({"--robot", "disk-token-01 disk"}));
    auto payload_of = [](uint64_t seq) { return "m" + std::to_string(seq) + std::string(1000, '.'); };
    // The next envelope on c: message seq of "disk" with that data.
    auto expect_data = [](RawClient& c, uint64_t seq, const std::string& data) {
        auto j = read_json(c);
        ASSERT_TRUE(j) << "seq " << seq << " not delivered";
        ASSERT_EQ(envelope_seq(*j), seq);
        ASSERT_EQ(j->get("data")->text, data);
    };
    RawClient env;
    ASSERT_TRUE(subscribe(env, srv_.port(), "/ws/disk", true));
    std::string reply;
    uint64_t seq = 0;
    while (seq < 200) {
        ++seq;
        reply = cmd("PUB disk " + payload_of(seq));
        ASSERT_NO_FATAL_FAILURE(expect_data(env, seq, payload_of(seq))) << reply;
        if (reply.rfind("ERR ", 0) == 0) break;
        ASSERT_EQ(reply, "OK seq=" + std::to_string(seq) + " delivered=1");
    }
    ASSERT_EQ(reply.rfind("ERR journal: ", 0), 0u) << reply;
    EXPECT_GT(seq, 10u) << "64 KiB holds more than this";
    // While failing (unless the retry already succeeded): STATS says so, and a webhook push
    // is answered 503, yet delivered.
    auto s = stats(ctl_);
    RawClient hook;
    ASSERT_TRUE(hook.connect(srv_.port()));
    const HttpReply pushed = post(hook, "/push/disk", "hooked", "text/plain", "Authorization: Bearer disk-token-01\r\n");
    ASSERT_TRUE(s);
    const Json* journal = s->get("journal");
    ASSERT_TRUE(journal) << "no journal in STATS";
    ASSERT_TRUE(journal->get("state") && journal->get("errors"));
    EXPECT_GE(journal->get("errors")->uint().value_or(0), 1u);
    if (srv_.log().find(": writing again") == std::string::npos) {
        EXPECT_EQ(journal->get("state")->text, "failing");
        ASSERT_TRUE(journal->get("error"));
        EXPECT_FALSE(journal->get("error")->text.empty());
        EXPECT_EQ(pushed.status, 503) << pushed.head << pushed.body;
        EXPECT_EQ(pushed.errcode(), 503001) << pushed.body;
        EXPECT_EQ(pushed.errmsg().rfind("journal: ", 0), 0u) << pushed.body;
    }
    ASSERT_NO_FATAL_FAILURE(expect_data(env, seq + 1, "hooked"));
    const std::string epoch = epoch_of(ctl_, "disk");

    // Still serving: a new client gets both from memory, a PUB is answered.
    RawClient late;
    ASSERT_TRUE(subscribe(late, srv_.port(), "/ws/disk?since=" + epoch + "." + std::to_string(seq - 1), true));
    ASSERT_NO_FATAL_FAILURE(expect_data(late, seq, payload_of(seq)));
    ASSERT_NO_FATAL_FAILURE(expect_data(late, seq + 1, "hooked"));
    reply = cmd("PUB disk after");
    EXPECT_TRUE(reply.rfind("OK seq=" + std::to_string(seq + 2) + " ", 0) == 0 || reply.rfind("ERR journal: ", 0) == 0)
        << reply;
    for (RawClient* c : {&env, &late}) ASSERT_NO_FATAL_FAILURE(expect_data(*c, seq + 2, "after"));

    // The retry starts a new segment, which the limit lets grow again.
    ASSERT_TRUE(srv_.wait_log(": writing again", 5000)) << srv_.log();
    EXPECT_EQ(cmd("PUB disk again"), "OK seq=" + std::to_string(seq + 3) + " delivered=2");
    s = stats(ctl_);
    ASSERT_TRUE(s && s->get("journal") && s->get("journal")->get("state"));
    EXPECT_EQ(s->get("journal")->get("state")->text, "ok");
}

// ------------------------------------------------------------------ format version

TEST_F(JournalServer, AnotherFormatVersionIsRefused) {
    ASSERT_TRUE(start_journal());
    EXPECT_EQ(cmd("PUB feed m1"), "OK seq=1 delivered=0");
    ASSERT_NO_FATAL_FAILURE(stop_clean());
    const std::string segment = newest_segment();
    ASSERT_FALSE(segment.empty());
    {
        int fd = open(segment.c_str(), O_RDWR | O_CLOEXEC);
        ASSERT_GE(fd, 0);
        uint8_t bytes[journal::kSegmentHeaderSize];
        ASSERT_EQ(pread(fd, bytes, sizeof bytes, 0), static_cast<ssize_t>(sizeof bytes));
        journal::SegmentHeader h;
        ASSERT_EQ(journal::decode_segment_header(bytes, h), journal::HeaderCheck::kOk);
        h.version = 77;
        journal::encode_segment_header(h, bytes);
        ASSERT_EQ(pwrite(fd, bytes, sizeof bytes, 0), static_cast<ssize_t>(sizeof bytes));
        close(fd);
    }
    ASSERT_FALSE(srv_.start({"--journal", dir_.path()})) << "a journal it cannot read";
    EXPECT_EQ(srv_.early_exit(), 1) << srv_.log();  // a failed start, as README "Command line" says
    const std::string error = line_with(srv_.log(), "format version");
    EXPECT_EQ(error.rfind("wspushd: journal", 0), 0u) << srv_.log();
    EXPECT_NE(error.find("version 77"), std::string::npos) << error;
    EXPECT_NE(error.find("version " + std::to_string(journal::kFormatVersion)), std::string::npos) << error;
    EXPECT_NE(error.find(std::filesystem::path(segment).filename().string()), std::string::npos) << error;
}

// ------------------------------------------------------------------ reply order

// PUB replies wait for the disk; the replies of the commands between them must not pass them.
TEST_F(JournalServer, PipelinedRepliesKeepTheirOrder) {
    for (const char* policy : {"batch", "always"}) {
        SCOPED_TRACE(std::string("--fsync ") + policy);
        ASSERT_TRUE(start_journal({"--fsync", policy}));
        ASSERT_TRUE(ctl_.send("PUB a x\nSTATS\nPUB a y\n"));
        auto first = ctl_.read_line(), second = ctl_.read_line(), third = ctl_.read_line();
        ASSERT_TRUE(first && second && third);
        EXPECT_EQ(first->rfind("OK seq=", 0), 0u) << *first;
        EXPECT_EQ(second->rfind("OK {", 0), 0u) << *second;
        EXPECT_EQ(third->rfind("OK seq=", 0), 0u) << *third;
        EXPECT_EQ(std::stoull(third->substr(7)), std::stoull(first->substr(7)) + 1);

        std::string batch;
        std::vector<std::string> want;
        for (int i = 0; i < 20; ++i) {
            batch += "PUB b " + std::to_string(i) + "\n" + (i % 2 ? "CHANNELS\n" : "STATS\n");
            want.push_back("OK seq=");
            want.push_back(i % 2 ? "OK [" : "OK {");
        }
        ASSERT_TRUE(ctl_.send(batch));
        uint64_t seq = 0;
        for (size_t i = 0; i < want.size(); ++i) {
            auto l = ctl_.read_line();
            ASSERT_TRUE(l) << "reply " << i;
            ASSERT_EQ(l->rfind(want[i], 0), 0u) << "reply " << i << ": " << *l;
            if (i % 2 == 0) {
                const uint64_t s = std::stoull(l->substr(7));
                if (seq != 0) { EXPECT_EQ(s, seq + 1); }
                seq = s;
            }
        }
        ASSERT_NO_FATAL_FAILURE(stop_clean());
    }
}

}  // namespace
}  // namespace wspush::testing
