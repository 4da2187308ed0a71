#include "cluster/sequencer.h"

#include <cstring>
#include <new>

namespace wspush::cluster {

Sequencer::Sequencer(const SequencerLimits& limits) noexcept
    : limits_(limits), last_epoch_(limits.epoch_base), index_(limits.hash_seed) {
    if (limits_.workers == 0) limits_.workers = 1;
    if (limits_.workers > kMaxWorkers) limits_.workers = kMaxWorkers;
    all_ = limits_.workers == 64 ? ~uint64_t{0} : (uint64_t{1} << limits_.workers) - 1;
}

Sequencer::~Sequencer() {
    index_.for_each([](Entry& e) { delete &e; });
}

void Sequencer::epochs_above(uint64_t floor) noexcept {
    if (floor > last_epoch_) last_epoch_ = floor;
}

bool Sequencer::next(std::string_view channel, Number& out) noexcept {
    if (channel.empty() || channel.size() > push::kMaxNameLength) return false;
    Entry* e = index_.find(channel);
    if (e == nullptr) {
        if (index_.size() >= limits_.max_channels) return false;
        e = new (std::nothrow) Entry;
        if (e == nullptr) return false;
        e->hash = index_.hash(channel);
        e->len = static_cast<uint8_t>(channel.size());
        memcpy(e->name_buf, channel.data(), channel.size());
        e->epoch = last_epoch_ + 1;
        if (!index_.insert(e)) {
            delete e;
            return false;
        }
        ++last_epoch_;
    }
    e->holders = all_;
    out = Number{.epoch = e->epoch, .seq = ++e->seq};
    return true;
}

bool Sequencer::idle(uint32_t worker, std::string_view channel, uint64_t epoch, uint64_t seq) noexcept {
    if (worker >= limits_.workers) return false;
    Entry* e = index_.find(channel);
    if (e == nullptr || e->epoch != epoch || e->seq != seq) return false;
    e->holders &= ~(uint64_t{1} << worker);
    if (e->holders != 0) return false;
    forget(e);
    return true;
}

size_t Sequencer::worker_gone(uint32_t worker) noexcept {
    if (worker >= limits_.workers) return 0;
    const uint64_t bit = uint64_t{1} << worker;
    // for_each must not erase: the channels to forget are chained, then erased.
    size_t n = 0;
    Entry* gone = nullptr;
    index_.for_each([&](Entry& e) {
        e.holders &= ~bit;
        if (e.holders == 0) {
            e.gone_next = gone;
            gone = &e;
            ++n;
        }
    });
    while (gone != nullptr) {
        Entry* e = gone;
        gone = e->gone_next;
        forget(e);
    }
    return n;
}

bool Sequencer::hold(uint32_t worker, std::string_view channel, uint64_t epoch) noexcept {
    if (worker >= limits_.workers) return false;
    Entry* e = index_.find(channel);
    if (e == nullptr || e->epoch != epoch) return false;
    e->holders |= uint64_t{1} << worker;
    return true;
}

bool Sequencer::last(std::string_view channel, Number& out) const noexcept {
    const Entry* e = index_.find(channel);
    if (e == nullptr) return false;
    out = Number{.epoch = e->epoch, .seq = e->seq};
    return true;
}

void Sequencer::forget(Entry* e) noexcept {
    index_.erase(e);
    delete e;
}

}  // namespace wspush::cluster
