// Log lines: one line per event whatever its text; the storm limit: per kind, kLogBurst
// lines per window, the rest counted and summed up in one line when the window ends; kinds
// are independent; nothing is counted at a level that is off.
#include <gtest/gtest.h>

#include <cerrno>
#include <fcntl.h>
#include <string>
#include <unistd.h>

#include "base/log.h"
#include "base/log_storm.h"

namespace wspush::base {
namespace {

// Captures what the process writes to stderr while it lives.
class StderrCapture {
public:
    StderrCapture() {
        EXPECT_EQ(pipe2(fds_, O_NONBLOCK | O_CLOEXEC), 0);
        saved_ = dup(STDERR_FILENO);
        dup2(fds_[1], STDERR_FILENO);
    }
    ~StderrCapture() {
        dup2(saved_, STDERR_FILENO);
        close(saved_);
        close(fds_[0]);
        close(fds_[1]);
    }
    // What was written since the last call.
    std::string take() {
        std::string out;
        char buf[4096];
        for (ssize_t n; (n = read(fds_[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
        return out;
    }

private:
    int fds_[2] = {-1, -1};
    int saved_ = -1;
};

int count(const std::string& s, std::string_view needle) {
    int n = 0;
    for (size_t at = s.find(needle); at != std::string::npos; at = s.find(needle, at + 1)) ++n;
    return n;
}

// The default settings: info and above, no time stamp.
class LogLines : public ::testing::Test {
protected:
    void SetUp() override {
        set_log_level(LogLevel::kInfo);
        set_log_time(false);
    }
};

// Declared after a test's storms: whatever a failing test left pending is written before the
// storms go (the pending list is global).
struct Flusher {
    ~Flusher() { (void)flush_log_storms(UINT64_MAX); }
};

void event(LogStorm& s, uint64_t now, const char* text) {
    if (log_admit(s, now)) log(s.level, "%s", text);
}

TEST_F(LogLines, ControlBytesCannotBreakOrForgeALine) {
    StderrCapture err;
    log(LogLevel::kInfo, "kicked: %s", "bye\nwspushd: error: forged\r\x1b[2J");
    EXPECT_EQ(err.take(), "wspushd: info: kicked: bye?wspushd: error: forged??[2J\n");
}

// C1 controls (NEL, CSI) and U+2028/U+2029 in UTF-8 become '?' per byte; other UTF-8, and
// a lone C2 or E2 at the end of a cut line, stay as they are.
TEST_F(LogLines, UnicodeControlsAndSeparatorsCannotBreakALine) {
    StderrCapture err;
    log(LogLevel::kInfo, "%s", "a\xC2\x85" "b\xC2\x9B" "31m\xE2\x80\xA8" "c\xE2\x80\xA9" "d \xC3\xA9\xE2\x82\xAC \xC2\xA0\xE2\x80\x94");
    EXPECT_EQ(err.take(), "wspushd: info: a??b??31m???c???d \xC3\xA9\xE2\x82\xAC \xC2\xA0\xE2\x80\x94\n");
    log(LogLevel::kInfo, "%s", "end \xC2");
    EXPECT_EQ(err.take(), "wspushd: info: end \xC2\n");
}

TEST_F(LogLines, BurstThenOneSummaryWithTheExactCount) {
    LogStorm slow{"conn closed: slow consumer (1008)", LogLevel::kInfo};
    StderrCapture err;
    const Flusher flusher;
    for (int i = 0; i < 20000; ++i) event(slow, 1000 + i / 100, "conn c1 closed: slow consumer (1008)");
    EXPECT_EQ(count(err.take(), "\n"), static_cast<int>(kLogBurst));
    EXPECT_EQ(log_storms_due(), 1000u + kLogWindowMs);
    EXPECT_EQ(flush_log_storms(1000 + kLogWindowMs - 1), 1000u + kLogWindowMs);  // not yet
    EXPECT_EQ(err.take(), "");
    EXPECT_EQ(flush_log_storms(1000 + kLogWindowMs), 0u);
    EXPECT_EQ(err.take(), "wspushd: info: ... and 19995 more conn closed: slow consumer (1008) in the last 1 s\n");
    EXPECT_EQ(log_storms_due(), 0u);
    // The next window writes its own burst again.
    event(slow, 5000, "again");
    EXPECT_EQ(err.take(), "wspushd: info: again\n");
}

TEST_F(LogLines, ANewWindowWritesTheLastOnesSummaryFirst) {
    LogStorm s{"things", LogLevel::kWarn};
    StderrCapture err;
    const Flusher flusher;
    for (uint32_t i = 0; i < kLogBurst + 3; ++i) event(s, 100, "thing");
    (void)err.take();
    event(s, 100 + kLogWindowMs, "thing after");  // the loop's timer has not run yet
    EXPECT_EQ(err.take(), "wspushd: warn: ... and 3 more things in the last 1 s\nwspushd: warn: thing after\n");
    EXPECT_EQ(log_storms_due(), 0u);
}

TEST_F(LogLines, KindsAreIndependent) {
    LogStorm a{"a", LogLevel::kInfo}, b{"b", LogLevel::kInfo};
    StderrCapture err;
    const Flusher flusher;
    for (int i = 0; i < 100; ++i) event(a, 10, "a");
    event(b, 10, "b");
    const std::string out = err.take();
    EXPECT_EQ(count(out, "info: a\n"), static_cast<int>(kLogBurst));
    EXPECT_EQ(count(out, "info: b\n"), 1);
    EXPECT_EQ(flush_log_storms(UINT64_MAX), 0u);
    EXPECT_EQ(err.take(), "wspushd: info: ... and 95 more a in the last 1 s\n");
}

TEST_F(LogLines, NothingIsCountedAtALevelThatIsOff) {
    LogStorm d{"debug things", LogLevel::kDebug};
    StderrCapture err;
    const Flusher flusher;
    for (int i = 0; i < 100; ++i) EXPECT_FALSE(log_admit(d, 10));
    EXPECT_EQ(log_storms_due(), 0u);
    EXPECT_EQ(flush_log_storms(UINT64_MAX), 0u);
    EXPECT_EQ(err.take(), "");
}

}  // namespace
}  // namespace wspush::base
