#include "support/process_info.h"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <dirent.h>
#include <fstream>
#include <poll.h>
#include <sstream>
#include <string>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

namespace wspush::testing {

std::string memory_error_report(std::string_view log) {
    auto line_at = [&](size_t at) {
        size_t from = log.rfind('\n', at);
        from = from == std::string_view::npos ? 0 : from + 1;
        return std::string(log.substr(from, log.find('\n', at) - from));
    };
    for (std::string_view needle : {"AddressSanitizer", "LeakSanitizer", "runtime error:"})
        if (size_t at = log.find(needle); at != std::string_view::npos) return line_at(at);
    // valgrind: "==123== ERROR SUMMARY: 2 errors from 2 contexts (suppressed: 0 from 0)"
    constexpr std::string_view kSummary = "ERROR SUMMARY: ";
    for (size_t at = log.find(kSummary); at != std::string_view::npos; at = log.find(kSummary, at + 1)) {
        size_t digit = at + kSummary.size();
        if (digit < log.size() && log[digit] >= '1' && log[digit] <= '9') return line_at(at);
    }
    return {};
}

uint64_t resident_bytes(pid_t pid) {
    std::ifstream statm("/proc/" + std::to_string(pid) + "/statm");
    uint64_t size = 0, resident = 0;
    if (!(statm >> size >> resident)) return 0;
    return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

uint64_t cpu_time_ms(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string all((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
    size_t close = all.rfind(')');
    if (close == std::string::npos) return 0;
    std::istringstream rest(all.substr(close + 1));
    std::string field;
    uint64_t utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
        if (i == 14) utime = std::stoull(field);
        if (i == 15) stime = std::stoull(field);
    }
    return (utime + stime) * 1000 / static_cast<uint64_t>(sysconf(_SC_CLK_TCK));
}

int highest_fd(pid_t pid) {
    DIR* d = opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
    if (!d) return -1;
    int top = -1;
    while (dirent* e = readdir(d)) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        int fd = std::stoi(e->d_name);
        if (fd > top) top = fd;
    }
    closedir(d);
    return top;
}

bool sanitized(pid_t pid) {
    std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
    std::string line;
    while (std::getline(maps, line))
        if (line.find("libasan") != std::string::npos) return true;
    return false;
}

Frozen::Frozen(pid_t pid) : pid_(pid) {
    kill(pid_, SIGSTOP);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
        pid_t r = waitpid(pid_, &status, WNOHANG | WUNTRACED);
        if (r == pid_ && WIFSTOPPED(status)) {
            stopped_ = true;
            return;
        }
        poll(nullptr, 0, 1);  // the stop is delivered asynchronously: bounded wait for it
    }
}

Frozen::~Frozen() { kill(pid_, SIGCONT); }

bool raise_nofile(uint64_t n) {
    rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return false;
    if (rl.rlim_cur >= n) return true;
    rl.rlim_cur = n < rl.rlim_max ? n : rl.rlim_max;
    return setrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur >= n;
}

}  // namespace wspush::testing
