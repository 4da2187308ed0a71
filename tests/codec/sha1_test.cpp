#include "codec/sha1.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "codec/base64.h"

namespace wspush::codec {
namespace {

std::string hex(const Sha1Digest& d) {
    std::string s;
    char buf[3];
    for (uint8_t b : d) {
        std::snprintf(buf, sizeof buf, "%02x", b);
        s += buf;
    }
    return s;
}

struct Vector {
    const char* name;
    std::string input;
    const char* digest;
};

// FIPS 180-2 appendix A / NIST SHAVS known answers.
const Vector kVectors[] = {
    {"Empty", "", "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
    {"Abc", "abc", "a9993e364706816aba3e25717850c26c9cd0d89d"},
    {"TwoBlock", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
     "84983e441c3bd26ebaae4aa1f95129e5e54670f1"},
    {"MillionA", std::string(1000000, 'a'), "34aa973cd4c4daa4f61eeb2bdbad27316534016f"},
};

class Sha1Vectors : public ::testing::TestWithParam<Vector> {};

TEST_P(Sha1Vectors, OneShotMatches) {
    const Vector& v = GetParam();
    EXPECT_EQ(hex(sha1(v.input)), v.digest);
}

// Splitting the input anywhere must not change the digest (buffering across blocks).
TEST_P(Sha1Vectors, EverySplitMatchesOneShot) {
    const Vector& v = GetParam();
    const size_t n = v.input.size();
    const size_t step = n > 4096 ? 9973 : 1;  // bound the million-byte case
    for (size_t cut = 0; cut <= n; cut += step) {
        auto copy = std::make_unique<uint8_t[]>(n + 1);
        std::memcpy(copy.get(), v.input.data(), n);
        Sha1 s;
        s.update(copy.get(), cut);
        s.update(copy.get() + cut, n - cut);
        ASSERT_EQ(hex(s.finish()), v.digest) << "cut=" << cut;
    }
}

TEST_P(Sha1Vectors, ByteAtATimeMatchesOneShot) {
    const Vector& v = GetParam();
    Sha1 s;
    for (char c : v.input) s.update(&c, 1);
    EXPECT_EQ(hex(s.finish()), v.digest);
}

INSTANTIATE_TEST_SUITE_P(Fips, Sha1Vectors, ::testing::ValuesIn(kVectors),
                         [](const auto& info) { return std::string(info.param.name); });

// Lengths around the 55/56/64-byte padding boundaries, every split, against one-shot.
TEST(Sha1, PaddingBoundariesEverySplit) {
    for (size_t n = 50; n <= 130; ++n) {
        std::string in(n, '\0');
        for (size_t i = 0; i < n; ++i) in[i] = static_cast<char>(i * 31 + 7);
        const Sha1Digest want = sha1(in);
        for (size_t cut = 0; cut <= n; ++cut) {
            Sha1 s;
            s.update(in.data(), cut);
            s.update(in.data() + cut, n - cut);
            ASSERT_EQ(s.finish(), want) << "n=" << n << " cut=" << cut;
        }
    }
}

// RFC 6455 section 1.3: the sample key and its Sec-WebSocket-Accept.
TEST(Sha1, Rfc6455AcceptSample) {
    const std::string key = "dGhlIHNhbXBsZSBub25jZQ==";
    uint8_t nonce[16];
    ASSERT_EQ(base64_decode(key, nonce, sizeof nonce), 16);
    EXPECT_EQ(std::string(reinterpret_cast<char*>(nonce), 16), "the sample nonce");

    const Sha1Digest d = sha1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    char accept[base64_encoded_size(20)];
    ASSERT_EQ(base64_encode(d.data(), d.size(), accept), sizeof accept);
    EXPECT_EQ(std::string(accept, sizeof accept), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

}  // namespace
}  // namespace wspush::codec
