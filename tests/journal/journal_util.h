// Test support for the journal: a temporary directory, writing and reading back.
#pragma once
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <vector>

#include "journal/recovery.h"
#include "journal/writer.h"

namespace wspush::journal::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it.
class TempDir {
public:
    TempDir() {
        const char* base = getenv("TMPDIR");
        std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/wspush-journal-XXXXXX";
        path_ = mkdtemp(tmpl.data()) != nullptr ? tmpl : std::string();
        EXPECT_FALSE(path_.empty());
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    [[nodiscard]] const std::string& path() const { return path_; }
    [[nodiscard]] std::string file(const std::string& name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

// The payload of message seq of a channel: distinct per (channel, seq), of varying size.
inline std::string payload_of(const std::string& channel, uint64_t seq, size_t pad = 0) {
    return channel + "#" + std::to_string(seq) + std::string(pad + seq % 7, '.');
}

// recover() that must succeed.
inline Recovered recover_ok(const std::string& dir, const Options& o) {
    Recovered rec;
    Error err;
    EXPECT_TRUE(recover(dir, o, rec, err)) << err.text;
    return rec;
}

inline const RecoveredChannel* find_channel(const Recovered& rec, const std::string& name) {
    for (const RecoveredChannel& c : rec.channels)
        if (c.name == name) return &c;
    return nullptr;
}

// The recovered seqs of a channel, oldest first, each checked against payload_of.
inline std::vector<uint64_t> seqs_of(const Recovered& rec, const std::string& name, size_t pad = 0) {
    std::vector<uint64_t> out;
    const RecoveredChannel* c = find_channel(rec, name);
    if (c == nullptr) return out;
    for (const RecoveredMessage& m : c->messages) {
        EXPECT_EQ(m.payload, payload_of(name, m.seq, pad)) << name << " seq " << m.seq;
        out.push_back(m.seq);
    }
    return out;
}

inline std::vector<uint64_t> range(uint64_t first, uint64_t last) {
    std::vector<uint64_t> v;
    for (uint64_t s = first; s <= last; ++s) v.push_back(s);
    return v;
}

}  // namespace wspush::journal::testing
