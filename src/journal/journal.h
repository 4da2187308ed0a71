// The journal: channel history on disk, so that numbering and resume (?since=) survive a
// restart and a publication answered OK survives a crash.
//
// Files (one directory, nothing else writes there):
//   <16 hex digits>.wsj  a segment: a 32-byte header, then records, append-only. Numbers
//                        only grow; the newest segment is the head, the only one written.
//   <16 hex digits>.wsi  the index of a sealed segment (written when the next one starts,
//                        through a .tmp file and rename): its length and, per channel, the
//                        epoch, last seq, lowest and highest message seq, message bytes,
//                        dropped or not.
//
// Segment header: magic "WSPJRNL\n", format version (u32), crc32c of the other 28 bytes,
// journal id (u64, the same in every segment of a journal), segment number (u64).
// Record: crc32c (u32) of everything after it, payload length (u32), type (u8: text,
// binary, meta, drop), name length (u8, 1..64), two zero bytes, epoch (u64), seq (u64),
// channel name, payload (at most 1 GiB; none for meta and drop). Little-endian throughout.
// A different format version is refused with a message naming the file and both versions
// (there is no conversion: move the directory aside).
//
// Start-up (recovery.h) scans only the newest segment, cutting a torn or corrupt tail there
// (a record that is short, has a field out of range or a wrong checksum ends the good
// part: nothing after it is read, the bytes cut are reported). Sealed segments are known
// by their index; only those holding one of a channel's newest `history` messages are
// read (and checked) in full, newest first, and none older than a byte budget of such
// messages (the budget would evict them). A sealed segment without a usable index is
// scanned and its index written. A 64 MiB journal of 1000 channels starts in about 30 ms
// of CPU against 55 ms for a full scan (bench/journal_bench.cpp, BM_Startup64MiB).
//
// Durability, by --fsync policy (Writer::commit):
// | policy | syncs                                     | lost on a process crash | on a power cut          |
// | ------ | ----------------------------------------- | ----------------------- | ----------------------- |
// | always | fdatasync after every record              | nothing committed       | nothing answered OK     |
// | batch  | one fdatasync per commit (per loop turn), | nothing committed       | nothing answered OK     |
// |        |   before that turn's replies go out       |                         |                         |
// | never  | none: the kernel writes back when it will | nothing committed       | the last seconds' worth |
// (A process crash loses nothing written, since write() hands the bytes to the page cache;
// what was appended but not yet committed was never answered OK.) New segment files and
// renamed indexes are made durable with an fsync of the directory (not under never).
//
// Retention (Options::max_bytes, --journal-max): when a segment is sealed and the total is
// over the limit, the oldest sealed segments are dropped, oldest first. Before one goes,
// its records that are still among their channel's newest `history` messages of the
// current epoch are copied to the head (as many of the newest as keep the total under the
// limit: beyond that the oldest of all go first, like the history byte budget), and a
// channel whose highest seq would vanish gets a meta record, so numbering always survives.
// The copies are made durable (per policy) before the segment is unlinked.
//
// Errors: a failed write or sync (ENOSPC, EFBIG, EIO...) makes the writer stuck: the
// batch is discarded, the head cut back to what was last durable, and every append and
// commit returns that error until retry() succeeds (it seals the head at its last
// durable length and starts a new segment). The server's in-memory history is not the
// journal's: nothing there is lost; the journal has a gap, which recovery handles (a
// channel's recovered messages are always the consecutive seqs ending at its last seq).
// A process that journals must ignore SIGXFSZ, so a file-size limit is EFBIG, not death.
// Retention needs room for its copies: on a full disk it is stuck like any write, until
// space is freed and retry() succeeds.
//
// The caller's part: a channel's epochs only grow (a re-created channel gets a higher one
// than any in the journal: Recovered::max_epoch), and seqs within an epoch only grow.
// Costs on the event loop: commit() is one write (plus one fdatasync); sealing a segment
// writes its index; each segment dropped by retention is read once (Options::segment_bytes,
// at most max_bytes / 4 and at least 64 KiB) and its live records written once more.
#pragma once
#include <cstdint>

#include "journal/format.h"

namespace wspush::journal {

enum class Fsync : uint8_t { kAlways, kBatch, kNever };

struct Options {
    Fsync fsync = Fsync::kBatch;
    uint64_t max_bytes = 64ull << 20;      // all segments together (--journal-max)
    uint64_t segment_bytes = 4ull << 20;   // a segment is sealed once this long (at most max_bytes / 4)
    uint32_t history = 100;                // messages recovered per channel (--history)
    uint64_t history_bytes = 8ull << 20;   // payload bytes recovered, all channels (--history-bytes)
    int (*sync)(int fd) = nullptr;         // fdatasync unless set (tests count calls)
};

// A failure with its reason: code is a negative errno (or -EINVAL for a bad journal),
// text one line naming the file and the reason.
struct Error {
    int code = 0;
    char text[320] = {};
    void set(int c, const char* fmt, ...) noexcept __attribute__((format(printf, 3, 4)));
};

}  // namespace wspush::journal
