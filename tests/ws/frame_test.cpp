// Frame header encoding and masking (RFC 6455 5.2, 5.3), checked against known bytes and a
// byte-by-byte reference.
#include "ws/frame.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace wspush::ws {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr uint8_t kKey[4] = {0x37, 0xFA, 0x21, 0x3D};  // the RFC 6455 5.7 example key

// The definition in RFC 6455 5.3: octet i is XORed with key octet (i MOD 4).
void reference_mask(uint8_t* p, size_t n, const uint8_t (&key)[4], uint64_t offset) {
    for (size_t i = 0; i < n; ++i) p[i] ^= key[(offset + i) % 4];
}

Bytes random_bytes(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    Bytes b(n);
    for (auto& x : b) x = static_cast<uint8_t>(rng());
    return b;
}

TEST(Unmask, RfcExampleHello) {
    // RFC 6455 5.7: "A single-frame masked text message" carrying "Hello".
    uint8_t masked[] = {0x7f, 0x9f, 0x4d, 0x51, 0x58};
    unmask(masked, sizeof masked, kKey, 0);
    EXPECT_EQ(std::string(reinterpret_cast<char*>(masked), sizeof masked), "Hello");
}

TEST(Unmask, MatchesReferenceForEveryLengthOffsetAndAlignment) {
    // Every length up to 64 and beyond 2 rounds of the 64-byte loop, so that each mix of
    // head, rounds, words and tail occurs. The region under test ends exactly at the end of
    // its heap block, so ASan reports any over-read; the bytes before it must stay put.
    for (size_t n = 0; n <= 200; ++n) {
        for (uint64_t offset = 0; offset < 4; ++offset) {
            for (size_t align = 0; align < 8; ++align) {
                const Bytes input = random_bytes(align + n, static_cast<uint32_t>(n * 131 + align));
                auto buf = std::make_unique<uint8_t[]>(align + n);
                std::copy(input.begin(), input.end(), buf.get());
                Bytes expected = input;
                reference_mask(expected.data() + align, n, kKey, offset);
                unmask(buf.get() + align, n, kKey, offset);
                ASSERT_EQ(Bytes(buf.get(), buf.get() + align + n), expected)
                    << "n=" << n << " offset=" << offset << " align=" << align;
            }
        }
    }
}

TEST(Unmask, UsesOnlyOffsetModFour) {
    const Bytes input = random_bytes(37, 7);
    for (uint64_t offset : {4ull, 5ull, (1ull << 32) + 3, ~0ull}) {
        Bytes got = input;
        Bytes expected = input;
        unmask(got.data(), got.size(), kKey, offset);
        reference_mask(expected.data(), expected.size(), kKey, offset % 4);
        EXPECT_EQ(got, expected) << "offset=" << offset;
    }
}

TEST(Unmask, PiecewiseEqualsWhole) {
    // A payload unmasked in random pieces, each given its payload offset, equals the whole.
    const Bytes input = random_bytes(4099, 11);
    Bytes expected = input;
    reference_mask(expected.data(), expected.size(), kKey, 0);
    std::mt19937 rng(12);
    for (int trial = 0; trial < 200; ++trial) {
        Bytes got = input;
        size_t pos = 0;
        while (pos < got.size()) {
            size_t n = std::min<size_t>(got.size() - pos, rng() % (trial % 2 ? 70 : 700));
            unmask(got.data() + pos, n, kKey, pos);
            pos += n;
        }
        ASSERT_EQ(got, expected) << "trial " << trial;
    }
}

TEST(Unmask, TwiceRestoresInput) {
    const Bytes input = random_bytes(1000, 3);
    Bytes b = input;
    unmask(b.data(), b.size(), kKey, 1);
    EXPECT_NE(b, input);
    unmask(b.data(), b.size(), kKey, 1);
    EXPECT_EQ(b, input);
}

struct HeaderCase {
    const char* name;
    Opcode op;
    uint64_t len;
    bool fin;
    Bytes server;  // expected encode_header() output
};

class EncodeHeader : public testing::TestWithParam<HeaderCase> {};

TEST_P(EncodeHeader, WritesMinimalServerHeader) {
    const HeaderCase& c = GetParam();
    uint8_t out[kMaxServerHeader];
    const size_t n = encode_header(out, c.op, c.len, c.fin);
    EXPECT_EQ(Bytes(out, out + n), c.server);
    EXPECT_EQ(server_header_size(c.len), n);
}

TEST_P(EncodeHeader, WritesMaskedClientHeader) {
    // The same bytes with the MASK bit set, then the key.
    const HeaderCase& c = GetParam();
    Bytes expected = c.server;
    expected[1] |= 0x80;
    expected.insert(expected.end(), std::begin(kKey), std::end(kKey));
    uint8_t out[kMaxClientHeader];
    const size_t n = encode_client_header(out, c.op, c.len, kKey, c.fin);
    EXPECT_EQ(Bytes(out, out + n), expected);
}

const HeaderCase kHeaderCases[] = {
    {"TextEmpty", Opcode::kText, 0, true, {0x81, 0x00}},
    {"Binary125", Opcode::kBinary, 125, true, {0x82, 0x7D}},
    {"Binary126", Opcode::kBinary, 126, true, {0x82, 0x7E, 0x00, 0x7E}},
    {"Binary65535", Opcode::kBinary, 65535, true, {0x82, 0x7E, 0xFF, 0xFF}},
    {"Binary65536", Opcode::kBinary, 65536, true, {0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0}},
    {"Binary4GiBPlus5", Opcode::kBinary, (1ull << 32) + 5, true, {0x82, 0x7F, 0, 0, 0, 1, 0, 0, 0, 5}},
    {"TextNotFinal", Opcode::kText, 3, false, {0x01, 0x03}},
    {"ContinuationFinal", Opcode::kContinuation, 300, true, {0x80, 0x7E, 0x01, 0x2C}},
    {"PingEmpty", Opcode::kPing, 0, true, {0x89, 0x00}},
    {"Pong5", Opcode::kPong, 5, true, {0x8A, 0x05}},
    {"Close2", Opcode::kClose, 2, true, {0x88, 0x02}},
};

INSTANTIATE_TEST_SUITE_P(Lengths, EncodeHeader, testing::ValuesIn(kHeaderCases),
                         [](const testing::TestParamInfo<HeaderCase>& i) { return i.param.name; });

}  // namespace
}  // namespace wspush::ws
