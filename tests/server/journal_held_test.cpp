// --journal: replies held for the turn's commit are still given when the connection, the
// server or a timer ends things in that same turn; a failing journal loses no channel's
// numbering. (Restart and resume, kill -9, a full disk and a torn tail are
// journal_server_test.cpp's.)
#include <gtest/gtest.h>

#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "support/process_info.h"
#include "support/push_support.h"
#include "support/webhook_support.h"

namespace wspush::testing {
namespace {

constexpr char kToken[] = "journal-token-0001";
const std::string kSend = std::string("/robot/send?access_token=") + kToken;

std::string text_body(std::string_view content) {
    return std::string(R"({"msgtype":"text","text":{"content":")") + std::string(content) + R"("}})";
}

// A journal directory of its own, removed with everything in it.
class JournalDir {
public:
    JournalDir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "wspush-journal-XXXXXX").string();
        if (mkdtemp(tmpl.data()) != nullptr) path_ = tmpl + "/j";
        EXPECT_FALSE(path_.empty());
    }
    ~JournalDir() {
        std::error_code ec;
        if (!path_.empty()) std::filesystem::remove_all(std::filesystem::path(path_).parent_path(), ec);
    }
    JournalDir(const JournalDir&) = delete;
    JournalDir& operator=(const JournalDir&) = delete;
    [[nodiscard]] const std::string& path() const { return path_; }

private:
    std::string path_;
};

// The server's file-size limit (soft; the hard one stays): 0 makes every journal write fail
// with EFBIG (the server ignores SIGXFSZ), RLIM_INFINITY lets them work again.
bool limit_file_size(pid_t pid, rlim_t soft) {
    rlimit old{};
    if (prlimit(pid, RLIMIT_FSIZE, nullptr, &old) != 0) return false;
    rlimit now{soft, old.rlim_max};
    return prlimit(pid, RLIMIT_FSIZE, &now, nullptr) == 0;
}

// Waits (bounded) until pid sleeps in epoll_wait with a timeout (not a turn's poll): then a
// SIGSTOP's wake-up of its signalfd is taken off epoll's ready list before it stops, and
// what arrives while it is stopped is reported in the order it came (the tests below put a
// request before a SIGTERM).
bool wait_idle_in_epoll(pid_t pid) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < deadline) {
        std::ifstream f("/proc/" + std::to_string(pid) + "/syscall");
        long nr = -1;
        std::string a0, a1, a2, timeout;
        if (f >> nr >> a0 >> a1 >> a2 >> timeout) {
            const bool epoll = nr == 232 || nr == 281 || nr == 441;  // x86_64 epoll_wait, _pwait, _pwait2
            if (epoll && timeout != "0x0") return true;
        }
        usleep(1000);
    }
    return false;
}

// A channel's entry in CHANNELS: its epoch and last seq; nullopt when it is not listed.
struct ChannelInfo {
    std::string epoch;
    uint64_t last_seq = 0;
};
std::optional<ChannelInfo> channel_info(ControlConn& ctl, std::string_view name) {
    auto line = ctl.command("CHANNELS");
    if (!line || line->rfind("OK ", 0) != 0) return std::nullopt;
    auto j = parse_json(std::string_view(*line).substr(3));
    if (!j) return std::nullopt;
    for (const Json& ch : j->items) {
        const Json* n = ch.get("name");
        if (n == nullptr || n->text != name) continue;
        ChannelInfo info;
        info.epoch = ch.get("epoch") ? ch.get("epoch")->text : "";
        info.last_seq = ch.get("last_seq") ? ch.get("last_seq")->uint().value_or(0) : 0;
        return info;
    }
    return std::nullopt;
}

class JournalHeld : public PushServerTest {
protected:
    std::vector<std::string> robot_args() {
        return {"--journal", dir_.path(), "--robot", std::string(kToken) + " alerts name=ops rate=1000/1s"};
    }
    JournalDir dir_;
};

// A webhook push read in the same turn as SIGTERM: it is published (and journaled), so its
// caller must get the answer. Guards against: begin_shutdown() closes an HTTP connection
// with nothing queued at once, and a held answer is not queued until the turn's commit.
TEST_F(JournalHeld, WebhookAnswerHeldAtSigtermIsStillSent) {
    ASSERT_TRUE(start(robot_args()));
    RawClient c;
    ASSERT_TRUE(c.connect(srv_.port()));
    ASSERT_EQ(post(c, kSend, text_body("one")).status, 200);  // accepted, kept alive
    ASSERT_TRUE(wait_idle_in_epoll(srv_.pid()));
    {
        Frozen frozen(srv_.pid());
        ASSERT_TRUE(frozen.stopped());
        ASSERT_TRUE(c.send_all(post_request(kSend, text_body("two"))));
        ASSERT_TRUE(c.wait_acked());
        ASSERT_EQ(kill(srv_.pid(), SIGTERM), 0);  // behind the request in the server's queue
    }
    HttpReply r = parse_reply(c.read_http());
    EXPECT_EQ(r.status, 200) << r.head << r.body;
    EXPECT_EQ(r.errcode(), 0) << r.body;
    EXPECT_EQ(srv_.stop(SIGTERM), 0);
}

// The same for a control client's PUB: the message went out, the publisher must be told.
TEST_F(JournalHeld, ControlReplyHeldAtSigtermIsStillSent) {
    ASSERT_TRUE(start({"--journal", dir_.path()}));
    ASSERT_EQ(cmd("PUB news one"), "OK seq=1 delivered=0");
    ASSERT_TRUE(wait_idle_in_epoll(srv_.pid()));
    {
        Frozen frozen(srv_.pid());
        ASSERT_TRUE(frozen.stopped());
        ASSERT_TRUE(ctl_.send("PUB news two\n"));
        ASSERT_EQ(kill(srv_.pid(), SIGTERM), 0);
    }
    EXPECT_EQ(ctl_.read_line().value_or(ctl_.eof() ? "<eof>" : "<timeout>"), "OK seq=2 delivered=0");
    EXPECT_EQ(srv_.stop(SIGTERM), 0);
}

// A caller that sends its request and then its FIN (half-close) gets the answer. Guards
// against: on_peer_eof() closes a connection whose output is empty, and a held answer is
// not in the output yet.
TEST_F(JournalHeld, WebhookAnswerHeldWhenTheCallerHalfClosesIsSent) {
    ASSERT_TRUE(start(robot_args()));
    RawClient c;
    ASSERT_TRUE(c.connect(srv_.port()));
    ASSERT_EQ(post(c, kSend, text_body("one")).status, 200);
    {
        Frozen frozen(srv_.pid());  // the request and the FIN arrive together
        ASSERT_TRUE(frozen.stopped());
        ASSERT_TRUE(c.send_all(post_request(kSend, text_body("two"))));
        ASSERT_EQ(shutdown(c.fd(), SHUT_WR), 0);
        ASSERT_TRUE(c.wait_acked());
    }
    HttpReply r = parse_reply(c.read_http());
    EXPECT_EQ(r.status, 200) << r.head << r.body;
    EXPECT_EQ(r.errcode(), 0) << r.body;
    EXPECT_TRUE(c.wait_eof(2000)) << "answered, then closed";
}

// A channel forgotten while the journal fails (its history evicted) must not come back after
// a restart with the numbering the journal had before the failure: its epoch went on to
// seqs the journal never saw. Guards against: the drop record is lost (journal_record_drops
// clears the list when the append fails) and the retry's meta records cover only the
// channels that still exist.
TEST_F(JournalHeld, ChannelForgottenWhileFailingKeepsNoStaleNumbering) {
    const std::vector<std::string> args = {"--journal", dir_.path(), "--history-bytes", "4K"};
    ASSERT_TRUE(start(args));
    ASSERT_EQ(cmd("PUB a one"), "OK seq=1 delivered=0");
    auto before = channel_info(ctl_, "a");
    ASSERT_TRUE(before.has_value());

    ASSERT_TRUE(limit_file_size(srv_.pid(), 0));
    EXPECT_EQ(cmd("PUB a two").rfind("ERR journal: ", 0), 0u);    // seq 2, not journaled
    EXPECT_EQ(cmd("PUB a three").rfind("ERR journal: ", 0), 0u);  // seq 3
    // Larger than the whole history budget: nothing of "a" is kept, and with no member it is
    // forgotten (seq 4).
    EXPECT_EQ(cmd("PUB a " + std::string(5000, 'x')).rfind("ERR journal: ", 0), 0u);
    EXPECT_FALSE(channel_info(ctl_, "a").has_value());

    ASSERT_TRUE(limit_file_size(srv_.pid(), RLIM_INFINITY));
    ASSERT_TRUE(srv_.wait_log("writing again", 5000)) << srv_.log();
    ctl_.close();
    ASSERT_EQ(srv_.stop(SIGTERM), 0);

    ASSERT_TRUE(start(args));
    auto after = channel_info(ctl_, "a");
    if (after && after->epoch == before->epoch) {
        EXPECT_GE(after->last_seq, 4u) << "epoch " << after->epoch << " numbers again after seq " << after->last_seq
                                       << ", but seqs up to 4 were published in it";
    }
}

}  // namespace
}  // namespace wspush::testing
