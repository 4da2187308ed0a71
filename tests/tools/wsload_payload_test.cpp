#include "wsload/payload.h"

#include <gtest/gtest.h>

#include <string>

#include "codec/utf8.h"

namespace wspush::wsload {
namespace {

class WsloadEchoPayload : public ::testing::TestWithParam<std::tuple<size_t, bool>> {};

TEST_P(WsloadEchoPayload, IntactEchoPasses) {
    const auto [size, text] = GetParam();
    EchoPayload p(size, text);
    std::string msg;
    p.make(0x1234'5678'9abcULL, msg);
    EXPECT_EQ(msg.size(), size);
    EXPECT_EQ(p.check(0x1234'5678'9abcULL, msg), -1);
    if (text) {
        EXPECT_TRUE(codec::utf8_valid(msg));
    }
}

TEST_P(WsloadEchoPayload, EveryCorruptedByteIsFound) {
    const auto [size, text] = GetParam();
    EchoPayload p(size, text);
    std::string msg;
    p.make(77, msg);
    for (size_t i = 0; i < size; ++i) {
        std::string bad = msg;
        bad[i] = static_cast<char>(bad[i] ^ 0x20);
        ASSERT_EQ(p.check(77, bad), static_cast<ptrdiff_t>(i));
    }
}

TEST_P(WsloadEchoPayload, WrongLengthIsFound) {
    const auto [size, text] = GetParam();
    EchoPayload p(size, text);
    std::string msg;
    p.make(5, msg);
    EXPECT_EQ(p.check(5, msg + "x"), static_cast<ptrdiff_t>(size));
    if (size > 0) {
        EXPECT_EQ(p.check(5, msg.substr(0, size - 1)), static_cast<ptrdiff_t>(size - 1));
    }
}

TEST_P(WsloadEchoPayload, AnotherMessagesEchoIsFound) {
    const auto [size, text] = GetParam();
    EchoPayload p(size, text);
    std::string msg;
    p.make(41, msg);
    if (size == 0) {
        EXPECT_EQ(p.check(42, msg), -1) << "an empty payload carries no counter";
        return;
    }
    EXPECT_GE(p.check(42, msg), 0);
    // 2^40 is the 11th hex digit: payloads of 11 bytes or more carry it.
    if (size >= 11) {
        EXPECT_GE(p.check(41 + (uint64_t{1} << 40), msg), 0);
    }
}

INSTANTIATE_TEST_SUITE_P(Sizes, WsloadEchoPayload,
                         ::testing::Combine(::testing::Values(0, 1, 15, 16, 17, 300),
                                            ::testing::Bool()));

TEST(WsloadEchoPayloadFiller, CounterLeadsThePayload) {
    EchoPayload p(20, true);
    std::string msg;
    p.make(0xabc, msg);
    EXPECT_TRUE(msg.starts_with("0000000000000abc"));
    EchoPayload tiny(3, true);
    tiny.make(0xabc, msg);
    EXPECT_EQ(msg, "abc");
}

TEST(WsloadEchoPayloadFiller, DiffersFromAShiftedCopy) {
    // A payload echoed with a byte lost in the middle must not pass.
    EchoPayload p(1000, false);
    std::string msg;
    p.make(1, msg);
    std::string shifted = msg.substr(0, 500) + msg.substr(501) + msg[999];
    EXPECT_EQ(p.check(1, shifted), 500);
}

TEST(WsloadStamp, RoundTrips) {
    const std::string s = make_stamp(123456789012345ULL, 42, 64);
    EXPECT_EQ(s.size(), 64u);
    EXPECT_TRUE(s.starts_with("t=123456789012345;i=42;x"));
    Stamp st;
    ASSERT_TRUE(parse_stamp(s, 64, st));
    EXPECT_EQ(st.t_ns, 123456789012345ULL);
    EXPECT_EQ(st.index, 42u);
}

TEST(WsloadStamp, NeverCutsTheStamp) {
    const std::string s = make_stamp(1000, 7, 4);
    EXPECT_EQ(s, "t=1000;i=7;");
    Stamp st;
    EXPECT_TRUE(parse_stamp(s, 4, st));
    EXPECT_EQ(st.index, 7u);
}

TEST(WsloadStamp, RejectsDamage) {
    const std::string good = make_stamp(99, 3, 32);
    Stamp st;
    ASSERT_TRUE(parse_stamp(good, 32, st));
    EXPECT_FALSE(parse_stamp(good.substr(0, 31), 32, st)) << "short";
    EXPECT_FALSE(parse_stamp(good + "x", 32, st)) << "long";
    std::string pad = good;
    pad[20] = 'y';
    EXPECT_FALSE(parse_stamp(pad, 32, st)) << "padding";
    EXPECT_FALSE(parse_stamp("t=9a;i=3;" + std::string(23, 'x'), 32, st)) << "digits";
    EXPECT_FALSE(parse_stamp("t=;i=3;" + std::string(25, 'x'), 32, st)) << "empty number";
    EXPECT_FALSE(parse_stamp("x=99;i=3;" + std::string(23, 'x'), 32, st)) << "prefix";
    EXPECT_FALSE(parse_stamp("t=99;i=3", 8, st)) << "no terminator";
    EXPECT_FALSE(parse_stamp("t=99999999999999999999;i=3;", 0, st)) << "overflow";
}

}  // namespace
}  // namespace wspush::wsload
