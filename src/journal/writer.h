// Appends to the journal: records gathered in a batch, written by commit() with one write
// and synced as the Fsync policy says; segments sealed, indexed and retired (journal.h).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "journal/journal.h"
#include "journal/recovery.h"

namespace wspush::journal {

struct WriterStats {
    uint64_t appended = 0;          // records appended by the caller
    uint64_t commits = 0;           // writes of a batch (or of compaction copies)
    uint64_t syncs = 0;             // fdatasync calls on segments
    uint64_t segments_dropped = 0;  // by retention
    uint64_t copied = 0;            // records copied forward by compaction
    uint64_t evicted = 0;           // live records dropped by retention for want of room
    uint64_t errors = 0;            // times the writer got stuck
};

class Writer {
public:
    Writer() = default;
    ~Writer();
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;

    // Starts a new head segment in dir after the segments rec (from recover() on dir
    // with the same o) found, then applies retention. False with err filled on failure.
    [[nodiscard]] bool open(const std::string& dir, const Options& o, const Recovered& rec, Error& err);

    // Adds a message (seq next after the channel's last in epoch) to the batch. Returns 0,
    // -EINVAL for a record the format cannot hold (name 1..64 bytes, payload at most
    // 1 GiB), or the stuck error. Under Fsync::kAlways it also commits, and returns
    // commit()'s result.
    [[nodiscard]] int append_message(std::string_view channel, uint64_t epoch, uint64_t seq, bool binary,
                                     std::string_view payload);
    // Records that the channel of this epoch was forgotten (its records are void).
    [[nodiscard]] int append_drop(std::string_view channel, uint64_t epoch);
    // Records a channel's numbering (last_seq in epoch) without a message: for publications
    // the journal missed while stuck, so that a restart numbers on after them.
    [[nodiscard]] int append_meta(std::string_view channel, uint64_t epoch, uint64_t last_seq);
    // Writes the batch with one write, syncs per policy (always and batch: one fdatasync),
    // then seals the head if it is full and applies retention. 0 when the batch is as
    // durable as the policy says (nothing to write is 0 too; sealing or retention may still
    // have failed: error() tells, and the writer is stuck from then on), else -errno, and
    // the writer is stuck (error()) with the batch discarded.
    [[nodiscard]] int commit();
    // When stuck: seals the head at its last durable length, starts a new segment and
    // applies retention; 0 when that worked (no longer stuck), else the error.
    [[nodiscard]] int retry();

    // code 0 unless stuck; text names the file, the call and the reason.
    [[nodiscard]] const Error& error() const noexcept { return err_; }
    [[nodiscard]] bool has_batch() const noexcept { return !batch_.empty(); }
    // Bytes in all segment files; segment count (the head included).
    [[nodiscard]] uint64_t bytes() const noexcept { return sealed_bytes_ + (fd_ >= 0 ? written_ : 0); }
    [[nodiscard]] size_t segments() const noexcept { return sealed_.size() + (fd_ >= 0 ? 1 : 0); }
    [[nodiscard]] const WriterStats& stats() const noexcept { return stats_; }

private:
    struct ChannelState {
        uint64_t epoch = 0;
        uint64_t last_seq = 0;
        bool dropped = false;
    };
    struct NameHash {
        using is_transparent = void;
        size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
    };
    using ChannelMap = std::unordered_map<std::string, ChannelState, NameHash, std::equal_to<>>;

    int append(const Record& r);
    int flush();
    int fail(int code, const char* call);
    int open_segment(uint64_t number);
    int seal_head();
    int rotate();
    int retain();
    int drop_oldest();
    [[nodiscard]] std::string head_path() const;

    std::string dir_;
    Options o_;
    uint64_t segment_bytes_ = 0;
    uint64_t journal_id_ = 0;
    int fd_ = -1;                 // the head segment, -1 when none is open
    uint64_t number_ = 0;         // the head's number (or the last one's, when none is open)
    uint64_t written_ = 0;        // the head's length
    uint64_t synced_ = 0;         // ... of which durable per the policy
    Summarizer head_;             // the head's committed records
    std::string batch_;           // appended, not yet written
    std::vector<SegmentInfo> sealed_;  // oldest first
    uint64_t sealed_bytes_ = 0;
    ChannelMap channels_;         // every channel on disk or in the batch, as the caller last said
    WriterStats stats_;
    Error err_;
};

}  // namespace wspush::journal
