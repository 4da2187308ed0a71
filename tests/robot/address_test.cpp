// Allow-list ranges: parsing, host bits, matching IPv4, IPv6 and IPv4-mapped peers.
#include "robot/address.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <cstring>
#include <netinet/in.h>
#include <ostream>
#include <string>
#include <sys/un.h>

#include "support/bytes.h"

namespace wspush::robot {
namespace {

using wspush::testing::heap_copy;

bool parse(std::string_view s, AddressRange& r) {
    const auto copy = heap_copy(s);
    return parse_range(std::string_view(copy.get(), s.size()), r);
}

AddressRange range(const char* s) {
    AddressRange r;
    EXPECT_TRUE(parse(s, r)) << s;
    return r;
}

// A peer address as accept() fills it in.
sockaddr_storage peer(const char* text) {
    sockaddr_storage ss{};
    if (std::strchr(text, ':') != nullptr) {
        auto& sin6 = reinterpret_cast<sockaddr_in6&>(ss);
        sin6.sin6_family = AF_INET6;
        sin6.sin6_port = htons(4321);
        EXPECT_EQ(inet_pton(AF_INET6, text, &sin6.sin6_addr), 1) << text;
    } else {
        auto& sin = reinterpret_cast<sockaddr_in&>(ss);
        sin.sin_family = AF_INET;
        sin.sin_port = htons(4321);
        EXPECT_EQ(inet_pton(AF_INET, text, &sin.sin_addr), 1) << text;
    }
    return ss;
}

TEST(AddressRange, ParsesHostsAndPrefixes) {
    AddressRange r = range("192.168.1.7");
    EXPECT_FALSE(r.v6);
    EXPECT_EQ(r.prefix, 32);
    EXPECT_EQ(r.addr[0], 192);
    EXPECT_EQ(r.addr[3], 7);

    r = range("10.0.0.0/8");
    EXPECT_FALSE(r.v6);
    EXPECT_EQ(r.prefix, 8);
    EXPECT_EQ(r.addr[0], 10);

    r = range("::1");
    EXPECT_TRUE(r.v6);
    EXPECT_EQ(r.prefix, 128);
    EXPECT_EQ(r.addr[15], 1);

    r = range("fd00::/8");
    EXPECT_TRUE(r.v6);
    EXPECT_EQ(r.prefix, 8);
    EXPECT_EQ(r.addr[0], 0xfd);

    EXPECT_EQ(range("0.0.0.0/0").prefix, 0);
    EXPECT_EQ(range("::/0").prefix, 0);
    EXPECT_EQ(range("10.0.0.0/32").prefix, 32);
    EXPECT_EQ(range("2001:db8::/128").prefix, 128);
    EXPECT_TRUE(range("::ffff:10.0.0.0/104").v6);
    // The longest IPv6 text (45 chars) still fits.
    EXPECT_EQ(range("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128").addr[12], 255);
}

struct BadCase {
    const char* name;
    const char* text;
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

const BadCase kBad[] = {
    {"Empty", ""},
    {"OnlyPrefix", "/8"},
    {"EmptyPrefix", "10.0.0.0/"},
    {"V4HostBits", "10.1.0.0/8"},
    {"V4HostBitsInPartialByte", "192.168.3.0/22"},
    {"V4HostBitsLastBit", "10.0.0.1/31"},
    {"V6HostBits", "fd00::1/8"},
    {"V6HostBitsPartialByte", "2001:db8:4000::/33"},
    {"V4PrefixTooLong", "10.0.0.0/33"},
    {"V6PrefixTooLong", "::/129"},
    {"PrefixHuge", "10.0.0.0/1000"},
    {"NegativePrefix", "10.0.0.0/-1"},
    {"SignedPrefix", "10.0.0.0/+8"},
    {"PrefixTrailingJunk", "10.0.0.0/8x"},
    {"TwoSlashes", "10.0.0.0/8/8"},
    {"BlankBeforePrefix", "10.0.0.0 /8"},
    {"BlankAfterPrefix", "10.0.0.0/8 "},
    {"ThreeOctets", "10.0.0"},
    {"FiveOctets", "1.2.3.4.5"},
    {"OctetTooBig", "256.0.0.1"},
    {"Hostname", "localhost"},
    {"V6BadDigit", "fd00::g"},
    {"V6TwoGaps", "1::2::3"},
    {"V6Zone", "fe80::1%eth0"},
    {"Bracketed", "[::1]"},
    {"TooLongText", "0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0001"},
};

class AddressRangeBad : public ::testing::TestWithParam<BadCase> {};

TEST_P(AddressRangeBad, Refused) {
    AddressRange r;
    r.prefix = 77;
    EXPECT_FALSE(parse(GetParam().text, r));
    EXPECT_EQ(r.prefix, 77);  // untouched
}

INSTANTIATE_TEST_SUITE_P(Texts, AddressRangeBad, ::testing::ValuesIn(kBad),
                         [](const auto& info) { return std::string(info.param.name); });

struct ContainCase {
    const char* range;
    const char* peer;
    bool in;
};

const ContainCase kContains[] = {
    // IPv4
    {"10.0.0.0/8", "10.255.1.2", true},
    {"10.0.0.0/8", "10.0.0.0", true},
    {"10.0.0.0/8", "11.0.0.0", false},
    {"10.0.0.0/8", "9.255.255.255", false},
    {"192.168.0.0/22", "192.168.3.255", true},  // the prefix ends inside a byte
    {"192.168.0.0/22", "192.168.4.0", false},
    {"10.0.0.2/31", "10.0.0.3", true},
    {"10.0.0.2/31", "10.0.0.1", false},
    {"10.0.0.2/31", "10.0.0.4", false},
    {"192.168.1.7", "192.168.1.7", true},  // a host matches itself only
    {"192.168.1.7", "192.168.1.6", false},
    {"192.168.1.7", "192.168.1.8", false},
    {"192.168.1.7", "64.168.1.7", false},
    {"0.0.0.0/0", "203.0.113.9", true},
    {"128.0.0.0/1", "255.0.0.1", true},
    {"128.0.0.0/1", "127.255.255.255", false},
    // IPv6
    {"fd00::/8", "fd12:3456::1", true},
    {"fd00::/8", "fe80::1", false},
    {"2001:db8::/33", "2001:db8:7fff:ffff::1", true},
    {"2001:db8::/33", "2001:db8:8000::", false},
    {"::1", "::1", true},
    {"::1", "::2", false},
    {"::1", "1::1", false},
    {"::/0", "2001:db8::5", true},
    {"2001:db8::1:0/127", "2001:db8::1:1", true},
    {"2001:db8::1:0/127", "2001:db8::1:2", false},
    // IPv4-mapped peers (a dual-stack listener) match IPv4 ranges.
    {"10.0.0.0/8", "::ffff:10.1.2.3", true},
    {"10.0.0.0/8", "::ffff:11.1.2.3", false},
    {"192.168.1.7", "::ffff:192.168.1.7", true},
    {"0.0.0.0/0", "::ffff:1.2.3.4", true},
    // Not mapped: a real IPv6 peer, the old "compatible" form, look-alikes.
    {"0.0.0.0/0", "::1", false},
    {"10.0.0.0/8", "::10.1.2.3", false},
    {"10.0.0.0/8", "0:0:0:0:0:fffe:a01:203", false},
    {"10.0.0.0/8", "fd00::ffff:a01:203", false},
    // An IPv6 range matches an IPv4 peer only when it covers the peer's mapped form.
    {"fd00::/8", "10.1.2.3", false},
    {"::/0", "10.1.2.3", true},
    {"::ffff:10.0.0.0/104", "10.1.2.3", true},
    {"::ffff:10.0.0.0/104", "::ffff:10.1.2.3", true},
    {"::ffff:10.0.0.0/104", "11.1.2.3", false},
};

TEST(AddressRange, Contains) {
    for (const ContainCase& c : kContains)
        EXPECT_EQ(range_contains(range(c.range), peer(c.peer)), c.in) << c.range << " " << c.peer;
}

TEST(AddressRange, OtherFamiliesMatchNothing) {
    sockaddr_storage ss{};
    ss.ss_family = AF_UNIX;
    EXPECT_FALSE(range_contains(range("0.0.0.0/0"), ss));
    EXPECT_FALSE(range_contains(range("::/0"), ss));
}

TEST(AddressRange, FormatsAddresses) {
    char out[64];
    format_address(peer("192.0.2.33"), out);
    EXPECT_STREQ(out, "192.0.2.33");
    format_address(peer("2001:db8::a:1"), out);
    EXPECT_STREQ(out, "2001:db8::a:1");
    format_address(peer("::ffff:192.0.2.33"), out);
    EXPECT_STREQ(out, "::ffff:192.0.2.33");
    sockaddr_storage ss{};
    ss.ss_family = AF_UNIX;
    format_address(ss, out);
    EXPECT_STREQ(out, "?");
}

}  // namespace
}  // namespace wspush::robot
