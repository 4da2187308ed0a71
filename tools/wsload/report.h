// What wsload prints: one machine-readable summary line on stdout
// (`wsload mode=<mode> key=value ...`), human-readable detail on stderr.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "wsload/histogram.h"
#include "wsload/options.h"

namespace wspush::wsload {

class Summary {
public:
    explicit Summary(Mode m);
    void add(std::string_view key, uint64_t v);
    void add(std::string_view key, double v, int decimals);
    void add(std::string_view key, std::string_view v);
    // Adds <prefix>_p50_<unit>, _p99_ and _max_ from a histogram of nanoseconds, divided
    // by ns_per_unit (1e3 for us, 1e6 for ms).
    void add_latency(std::string_view prefix, std::string_view unit, const Histogram& h, double ns_per_unit);
    [[nodiscard]] const std::string& line() const noexcept { return line_; }
    // Writes the line and a newline to stdout.
    void print() const;

private:
    std::string line_;
};

// Counts failures by reason; the reasons are printed to stderr, the total goes in the summary.
class ErrorLog {
public:
    void add(std::string_view why, uint64_t n = 1);
    [[nodiscard]] uint64_t total() const noexcept { return total_; }
    // "wsload: error: <reason> (xN)" per reason, on stderr.
    void print() const;

private:
    std::map<std::string, uint64_t, std::less<>> by_reason_;
    uint64_t total_ = 0;
};

// Server CPU time over a phase, from /proc/PID/stat (--pid). Inactive when pid is 0.
class CpuProbe {
public:
    explicit CpuProbe(std::vector<pid_t> pids) : pids_(std::move(pids)) {}
    void start();
    void stop();
    // Adds server_cpu_s, and cpu_us_per_msg when msgs > 0, if both reads worked.
    void report(Summary& s, uint64_t msgs) const;

private:
    // The processes' CPU time together; nullopt when one of them cannot be read.
    [[nodiscard]] std::optional<double> sample() const;

    std::vector<pid_t> pids_;
    std::optional<double> start_;
    std::optional<double> end_;
};

// Prints "wsload: <text>" on stderr.
void note(const std::string& text);

}  // namespace wspush::wsload
