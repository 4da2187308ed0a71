// Message: shared, sealed frames; sizes as size_t; out-of-memory as nullptr.
#include "push/message.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

#include "push/alloc_hook.h"
#include "push/test_util.h"

namespace wspush::push {
namespace {

using testing::AllocHook;
using testing::frame_of;
using testing::header;
using testing::pattern;
using testing::payload_of;

class MessageTest : public testing::LeakCheckedTest {};

class MessageSizes : public MessageTest, public ::testing::WithParamInterface<size_t> {};

TEST_P(MessageSizes, MakeFramesThePayload) {
    size_t n = GetParam();
    std::string p = pattern(n, 1);
    Message* m = Message::make(ws::Opcode::kBinary, p.data(), n);
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->opcode(), ws::Opcode::kBinary);
    EXPECT_EQ(m->payload_size(), n);
    EXPECT_EQ(payload_of(m), p);
    EXPECT_EQ(frame_of(m), header(0x2, n) + p);
    m->unref();
}

// Each header length and both sides of each boundary.
INSTANTIATE_TEST_SUITE_P(Lengths, MessageSizes, ::testing::Values(0, 1, 125, 126, 127, 65535, 65536, 70000),
                         [](const auto& info) { return "Bytes" + std::to_string(info.param); });

TEST_F(MessageTest, MakeRawIsTheBytesExactly) {
    const char resp[] = "HTTP/1.1 101 Switching Protocols\r\n\r\n";
    Message* m = Message::make_raw(resp, sizeof resp - 1);
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(frame_of(m), std::string(resp));
    m->unref();
}

TEST_F(MessageTest, LiveCountsUntilTheLastUnref) {
    size_t before = Message::live();
    Message* m = Message::make(ws::Opcode::kText, "x", 1);
    EXPECT_EQ(Message::live(), before + 1);
    m->ref();
    m->ref();
    m->unref();
    m->unref();
    EXPECT_EQ(Message::live(), before + 1) << "one reference left";
    m->unref();
    EXPECT_EQ(Message::live(), before);
}

// Pieces of every size from 1 to 97 bytes (growing the buffer several times from a
// zero capacity), then seal: the frame equals one made whole.
TEST_F(MessageTest, AppendAndSealEqualsMake) {
    std::string whole = pattern(100'000, 2);
    Message* m = Message::make_buffer(0);
    size_t at = 0;
    for (size_t step = 1; at < whole.size(); step = step % 97 + 1) {
        size_t n = std::min(step, whole.size() - at);
        m = Message::append(m, whole.data() + at, n);
        ASSERT_NE(m, nullptr);
        at += n;
        ASSERT_EQ(m->payload_size(), at);
    }
    m->seal(ws::Opcode::kText);
    Message* ref = Message::make(ws::Opcode::kText, whole.data(), whole.size());
    EXPECT_EQ(frame_of(m), frame_of(ref));
    EXPECT_EQ(m->opcode(), ws::Opcode::kText);
    m->unref();
    ref->unref();
}

TEST_F(MessageTest, ConsumeDropsAHeadThenAppendContinues) {
    Message* m = Message::make_buffer(4);
    m = Message::append(m, "GET / HTTP/1.1\r\n\r\n", 18);
    m = Message::append(m, "\x81\x05", 2);
    m->consume(18);
    EXPECT_EQ(payload_of(m), "\x81\x05");
    m = Message::append(m, "hello", 5);
    m->consume(2);
    EXPECT_EQ(payload_of(m), "hello");
    m->seal(ws::Opcode::kText);
    EXPECT_EQ(frame_of(m), "\x81\x05hello");
    m->unref();
}

TEST_F(MessageTest, ExtendCountsBytesWrittenInPlace) {
    Message* m = Message::make_buffer(8);
    EXPECT_EQ(m->room(), 8u);
    memcpy(m->payload(), "abc", 3);
    m->extend(3);
    EXPECT_EQ(m->room(), 5u);
    m->seal(ws::Opcode::kText);
    EXPECT_EQ(frame_of(m), "\x81\x03" "abc");
    m->unref();
}

TEST_F(MessageTest, CostIsTheWholeAllocation) {
    Message* m = Message::make(ws::Opcode::kText, "hello", 5);
    EXPECT_EQ(m->cost(), sizeof(Message) + ws::kMaxServerHeader + 5);
    m->unref();
    Message* b = Message::make_buffer(1000);
    b = Message::append(b, "x", 1);
    EXPECT_EQ(b->cost(), sizeof(Message) + ws::kMaxServerHeader + 1000) << "capacity, not bytes used";
    b->unref();
}

TEST_F(MessageTest, OutOfMemoryIsNullNotAbort) {
    AllocHook fail;
    EXPECT_EQ(Message::make(ws::Opcode::kText, "x", 1), nullptr);
    EXPECT_EQ(Message::make_raw("x", 1), nullptr);
    EXPECT_EQ(Message::make_buffer(16), nullptr);
    EXPECT_EQ(fail.calls(), 3u);
}

// A failed append leaves the message as it was, still the caller's to use and free.
TEST_F(MessageTest, AppendOutOfMemoryKeepsTheMessage) {
    Message* m = Message::make_buffer(4);
    m = Message::append(m, "ab", 2);
    ASSERT_NE(m, nullptr);
    std::string big(1000, 'z');
    {
        AllocHook fail;
        EXPECT_EQ(Message::append(m, big.data(), big.size()), nullptr);
        EXPECT_EQ(Message::append(m, "cd", 2), m) << "fits: needs no allocation";
    }
    EXPECT_EQ(payload_of(m), "abcd");
    m = Message::append(m, big.data(), big.size());
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->payload_size(), 1004u);
    m->unref();
}

TEST_F(MessageTest, SizesThatCannotBeRepresentedFail) {
    EXPECT_EQ(Message::make_buffer(SIZE_MAX), nullptr);
    EXPECT_EQ(Message::make_buffer(SIZE_MAX - sizeof(Message)), nullptr);
    Message* m = Message::make_buffer(0);
    m = Message::append(m, "ab", 2);
    EXPECT_EQ(Message::append(m, "x", SIZE_MAX - 1), nullptr) << "2 + (SIZE_MAX - 1) wraps";
    EXPECT_EQ(payload_of(m), "ab");
    m->unref();
}

// A frame over 4 GiB (an escaped 1 GiB text can reach 6 GiB) keeps its size: with the
// old uint32_t fields it wrapped to 1 GiB + 10. Only the header page is touched.
TEST_F(MessageTest, FrameOver4GiBKeepsItsSize) {
#if defined(__SANITIZE_ADDRESS__)
    GTEST_SKIP() << "ASan would poison the shadow of the whole 5 GiB";
#else
    constexpr size_t kBig = (size_t{5} << 30) + 3;
    Message* m = Message::make_buffer(kBig);
    if (m == nullptr) GTEST_SKIP() << "no 5 GiB of address space here";
    m->extend(kBig);
    m->seal(ws::Opcode::kText);
    EXPECT_EQ(m->payload_size(), kBig);
    EXPECT_EQ(m->frame_size(), kBig + 10);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(m->frame()), 10), header(0x1, kBig));
    EXPECT_GT(m->cost(), kBig);
    m->unref();
#endif
}

}  // namespace
}  // namespace wspush::push
