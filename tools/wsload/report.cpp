#include "wsload/report.h"

#include <cstdio>

#include "wsload/sys.h"

namespace wspush::wsload {

Summary::Summary(Mode m) : line_(std::string("wsload mode=") + mode_name(m)) {}

void Summary::add(std::string_view key, uint64_t v) {
    line_.append(" ").append(key).append("=").append(std::to_string(v));
}

void Summary::add(std::string_view key, double v, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    line_.append(" ").append(key).append("=").append(buf);
}

void Summary::add(std::string_view key, std::string_view v) {
    line_.append(" ").append(key).append("=").append(v);
}

void Summary::add_latency(std::string_view prefix, std::string_view unit, const Histogram& h,
                          double ns_per_unit) {
    const int decimals = ns_per_unit >= 1e6 ? 3 : 1;
    const std::string p(prefix);
    const std::string u(unit);
    add(p + "_p50_" + u, static_cast<double>(h.percentile(50)) / ns_per_unit, decimals);
    add(p + "_p99_" + u, static_cast<double>(h.percentile(99)) / ns_per_unit, decimals);
    add(p + "_max_" + u, static_cast<double>(h.max()) / ns_per_unit, decimals);
}

void Summary::print() const {
    std::fwrite(line_.data(), 1, line_.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
}

void ErrorLog::add(std::string_view why, uint64_t n) {
    if (n == 0) return;
    auto it = by_reason_.find(why);
    if (it == by_reason_.end()) it = by_reason_.emplace(std::string(why), 0).first;
    it->second += n;
    total_ += n;
}

void ErrorLog::print() const {
    for (const auto& [why, n] : by_reason_) {
        std::fprintf(stderr, "wsload: error: %s (x%llu)\n", why.c_str(), static_cast<unsigned long long>(n));
    }
}

std::optional<double> CpuProbe::sample() const {
    double sum = 0;
    for (pid_t pid : pids_) {
        const std::optional<double> cpu = process_cpu_s(pid);
        if (!cpu) {
            note("cannot read /proc/" + std::to_string(pid) + "/stat");
            return std::nullopt;
        }
        sum += *cpu;
    }
    return sum;
}

void CpuProbe::start() {
    if (!pids_.empty()) start_ = sample();
}

void CpuProbe::stop() {
    if (!pids_.empty()) end_ = sample();
}

void CpuProbe::report(Summary& s, uint64_t msgs) const {
    if (pids_.empty() || !start_ || !end_) return;
    const double cpu = *end_ - *start_;
    s.add("server_cpu_s", cpu, 2);
    if (msgs > 0) s.add("cpu_us_per_msg", cpu * 1e6 / static_cast<double>(msgs), 3);
}

void note(const std::string& text) { std::fprintf(stderr, "wsload: %s\n", text.c_str()); }

}  // namespace wspush::wsload
