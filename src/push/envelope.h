// The wspush.v1 JSON texts a subscriber receives, each built straight into one frame:
//   {"type":"msg","channel":"alerts","seq":42,"epoch":"9f2c1a7700000001","data":"door open"}
//   (a binary payload: "binary":true before "data", which is then base64)
//   {"type":"gap","channel":"alerts","epoch":"9f2c1a7700000001","since":7,"first":20}
#pragma once
#include <cstdint>
#include <string_view>

#include "push/message.h"

namespace wspush::push {

// The "msg" envelope of `raw` (a text or binary frame) as a text frame; with `type`
// "mention", the same for a client mentioned by a robot message of a channel it has not
// joined (it shows the message but does not count it for resume). `channel` must
// be a valid_name() (nothing in it needs escaping). The text's size is computed first
// and the frame allocated once: a 1 GiB text of control bytes makes a 6 GiB envelope
// (sizes are size_t throughout). nullptr when out of memory.
[[nodiscard]] Message* make_envelope(std::string_view channel, uint64_t epoch, uint64_t seq,
                                     const Message& raw, std::string_view type = "msg") noexcept;

// A text sent to a client rather than a channel: {"type":"<kind>","data":"<text>"} (kind
// "direct" or "broadcast"). nullptr when out of memory.
[[nodiscard]] Message* make_direct_envelope(std::string_view kind, std::string_view text) noexcept;

// The "gap" notice: messages after `since` are not all kept; `first` is the oldest seq
// kept (what follows the notice). nullptr when out of memory.
[[nodiscard]] Message* make_gap_notice(std::string_view channel, uint64_t epoch, uint64_t since,
                                       uint64_t first) noexcept;

}  // namespace wspush::push
