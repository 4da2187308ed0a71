// Test support: a file under /tmp with given contents, removed when the test ends.
#pragma once
#include <cstdio>
#include <fstream>
#include <string>
#include <unistd.h>

namespace wspush::testing {

class TempFile {
public:
    explicit TempFile(const std::string& text, const std::string& suffix = ".conf") {
        static int counter = 0;
        path_ = "/tmp/wspush-file-" + std::to_string(getpid()) + "-" + std::to_string(++counter) + suffix;
        write(text);
    }
    ~TempFile() { unlink(path_.c_str()); }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;

    // Replaces the contents whole: a new file renamed over the old one (as an editor or a
    // deployment does), so a reader never sees half of it. False on failure.
    bool write(const std::string& text) const {
        const std::string tmp = path_ + ".new";
        std::ofstream(tmp) << text;
        return rename(tmp.c_str(), path_.c_str()) == 0;
    }
    [[nodiscard]] const std::string& path() const { return path_; }

private:
    std::string path_;
};

}  // namespace wspush::testing
