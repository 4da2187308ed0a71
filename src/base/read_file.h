// A small file read whole, without blocking the event loop: what --config and --robots name,
// read at start and again at SIGHUP on the loop's thread.
#pragma once
#include <cstddef>
#include <string>

namespace wspush::base {

// Reads the regular file at `path` into `out` (replaced), at most max_bytes. It is opened
// with O_NONBLOCK, so a FIFO or a device named by mistake neither blocks the open nor the
// read: anything but a regular file is refused. False with err = "PATH: reason" ("No such
// file or directory", "not a regular file", "larger than N KiB").
[[nodiscard]] bool read_small_file(const std::string& path, size_t max_bytes, std::string& out, std::string& err);

}  // namespace wspush::base
