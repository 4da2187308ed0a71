// plan_join: the upgrade target's path and query become a join plan (channels, id, resume
// points) or a refusal with a status and a specific reason. No sockets.
#include "server/route.h"

#include <gtest/gtest.h>

#include <string>

namespace wspush::server {
namespace {

struct RefusedCase {
    const char* name;
    const char* path;
    const char* query;
    uint16_t status;
    const char* reason_part;  // a word the reason must contain
};

class RouteRefuses : public ::testing::TestWithParam<RefusedCase> {};

TEST_P(RouteRefuses, WithStatusAndReason) {
    const RefusedCase& c = GetParam();
    JoinPlan p = plan_join(c.path, c.query);
    EXPECT_EQ(p.status, c.status);
    EXPECT_NE(std::string(p.reason).find(c.reason_part), std::string::npos) << p.reason;
}

const RefusedCase kRefused[] = {
        {"OutsideWs", "/chat", "", 404, "/ws/"},
        {"EmptyChannel", "/ws/", "", 400, "channel name"},
        {"BadChannelChar", "/ws/a b", "", 400, "channel name"},
        {"BadChParam", "/ws/a", "ch=x/y", 400, "channel name"},
        {"ServerIdForm", "/ws/a", "id=c1", 400, "reserved"},
        {"ServerIdFormLong", "/ws/a", "id=c18446744073709551615", 400, "reserved"},
        {"BadId", "/ws/a", "id=", 400, "client id"},
        {"UnknownParam", "/ws/a", "x=1", 400, "unknown query parameter"},
        {"EmptySince", "/ws/a", "since=", 400, "since"},
        {"SinceNotNumber", "/ws/a", "since=abc", 400, "since"},
        {"SinceTooLong", "/ws/a", "since=12345678901234567890", 400, "since"},
        {"SinceShortEpoch", "/ws/a", "since=abc.5", 400, "epoch"},
        {"SinceUpperEpoch", "/ws/a", "since=00000000000000AA.5", 400, "epoch"},
        {"SinceEpochNoSeq", "/ws/a", "since=0000000000000001.", 400, "since"},
        {"SinceAmbiguous", "/ws/a", "ch=b&since=3", 400, "ambiguous"},
        {"SinceOtherChannel", "/ws/a", "since=b:3", 400, "does not join"},
        {"SeventeenChannels", "/ws/c0",
                    "ch=c1&ch=c2&ch=c3&ch=c4&ch=c5&ch=c6&ch=c7&ch=c8&ch=c9&ch=c10&ch=c11&ch=c12&ch=c13&"
                    "ch=c14&ch=c15&ch=c16",
                    400, "at most 16"},
};

INSTANTIATE_TEST_SUITE_P(
    Cases, RouteRefuses, ::testing::ValuesIn(kRefused),
    [](const ::testing::TestParamInfo<RefusedCase>& i) { return std::string(i.param.name); });

TEST(Route, OneChannel) {
    JoinPlan p = plan_join("/ws/alerts", "");
    ASSERT_EQ(p.status, 0);
    ASSERT_EQ(p.nwant, 1u);
    EXPECT_EQ(p.wants[0].name, "alerts");
    EXPECT_FALSE(p.wants[0].resume);
    EXPECT_TRUE(p.id.empty());
}

TEST(Route, SeveralChannelsOnceEach) {
    JoinPlan p = plan_join("/ws/a", "ch=b&&ch=a&ch=c&id=panel-1");
    ASSERT_EQ(p.status, 0);
    ASSERT_EQ(p.nwant, 3u);
    EXPECT_EQ(p.wants[0].name, "a");
    EXPECT_EQ(p.wants[1].name, "b");
    EXPECT_EQ(p.wants[2].name, "c");
    EXPECT_EQ(p.id, "panel-1");
}

TEST(Route, IdsThatOnlyLookLikeServerIds) {
    for (const char* id : {"c", "c1x", "C1", "cc1", "c-1", "client1"}) {
        const std::string query = std::string("id=") + id;  // the plan's views point into it
        JoinPlan p = plan_join("/ws/a", query);
        EXPECT_EQ(p.status, 0) << id << ": " << p.reason;
        EXPECT_EQ(p.id, id);
    }
}

TEST(Route, PlainSinceIsTheCurrentEpoch) {
    JoinPlan p = plan_join("/ws/a", "since=42");
    ASSERT_EQ(p.status, 0);
    EXPECT_TRUE(p.wants[0].resume);
    EXPECT_EQ(p.wants[0].since.seq, 42u);
    EXPECT_FALSE(p.wants[0].since.has_epoch);
}

TEST(Route, SinceWithEpoch) {
    JoinPlan p = plan_join("/ws/a", "since=9f2c1a7700000001.42");
    ASSERT_EQ(p.status, 0) << p.reason;
    EXPECT_EQ(p.wants[0].since.seq, 42u);
    EXPECT_TRUE(p.wants[0].since.has_epoch);
    EXPECT_EQ(p.wants[0].since.epoch, 0x9f2c1a7700000001u);
}

TEST(Route, SincePerChannelMayPrecedeItsChannel) {
    JoinPlan p = plan_join("/ws/a", "since=b:0000000000000002.7&ch=b&since=a:3");
    ASSERT_EQ(p.status, 0) << p.reason;
    ASSERT_EQ(p.nwant, 2u);
    EXPECT_TRUE(p.wants[0].resume);
    EXPECT_EQ(p.wants[0].since.seq, 3u);
    EXPECT_FALSE(p.wants[0].since.has_epoch);
    EXPECT_TRUE(p.wants[1].resume);
    EXPECT_EQ(p.wants[1].since.seq, 7u);
    EXPECT_EQ(p.wants[1].since.epoch, 2u);
}

TEST(Route, ChannelNamesWithDotsKeepTheirSince) {
    JoinPlan p = plan_join("/ws/sensors.temp", "ch=a.b&since=a.b:5");
    ASSERT_EQ(p.status, 0) << p.reason;
    EXPECT_FALSE(p.wants[0].resume);
    EXPECT_TRUE(p.wants[1].resume);
    EXPECT_EQ(p.wants[1].since.seq, 5u);
}

TEST(Route, SixteenChannelsAreAllowed) {
    std::string q;
    for (int i = 1; i < 16; ++i) q += "ch=c" + std::to_string(i) + "&";
    JoinPlan p = plan_join("/ws/c0", q);
    ASSERT_EQ(p.status, 0) << p.reason;
    EXPECT_EQ(p.nwant, 16u);
}

}  // namespace
}  // namespace wspush::server
