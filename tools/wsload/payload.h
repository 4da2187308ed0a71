// Payloads wsload sends, built so the receiver can verify them.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace wspush::wsload {

// Echo payloads: the message counter as 16 lowercase hex digits, then a position-dependent
// filler (printable ASCII for text, all byte values for binary), `size` bytes in all; below
// 16 bytes only the counter's last `size` digits fit. An echo is correct only if it equals
// the payload for the counter the sender expects next, byte for byte: a lost, repeated,
// reordered, truncated or corrupted echo all fail (for payloads under 16 bytes, a mix-up
// of counters that agree in their last `size` hex digits goes unnoticed).
class EchoPayload {
public:
    EchoPayload(size_t size, bool text);

    [[nodiscard]] size_t size() const noexcept { return filler_.size(); }
    // Writes the payload for `counter` into out (resized to size()).
    void make(uint64_t counter, std::string& out) const;
    // -1 if `got` is exactly the payload for `counter`; else the offset of the first
    // difference (min(size, got.size()) when one is a prefix of the other).
    [[nodiscard]] ptrdiff_t check(uint64_t counter, std::string_view got) const noexcept;

private:
    std::string filler_;  // the whole payload with the counter digits left as filler
};

// Push payloads for fanout: "t=<monotonic ns>;i=<push index>;" padded with 'x' to `size`
// (never cut: a payload is at least as long as its stamp).
[[nodiscard]] std::string make_stamp(uint64_t t_ns, uint64_t index, size_t size);

struct Stamp {
    uint64_t t_ns = 0;
    uint64_t index = 0;
};

// Parses and checks a payload made by make_stamp(..., size): stamp, padding and length.
// Returns false if anything differs.
[[nodiscard]] bool parse_stamp(std::string_view payload, size_t size, Stamp& out) noexcept;

}  // namespace wspush::wsload
