// Parsing HOST:PORT and unix:PATH.
#include "redis/endpoint.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

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
                            "127.0.0.1:63x", "redis.example:6379", "::1:6379", "[127.0.0.1]:6379", "[::1:6379",
                            "unix:", ":6379"}) {
        std::string err;
        EXPECT_FALSE(parse_endpoint(bad, ep, err)) << bad;
        EXPECT_FALSE(err.empty()) << bad;
    }
    std::string err;
    EXPECT_FALSE(parse_endpoint("unix:/" + std::string(200, 'x'), ep, err));
    EXPECT_NE(err.find("Unix socket path"), std::string::npos) << err;
}

}  // namespace
}  // namespace wspush::redis
