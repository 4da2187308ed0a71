// What a test can learn about a server process: memory error reports in its log; from
// /proc its resident memory, CPU time, descriptors, whether it runs with AddressSanitizer;
// stopping it for a moment; and this process's descriptor limit.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <sys/types.h>

namespace wspush::testing {

// The first line of a memory error report in a server log (AddressSanitizer, LeakSanitizer,
// UBSan "runtime error:", valgrind "ERROR SUMMARY: <n>" with n > 0); empty when there is none.
std::string memory_error_report(std::string_view log);

// Resident memory of pid in bytes (/proc/<pid>/statm); 0 when it cannot be read.
[[nodiscard]] uint64_t resident_bytes(pid_t pid);

// User plus system CPU time pid has used, in milliseconds (/proc/<pid>/stat).
[[nodiscard]] uint64_t cpu_time_ms(pid_t pid);

// The highest descriptor number pid has open (/proc/<pid>/fd); -1 when it cannot be read.
[[nodiscard]] int highest_fd(pid_t pid);

// Whether pid runs with AddressSanitizer's allocator (its resident memory then says little:
// freed blocks stay in quarantine).
[[nodiscard]] bool sanitized(pid_t pid);

// Stops a process (SIGSTOP) for the lifetime of the object, so that several events can be
// made to wait in its epoll queue in a chosen order; SIGCONT on destruction.
class Frozen {
public:
    explicit Frozen(pid_t pid);
    ~Frozen();
    Frozen(const Frozen&) = delete;
    Frozen& operator=(const Frozen&) = delete;
    // Whether the stop took effect (within 5 s).
    [[nodiscard]] bool stopped() const { return stopped_; }

private:
    pid_t pid_;
    bool stopped_ = false;
};

// Raises this process's soft RLIMIT_NOFILE to at least n, within the hard limit. True when
// it is now at least n.
[[nodiscard]] bool raise_nofile(uint64_t n);

}  // namespace wspush::testing
