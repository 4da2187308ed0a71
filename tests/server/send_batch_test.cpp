// The turn's writes, batched through io_uring (--io-uring, the default where the kernel
// allows it) or one write per socket (--io-uring=false): the same bytes, in the same order,
// to every member, including members whose socket is full when their batch goes out.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/flood.h"
#include "support/push_support.h"

namespace wspush::testing {
namespace {

class SendBatch : public PushServerTest, public ::testing::WithParamInterface<bool> {};

// Payload i: small, medium (several frames fit one gathered write) and large (a write of
// several separate frames, cut short by a full socket), its number first.
std::string payload(int i) {
    static constexpr size_t kSizes[] = {20, 3000, 70'000};
    std::string p = std::to_string(i) + ":";
    return p + std::string(kSizes[i % 3] - p.size(), static_cast<char>('a' + i % 26));
}

TEST_P(SendBatch, EveryMemberGetsEveryMessageInOrder) {
    const bool batched = GetParam();
    ASSERT_TRUE(start({"--send-buffer", "16M", batched ? "--io-uring" : "--io-uring=false"}));
    // Which way the sends go is in the log; with the flag on, only a kernel that refuses
    // io_uring may turn it down, and the log gives the reason.
    const std::string log = srv_.log();
    if (batched) {
        EXPECT_TRUE(log.find("sends: batched through io_uring") != std::string::npos ||
                    log.find("sends: one write per socket (io_uring: ") != std::string::npos)
            << log;
    } else {
        EXPECT_NE(log.find("sends: one write per socket (--io-uring=false)"), std::string::npos) << log;
    }
    // 100 members: more than three batches of 32. Every tenth reads nothing until all is
    // sent, through a 4 KiB window: its socket fills and its sends come back short or
    // with EAGAIN while the others' go through.
    constexpr int kMembers = 100;
    constexpr int kMessages = 60;
    std::vector<RawClient> clients(kMembers);
    for (int i = 0; i < kMembers; ++i) {
        if (i % 10 == 0) {
            ASSERT_TRUE(clients[i].connect_small_window(srv_.port()));
            ASSERT_EQ(clients[i].upgrade("/ws/batch"), 101);
        } else {
            ASSERT_TRUE(subscribe(clients[i], srv_.port(), "/ws/batch"));
        }
    }
    ASSERT_TRUE(wait_until([&] { return members(ctl_, "batch") == static_cast<uint64_t>(kMembers); }));
    for (int m = 0; m < kMessages; ++m) {
        const std::string p = payload(m);
        const std::string want = "OK seq=" + std::to_string(m + 1) + " delivered=" + std::to_string(kMembers);
        ASSERT_TRUE(ctl_.send("PUBB batch " + std::to_string(p.size()) + "\n" + p));
        ASSERT_EQ(ctl_.read_line(), want);
    }
    for (int i = 0; i < kMembers; ++i) {
        FrameScanner in(clients[i].fd());
        for (int m = 0; m < kMessages; ++m) {
            Frame f;
            ASSERT_TRUE(in.next(f, 5000)) << "member " << i << " got " << m << " of " << kMessages;
            ASSERT_EQ(f.opcode, 0x2);
            ASSERT_TRUE(f.payload == payload(m))
                << "member " << i << ", message " << m << ": got " << f.payload.substr(0, 12) << "... ("
                << f.payload.size() << " bytes)";
        }
    }
    EXPECT_EQ(stat(ctl_, "drops.slow_consumer"), 0u);
}

INSTANTIATE_TEST_SUITE_P(Sends, SendBatch, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& p) { return p.param ? "Batched" : "OneBySocket"; });

}  // namespace
}  // namespace wspush::testing
