// The journal's file operations: whole-file reads, writes that finish or fail, the
// directory listing, syncs through Options::sync. Return 0 or -errno (Error filled).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "journal/journal.h"

namespace wspush::journal {

// dir + "/" + name.
[[nodiscard]] std::string join(const std::string& dir, const std::string& name);
// The segment numbers in dir, ascending. Creates dir (mode 0750) if missing.
[[nodiscard]] int list_segments(const std::string& dir, std::vector<uint64_t>& out, Error& err);
// The whole file (at most max bytes; longer is -EFBIG).
[[nodiscard]] int read_file(const std::string& path, std::string& out, uint64_t max, Error& err);
// Writes all of len bytes at offset off.
[[nodiscard]] int pwrite_all(int fd, const void* p, size_t len, uint64_t off) noexcept;
// Options::sync, or fdatasync; retried on EINTR.
[[nodiscard]] int sync_fd(const Options& o, int fd) noexcept;
// Makes the directory's entries durable (an fsync of it through sync_fd).
[[nodiscard]] int sync_dir(const Options& o, const std::string& dir, Error& err);
// Writes bytes to dir/name through name.tmp and a rename, synced unless o.fsync is kNever.
[[nodiscard]] int write_atomic(const Options& o, const std::string& dir, const std::string& name,
                               const std::string& bytes, Error& err);

}  // namespace wspush::journal
