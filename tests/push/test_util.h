// Helpers shared by the push/ unit tests: frame and payload bytes as strings, the RFC 6455
// header a server frame must carry, patterned test bytes, and a fixture that ends every
// test with a Message leak check.
#pragma once
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "push/message.h"

namespace wspush::push::testing {

inline std::string frame_of(const Message* m) {
    return std::string(reinterpret_cast<const char*>(m->frame()), m->frame_size());
}
inline std::string payload_of(const Message* m) {
    return std::string(reinterpret_cast<const char*>(m->payload()), m->payload_size());
}

// The RFC 6455 5.2 header of an unmasked, final server frame.
inline std::string header(uint8_t opcode, uint64_t n) {
    std::string h(1, static_cast<char>(0x80 | opcode));
    if (n < 126) {
        h += static_cast<char>(n);
    } else if (n <= 0xFFFF) {
        h += static_cast<char>(126);
        h += static_cast<char>(n >> 8);
        h += static_cast<char>(n & 0xFF);
    } else {
        h += static_cast<char>(127);
        for (int i = 7; i >= 0; --i) h += static_cast<char>((n >> (8 * i)) & 0xFF);
    }
    return h;
}

inline std::string pattern(size_t n, unsigned seed) {
    std::string s(n, '\0');
    for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 31 + seed * 7 + (i >> 8)) & 0xFF);
    return s;
}

// Every test ends with no Message alive that it made.
class LeakCheckedTest : public ::testing::Test {
protected:
    void SetUp() override { live_before_ = Message::live(); }
    void TearDown() override { EXPECT_EQ(Message::live(), live_before_) << "Message leak"; }

private:
    size_t live_before_ = 0;
};

}  // namespace wspush::push::testing
