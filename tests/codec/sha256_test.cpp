#include "codec/sha256.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "support/bytes.h"
#include "support/test_server.h"

namespace wspush::codec {
namespace {

using wspush::testing::heap_copy;
using wspush::testing::to_hex;

struct Vector {
    const char* name;
    std::string input;
    const char* digest;
};

// FIPS 180-4 examples (NIST CSRC "Example Algorithms", SHA256.pdf and SHA2_Additional.pdf).
const Vector kVectors[] = {
    {"Empty", "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {"Abc", "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    {"Bits448", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    {"Bits896",
     "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrs"
     "mnopqrstnopqrstu",
     "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
    {"MillionA", std::string(1000000, 'a'), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
};

class Sha256Vectors : public ::testing::TestWithParam<Vector> {};

TEST_P(Sha256Vectors, OneShotMatches) {
    const Vector& v = GetParam();
    auto copy = heap_copy(v.input);
    EXPECT_EQ(to_hex(sha256(std::string_view(copy.get(), v.input.size()))), v.digest);
}

// Splitting the input anywhere must not change the digest (buffering across blocks).
TEST_P(Sha256Vectors, EverySplitMatches) {
    const Vector& v = GetParam();
    const size_t n = v.input.size();
    const size_t step = n > 4096 ? 65537 : 1;  // bound the million-byte case: 16 cuts
    auto copy = heap_copy(v.input);
    for (size_t cut = 0; cut <= n; cut += step) {
        Sha256 s;
        s.update(copy.get(), cut);
        s.update(copy.get() + cut, n - cut);
        ASSERT_EQ(to_hex(s.finish()), v.digest) << "cut=" << cut;
    }
}

TEST_P(Sha256Vectors, ByteAtATimeMatches) {
    const Vector& v = GetParam();
    Sha256 s;
    for (char c : v.input) s.update(&c, 1);
    EXPECT_EQ(to_hex(s.finish()), v.digest);
}

INSTANTIATE_TEST_SUITE_P(Fips180, Sha256Vectors, ::testing::ValuesIn(kVectors),
                         [](const auto& info) { return std::string(info.param.name); });

std::string pattern(size_t n) {
    std::string s(n, '\0');
    for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i * 31 + 7);
    return s;
}

// Lengths around the 55/56/64-byte padding boundaries, at every pair of cut points (three
// update() calls, empty ones included), against the one-shot digest.
TEST(Sha256, PaddingBoundariesEveryTwoCuts) {
    for (size_t n = 52; n <= 132; n += 4) {
        const std::string in = pattern(n);
        const Sha256Digest want = sha256(in);
        for (size_t a = 0; a <= n; ++a) {
            for (size_t b = a; b <= n; ++b) {
                Sha256 s;
                s.update(in.data(), a);
                s.update(in.data() + a, b - a);
                s.update(in.data() + b, n - b);
                ASSERT_EQ(s.finish(), want) << "n=" << n << " cuts=" << a << "," << b;
            }
        }
    }
}

// Every length from 0 to 200 (all padding cases, one to four blocks) against python3's
// hashlib, computed now in one bounded run.
TEST(Sha256, LengthsZeroTo200MatchPython) {
    int status = -1;
    const std::string out = wspush::testing::run_command(
        "python3 -S -c 'import hashlib\n"
        "for n in range(201): print(hashlib.sha256(bytes((i * 31 + 7) % 256 for i in range(n))).hexdigest())'",
        &status);
    if (status != 0) GTEST_SKIP() << "python3 not usable: status " << status;
    std::istringstream lines(out);
    std::string want;
    size_t n = 0;
    for (; std::getline(lines, want); ++n) ASSERT_EQ(to_hex(sha256(pattern(n))), want) << "n=" << n;
    EXPECT_EQ(n, 201u);
}

}  // namespace
}  // namespace wspush::codec
