#include "journal/writer.h"

#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "journal/files.h"

namespace wspush::journal {
namespace {

constexpr uint64_t kMinSegment = 64u << 10;

uint64_t new_journal_id() noexcept {
    uint64_t id = 0;
    if (::getrandom(&id, sizeof id, 0) != sizeof id) id = static_cast<uint64_t>(::time(nullptr)) ^ ::getpid();
    return id == 0 ? 1 : id;
}

}  // namespace

Writer::~Writer() {
    if (fd_ >= 0) ::close(fd_);
}

std::string Writer::head_path() const { return join(dir_, segment_name(number_)); }

bool Writer::open(const std::string& dir, const Options& o, const Recovered& rec, Error& err) {
    dir_ = dir;
    o_ = o;
    segment_bytes_ = std::min(o.segment_bytes, std::max(o.max_bytes / 4, kMinSegment));
    journal_id_ = rec.journal_id != 0 ? rec.journal_id : new_journal_id();
    sealed_ = rec.segments;
    for (const SegmentInfo& s : sealed_) {
        sealed_bytes_ += s.length;
        for (const ChannelSummary& c : s.channels) {
            ChannelState& st = channels_[c.name];
            if (c.epoch < st.epoch) continue;
            if (c.epoch > st.epoch) st = {c.epoch, 0, false};
            st.last_seq = std::max(st.last_seq, c.last_seq);
            st.dropped = st.dropped || c.dropped;
        }
    }
    number_ = sealed_.empty() ? 0 : sealed_.back().number;
    if (open_segment(number_ + 1) != 0 || retain() != 0) {
        err = err_;
        return false;
    }
    return true;
}

int Writer::append_message(std::string_view channel, uint64_t epoch, uint64_t seq, bool binary,
                           std::string_view payload) {
    return append({binary ? RecordType::kBinary : RecordType::kText, channel, epoch, seq, payload});
}

int Writer::append_drop(std::string_view channel, uint64_t epoch) {
    return append({RecordType::kDrop, channel, epoch, 0, {}});
}

int Writer::append_meta(std::string_view channel, uint64_t epoch, uint64_t last_seq) {
    return append({RecordType::kMeta, channel, epoch, last_seq, {}});
}

int Writer::append(const Record& r) {
    if (err_.code != 0) return err_.code;
    if (!record_valid(r)) return -EINVAL;
    encode_record(r, batch_);
    ++stats_.appended;
    auto it = channels_.find(r.channel);
    if (it == channels_.end()) it = channels_.emplace(std::string(r.channel), ChannelState{}).first;
    ChannelState& st = it->second;
    if (r.epoch > st.epoch) st = {r.epoch, 0, false};
    if (r.type == RecordType::kDrop) st.dropped = true;
    else st.last_seq = std::max(st.last_seq, r.seq);
    return o_.fsync == Fsync::kAlways ? commit() : 0;
}

int Writer::commit() {
    if (err_.code != 0) return err_.code;
    if (batch_.empty()) return 0;
    if (const int r = flush(); r != 0) return r;
    // The batch is durable now, whatever sealing the head does: a failure there leaves the
    // writer stuck (error()) for the next append, not this batch refused.
    if (written_ >= segment_bytes_) (void)rotate();
    return 0;
}

// Writes the batch at the head's end and syncs per policy; then its records count as the
// head's.
int Writer::flush() {
    if (fd_ < 0) return fail(-EBADF, "write");
    if (const int r = pwrite_all(fd_, batch_.data(), batch_.size(), written_); r != 0) return fail(r, "write");
    ++stats_.commits;
    written_ += batch_.size();
    if (o_.fsync != Fsync::kNever) {
        ++stats_.syncs;
        if (const int r = sync_fd(o_, fd_); r != 0) return fail(r, "fdatasync");
    }
    synced_ = written_;
    const auto* p = reinterpret_cast<const uint8_t*>(batch_.data());
    for (size_t at = 0; at < batch_.size();) {
        Record rec;
        size_t used = 0;
        (void)decode_record(p + at, batch_.size() - at, rec, used, false);
        head_.add(rec);
        at += used;
    }
    batch_.clear();
    return 0;
}

// Stuck: the batch goes, and the head is cut back to its last durable length (after a
// failed fdatasync the kernel may have dropped the pages; nothing after that point is
// trusted).
int Writer::fail(int code, const char* call) {
    err_.set(code, "journal %s: %s: %s", head_path().c_str(), call, std::strerror(-code));
    ++stats_.errors;
    batch_.clear();
    if (fd_ >= 0 && ::ftruncate(fd_, static_cast<off_t>(synced_)) == 0) written_ = synced_;
    return code;
}

int Writer::retry() {
    if (err_.code == 0) return 0;
    const Error was = err_;
    err_ = {};
    int r = fd_ >= 0 ? seal_head() : 0;
    if (r == 0) r = open_segment(number_ + 1);
    if (r == 0) r = retain();
    if (r != 0 && err_.code == 0) err_ = was;
    return r;
}

int Writer::open_segment(uint64_t number) {
    number_ = number;
    const std::string path = head_path();
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0) return fail(-errno, "create");
    fd_ = fd;
    written_ = synced_ = 0;
    uint8_t h[kSegmentHeaderSize];
    encode_segment_header({kFormatVersion, journal_id_, number}, h);
    int r = pwrite_all(fd_, h, sizeof h, 0);
    if (r == 0 && o_.fsync != Fsync::kNever) r = sync_fd(o_, fd_);
    if (r == 0 && o_.fsync != Fsync::kNever) r = sync_dir(o_, dir_, err_);
    if (r != 0) {  // no segment at all rather than a half-made one
        ::close(fd_);
        fd_ = -1;
        ::unlink(path.c_str());
        err_.set(r, "journal %s: create: %s", path.c_str(), std::strerror(-r));
        ++stats_.errors;
        return r;
    }
    written_ = synced_ = kSegmentHeaderSize;
    return 0;
}

// Writes the head's index (its length is the last durable one) and closes it.
int Writer::seal_head() {
    if (written_ > synced_ && ::ftruncate(fd_, static_cast<off_t>(synced_)) != 0) return fail(-errno, "ftruncate");
    SegmentInfo info{number_, synced_, head_.channels()};
    std::string bytes;
    encode_index({info.number, info.length, info.channels}, bytes);
    if (write_atomic(o_, dir_, index_name(number_), bytes, err_) != 0) {
        ++stats_.errors;
        return err_.code;
    }
    (void)head_.take();
    ::close(fd_);
    fd_ = -1;
    sealed_bytes_ += info.length;
    sealed_.push_back(std::move(info));
    return 0;
}

int Writer::rotate() {
    if (int r = seal_head(); r != 0) return r;
    if (int r = open_segment(number_ + 1); r != 0) return r;
    return retain();
}

int Writer::retain() {
    while (bytes() > o_.max_bytes && !sealed_.empty())
        if (const int r = drop_oldest(); r != 0) return r;
    return 0;
}

// Copies the oldest segment's live records to the head (the newest of them that fit under
// max_bytes), a meta record for each channel whose highest seq would vanish, makes them
// durable, then unlinks the segment and its index.
int Writer::drop_oldest() {
    const SegmentInfo& old = sealed_.front();
    const std::string path = join(dir_, segment_name(old.number));
    std::string file;
    if (read_file(path, file, old.length + kMaxPayload, err_) != 0) {
        ++stats_.errors;
        return err_.code;
    }
    // The highest seq of each channel's current epoch left elsewhere.
    std::unordered_map<std::string_view, uint64_t> elsewhere;
    auto note = [&](const ChannelSummary& c) {
        auto it = channels_.find(c.name);
        if (it != channels_.end() && c.epoch == it->second.epoch) {
            uint64_t& best = elsewhere[c.name];
            best = std::max(best, c.last_seq);
        }
    };
    for (size_t i = 1; i < sealed_.size(); ++i)
        for (const ChannelSummary& c : sealed_[i].channels) note(c);
    for (const ChannelSummary& c : head_.channels()) note(c);

    for (const ChannelSummary& c : old.channels) {
        auto it = channels_.find(c.name);
        if (it == channels_.end() || it->second.dropped || it->second.epoch != c.epoch || c.last_seq == 0) continue;
        auto e = elsewhere.find(c.name);
        if (e == elsewhere.end() || e->second < c.last_seq)
            encode_record({RecordType::kMeta, c.name, c.epoch, c.last_seq, {}}, batch_);
    }
    std::vector<std::pair<size_t, size_t>> live;  // offset, size
    const auto* p = reinterpret_cast<const uint8_t*>(file.data());
    (void)scan_records(p, std::min<uint64_t>(old.length, file.size()), [&](const Record& r, size_t at) {
        if (!r.is_message() || o_.history == 0) return;
        auto it = channels_.find(r.channel);
        if (it == channels_.end()) return;
        const ChannelState& st = it->second;
        if (!st.dropped && r.epoch == st.epoch && r.seq + o_.history > st.last_seq) live.push_back({at, record_size(r)});
    });
    const uint64_t rest = bytes() - old.length;
    const uint64_t room = o_.max_bytes > rest + batch_.size() ? o_.max_bytes - rest - batch_.size() : 0;
    size_t first = live.size();  // copy the newest that fit
    for (uint64_t used = 0; first > 0 && used + live[first - 1].second <= room; --first) used += live[first - 1].second;
    stats_.evicted += first;
    stats_.copied += live.size() - first;
    for (size_t i = first; i < live.size(); ++i) batch_.append(file, live[i].first, live[i].second);
    if (!batch_.empty())
        if (const int r = flush(); r != 0) return r;

    ::unlink(path.c_str());
    ::unlink(join(dir_, index_name(old.number)).c_str());
    sealed_bytes_ -= old.length;
    sealed_.erase(sealed_.begin());
    ++stats_.segments_dropped;
    // Forget channels no segment mentions any more (dropped ones, once their drop is gone).
    std::unordered_map<std::string_view, bool> present;
    for (const SegmentInfo& s : sealed_)
        for (const ChannelSummary& c : s.channels) present[c.name] = true;
    for (const ChannelSummary& c : head_.channels()) present[c.name] = true;
    for (auto it = channels_.begin(); it != channels_.end();)
        it = present.count(it->first) != 0 ? std::next(it) : channels_.erase(it);
    return 0;
}

}  // namespace wspush::journal
