#include "base/read_file.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace wspush::base {

bool read_small_file(const std::string& path, size_t max_bytes, std::string& out, std::string& err) {
    auto fail = [&](const char* why) {
        err = path + ": " + why;
        return false;
    };
    // O_NONBLOCK: opening a FIFO without a writer would otherwise wait for one.
    const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return fail(strerror(errno));
    struct stat st;
    bool ok = true;
    if (fstat(fd, &st) != 0) ok = fail(strerror(errno));
    else if (!S_ISREG(st.st_mode)) ok = fail("not a regular file");
    const std::string too_big = "larger than " + std::to_string(max_bytes >> 10) + " KiB";
    if (ok && static_cast<uint64_t>(st.st_size) > max_bytes) ok = fail(too_big.c_str());
    out.clear();
    char buf[4096];
    // One byte past the cap tells a file that grew since fstat.
    while (ok) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n == 0) break;
        if (n < 0) {
            if (errno == EINTR) continue;
            ok = fail(strerror(errno));
        } else if (out.size() + static_cast<size_t>(n) > max_bytes) {
            ok = fail(too_big.c_str());
        } else {
            out.append(buf, static_cast<size_t>(n));
        }
    }
    ::close(fd);
    return ok;
}

}  // namespace wspush::base
