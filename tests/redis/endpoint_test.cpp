// Parsing HOST:PORT and unix:PATH.
#include "redis/endpoint.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cstdio>
#include <cstring>

namespace wspush::redis {
namespace {

TEST(RedisEndpoint, ParsesEveryForm) {
    Endpoint ep;
    std::string err;
    ASSERT_TRUE(parse_endpoint("127.0.0.1:6379", ep, err)) << err;
    EXPECT_EQ(ep.addr.ss_family, AF_INET);
    EXPECT_EQ(ntohs(reinterpret_cast<sockaddr_in&>(ep.addr).sin_port), 6379);
    EXPECT_EQ(ep.text, "127.0.0.1:6379");
    ASSERT_TRUE(parse_endpoint("localhost:1", ep, err)) << err;
    EXPECT_EQ(ntohl(reinterpret_cast<sockaddr_in&>(ep.addr).sin_addr.s_addr), INADDR_LOOPBACK);
    ASSERT_TRUE(parse_endpoint("[::1]:65535", ep, err)) << err;
    EXPECT_EQ(ep.addr.ss_family, AF_INET6);
    EXPECT_EQ(ntohs(reinterpret_cast<sockaddr_in6&>(ep.addr).sin6_port), 65535);
    ASSERT_TRUE(parse_endpoint("unix:/run/redis/redis.sock", ep, err)) << err;
    EXPECT_EQ(ep.addr.ss_family, AF_UNIX);
    EXPECT_STREQ(reinterpret_cast<sockaddr_un&>(ep.addr).sun_path, "/run/redis/redis.sock");
}

TEST(RedisEndpoint, RefusesWhatIsNotAnAddress) {
    Endpoint ep;
    for (const char* bad : {"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:99999999999",
                            "127.0.0.1:63x", "::1:6379", "1.2.3:6379", "-x:6379", "a_b:6379", "[127.0.0.1]:6379", "[::1:6379",
                            "unix:", ":6379"}) {
        std::string err;
        EXPECT_FALSE(parse_endpoint(bad, ep, err)) << bad;
        EXPECT_FALSE(err.empty()) << bad;
    }
    std::string err;
    EXPECT_FALSE(parse_endpoint("unix:/" + std::string(200, 'x'), ep, err));
    EXPECT_NE(err.find("Unix socket path"), std::string::npos) << err;
}

TEST(RedisEndpoint, AHostNameIsLookedUpOnlyWhenAsked) {
    Endpoint ep;
    std::string err;
    ASSERT_TRUE(parse_endpoint("redis.example:6380", ep, err)) << err;
    EXPECT_EQ(ep.name, "redis.example");
    EXPECT_EQ(ep.port, 6380);
    EXPECT_EQ(ep.len, 0u) << "not looked up by parsing";
    // RFC 6761: .invalid names never resolve.
    ASSERT_TRUE(parse_endpoint("no-such-host.invalid:6379", ep, err)) << err;
    EXPECT_FALSE(resolve_endpoint(ep, err));
    EXPECT_EQ(err.rfind("cannot look up no-such-host.invalid: ", 0), 0u) << err;
    // An address needs no lookup.
    ASSERT_TRUE(parse_endpoint("127.0.0.1:6379", ep, err)) << err;
    EXPECT_TRUE(resolve_endpoint(ep, err));
    EXPECT_EQ(ep.addr.ss_family, AF_INET);
}

// A name /etc/hosts maps to a loopback address: looked up to that address and port.
TEST(RedisEndpoint, AHostNameResolvesToItsAddress) {
    FILE* f = fopen("/etc/hosts", "re");
    if (f == nullptr) GTEST_SKIP() << "no /etc/hosts";
    char line[512];
    std::string name;
    while (name.empty() && fgets(line, sizeof line, f)) {
        char addr[64], host[256];
        if (sscanf(line, "%63s %255s", addr, host) == 2 && strncmp(addr, "127.", 4) == 0 &&
            strcmp(host, "localhost") != 0)
            name = host;
    }
    fclose(f);
    if (name.empty()) GTEST_SKIP() << "no name for 127.x in /etc/hosts";
    Endpoint ep;
    std::string err;
    ASSERT_TRUE(parse_endpoint(name + ":7001", ep, err)) << err;
    ASSERT_TRUE(resolve_endpoint(ep, err)) << name << ": " << err;
    ASSERT_EQ(ep.addr.ss_family, AF_INET) << name;
    EXPECT_EQ(ntohl(reinterpret_cast<sockaddr_in&>(ep.addr).sin_addr.s_addr) >> 24, 127u) << name;
    EXPECT_EQ(ntohs(reinterpret_cast<sockaddr_in&>(ep.addr).sin_port), 7001);
}

}  // namespace
}  // namespace wspush::redis
