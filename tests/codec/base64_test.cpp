#include "codec/base64.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>

namespace wspush::codec {
namespace {

std::string encode(std::string_view in) {
    std::string out(base64_encoded_size(in.size()), '\0');
    const size_t n = base64_encode(reinterpret_cast<const uint8_t*>(in.data()), in.size(), out.data());
    EXPECT_EQ(n, out.size());
    return out;
}

// Decodes from an exact-size heap copy so ASan sees any over-read; fills *out on success.
ptrdiff_t decode(std::string_view in, std::string* out, size_t cap) {
    auto copy = std::make_unique<char[]>(in.size());
    std::memcpy(copy.get(), in.data(), in.size());
    auto buf = std::make_unique<uint8_t[]>(cap);
    const ptrdiff_t n = base64_decode(std::string_view(copy.get(), in.size()), buf.get(), cap);
    if (n >= 0) out->assign(reinterpret_cast<char*>(buf.get()), static_cast<size_t>(n));
    return n;
}

struct Vector {
    const char* name;
    const char* plain;
    const char* encoded;
};

// RFC 4648 section 10.
const Vector kRfc4648[] = {
    {"Empty", "", ""},          {"F", "f", "Zg=="},         {"Fo", "fo", "Zm8="},
    {"Foo", "foo", "Zm9v"},     {"Foob", "foob", "Zm9vYg=="}, {"Fooba", "fooba", "Zm9vYmE="},
    {"Foobar", "foobar", "Zm9vYmFy"},
};

class Base64Rfc4648 : public ::testing::TestWithParam<Vector> {};

TEST_P(Base64Rfc4648, Encodes) { EXPECT_EQ(encode(GetParam().plain), GetParam().encoded); }

TEST_P(Base64Rfc4648, DecodesWithExactCapacity) {
    const Vector& v = GetParam();
    std::string out;
    ASSERT_EQ(decode(v.encoded, &out, std::strlen(v.plain)), static_cast<ptrdiff_t>(std::strlen(v.plain)));
    EXPECT_EQ(out, v.plain);
}

TEST_P(Base64Rfc4648, RejectsOneByteTooLittleCapacity) {
    const Vector& v = GetParam();
    const size_t len = std::strlen(v.plain);
    if (len == 0) GTEST_SKIP() << "nothing to overflow";
    std::string out;
    EXPECT_EQ(decode(v.encoded, &out, len - 1), -1);
}

INSTANTIATE_TEST_SUITE_P(Section10, Base64Rfc4648, ::testing::ValuesIn(kRfc4648),
                         [](const auto& info) { return std::string(info.param.name); });

struct BadCase {
    const char* name;
    const char* encoded;
};

const BadCase kBad[] = {
    {"LengthOne", "Z"},
    {"LengthThree", "Zm9"},
    {"LengthFive", "Zm9vY"},
    {"Unpadded", "Zg"},
    {"BadCharSpace", "Zm 9"},
    {"BadCharNewline", "Zm9v\nZm9v"},
    {"BadCharDash", "Zm-v"},
    {"BadCharUnderscore", "Zm_v"},
    {"BadCharHigh", "Zm9\xC3"},
    {"PadInMiddle", "Zg==Zm9v"},
    {"PadThenChar", "Zm=v"},
    {"PadFirst", "=Zm9"},
    {"ThreePads", "Z==="},
    {"FourPads", "===="},
    {"NonZeroPadBitsTwoPad", "Zh=="},
    {"NonZeroPadBitsOnePad", "Zm9="},
};

class Base64Rejects : public ::testing::TestWithParam<BadCase> {};

TEST_P(Base64Rejects, ReturnsMinusOne) {
    std::string out;
    EXPECT_EQ(decode(GetParam().encoded, &out, 64), -1) << GetParam().encoded;
}

INSTANTIATE_TEST_SUITE_P(Strict, Base64Rejects, ::testing::ValuesIn(kBad),
                         [](const auto& info) { return std::string(info.param.name); });

// Every byte value survives a round trip at every length around the quantum boundaries.
TEST(Base64, RoundTripsAllByteValues) {
    std::string in;
    for (int i = 0; i < 256; ++i) in.push_back(static_cast<char>(i));
    for (size_t n = 0; n <= in.size(); ++n) {
        const std::string enc = encode(std::string_view(in).substr(0, n));
        std::string out;
        ASSERT_EQ(decode(enc, &out, n), static_cast<ptrdiff_t>(n));
        ASSERT_EQ(out, in.substr(0, n));
    }
}

// Exactly one encoding is canonical: of the 64 possible final chars before "==", only
// 4 (low nibble zero) decode; of the 64 before "=", only 16 (low two bits zero).
TEST(Base64, OnlyCanonicalPadBitsAccepted) {
    const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    int two_pad_ok = 0, one_pad_ok = 0;
    for (int i = 0; i < 64; ++i) {
        std::string out;
        if (decode(std::string("Z") + alphabet[i] + "==", &out, 4) == 1) ++two_pad_ok;
        if (decode(std::string("Zm") + alphabet[i] + "=", &out, 4) == 2) ++one_pad_ok;
    }
    EXPECT_EQ(two_pad_ok, 4);
    EXPECT_EQ(one_pad_ok, 16);
}

}  // namespace
}  // namespace wspush::codec
