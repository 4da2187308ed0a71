#include "codec/utf8.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace wspush::codec {
namespace {

constexpr ptrdiff_t kNoFail = -1;

struct Case {
    const char* name;
    std::string bytes;
    ptrdiff_t fail_at;  // index of the byte at which byte-by-byte feed() first returns false
    bool complete;      // meaningful only when fail_at == kNoFail
};

std::unique_ptr<uint8_t[]> heap_copy(const std::string& s) {
    auto p = std::make_unique<uint8_t[]>(s.size());
    std::memcpy(p.get(), s.data(), s.size());
    return p;
}

std::string ascii(size_t n) {
    std::string s;
    for (size_t i = 0; i < n; ++i) s.push_back(static_cast<char>('a' + i % 26));
    return s;
}

const std::string kKosme = "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5";  // "κόσμε", 11 bytes

// Autobahn TestSuite section 6 style cases, plus table 3-7 boundaries.
const Case kCases[] = {
    // Valid.
    {"Empty", "", kNoFail, true},
    {"Ascii", "Hello-2", kNoFail, true},
    {"Kosme", kKosme, kNoFail, true},
    {"FirstTwoByte", "\xc2\x80", kNoFail, true},
    {"LastTwoByte", "\xdf\xbf", kNoFail, true},
    {"FirstThreeByte", "\xe0\xa0\x80", kNoFail, true},
    {"LastBeforeSurrogates", "\xed\x9f\xbf", kNoFail, true},
    {"FirstAfterSurrogates", "\xee\x80\x80", kNoFail, true},
    {"Replacement", "\xef\xbf\xbd", kNoFail, true},
    {"NonCharacterFFFE", "\xef\xbf\xbe", kNoFail, true},
    {"LastThreeByte", "\xef\xbf\xbf", kNoFail, true},
    {"FirstFourByte", "\xf0\x90\x80\x80", kNoFail, true},
    {"Plane15", "\xf3\xbf\xbf\xbf", kNoFail, true},
    {"MaxCodePoint", "\xf4\x8f\xbf\xbf", kNoFail, true},
    {"NulByte", std::string("a\0b", 3), kNoFail, true},
    {"LongAsciiThenKosme", ascii(45) + kKosme + ascii(13), kNoFail, true},
    {"KosmeRepeated", kKosme + kKosme + kKosme + kKosme, kNoFail, true},
    // Valid prefix, incomplete at end (truncated sequences).
    {"TruncatedTwoByte", "\xc2", kNoFail, false},
    {"TruncatedThreeByteOf1", "\xe1", kNoFail, false},
    {"TruncatedThreeByteOf2", "\xe1\xbd", kNoFail, false},
    {"TruncatedFourByteOf3", "\xf0\x90\x80", kNoFail, false},
    {"TruncatedMaxCodePoint", "\xf4\x8f\xbf", kNoFail, false},
    {"KosmeTruncated", kKosme.substr(0, 10), kNoFail, false},
    {"LongAsciiTruncated", ascii(64) + "\xe2\x82", kNoFail, false},
    // Lone and unexpected continuation bytes.
    {"LoneContinuation80", "\x80", 0, false},
    {"LoneContinuationBF", "\xbf", 0, false},
    {"AsciiThenContinuation", "ab\x80", 2, false},
    {"ExtraContinuation", "\xc2\x80\x80", 2, false},
    {"ContinuationAfterLongAscii", ascii(37) + "\x80" + ascii(20), 37, false},
    {"LeadFFAfterTwoBlocks", ascii(64 + 64 + 7) + "\xff" + ascii(70), 135, false},
    {"SurrogateAfterBlockAndKosme", ascii(70) + kKosme + ascii(64) + "\xed\xa0\x80", 146, false},
    // A sequence cut short by the next lead or ASCII byte.
    {"TwoByteCutByAscii", "\xc2\x41", 1, false},
    {"ThreeByteCutByAscii", "\xe1\xbd\x41", 2, false},
    {"FourByteCutByLead", "\xf0\x90\x80\xc2\x80", 3, false},
    // Overlongs.
    {"OverlongC0", "\xc0\xaf", 0, false},
    {"OverlongC1", "\xc1\xbf", 0, false},
    {"OverlongE080", "\xe0\x80\xaf", 1, false},
    {"OverlongE09F", "\xe0\x9f\xbf", 1, false},
    {"OverlongF080", "\xf0\x80\x80\xaf", 1, false},
    {"OverlongF08F", "\xf0\x8f\xbf\xbf", 1, false},
    {"FiveByteF8", "\xf8\x88\x80\x80\xaf", 0, false},
    {"SixByteFC", "\xfc\x84\x80\x80\x80\xaf", 0, false},
    // UTF-16 surrogates (Autobahn 6.19-6.21).
    {"SurrogateD800", "\xed\xa0\x80", 1, false},
    {"SurrogateDB7F", "\xed\xad\xbf", 1, false},
    {"SurrogateDFFF", "\xed\xbf\xbf", 1, false},
    {"SurrogatePair", "\xed\xa0\x80\xed\xb0\x80", 1, false},
    {"KosmeThenSurrogate", kKosme + "\xed\xa0\x80" + "edited", 12, false},
    // Above U+10FFFF.
    {"F4Above", "\xf4\x90\x80\x80", 1, false},
    {"KosmeThenF4Above", kKosme + "\xf4\x90\x80\x80" + "edited", 12, false},
    {"LeadF5", "\xf5\x80\x80\x80", 0, false},
    {"LeadFE", "\xfe", 0, false},
    {"LeadFF", "\xff", 0, false},
};

class Utf8Cases : public ::testing::TestWithParam<Case> {};

TEST_P(Utf8Cases, ByteByByteFailsAtExpectedIndex) {
    const Case& c = GetParam();
    const auto buf = heap_copy(c.bytes);
    Utf8Validator v;
    ptrdiff_t failed = kNoFail;
    for (size_t i = 0; i < c.bytes.size(); ++i) {
        if (!v.feed(buf.get() + i, 1)) {
            failed = static_cast<ptrdiff_t>(i);
            break;
        }
    }
    EXPECT_EQ(failed, c.fail_at);
    if (c.fail_at == kNoFail) {
        EXPECT_EQ(v.complete(), c.complete);
    } else {
        EXPECT_EQ(v.state(), Utf8Validator::kReject);
        EXPECT_FALSE(v.feed(buf.get(), 0)) << "reject must be sticky";
    }
}

TEST_P(Utf8Cases, WholeMatches) {
    const Case& c = GetParam();
    const auto buf = heap_copy(c.bytes);
    Utf8Validator v;
    EXPECT_EQ(v.feed(buf.get(), c.bytes.size()), c.fail_at == kNoFail);
    EXPECT_EQ(v.complete(), c.fail_at == kNoFail && c.complete);
    EXPECT_EQ(utf8_valid(c.bytes), c.fail_at == kNoFail && c.complete);
}

// Each split gives the same answer: the first part fails iff it holds the bad byte.
TEST_P(Utf8Cases, EverySplitMatches) {
    const Case& c = GetParam();
    const size_t n = c.bytes.size();
    for (size_t cut = 0; cut <= n; ++cut) {
        const auto head = heap_copy(c.bytes.substr(0, cut));
        const auto tail = heap_copy(c.bytes.substr(cut));
        Utf8Validator v;
        const bool head_ok = v.feed(head.get(), cut);
        EXPECT_EQ(head_ok, c.fail_at == kNoFail || c.fail_at >= static_cast<ptrdiff_t>(cut)) << "cut=" << cut;
        const bool tail_ok = v.feed(tail.get(), n - cut);
        EXPECT_EQ(tail_ok, c.fail_at == kNoFail) << "cut=" << cut;
        EXPECT_EQ(v.complete(), c.fail_at == kNoFail && c.complete) << "cut=" << cut;
    }
}

INSTANTIATE_TEST_SUITE_P(Autobahn6, Utf8Cases, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(Utf8Validator, ResetClearsRejectAndPartial) {
    Utf8Validator v;
    const uint8_t bad[] = {0xff};
    EXPECT_FALSE(v.feed(bad, 1));
    v.reset();
    EXPECT_TRUE(v.complete());
    const uint8_t partial[] = {0xe2, 0x82};
    EXPECT_TRUE(v.feed(partial, 2));
    EXPECT_FALSE(v.complete());
    v.reset();
    const uint8_t ok[] = {'o', 'k'};
    EXPECT_TRUE(v.feed(ok, 2));
    EXPECT_TRUE(v.complete());
}

// Reference: decode one code point at a time with explicit arithmetic, independent of the
// DFA tables. Returns the index of the first byte no valid UTF-8 could continue with, or
// -1; *complete tells whether the input ends between code points.
ptrdiff_t reference_fail_at(const std::vector<uint8_t>& s, bool* complete) {
    *complete = true;
    size_t i = 0;
    while (i < s.size()) {
        const uint8_t b = s[i];
        if (b < 0x80) {
            ++i;
            continue;
        }
        size_t len;
        uint32_t cp;
        uint32_t min;
        if (b >= 0xC2 && b <= 0xDF) {
            len = 2, cp = b & 0x1F, min = 0x80;
        } else if (b >= 0xE0 && b <= 0xEF) {
            len = 3, cp = b & 0x0F, min = 0x800;
        } else if (b >= 0xF0 && b <= 0xF4) {
            len = 4, cp = b & 0x07, min = 0x10000;
        } else {
            return static_cast<ptrdiff_t>(i);
        }
        for (size_t k = 1; k < len; ++k) {
            if (i + k == s.size()) {
                *complete = false;
                return -1;
            }
            const uint8_t c = s[i + k];
            if ((c & 0xC0) != 0x80) return static_cast<ptrdiff_t>(i + k);
            cp = (cp << 6) | (c & 0x3F);
            // After the second byte the range of reachable code points is fixed.
            const unsigned rest_bits = 6 * static_cast<unsigned>(len - 1 - k);
            const uint32_t lo = cp << rest_bits;
            const uint32_t hi = lo | ((1u << rest_bits) - 1);
            const bool overlong = hi < min;
            const bool too_big = lo > 0x10FFFF;
            const bool surrogate = lo >= 0xD800 && hi <= 0xDFFF;
            if (overlong || too_big || surrogate) return static_cast<ptrdiff_t>(i + k);
        }
        i += len;
    }
    return -1;
}

void append_utf8(uint32_t cp, std::vector<uint8_t>* out) {
    if (cp < 0x80) {
        out->push_back(static_cast<uint8_t>(cp));
    } else if (cp < 0x800) {
        out->push_back(static_cast<uint8_t>(0xC0 | (cp >> 6)));
        out->push_back(static_cast<uint8_t>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out->push_back(static_cast<uint8_t>(0xE0 | (cp >> 12)));
        out->push_back(static_cast<uint8_t>(0x80 | ((cp >> 6) & 0x3F)));
        out->push_back(static_cast<uint8_t>(0x80 | (cp & 0x3F)));
    } else {
        out->push_back(static_cast<uint8_t>(0xF0 | (cp >> 18)));
        out->push_back(static_cast<uint8_t>(0x80 | ((cp >> 12) & 0x3F)));
        out->push_back(static_cast<uint8_t>(0x80 | ((cp >> 6) & 0x3F)));
        out->push_back(static_cast<uint8_t>(0x80 | (cp & 0x3F)));
    }
}

// Mostly-valid text (so mutations land mid-sequence), then 0-3 random byte mutations.
std::vector<uint8_t> random_input(std::mt19937& rng) {
    std::vector<uint8_t> s;
    const int kind = static_cast<int>(rng() % 4);
    const size_t len = rng() % 200;  // past the 64-byte ASCII step
    if (kind == 0) {
        for (size_t i = 0; i < len; ++i) s.push_back(static_cast<uint8_t>(rng()));
        return s;
    }
    // Boundary code points next to the ranges table 3-7 excludes.
    static const uint32_t kEdges[] = {0x7F, 0x80, 0x7FF, 0x800, 0xD7FF, 0xE000, 0xFFFF, 0x10000, 0x10FFFF};
    while (s.size() < len) {
        uint32_t cp;
        switch (rng() % 5) {
            case 0: cp = rng() % 0x80; break;
            case 1: cp = 0x80 + rng() % (0x800 - 0x80); break;
            case 2: cp = 0x800 + rng() % (0x10000 - 0x800); break;
            case 3: cp = 0x10000 + rng() % (0x110000 - 0x10000); break;
            default: cp = kEdges[rng() % std::size(kEdges)]; break;
        }
        if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;
        append_utf8(cp, &s);
    }
    const int mutations = kind == 1 ? 0 : static_cast<int>(rng() % 4);
    for (int m = 0; m < mutations && !s.empty(); ++m) {
        const size_t at = rng() % s.size();
        switch (rng() % 4) {
            case 0: s[at] = static_cast<uint8_t>(rng()); break;
            case 1: s[at] ^= static_cast<uint8_t>(1u << (rng() % 8)); break;
            case 2: s.erase(s.begin() + static_cast<ptrdiff_t>(at)); break;
            default: s.resize(at); break;
        }
    }
    return s;
}

// Differential test against the reference over a bounded number of random inputs.
TEST(Utf8Validator, MatchesReferenceOnRandomInputs) {
    std::mt19937 rng(6455);
    constexpr int kIterations = 20000;
    int rejected = 0;
    for (int iter = 0; iter < kIterations; ++iter) {
        const std::vector<uint8_t> s = random_input(rng);
        const size_t n = s.size();
        bool want_complete;
        const ptrdiff_t want_fail = reference_fail_at(s, &want_complete);
        if (want_fail != -1) ++rejected;
        auto buf = std::make_unique<uint8_t[]>(n);
        if (n > 0) std::memcpy(buf.get(), s.data(), n);

        Utf8Validator whole;
        ASSERT_EQ(whole.feed(buf.get(), n), want_fail == -1) << "iter=" << iter;
        ASSERT_EQ(whole.complete(), want_fail == -1 && want_complete) << "iter=" << iter;

        Utf8Validator bytewise;
        ptrdiff_t got_fail = -1;
        for (size_t i = 0; i < n && got_fail == -1; ++i) {
            if (!bytewise.feed(buf.get() + i, 1)) got_fail = static_cast<ptrdiff_t>(i);
        }
        ASSERT_EQ(got_fail, want_fail) << "iter=" << iter;

        const size_t cut = n == 0 ? 0 : rng() % (n + 1);
        Utf8Validator split;
        const bool head_ok = split.feed(buf.get(), cut);
        ASSERT_EQ(head_ok, want_fail == -1 || want_fail >= static_cast<ptrdiff_t>(cut)) << "iter=" << iter;
        ASSERT_EQ(split.feed(buf.get() + cut, n - cut), want_fail == -1) << "iter=" << iter;
    }
    // The generator must exercise both outcomes, or the comparison proves little.
    EXPECT_GT(rejected, kIterations / 10);
    EXPECT_LT(rejected, kIterations * 9 / 10);
}

}  // namespace
}  // namespace wspush::codec
