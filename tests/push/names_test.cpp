// Names: channel/id names, the reserved server-id form, JSON escaping, epochs.
#include "push/names.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <ostream>
#include <string>

namespace wspush::push {
namespace {

struct NameCase {
    const char* name;
    std::string input;
    bool valid;
};

void PrintTo(const NameCase& c, std::ostream* os) { *os << c.name; }

// An exact-size heap copy: a read past the end is an ASan error.
std::unique_ptr<char[]> exact_copy(const std::string& in) {
    std::unique_ptr<char[]> copy(new char[in.size() ? in.size() : 1]);
    std::copy(in.begin(), in.end(), copy.get());
    return copy;
}

class NamesValidName : public ::testing::TestWithParam<NameCase> {};

TEST_P(NamesValidName, Classifies) {
    const std::string& in = GetParam().input;
    auto copy = exact_copy(in);
    EXPECT_EQ(valid_name(std::string_view(copy.get(), in.size())), GetParam().valid);
}

INSTANTIATE_TEST_SUITE_P(
    Names, NamesValidName,
    ::testing::Values(NameCase{"Empty", "", false}, NameCase{"OneChar", "a", true},
                      NameCase{"AllClasses", "AZaz09_.-", true}, NameCase{"Max64", std::string(64, 'x'), true},
                      NameCase{"Over64", std::string(65, 'x'), false}, NameCase{"Space", "a b", false},
                      NameCase{"Slash", "a/b", false}, NameCase{"Colon", "a:b", false},
                      NameCase{"Query", "a?b", false}, NameCase{"Percent", "a%20", false},
                      NameCase{"Plus", "a+b", false}, NameCase{"Nul", std::string("a\0b", 3), false},
                      NameCase{"Utf8", "caf\xc3\xa9", false}, NameCase{"HighByte", "\xff", false},
                      NameCase{"Dots", "..", true}),
    [](const auto& info) { return std::string(info.param.name); });

class NamesServerId : public ::testing::TestWithParam<NameCase> {};

TEST_P(NamesServerId, Classifies) {
    const std::string& in = GetParam().input;
    auto copy = exact_copy(in);
    EXPECT_EQ(is_server_id(std::string_view(copy.get(), in.size())), GetParam().valid);
}

INSTANTIATE_TEST_SUITE_P(
    Ids, NamesServerId,
    ::testing::Values(NameCase{"C1", "c1", true}, NameCase{"LeadingZeros", "c0042", true},
                      NameCase{"Zero", "c0", true}, NameCase{"Past64Bits", "c18446744073709551616", true},
                      NameCase{"BareC", "c", false}, NameCase{"Empty", "", false},
                      NameCase{"DigitsOnly", "42", false}, NameCase{"UpperC", "C1", false},
                      NameCase{"TrailingLetter", "c1a", false}, NameCase{"DoubleC", "cc1", false},
                      NameCase{"Dash", "c-1", false}, NameCase{"Dot", "c1.5", false},
                      NameCase{"Named", "client1", false}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(NamesJsonEscape, AppendsWithoutQuotes) {
    std::string out = "x";
    json_escape(out, "a\"b\\c\x02\n\r\t");
    EXPECT_EQ(out, "xa\\\"b\\\\c\\u0002\\n\\r\\t");
}

// For every byte value: the size computed first is the size written, and only the
// expected bytes are escaped.
TEST(NamesJsonEscape, SizeMatchesWhatIsWrittenForEveryByte) {
    for (int c = 0; c < 256; ++c) {
        std::string in(3, static_cast<char>(c));
        std::string out;
        json_escape(out, in);
        EXPECT_EQ(out.size(), json_escaped_size(in)) << "byte " << c;
        size_t each = c < 0x20 ? (c == '\n' || c == '\r' || c == '\t' ? 2 : 6) : (c == '"' || c == '\\' ? 2 : 1);
        EXPECT_EQ(out.size(), 3 * each) << "byte " << c;
    }
}

// The worst case is 6x: a 1 MiB message of control bytes escapes to exactly 6 MiB (a
// 1 GiB one to 6 GiB, which must not be squeezed into 32 bits).
TEST(NamesJsonEscape, ControlBytesEscapeSixfold) {
    std::string in(1 << 20, '\x01');
    EXPECT_EQ(json_escaped_size(in), size_t{6} << 20);
    std::string out;
    json_escape(out, in);
    EXPECT_EQ(out.size(), size_t{6} << 20);
    EXPECT_EQ(out.substr(0, 12), "\\u0001\\u0001");
}

TEST(NamesEpoch, FormatsSixteenLowercaseHexDigits) {
    char out[kEpochChars];
    format_epoch(0x9f2c1a7700000001ULL, out);
    EXPECT_EQ(std::string(out, kEpochChars), "9f2c1a7700000001");
    format_epoch(0, out);
    EXPECT_EQ(std::string(out, kEpochChars), "0000000000000000");
    format_epoch(UINT64_MAX, out);
    EXPECT_EQ(std::string(out, kEpochChars), "ffffffffffffffff");
}

TEST(NamesEpoch, ParseRoundTrips) {
    for (uint64_t v : {uint64_t{0}, uint64_t{1}, uint64_t{0x9f2c1a7700000001}, uint64_t{0xabcdef0123456789},
                       UINT64_MAX}) {
        char text[kEpochChars];
        format_epoch(v, text);
        uint64_t back = 42;
        ASSERT_TRUE(parse_epoch(std::string_view(text, kEpochChars), back));
        EXPECT_EQ(back, v);
    }
}

TEST(NamesEpoch, ParseRejectsAnythingElse) {
    uint64_t v = 7;
    for (const char* bad : {"", "9f2c1a770000001", "9f2c1a77000000011", "9F2C1A7700000001", "9f2c1a770000000g",
                            " 9f2c1a770000001", "+9f2c1a770000001", "0x9f2c1a77000001", "9f2c1a77.0000001"}) {
        EXPECT_FALSE(parse_epoch(bad, v)) << '"' << bad << '"';
    }
    EXPECT_EQ(v, 7u) << "untouched on failure";
}

}  // namespace
}  // namespace wspush::push
