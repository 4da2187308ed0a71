#include "journal/recovery.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <unordered_map>

#include "journal/files.h"

namespace wspush::journal {
namespace {

// Large enough for any segment the writer makes: sealed at segment_bytes, plus the record
// that crossed it.
uint64_t max_segment_file(const Options& o) {
    return o.segment_bytes + kRecordHeaderSize + kMaxChannelName + uint64_t{kMaxPayload};
}

struct Found {
    uint64_t seq;
    uint64_t pos;  // segment position << 32 | offset: the order written
    bool binary;
    std::string payload;
};

struct Wanted {
    ChannelSummary merged;
    uint64_t low = 0;  // the lowest seq wanted (0: none)
    std::vector<Found> found;
};

// Checks the header at the start of bytes. 0 ok, 1 torn (the newest segment only: removed
// by the caller), else an error.
int check_header(const std::string& path, const std::string& bytes, bool newest, Recovered& out, Error& err) {
    SegmentHeader h;
    HeaderCheck c = HeaderCheck::kBadMagic;
    if (bytes.size() >= kSegmentHeaderSize) {
        uint8_t raw[kSegmentHeaderSize];
        std::memcpy(raw, bytes.data(), sizeof raw);
        c = decode_segment_header(raw, h);
    }
    if (c == HeaderCheck::kBadVersion) {
        err.set(-EINVAL,
                "journal %s: format version %u, this wspushd reads version %u only (written by %s wspushd); "
                "move the journal directory aside to start afresh",
                path.c_str(), h.version, kFormatVersion, h.version < kFormatVersion ? "an older" : "a newer");
        return err.code;
    }
    if (c != HeaderCheck::kOk) {
        if (newest) return 1;
        err.set(-EINVAL, "journal %s: %s; not a segment of this journal, or damaged", path.c_str(),
                bytes.size() < kSegmentHeaderSize ? "shorter than a segment header"
                : c == HeaderCheck::kBadMagic    ? "no segment magic"
                                                 : "segment header checksum mismatch");
        return err.code;
    }
    if (out.journal_id == 0) out.journal_id = h.journal_id;
    if (h.journal_id != out.journal_id) {
        err.set(-EINVAL, "journal %s: belongs to another journal (id %016llx, not %016llx)", path.c_str(),
                static_cast<unsigned long long>(h.journal_id), static_cast<unsigned long long>(out.journal_id));
        return err.code;
    }
    return 0;
}

// The segment's index, if there is one that matches it.
bool load_index(const std::string& dir, uint64_t number, uint64_t length, SegmentInfo& info) {
    std::string bytes;
    Error ignored;
    SegmentIndex idx;
    if (read_file(join(dir, index_name(number)), bytes, 64u << 20, ignored) != 0) return false;
    if (!decode_index(bytes, idx) || idx.number != number || idx.length != length) return false;
    info.channels = std::move(idx.channels);
    return true;
}

// Reads a segment whole and checks its header: 0, 1 (a torn newest segment) or an error.
int read_segment(const std::string& dir, uint64_t number, bool newest, const Options& o, std::string& bytes,
                 Recovered& out, Error& err) {
    const std::string path = join(dir, segment_name(number));
    if (const int r = read_file(path, bytes, max_segment_file(o), err); r != 0) return r;
    out.bytes_read += bytes.size();
    return check_header(path, bytes, newest, out, err);
}

// Scans a segment's bytes into info; cuts what follows the good part.
int scan_segment(const std::string& dir, const Options& o, std::string& bytes, SegmentInfo& info, Recovered& out,
                 Error& err) {
    Summarizer sum;
    const char* why = nullptr;
    const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
    const uint64_t good = scan_records(p, bytes.size(), [&](const Record& r, size_t) { sum.add(r); }, &why);
    ++out.segments_scanned;
    info.channels = sum.take();
    info.length = good;
    if (good == bytes.size()) return 0;
    const std::string path = join(dir, segment_name(info.number));
    const uint64_t cut = bytes.size() - good;
    out.bytes_cut += cut;
    out.notes.push_back("journal " + path + ": cut " + std::to_string(cut) + " bytes at offset " +
                        std::to_string(good) + " (" + why + ": a torn or corrupt tail)");
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    int r = fd < 0 || ::ftruncate(fd, static_cast<off_t>(good)) != 0 ? -errno : 0;
    if (r == 0 && o.fsync != Fsync::kNever) r = sync_fd(o, fd);
    if (fd >= 0) ::close(fd);
    if (r != 0) err.set(r, "journal %s: cutting the tail: %s", path.c_str(), std::strerror(-r));
    bytes.resize(good);
    return r;
}

// Picks each channel's wanted messages out of a segment's bytes; returns the length of the
// good part.
uint64_t collect(const std::string& bytes, uint64_t length, uint32_t position,
             std::unordered_map<std::string_view, Wanted>& wanted) {
    const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
    return scan_records(p, std::min<uint64_t>(length, bytes.size()), [&](const Record& r, size_t at) {
        if (!r.is_message()) return;
        auto it = wanted.find(r.channel);
        if (it == wanted.end()) return;
        Wanted& w = it->second;
        if (r.epoch != w.merged.epoch || w.low == 0 || r.seq < w.low || r.seq > w.merged.last_seq) return;
        w.found.push_back({r.seq, uint64_t{position} << 32 | at, r.type == RecordType::kBinary, std::string(r.payload)});
    });
}

// Each channel's found messages -> the consecutive run ending at its last seq; then the
// oldest of all go while over the byte budget.
void assemble(std::unordered_map<std::string_view, Wanted>& wanted, const Options& o, Recovered& out) {
    struct Kept {
        uint64_t pos;
        size_t channel;
        uint64_t seq;
    };
    std::vector<Kept> order;
    uint64_t total = 0;
    for (auto& [name, w] : wanted) {
        if (w.merged.dropped) continue;
        RecoveredChannel ch{std::string(name), w.merged.epoch, w.merged.last_seq, {}};
        std::sort(w.found.begin(), w.found.end(), [](const Found& a, const Found& b) { return a.seq > b.seq; });
        uint64_t next = w.merged.last_seq;  // newest first: take while consecutive
        for (Found& f : w.found) {
            if (f.seq == next + 1) continue;  // a copy made by compaction
            if (f.seq != next) break;
            total += f.payload.size();
            order.push_back({f.pos, out.channels.size(), f.seq});
            ch.messages.push_back({f.seq, f.binary, std::move(f.payload)});
            --next;
        }
        std::reverse(ch.messages.begin(), ch.messages.end());
        out.channels.push_back(std::move(ch));
    }
    std::sort(order.begin(), order.end(), [](const Kept& a, const Kept& b) { return a.pos < b.pos; });
    std::vector<size_t> gone(out.channels.size(), 0);  // messages dropped from each front
    for (const Kept& k : order) {
        if (total <= o.history_bytes) break;
        auto& msgs = out.channels[k.channel].messages;
        while (gone[k.channel] < msgs.size() && msgs[gone[k.channel]].seq <= k.seq)
            total -= msgs[gone[k.channel]++].payload.size();
    }
    for (size_t i = 0; i < out.channels.size(); ++i) {
        auto& msgs = out.channels[i].messages;
        msgs.erase(msgs.begin(), msgs.begin() + static_cast<std::ptrdiff_t>(gone[i]));
    }
    std::sort(out.channels.begin(), out.channels.end(),
              [](const RecoveredChannel& a, const RecoveredChannel& b) { return a.name < b.name; });
}

}  // namespace

bool recover(const std::string& dir, const Options& o, Recovered& out, Error& err) {
    out = Recovered{};
    std::vector<uint64_t> numbers;
    if (list_segments(dir, numbers, err) != 0) return false;
    std::string newest_bytes;  // kept: the newest segment is usually wanted
    for (size_t i = 0; i < numbers.size(); ++i) {
        const bool newest = i + 1 == numbers.size();
        const std::string path = join(dir, segment_name(numbers[i]));
        SegmentInfo info{numbers[i], 0, {}};
        struct stat st;
        if (::stat(path.c_str(), &st) != 0) {
            err.set(-errno, "journal %s: %s", path.c_str(), std::strerror(errno));
            return false;
        }
        if (!newest && load_index(dir, info.number, static_cast<uint64_t>(st.st_size), info)) {
            // The header is still checked (version, journal id): 32 bytes.
            std::string head(kSegmentHeaderSize, '\0');
            const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
            const ssize_t n = fd < 0 ? -1 : ::pread(fd, head.data(), head.size(), 0);
            if (fd >= 0) ::close(fd);
            head.resize(n > 0 ? static_cast<size_t>(n) : 0);
            if (check_header(path, head, false, out, err) != 0) return false;
            info.length = static_cast<uint64_t>(st.st_size);
            ++out.indexes_used;
            out.segments.push_back(std::move(info));
            continue;
        }
        std::string bytes;
        const int r = read_segment(dir, info.number, newest, o, bytes, out, err);
        if (r < 0) return false;
        if (r == 1) {  // a torn header: the segment was being created
            out.bytes_cut += bytes.size();
            out.notes.push_back("journal " + path + ": removed (" + std::to_string(bytes.size()) +
                                " bytes, its header torn or damaged)");
            if (::unlink(path.c_str()) != 0) {
                err.set(-errno, "journal %s: %s", path.c_str(), std::strerror(errno));
                return false;
            }
            continue;
        }
        if (scan_segment(dir, o, bytes, info, out, err) != 0) return false;
        SegmentIndex idx{info.number, info.length, info.channels};
        std::string encoded;
        encode_index(idx, encoded);
        if (write_atomic(o, dir, index_name(info.number), encoded, err) != 0) return false;
        if (newest) newest_bytes = std::move(bytes);
        out.segments.push_back(std::move(info));
    }

    // Every channel's state over all segments, and which messages it wants.
    std::unordered_map<std::string_view, Wanted> wanted;
    for (const SegmentInfo& s : out.segments) {
        for (const ChannelSummary& c : s.channels) {
            out.max_epoch = std::max(out.max_epoch, c.epoch);
            auto [it, added] = wanted.try_emplace(c.name);
            if (added) it->second.merged = c;
            else fold(it->second.merged, c);
        }
    }
    for (auto& [name, w] : wanted) {
        const uint64_t last = w.merged.last_seq;
        if (!w.merged.dropped && o.history > 0 && o.history_bytes > 0 && last > 0)
            w.low = last > o.history ? last - o.history + 1 : 1;
    }
    // Newest first: once the newer segments surely hold a byte budget of wanted messages
    // (channels whose messages there are all within their window), older ones would be
    // evicted by it anyway.
    uint64_t sure = 0;
    for (size_t i = out.segments.size(); i-- > 0 && sure < o.history_bytes;) {
        const SegmentInfo& s = out.segments[i];
        bool needed = false;
        for (const ChannelSummary& c : s.channels) {
            const Wanted& w = wanted.find(c.name)->second;
            if (w.low == 0 || c.epoch != w.merged.epoch || c.msg_max < w.low) continue;
            needed = true;
            if (c.msg_min >= w.low) sure += c.msg_bytes;
        }
        if (!needed) continue;
        ++out.segments_read;
        if (i + 1 == out.segments.size() && !newest_bytes.empty()) {
            (void)collect(newest_bytes, s.length, static_cast<uint32_t>(i), wanted);
            continue;
        }
        std::string bytes;
        if (read_segment(dir, s.number, false, o, bytes, out, err) < 0) return false;
        const uint64_t good = collect(bytes, s.length, static_cast<uint32_t>(i), wanted);
        if (good < s.length) {
            out.bytes_cut += s.length - good;
            out.notes.push_back("journal " + join(dir, segment_name(s.number)) + ": " +
                                std::to_string(s.length - good) + " bytes unreadable from offset " +
                                std::to_string(good) + " (damaged since sealed; its messages there are lost)");
        }
    }
    assemble(wanted, o, out);
    return true;
}

}  // namespace wspush::journal
