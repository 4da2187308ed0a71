// Writer and recovery together, on real files in a temporary directory.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "journal/files.h"
#include "journal_util.h"

namespace wspush::journal {
namespace {

using namespace testing;  // journal_util.h

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void spit(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// For the many recoveries of damaged copies: no syncs (what is tested is what is read).
const Options kQuick{.fsync = Fsync::kNever};

// Opens a writer on dir after recovering it.
void open_writer(Writer& w, const std::string& dir, const Options& o) {
    const Recovered rec = recover_ok(dir, o);
    Error err;
    ASSERT_TRUE(w.open(dir, o, rec, err)) << err.text;
}

void publish(Writer& w, const std::string& channel, uint64_t epoch, uint64_t first, uint64_t last, size_t pad = 0) {
    for (uint64_t s = first; s <= last; ++s)
        ASSERT_EQ(w.append_message(channel, epoch, s, false, payload_of(channel, s, pad)), 0) << w.error().text;
}

TEST(Journal, RoundTripAcrossRestarts) {
    TempDir dir;
    Options o;
    {
        Writer w;
        open_writer(w, dir.path(), o);
        publish(w, "a", 7, 1, 5);
        ASSERT_EQ(w.append_message("b", 8, 1, true, payload_of("b", 1)), 0);
        publish(w, "c", 9, 1, 3);
        ASSERT_EQ(w.append_drop("c", 9), 0);
        ASSERT_EQ(w.commit(), 0) << w.error().text;
    }
    Recovered rec = recover_ok(dir.path(), o);
    EXPECT_EQ(rec.max_epoch, 9u);
    ASSERT_EQ(rec.channels.size(), 2u);  // c was dropped
    EXPECT_EQ(find_channel(rec, "c"), nullptr);
    EXPECT_EQ(find_channel(rec, "a")->epoch, 7u);
    EXPECT_EQ(find_channel(rec, "a")->last_seq, 5u);
    EXPECT_EQ(seqs_of(rec, "a"), range(1, 5));
    ASSERT_EQ(seqs_of(rec, "b"), range(1, 1));
    EXPECT_TRUE(find_channel(rec, "b")->messages[0].binary);
    EXPECT_FALSE(find_channel(rec, "a")->messages[0].binary);
    EXPECT_EQ(rec.bytes_cut, 0u);
    {
        Writer w;  // a restart: numbering continues in the same epoch
        open_writer(w, dir.path(), o);
        publish(w, "a", 7, 6, 8);
        ASSERT_EQ(w.commit(), 0);
    }
    rec = recover_ok(dir.path(), o);
    EXPECT_EQ(find_channel(rec, "a")->epoch, 7u);
    EXPECT_EQ(seqs_of(rec, "a"), range(1, 8));
    EXPECT_EQ(rec.segments.size(), 2u);
}

// Compaction's copies (and a segment whose unlink a crash prevented) repeat records:
// each message is recovered once.
TEST(Journal, RepeatedRecordsRecoveredOnce) {
    TempDir dir;
    Options o;
    {
        Writer w;
        open_writer(w, dir.path(), o);
        publish(w, "r", 1, 1, 5);
        ASSERT_EQ(w.commit(), 0);
        publish(w, "r", 1, 3, 5);
        ASSERT_EQ(w.commit(), 0);
    }
    const Recovered rec = recover_ok(dir.path(), o);
    EXPECT_EQ(seqs_of(rec, "r"), range(1, 5));
}

TEST(Journal, RecoversHistoryLengthAndByteBudget) {
    TempDir dir;
    Options o;
    {
        Writer w;
        open_writer(w, dir.path(), o);
        publish(w, "old", 1, 1, 10, 100);
        publish(w, "new", 2, 1, 10, 100);
        ASSERT_EQ(w.commit(), 0);
    }
    o.history = 4;
    Recovered rec = recover_ok(dir.path(), o);
    EXPECT_EQ(seqs_of(rec, "old", 100), range(7, 10));
    EXPECT_EQ(seqs_of(rec, "new", 100), range(7, 10));
    // Room for about five payloads: the oldest of all go first.
    o.history_bytes = 5 * (payload_of("new", 10, 100).size() + 2);
    rec = recover_ok(dir.path(), o);
    EXPECT_EQ(seqs_of(rec, "old", 100), range(10, 10));
    EXPECT_EQ(seqs_of(rec, "new", 100), range(7, 10));
    EXPECT_EQ(find_channel(rec, "old")->last_seq, 10u);
}

// Segments older than a byte budget of wanted messages are not read: their messages would
// be evicted by it; their numbering still counts.
TEST(Journal, StartupSkipsSegmentsBeyondTheByteBudget) {
    TempDir dir;
    Options o;
    o.history_bytes = 1000;
    for (const char* channel : {"a", "b"}) {
        Writer w;  // one segment each
        open_writer(w, dir.path(), o);
        publish(w, channel, 1, 1, 20, 100);
        ASSERT_EQ(w.commit(), 0);
    }
    const Recovered rec = recover_ok(dir.path(), o);
    EXPECT_EQ(rec.segments_read, 1u);
    EXPECT_EQ(find_channel(rec, "a")->last_seq, 20u);
    EXPECT_TRUE(find_channel(rec, "a")->messages.empty());
    EXPECT_EQ(seqs_of(rec, "b", 100), range(12, 20));  // 9 of about 105 bytes
}

// Four records of channel "t", the writer gone: the head segment's bytes and where the
// last record starts.
struct Written {
    std::string name;
    std::string bytes;
    std::vector<size_t> starts;
};

Written write_four(const TempDir& dir) {
    Options o;
    {
        Writer w;
        open_writer(w, dir.path(), o);
        publish(w, "t", 3, 1, 4);
        EXPECT_EQ(w.commit(), 0);
    }
    Written out{segment_name(1), slurp(dir.file(segment_name(1))), {}};
    (void)scan_records(reinterpret_cast<const uint8_t*>(out.bytes.data()), out.bytes.size(),
                       [&](const Record&, size_t at) { out.starts.push_back(at); });
    EXPECT_EQ(out.starts.size(), 4u);
    return out;
}

// A crash inside the last record's write, at every byte: the tail is cut, reported, and
// never read as a record.
TEST(Journal, TornTailCutAtEveryOffset) {
    TempDir src;
    const Written w = write_four(src);
    const size_t last = w.starts.back();
    for (size_t cut = last; cut < w.bytes.size(); ++cut) {
        TempDir dir;
        spit(dir.file(w.name), w.bytes.substr(0, cut));
        const Recovered rec = recover_ok(dir.path(), kQuick);
        EXPECT_EQ(seqs_of(rec, "t"), range(1, 3)) << "cut at " << cut;
        EXPECT_EQ(rec.bytes_cut, cut - last) << "cut at " << cut;
        if (cut > last) {
            ASSERT_EQ(rec.notes.size(), 1u);
            EXPECT_NE(rec.notes[0].find("cut " + std::to_string(cut - last) + " bytes at offset " + std::to_string(last)),
                      std::string::npos) << rec.notes[0];
        }
        EXPECT_EQ(std::filesystem::file_size(dir.file(w.name)), last);
    }
}

TEST(Journal, TornSegmentHeaderRemoved) {
    TempDir src;
    const Written w = write_four(src);
    for (size_t cut = 0; cut < kSegmentHeaderSize; ++cut) {
        TempDir dir;
        spit(dir.file(w.name), w.bytes.substr(0, cut));
        const Recovered rec = recover_ok(dir.path(), kQuick);
        EXPECT_TRUE(rec.channels.empty());
        EXPECT_EQ(rec.bytes_cut, cut);
        EXPECT_FALSE(std::filesystem::exists(dir.file(w.name)));
    }
}

// Any single flipped bit in the newest segment: records from the damaged one on are cut,
// those before it kept; a damaged header removes the segment. Never a wrong payload
// (seqs_of checks each).
TEST(Journal, FlippedBitAnywhereIsDetected) {
    TempDir src;
    const Written w = write_four(src);
    for (size_t bit = 0; bit < 8 * w.bytes.size(); ++bit) {
        TempDir dir;
        std::string bad = w.bytes;
        bad[bit / 8] = static_cast<char>(bad[bit / 8] ^ (1 << (bit % 8)));
        spit(dir.file(w.name), bad);
        const Recovered rec = recover_ok(dir.path(), kQuick);
        const size_t at = bit / 8;
        if (at < kSegmentHeaderSize) {
            EXPECT_TRUE(rec.channels.empty()) << "bit " << bit;
            EXPECT_EQ(rec.bytes_cut, w.bytes.size());
            continue;
        }
        size_t damaged = 0;  // the record holding the flipped bit
        while (damaged + 1 < w.starts.size() && w.starts[damaged + 1] <= at) ++damaged;
        EXPECT_EQ(seqs_of(rec, "t"), range(1, damaged)) << "bit " << bit;
        EXPECT_EQ(rec.bytes_cut, w.bytes.size() - w.starts[damaged]) << "bit " << bit;
    }
}

// Damage in a sealed segment (its index intact): found when the segment is read, reported,
// and the channel's history is what follows the gap.
TEST(Journal, DamageInSealedSegmentReported) {
    TempDir dir;
    Options o;
    {
        Writer w;
        open_writer(w, dir.path(), o);
        publish(w, "s", 1, 1, 10);
        ASSERT_EQ(w.commit(), 0);
    }
    {
        Writer w;
        open_writer(w, dir.path(), o);
        publish(w, "s", 1, 11, 20);
        ASSERT_EQ(w.commit(), 0);
    }
    std::string first = slurp(dir.file(segment_name(1)));
    first[first.size() / 2] ^= 0x10;
    spit(dir.file(segment_name(1)), first);
    const Recovered rec = recover_ok(dir.path(), o);
    EXPECT_EQ(seqs_of(rec, "s"), range(11, 20));
    EXPECT_EQ(find_channel(rec, "s")->last_seq, 20u);
    EXPECT_GT(rec.bytes_cut, 0u);
    ASSERT_EQ(rec.notes.size(), 1u);
    EXPECT_NE(rec.notes[0].find("unreadable"), std::string::npos) << rec.notes[0];
}

void write_header_only(const TempDir& dir, uint32_t version, uint64_t id, uint64_t number) {
    uint8_t h[kSegmentHeaderSize];
    encode_segment_header({version, id, number}, h);
    spit(dir.file(segment_name(number)), std::string(reinterpret_cast<const char*>(h), sizeof h));
}

TEST(Journal, OtherFormatVersionRefused) {
    for (const uint32_t version : {kFormatVersion - 1, kFormatVersion + 1}) {
        TempDir dir;
        write_header_only(dir, version, 5, 1);
        Recovered rec;
        Error err;
        ASSERT_FALSE(recover(dir.path(), Options{}, rec, err));
        const std::string text = err.text;
        EXPECT_NE(text.find(segment_name(1)), std::string::npos) << text;
        EXPECT_NE(text.find("format version " + std::to_string(version) + ", this wspushd reads version " +
                            std::to_string(kFormatVersion)),
                  std::string::npos)
            << text;
        EXPECT_NE(text.find(version < kFormatVersion ? "older" : "newer"), std::string::npos) << text;
        EXPECT_TRUE(std::filesystem::exists(dir.file(segment_name(1))));  // left as found
    }
}

TEST(Journal, SegmentOfAnotherJournalRefused) {
    TempDir dir;
    write_header_only(dir, kFormatVersion, 5, 1);
    write_header_only(dir, kFormatVersion, 6, 2);
    Recovered rec;
    Error err;
    ASSERT_FALSE(recover(dir.path(), Options{}, rec, err));
    EXPECT_NE(std::string(err.text).find("another journal"), std::string::npos) << err.text;
}

// A quiet channel's few messages sit in the oldest segment while a busy one fills many:
// retention drops old segments, copying the quiet channel's newest forward.
struct Rotated {
    Options o;
    WriterStats stats;
    uint64_t max_seen = 0;  // bytes on disk after a commit, at most
};

void rotate_many(const std::string& dir, uint32_t history, Rotated& out) {
    out.o.fsync = Fsync::kNever;  // 300 commits: retention is what is tested
    out.o.max_bytes = 1 << 20;
    out.o.segment_bytes = 64 << 10;
    out.o.history = history;
    Writer w;
    open_writer(w, dir, out.o);
    publish(w, "quiet", 1, 1, 8);
    ASSERT_EQ(w.commit(), 0);
    for (uint64_t s = 1; s <= 3000; ++s) {
        ASSERT_EQ(w.append_message("busy", 2, s, false, payload_of("busy", s, 1000)), 0);
        if (s % 10 == 0) {
            ASSERT_EQ(w.commit(), 0) << w.error().text;
            out.max_seen = std::max(out.max_seen, w.bytes());
        }
    }
    ASSERT_EQ(w.commit(), 0);
    out.stats = w.stats();
}

TEST(Journal, RetentionKeepsNewestPerChannel) {
    TempDir dir;
    Rotated r;
    rotate_many(dir.path(), 5, r);
    EXPECT_GT(r.stats.segments_dropped, 10u);
    EXPECT_GE(r.stats.copied, 5u);
    EXPECT_LE(r.max_seen, r.o.max_bytes + r.o.segment_bytes + 12 * 1024);  // the limit, the head and one batch
    const Recovered rec = recover_ok(dir.path(), r.o);
    EXPECT_EQ(seqs_of(rec, "quiet"), range(4, 8));
    EXPECT_EQ(seqs_of(rec, "busy", 1000), range(2996, 3000));
    // Start-up used the indexes and read only the segments holding wanted messages.
    EXPECT_EQ(rec.indexes_used + 1, rec.segments.size());
    EXPECT_EQ(rec.segments_scanned, 1u);
    EXPECT_LE(rec.segments_read, 3u);
    EXPECT_GT(rec.segments.size(), 10u);
}

TEST(Journal, RetentionKeepsNumberingWithoutHistory) {
    TempDir dir;
    Rotated r;
    rotate_many(dir.path(), 0, r);
    EXPECT_GT(r.stats.segments_dropped, 10u);
    EXPECT_EQ(r.stats.copied, 0u);
    const Recovered rec = recover_ok(dir.path(), r.o);
    ASSERT_NE(find_channel(rec, "quiet"), nullptr);
    EXPECT_EQ(find_channel(rec, "quiet")->last_seq, 8u);
    EXPECT_EQ(find_channel(rec, "quiet")->epoch, 1u);
    EXPECT_TRUE(find_channel(rec, "quiet")->messages.empty());
    EXPECT_EQ(find_channel(rec, "busy")->last_seq, 3000u);
}

TEST(Journal, MissingIndexRebuiltByScan) {
    TempDir dir;
    Options o;
    for (uint64_t round = 0; round < 3; ++round) {
        Writer w;
        open_writer(w, dir.path(), o);
        publish(w, "x", 1, round * 4 + 1, round * 4 + 4);
        ASSERT_EQ(w.commit(), 0);
    }
    ASSERT_TRUE(std::filesystem::remove(dir.file(index_name(1))));
    Recovered rec = recover_ok(dir.path(), o);
    EXPECT_EQ(rec.segments_scanned, 2u);  // the one without an index, and the newest
    EXPECT_EQ(seqs_of(rec, "x"), range(1, 12));
    EXPECT_TRUE(std::filesystem::exists(dir.file(index_name(1))));
    rec = recover_ok(dir.path(), o);
    EXPECT_EQ(rec.segments_scanned, 1u);
}

int g_syncs = 0;
int g_sync_error = 0;
int counting_sync(int fd) {
    ++g_syncs;
    if (g_sync_error != 0) {
        errno = g_sync_error;
        return -1;
    }
    return ::fdatasync(fd);
}

TEST(Journal, SyncCountPerPolicy) {
    struct Case {
        Fsync policy;
        int syncs;
    };
    // 10 records then 5 in two commits, then an empty commit.
    for (const Case c : {Case{Fsync::kAlways, 15}, Case{Fsync::kBatch, 2}, Case{Fsync::kNever, 0}}) {
        TempDir dir;
        Options o;
        o.fsync = c.policy;
        o.sync = counting_sync;
        Writer w;
        open_writer(w, dir.path(), o);
        g_syncs = 0;
        publish(w, "p", 1, 1, 10);
        ASSERT_EQ(w.commit(), 0);
        publish(w, "p", 1, 11, 15);
        ASSERT_EQ(w.commit(), 0);
        ASSERT_EQ(w.commit(), 0);
        EXPECT_EQ(g_syncs, c.syncs) << "policy " << static_cast<int>(c.policy);
        EXPECT_EQ(w.stats().syncs, static_cast<uint64_t>(c.syncs));
    }
}

// A failed fdatasync: the batch is refused, the writer stuck until retry(); what follows
// the gap is what a restart finds (what preceded it was answered OK and is on disk).
TEST(Journal, SyncFailureStuckUntilRetry) {
    TempDir dir;
    Options o;
    o.sync = counting_sync;
    {
        Writer w;
        open_writer(w, dir.path(), o);
        publish(w, "e", 1, 1, 3);
        ASSERT_EQ(w.commit(), 0);
        const auto durable = std::filesystem::file_size(dir.file(segment_name(1)));
        g_sync_error = EIO;
        publish(w, "e", 1, 4, 4);
        EXPECT_EQ(w.commit(), -EIO);
        g_sync_error = 0;
        EXPECT_EQ(std::filesystem::file_size(dir.file(segment_name(1))), durable);  // cut back
        EXPECT_NE(std::string(w.error().text).find("fdatasync: Input/output error"), std::string::npos)
            << w.error().text;
        EXPECT_EQ(w.append_message("e", 1, 5, false, payload_of("e", 5)), -EIO);
        EXPECT_EQ(w.commit(), -EIO);
        ASSERT_EQ(w.retry(), 0) << w.error().text;
        EXPECT_EQ(w.error().code, 0);
        publish(w, "e", 1, 6, 7);
        ASSERT_EQ(w.commit(), 0);
        EXPECT_EQ(w.stats().errors, 1u);
    }
    const Recovered rec = recover_ok(dir.path(), o);
    EXPECT_EQ(find_channel(rec, "e")->last_seq, 7u);
    EXPECT_EQ(seqs_of(rec, "e"), range(6, 7));
    // 1..3 are on disk, 4 never got there.
    std::vector<uint64_t> on_disk;
    for (const SegmentInfo& s : rec.segments) {
        const std::string bytes = slurp(dir.file(segment_name(s.number)));
        (void)scan_records(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                           [&](const Record& r, size_t) { on_disk.push_back(r.seq); });
    }
    EXPECT_EQ(on_disk, (std::vector<uint64_t>{1, 2, 3, 6, 7}));
}

// Sealing the head fails after the batch that filled it was written and synced: the batch
// is durable and the commit says so (a refusal would have its publishers send it again);
// the writer is stuck for what comes next.
int g_syncs_allowed = 0;
int sync_then_fail(int fd) {
    if (g_syncs_allowed-- <= 0) {
        errno = EIO;
        return -1;
    }
    return ::fdatasync(fd);
}

TEST(Journal, ASealThatFailsAfterTheBatchIsDurableStillCommitsTheBatch) {
    TempDir dir;
    Options o;
    o.fsync = Fsync::kBatch;
    o.segment_bytes = 64 << 10;
    o.sync = sync_then_fail;
    {
        g_syncs_allowed = 1000;
        Writer w;
        open_writer(w, dir.path(), o);
        g_syncs_allowed = 1;  // the batch's fdatasync; the index's is refused
        publish(w, "s", 1, 1, 80, 1000);  // about 80 KiB: over segment_bytes
        EXPECT_EQ(w.commit(), 0) << w.error().text;
        EXPECT_NE(w.error().code, 0) << "the failed seal is not reported";
        EXPECT_LT(w.append_message("s", 1, 81, false, payload_of("s", 81)), 0);
    }
    g_syncs_allowed = 1000;
    const Recovered rec = recover_ok(dir.path(), o);
    ASSERT_NE(find_channel(rec, "s"), nullptr);
    EXPECT_EQ(find_channel(rec, "s")->last_seq, 80u);
}

}  // namespace
}  // namespace wspush::journal
