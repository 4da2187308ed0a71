// With --gtest_brief=1 (`make test`), GoogleTest prints only failures. This listener adds
// one line per finished test suite, so a long run shows where it is, and ends with one line
// "N passed, N failed". Without --gtest_brief it stays silent (the default output says all).
#include <cstdio>

#include <gtest/gtest.h>

namespace wspush::testing {
namespace {

class SuiteProgress : public ::testing::EmptyTestEventListener {
    void OnTestProgramStart(const ::testing::UnitTest&) override { active_ = GTEST_FLAG_GET(brief); }

    void OnTestSuiteEnd(const ::testing::TestSuite& s) override {
        if (!active_) return;
        std::printf("[ suite    ] %s: %d passed, %d failed", s.name(), s.successful_test_count(),
                    s.failed_test_count());
        if (s.skipped_test_count() > 0) std::printf(", %d skipped", s.skipped_test_count());
        std::printf(" (%lld ms)\n", static_cast<long long>(s.elapsed_time()));
        std::fflush(stdout);
    }

    void OnTestProgramEnd(const ::testing::UnitTest& u) override {
        if (!active_) return;
        std::printf("%d passed, %d failed", u.successful_test_count(), u.failed_test_count());
        if (u.skipped_test_count() > 0) std::printf(", %d skipped", u.skipped_test_count());
        std::printf("\n");
        std::fflush(stdout);
    }

    bool active_ = false;
};

// Registered before main() (gtest_main) parses the flags; the listener reads them at start.
[[maybe_unused]] const bool kRegistered = [] {
    ::testing::UnitTest::GetInstance()->listeners().Append(new SuiteProgress);
    return true;
}();

}  // namespace
}  // namespace wspush::testing
