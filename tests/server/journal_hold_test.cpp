// Replies held for the journal's commit (src/server/durability.cpp): a client that stops
// sending right after its pushes still gets every answer, in order, before the server closes.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

#include "support/push_support.h"
#include "support/webhook_support.h"

namespace wspush::testing {
namespace {

constexpr char kToken[] = "hold-token-0001";

// A journal directory on disk for one test, removed with it.
class JournalDir {
public:
    JournalDir() {
        char tmpl[] = "/var/tmp/wspush-hold-XXXXXX";
        const char* made = mkdtemp(tmpl);
        if (made != nullptr) path_ = made;
    }
    ~JournalDir() {
        if (!path_.empty()) (void)run_command("rm -rf '" + path_ + "'");
    }
    [[nodiscard]] std::string journal() const { return path_ + "/j"; }
    [[nodiscard]] bool ok() const { return !path_.empty(); }

private:
    std::string path_;
};

class JournalHold : public PushServerTest {
protected:
    JournalDir dir_;
};

std::string push_request(char body, bool close) {
    std::string r = "POST /push/alerts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ";
    r += kToken;
    r += "\r\nContent-Type: text/plain\r\nContent-Length: 1\r\n";
    if (close) r += "Connection: close\r\n";
    r += "\r\n";
    r += body;
    return r;
}

// Two pipelined webhook pushes, then a half-close in the same write: before the answers
// were held, the server would have answered the first at once; held, the half-close must
// not close the connection before both are answered.
TEST_F(JournalHold, PipelinedWebhookPushesThenHalfCloseGetEveryAnswer) {
    ASSERT_TRUE(dir_.ok());
    ASSERT_TRUE(start({"--journal", dir_.journal(), "--robot", std::string(kToken) + " alerts"}));
    RawClient c;
    ASSERT_TRUE(c.connect(srv_.port()));
    ASSERT_TRUE(c.send_all(push_request('x', false) + push_request('y', false)));
    ASSERT_EQ(shutdown(c.fd(), SHUT_WR), 0);
    const std::string first = c.read_http();
    const std::string second = c.read_http();
    EXPECT_NE(first.find("\"seq\":1,"), std::string::npos) << first;
    EXPECT_NE(second.find("\"seq\":2,"), std::string::npos) << "the second answer never came:\n" << second;
    EXPECT_TRUE(c.wait_eof());
    EXPECT_EQ(cmd("PUB alerts z"), "OK seq=3 delivered=0");
}

// The same through the control socket, as `printf ... | socat` sends it: every reply, in
// order, then the close.
TEST_F(JournalHold, PipelinedControlCommandsThenHalfCloseGetEveryReply) {
    ASSERT_TRUE(dir_.ok());
    ASSERT_TRUE(start({"--journal", dir_.journal()}));
    ControlConn c;
    ASSERT_TRUE(control(c, srv_));
    ASSERT_TRUE(c.send("PUB a one\nCHANNELS\nPUB a two\nPUBB a 3\nxyzPUB b three\n"));
    ASSERT_EQ(shutdown(c.fd(), SHUT_WR), 0);
    EXPECT_EQ(c.read_line(), "OK seq=1 delivered=0");
    const std::optional<std::string> channels = c.read_line();
    ASSERT_TRUE(channels);
    EXPECT_EQ(channels->rfind("OK [{\"name\":\"a\"", 0), 0u) << *channels;
    EXPECT_EQ(c.read_line(), "OK seq=2 delivered=0");
    EXPECT_EQ(c.read_line(), "OK seq=3 delivered=0");
    EXPECT_EQ(c.read_line(), "OK seq=1 delivered=0");
    EXPECT_TRUE(c.wait_eof());
}

// A webhook push whose record the commit cannot write (over the file-size limit): held as
// accepted, answered 503001 after all, and counted as refused, not accepted.
TEST_F(JournalHold, AWebhookPushTheCommitRefusesIsCountedAsRefused) {
    ASSERT_TRUE(dir_.ok());
    srv_.rlimit_fsize = 16 << 10;
    ASSERT_TRUE(start({"--journal", dir_.journal(), "--robot-max-body", "64K", "--robot",
                       std::string(kToken) + " alerts name=ops"}));
    RawClient c;
    ASSERT_TRUE(c.connect(srv_.port()));
    const HttpReply r = post(c, "/push/alerts", std::string(20 << 10, 'x'), "text/plain",
                             "Authorization: Bearer " + std::string(kToken) + "\r\n");
    EXPECT_EQ(r.status, 503) << r.head << r.body;
    EXPECT_EQ(r.errcode(), 503001) << r.body;
    EXPECT_EQ(stat(ctl_, "webhook.robots.ops.accepted"), 0u);
    EXPECT_EQ(stat(ctl_, "webhook.robots.ops.refused"), 1u);
}

}  // namespace
}  // namespace wspush::testing
