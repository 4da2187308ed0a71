// The --workers parent's numbering of publications: per channel an epoch and a seq, so that
// every worker applies the same (epoch, seq) to the same message and a ?since= cursor means
// the same on any of them. Bytes in, numbers out: no fds, no clock.
//
// A channel is known from its first publication, with the next epoch (each creation takes a
// new one, so a forgotten and re-made channel never reuses a cursor), and seq 1, 2, ... in
// that epoch. Every worker applies every publication, so a publication marks the channel as
// held by all workers. A worker reports idle(channel, epoch, seq) when the channel is gone
// locally, giving the last publication it had applied; the report counts only if that is
// still the channel's last one (otherwise a newer publication is on its way to that worker
// and will make the channel there again). The channel is forgotten when no worker holds it.
//
// | limit            | value                 | why                                          |
// | ---------------- | --------------------- | -------------------------------------------- |
// | workers          | 1..kMaxWorkers (64)   | holders are one bit per worker               |
// | channels         | max_channels          | the server's --max-channels; next() refuses  |
// | epochs           | epoch_base + 1, + 2.. | base: a random 32-bit id in the high half    |
// |                  |                       | (the server's epoch_base()), never below a   |
// |                  |                       | floor given by epochs_above()                |
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "push/name_index.h"
#include "push/names.h"

namespace wspush::cluster {

inline constexpr uint32_t kMaxWorkers = 64;

struct SequencerLimits {
    uint32_t workers = 1;       // 1..kMaxWorkers
    size_t max_channels = 0;    // channels known at once
    uint64_t epoch_base = 0;    // epochs are epoch_base + 1, + 2, ... by creation
    uint64_t hash_seed = 0;     // keys the name index (random in the server)
};

// A publication's place: the channel's epoch and the seq within it.
struct Number {
    uint64_t epoch = 0;
    uint64_t seq = 0;
};

class Sequencer {
public:
    explicit Sequencer(const SequencerLimits& limits) noexcept;
    ~Sequencer();
    Sequencer(const Sequencer&) = delete;
    Sequencer& operator=(const Sequencer&) = delete;

    // Channels made from now on get epochs above floor (a journal's highest, or the epochs a
    // worker reports after the parent restarted). Never lowers the next epoch.
    void epochs_above(uint64_t floor) noexcept;

    // Numbers the next publication on `channel` (1..kMaxNameLength bytes) into out, making
    // the channel with the next epoch if unknown; every worker then holds it. False, with out
    // untouched, when the channel is unknown and max_channels are known (or out of memory).
    [[nodiscard]] bool next(std::string_view channel, Number& out) noexcept;

    // `worker` no longer has `channel`; (epoch, seq) is the last publication it applied to it.
    // Returns true when this forgot the channel (no worker holds it now). A stale report (an
    // older publication, an unknown channel, a worker out of range) changes nothing.
    bool idle(uint32_t worker, std::string_view channel, uint64_t epoch, uint64_t seq) noexcept;

    // `worker` died: its replacement starts with nothing, so it holds no channel. Channels
    // no other worker holds are forgotten; returns how many.
    size_t worker_gone(uint32_t worker) noexcept;

    // `worker` now keeps `channel`'s publications of `epoch` (history handed to a worker that
    // restarted), so the channel is not forgotten while it does. False, changing nothing,
    // when the channel is unknown or in another epoch.
    bool hold(uint32_t worker, std::string_view channel, uint64_t epoch) noexcept;

    // The channel's last publication, or false when unknown.
    [[nodiscard]] bool last(std::string_view channel, Number& out) const noexcept;
    [[nodiscard]] size_t channels() const noexcept { return index_.size(); }
    // The epoch the next new channel gets.
    [[nodiscard]] uint64_t next_epoch() const noexcept { return last_epoch_ + 1; }

private:
    struct Entry {
        uint64_t hash = 0;
        uint64_t epoch = 0;
        uint64_t seq = 0;      // last numbered in epoch
        uint64_t holders = 0;  // bit w: worker w holds the channel
        Entry* gone_next = nullptr;  // worker_gone()'s list of channels to forget
        uint8_t len = 0;
        char name_buf[push::kMaxNameLength];
        [[nodiscard]] std::string_view name() const noexcept { return {name_buf, len}; }
    };
    void forget(Entry* e) noexcept;

    SequencerLimits limits_;
    uint64_t all_ = 0;  // the holders bits of every worker
    uint64_t last_epoch_;
    push::NameIndex<Entry> index_;
};

}  // namespace wspush::cluster
