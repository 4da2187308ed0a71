#include "journal/format.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <utility>

#include "journal/crc32c.h"

namespace wspush::journal {
namespace {

void put32(uint8_t* p, uint32_t v) noexcept {
    for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
void put64(uint8_t* p, uint64_t v) noexcept {
    for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint32_t get32(const uint8_t* p) noexcept {
    uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = v << 8 | p[i];
    return v;
}
uint64_t get64(const uint8_t* p) noexcept {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = v << 8 | p[i];
    return v;
}

bool type_known(uint8_t t) noexcept { return t >= 1 && t <= 4; }

// Index entry: name length, flags (bit 0: dropped), 2 zero bytes, epoch, last seq, msg min,
// msg max, msg bytes, name.
constexpr size_t kEntryFixed = 4 + 5 * 8;
// Index header: magic, version, crc32c of everything after it, segment number, length,
// entry count.
constexpr size_t kIndexHeader = 8 + 4 + 4 + 8 + 8 + 4;

}  // namespace

bool record_valid(const Record& r) noexcept {
    if (r.channel.empty() || r.channel.size() > kMaxChannelName) return false;
    if (r.payload.size() > kMaxPayload) return false;
    return r.is_message() || ((r.type == RecordType::kMeta || r.type == RecordType::kDrop) && r.payload.empty());
}

// Record: crc32c (of bytes 4..end), payload length, type, name length, 2 zero bytes,
// epoch, seq, name, payload.
void encode_record(const Record& r, std::string& out) {
    uint8_t h[kRecordHeaderSize];
    put32(h + 4, static_cast<uint32_t>(r.payload.size()));
    h[8] = static_cast<uint8_t>(r.type);
    h[9] = static_cast<uint8_t>(r.channel.size());
    h[10] = h[11] = 0;
    put64(h + 12, r.epoch);
    put64(h + 20, r.seq);
    uint32_t crc = crc32c(h + 4, kRecordHeaderSize - 4);
    crc = crc32c(r.channel.data(), r.channel.size(), crc);
    crc = crc32c(r.payload.data(), r.payload.size(), crc);
    put32(h, crc);
    out.append(reinterpret_cast<const char*>(h), sizeof h);
    out.append(r.channel);
    out.append(r.payload);
}

Decoded decode_record(const uint8_t* p, size_t n, Record& out, size_t& used, bool verify) noexcept {
    if (n < kRecordHeaderSize) return Decoded::kShort;
    const uint32_t len = get32(p + 4);
    const uint8_t type = p[8], name_len = p[9];
    // Fields checked before the length is trusted, so a torn or garbled header is kBad or
    // kShort, never a huge read.
    if (len > kMaxPayload || !type_known(type) || name_len == 0 || name_len > kMaxChannelName || p[10] || p[11])
        return Decoded::kBad;
    if ((type == 3 || type == 4) && len != 0) return Decoded::kBad;
    const size_t total = kRecordHeaderSize + name_len + size_t{len};
    if (n < total) return Decoded::kShort;
    if (verify && crc32c(p + 4, total - 4) != get32(p)) return Decoded::kBad;
    out.type = static_cast<RecordType>(type);
    out.channel = {reinterpret_cast<const char*>(p + kRecordHeaderSize), name_len};
    out.epoch = get64(p + 12);
    out.seq = get64(p + 20);
    out.payload = {reinterpret_cast<const char*>(p + kRecordHeaderSize + name_len), len};
    used = total;
    return Decoded::kOk;
}

void encode_segment_header(const SegmentHeader& h, uint8_t (&out)[kSegmentHeaderSize]) noexcept {
    std::memcpy(out, kSegmentMagic, 8);
    put32(out + 8, h.version);
    put64(out + 16, h.journal_id);
    put64(out + 24, h.number);
    uint32_t crc = crc32c(out, 12);
    put32(out + 12, crc32c(out + 16, 16, crc));
}

HeaderCheck decode_segment_header(const uint8_t (&in)[kSegmentHeaderSize], SegmentHeader& h) noexcept {
    if (std::memcmp(in, kSegmentMagic, 8) != 0) return HeaderCheck::kBadMagic;
    if (crc32c(in + 16, 16, crc32c(in, 12)) != get32(in + 12)) return HeaderCheck::kBadChecksum;
    h.version = get32(in + 8);
    h.journal_id = get64(in + 16);
    h.number = get64(in + 24);
    return h.version == kFormatVersion ? HeaderCheck::kOk : HeaderCheck::kBadVersion;
}

void fold(ChannelSummary& s, const Record& r) noexcept {
    if (r.epoch < s.epoch) return;
    if (r.epoch > s.epoch) {
        s.epoch = r.epoch;
        s.last_seq = s.msg_min = s.msg_max = s.msg_bytes = 0;
        s.dropped = false;
    }
    if (r.type == RecordType::kDrop) {
        s.dropped = true;
        return;
    }
    s.last_seq = std::max(s.last_seq, r.seq);
    if (!r.is_message()) return;
    s.msg_min = s.msg_min == 0 ? r.seq : std::min(s.msg_min, r.seq);
    s.msg_max = std::max(s.msg_max, r.seq);
    s.msg_bytes += r.payload.size();
}

void fold(ChannelSummary& into, const ChannelSummary& from) noexcept {
    if (from.epoch < into.epoch) return;
    if (from.epoch > into.epoch) {
        into.epoch = from.epoch;
        into.last_seq = from.last_seq;
        into.msg_min = from.msg_min;
        into.msg_max = from.msg_max;
        into.msg_bytes = from.msg_bytes;
        into.dropped = from.dropped;
        return;
    }
    into.last_seq = std::max(into.last_seq, from.last_seq);
    if (from.msg_min != 0) into.msg_min = into.msg_min == 0 ? from.msg_min : std::min(into.msg_min, from.msg_min);
    into.msg_max = std::max(into.msg_max, from.msg_max);
    into.msg_bytes += from.msg_bytes;
    into.dropped = into.dropped || from.dropped;
}

void encode_index(const SegmentIndex& idx, std::string& out) {
    const size_t start = out.size();
    out.resize(start + kIndexHeader);
    for (const ChannelSummary& c : idx.channels) {
        uint8_t e[kEntryFixed];
        e[0] = static_cast<uint8_t>(c.name.size());
        e[1] = c.dropped ? 1 : 0;
        e[2] = e[3] = 0;
        put64(e + 4, c.epoch);
        put64(e + 12, c.last_seq);
        put64(e + 20, c.msg_min);
        put64(e + 28, c.msg_max);
        put64(e + 36, c.msg_bytes);
        out.append(reinterpret_cast<const char*>(e), sizeof e);
        out.append(c.name);
    }
    auto* h = reinterpret_cast<uint8_t*>(out.data() + start);
    std::memcpy(h, kIndexMagic, 8);
    put32(h + 8, kFormatVersion);
    put64(h + 16, idx.number);
    put64(h + 24, idx.length);
    put32(h + 32, static_cast<uint32_t>(idx.channels.size()));
    put32(h + 12, crc32c(h + 16, out.size() - start - 16));
}

bool decode_index(std::string_view bytes, SegmentIndex& idx) {
    const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
    const size_t n = bytes.size();
    if (n < kIndexHeader || std::memcmp(p, kIndexMagic, 8) != 0 || get32(p + 8) != kFormatVersion) return false;
    if (crc32c(p + 16, n - 16) != get32(p + 12)) return false;
    idx.number = get64(p + 16);
    idx.length = get64(p + 24);
    const uint32_t count = get32(p + 32);
    if (count > (n - kIndexHeader) / kEntryFixed) return false;
    idx.channels.clear();
    idx.channels.reserve(count);
    size_t at = kIndexHeader;
    for (uint32_t i = 0; i < count; ++i) {
        if (n - at < kEntryFixed) return false;
        const uint8_t* e = p + at;
        const size_t len = e[0];
        if (len == 0 || len > kMaxChannelName || e[1] > 1 || n - at - kEntryFixed < len) return false;
        ChannelSummary c;
        c.name.assign(reinterpret_cast<const char*>(e + kEntryFixed), len);
        c.dropped = e[1] == 1;
        c.epoch = get64(e + 4);
        c.last_seq = get64(e + 12);
        c.msg_min = get64(e + 20);
        c.msg_max = get64(e + 28);
        c.msg_bytes = get64(e + 36);
        idx.channels.push_back(std::move(c));
        at += kEntryFixed + len;
    }
    return at == n;
}

std::string segment_name(uint64_t number) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%016llx.wsj", static_cast<unsigned long long>(number));
    return buf;
}

std::string index_name(uint64_t number) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%016llx.wsi", static_cast<unsigned long long>(number));
    return buf;
}

bool parse_segment_name(std::string_view name, uint64_t& number) noexcept {
    if (name.size() != 20 || name.substr(16) != ".wsj") return false;
    uint64_t v = 0;
    for (char c : name.substr(0, 16)) {
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0) return false;
        v = v << 4 | static_cast<uint64_t>(d);
    }
    number = v;
    return true;
}

}  // namespace wspush::journal

namespace wspush::journal {

namespace {

uint64_t fnv1a(std::string_view s) noexcept {
    uint64_t h = 1469598103934665603ull;
    for (char c : s) h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ull;
    return h;
}

}  // namespace

// Linear probing; the table stays at most half full, so probes are short.
void Summarizer::add(const Record& r) {
    if (slots_.size() < 2 * (channels_.size() + 1)) {
        slots_.assign(slots_.empty() ? 16 : slots_.size() * 2, 0);
        for (uint32_t i = 0; i < channels_.size(); ++i) {
            size_t at = fnv1a(channels_[i].name) & (slots_.size() - 1);
            while (slots_[at] != 0) at = (at + 1) & (slots_.size() - 1);
            slots_[at] = i + 1;
        }
    }
    size_t at = fnv1a(r.channel) & (slots_.size() - 1);
    while (slots_[at] != 0) {
        ChannelSummary& s = channels_[slots_[at] - 1];
        if (s.name == r.channel) return fold(s, r);
        at = (at + 1) & (slots_.size() - 1);
    }
    slots_[at] = static_cast<uint32_t>(channels_.size() + 1);
    channels_.emplace_back();
    channels_.back().name.assign(r.channel);
    fold(channels_.back(), r);
}

std::vector<ChannelSummary> Summarizer::take() {
    slots_.clear();
    std::vector<ChannelSummary> out = std::move(channels_);
    channels_.clear();
    return out;
}

}  // namespace wspush::journal
