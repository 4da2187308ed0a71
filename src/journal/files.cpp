#include "journal/files.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>

namespace wspush::journal {

void Error::set(int c, const char* fmt, ...) noexcept {
    code = c;
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
}

std::string join(const std::string& dir, const std::string& name) { return dir + "/" + name; }

int list_segments(const std::string& dir, std::vector<uint64_t>& out, Error& err) {
    if (::mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST) {
        err.set(-errno, "journal %s: mkdir: %s", dir.c_str(), std::strerror(errno));
        return err.code;
    }
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) {
        err.set(-errno, "journal %s: %s", dir.c_str(), std::strerror(errno));
        return err.code;
    }
    out.clear();
    while (const dirent* e = ::readdir(d)) {
        uint64_t n;
        if (parse_segment_name(e->d_name, n)) out.push_back(n);
    }
    ::closedir(d);
    std::sort(out.begin(), out.end());
    return 0;
}

int read_file(const std::string& path, std::string& out, uint64_t max, Error& err) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || ::fstat(fd, &st) != 0) {
        err.set(-errno, "journal %s: %s", path.c_str(), std::strerror(errno));
        if (fd >= 0) ::close(fd);
        return err.code;
    }
    if (static_cast<uint64_t>(st.st_size) > max) {
        ::close(fd);
        err.set(-EFBIG, "journal %s: %lld bytes, more than the %llu a segment may hold", path.c_str(),
                static_cast<long long>(st.st_size), static_cast<unsigned long long>(max));
        return err.code;
    }
    out.resize(static_cast<size_t>(st.st_size));
    size_t got = 0;
    while (got < out.size()) {
        const ssize_t n = ::pread(fd, out.data() + got, out.size() - got, static_cast<off_t>(got));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            err.set(n < 0 ? -errno : -EIO, "journal %s: read: %s", path.c_str(), n < 0 ? std::strerror(errno) : "file shrank");
            ::close(fd);
            return err.code;
        }
        got += static_cast<size_t>(n);
    }
    ::close(fd);
    return 0;
}

int pwrite_all(int fd, const void* p, size_t len, uint64_t off) noexcept {
    const auto* b = static_cast<const char*>(p);
    while (len > 0) {
        const ssize_t n = ::pwrite(fd, b, len, static_cast<off_t>(off));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -errno;
        if (n == 0) return -EIO;
        b += n;
        len -= static_cast<size_t>(n);
        off += static_cast<uint64_t>(n);
    }
    return 0;
}

int sync_fd(const Options& o, int fd) noexcept {
    for (;;) {
        const int r = o.sync != nullptr ? o.sync(fd) : ::fdatasync(fd);
        if (r == 0) return 0;
        if (errno != EINTR) return -errno;
    }
}

int sync_dir(const Options& o, const std::string& dir, Error& err) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    const int r = fd < 0 ? -errno : sync_fd(o, fd);
    if (fd >= 0) ::close(fd);
    if (r != 0) err.set(r, "journal %s: sync of the directory: %s", dir.c_str(), std::strerror(-r));
    return r;
}

int write_atomic(const Options& o, const std::string& dir, const std::string& name, const std::string& bytes,
                 Error& err) {
    const std::string path = join(dir, name), tmp = path + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    int r = fd < 0 ? -errno : pwrite_all(fd, bytes.data(), bytes.size(), 0);
    if (r == 0 && o.fsync != Fsync::kNever) r = sync_fd(o, fd);
    if (fd >= 0) ::close(fd);
    if (r == 0 && ::rename(tmp.c_str(), path.c_str()) != 0) r = -errno;
    if (r != 0) {
        ::unlink(tmp.c_str());
        err.set(r, "journal %s: %s", path.c_str(), std::strerror(-r));
        return r;
    }
    return o.fsync == Fsync::kNever ? 0 : sync_dir(o, dir, err);
}

}  // namespace wspush::journal
