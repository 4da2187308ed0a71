// Start-up: reads a journal directory back (journal.h has the format and the design).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "journal/journal.h"

namespace wspush::journal {

struct RecoveredMessage {
    uint64_t seq = 0;
    bool binary = false;
    std::string payload;
};

// A channel as the journal last knew it: publish next_seq = last_seq + 1 in `epoch`.
// messages: oldest first, the consecutive seqs ending at last_seq (possibly none), at most
// Options::history of them, all channels' payloads together within Options::history_bytes
// (the oldest of all went first).
struct RecoveredChannel {
    std::string name;
    uint64_t epoch = 0;
    uint64_t last_seq = 0;
    std::vector<RecoveredMessage> messages;
};

// A sealed segment (every segment is sealed once recover() returns).
struct SegmentInfo {
    uint64_t number = 0;
    uint64_t length = 0;
    std::vector<ChannelSummary> channels;
};

struct Recovered {
    uint64_t journal_id = 0;            // 0: the directory held no segment
    uint64_t max_epoch = 0;             // the highest epoch of any record: new epochs go above
    std::vector<RecoveredChannel> channels;  // those not dropped, by name
    std::vector<SegmentInfo> segments;  // oldest first
    uint64_t bytes_cut = 0;             // torn or corrupt bytes cut off (or unreadable)
    std::vector<std::string> notes;     // one line per cut, for the log
    // What start-up cost: segments known by their index, scanned for want of one, read
    // for their messages; bytes read from segment files.
    uint32_t indexes_used = 0;
    uint32_t segments_scanned = 0;
    uint32_t segments_read = 0;
    uint64_t bytes_read = 0;
};

// Reads the journal in dir (created if missing): checks every segment's header (a
// different format version, another journal's segment or a damaged sealed segment's
// header is an error with a message naming the file), cuts a torn or corrupt tail off
// the newest segment (a segment whose header is torn is removed), writes the indexes
// that are missing and fills out. False with err filled on failure; the directory is
// then left as found, but for a cut tail.
[[nodiscard]] bool recover(const std::string& dir, const Options& o, Recovered& out, Error& err);

}  // namespace wspush::journal
