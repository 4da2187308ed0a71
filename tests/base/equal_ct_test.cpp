#include "base/equal_ct.h"

#include <gtest/gtest.h>

#include <string>

#include "support/bytes.h"

namespace wspush::base {
namespace {

TEST(EqualCt, EmptyIsEqual) { EXPECT_TRUE(equal_ct("a", "b", 0)); }

TEST(EqualCt, SameBytesAreEqual) {
    const std::string a = "0123456789abcdef0123456789abcdef";
    const std::string b = a;
    auto x = wspush::testing::heap_copy(a);
    auto y = wspush::testing::heap_copy(b);
    EXPECT_TRUE(equal_ct(x.get(), y.get(), a.size()));
}

// A difference in any one bit of any byte is found, including the first and last byte.
TEST(EqualCt, EveryOneBitDifferenceIsFound) {
    const std::string a(33, '\x5a');
    for (size_t i = 0; i < a.size(); ++i) {
        for (int bit = 0; bit < 8; ++bit) {
            std::string b = a;
            b[i] = static_cast<char>(b[i] ^ (1 << bit));
            ASSERT_FALSE(equal_ct(a.data(), b.data(), a.size())) << "byte " << i << " bit " << bit;
        }
    }
}

TEST(EqualCt, ComparesOnlyNBytes) { EXPECT_TRUE(equal_ct("abcX", "abcY", 3)); }

}  // namespace
}  // namespace wspush::base
