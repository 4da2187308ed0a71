#include "journal/crc32c.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/bytes.h"

namespace wspush::journal {
namespace {

using wspush::testing::heap_copy;

// Bit at a time, straight from the definition (reflected polynomial 0x82F63B78).
uint32_t reference(const uint8_t* p, size_t n) {
    uint32_t c = ~0u;
    for (size_t i = 0; i < n; ++i) {
        c ^= p[i];
        for (int k = 0; k < 8; ++k) c = (c >> 1) ^ ((c & 1) ? 0x82F63B78u : 0);
    }
    return ~c;
}

struct Vector {
    const char* name;
    std::vector<uint8_t> input;
    uint32_t crc;
};

std::vector<uint8_t> ramp(int from, int step) {
    std::vector<uint8_t> v(32);
    for (int i = 0; i < 32; ++i) v[static_cast<size_t>(i)] = static_cast<uint8_t>(from + step * i);
    return v;
}

// RFC 3720 B.4 (iSCSI CRC examples) and the common "123456789" check value.
const Vector kVectors[] = {
    {"Check", {'1', '2', '3', '4', '5', '6', '7', '8', '9'}, 0xE3069283u},
    {"Zeros32", std::vector<uint8_t>(32, 0x00), 0x8A9136AAu},
    {"Ones32", std::vector<uint8_t>(32, 0xFF), 0x62A8AB43u},
    {"Incrementing32", ramp(0, 1), 0x46DD794Eu},
    {"Decrementing32", ramp(31, -1), 0x113FDB5Cu},
    {"IscsiReadPdu",
     {0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18,
      0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00},
     0xD9963A56u},
    {"Empty", {}, 0x00000000u},
};

class Crc32cVectors : public ::testing::TestWithParam<Vector> {};

TEST_P(Crc32cVectors, OneShotMatches) {
    const Vector& v = GetParam();
    const std::string bytes(v.input.begin(), v.input.end());
    auto copy = heap_copy(bytes);
    EXPECT_EQ(crc32c(copy.get(), bytes.size()), v.crc);
    EXPECT_EQ(reference(v.input.data(), v.input.size()), v.crc);
}

TEST_P(Crc32cVectors, EverySplitMatches) {
    const Vector& v = GetParam();
    for (size_t cut = 0; cut <= v.input.size(); ++cut) {
        const uint32_t first = crc32c(v.input.data(), cut);
        EXPECT_EQ(crc32c(v.input.data() + cut, v.input.size() - cut, first), v.crc) << "cut at " << cut;
    }
}

INSTANTIATE_TEST_SUITE_P(Rfc3720, Crc32cVectors, ::testing::ValuesIn(kVectors),
                         [](const auto& info) { return std::string(info.param.name); });

// The 8-byte loop and the byte tail at every length and alignment, against the bit loop.
TEST(Crc32c, MatchesBitwiseAtEveryLengthAndAlignment) {
    std::vector<uint8_t> buf(300);
    for (size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<uint8_t>(i * 167 + 13);
    for (size_t start = 0; start < 8; ++start)
        for (size_t len = 0; start + len <= buf.size(); ++len)
            ASSERT_EQ(crc32c(buf.data() + start, len), reference(buf.data() + start, len)) << start << "+" << len;
}

}  // namespace
}  // namespace wspush::journal
