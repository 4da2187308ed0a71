// Robots: the webhook's credentials and their security settings, from --robot and --robots.
//
//   TOKEN CHANNEL [name=NAME] [secret=SEC] [keywords=a,b] [allow=CIDR,...] [rate=N/DUR]
//         [throttle=DUR] [overflow=digest|refuse]
//
// CHANNEL is a channel name, or a pattern for POST /push and /send: "prefix.*" (any channel
// whose name starts with "prefix.") or "*" (every channel).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "codec/sha256.h"
#include "robot/address.h"

namespace wspush::robot {

inline constexpr size_t kMinTokenLength = 8;
inline constexpr size_t kMaxTokenLength = 128;  // [A-Za-z0-9_.~-]
inline constexpr size_t kMaxKeywords = 10;
inline constexpr size_t kMaxKeywordLength = 64;
inline constexpr size_t kMaxAllow = 32;        // allow= entries
inline constexpr uint32_t kMaxRate = 1000;     // messages per window
inline constexpr size_t kMaxRobots = 1024;
inline constexpr size_t kMaxRobotsFileBytes = 1u << 20;  // a --robots file

enum class Overflow : uint8_t {
    kDigest,  // throttled messages are accepted and folded into one digest (default)
    kRefuse,  // throttled messages get 130101 and Retry-After
};

struct Robot {
    std::string token;                  // the credential; never logged
    std::string channel;                // a channel name or a pattern (see above)
    std::string name;                   // for logs and STATS; default "robot<N>" (1-based)
    bool named = false;                 // name= given (else name is the default)
    std::string secret;                 // empty: requests need no signature
    std::vector<std::string> keywords;  // empty: no keyword needed
    std::vector<AddressRange> allow;    // empty: any source address
    uint32_t rate = 20;                 // messages per window...
    uint32_t window_ms = 60'000;        // ...of this length
    uint32_t throttle_ms = 600'000;     // throttled this long once over the rate
    Overflow overflow = Overflow::kDigest;

    [[nodiscard]] bool is_pattern() const noexcept;
    // Whether this robot may push to `channel` (a valid channel name).
    [[nodiscard]] bool covers(std::string_view channel) const noexcept;
};

// Parses one robot spec (the --robot value, or one line of a --robots file). `index` is the
// robot's 1-based position, for the default name. False with err set to a one-line message
// naming the offending part (never the token).
[[nodiscard]] bool parse_robot(std::string_view spec, size_t index, Robot& out, std::string& err);

// Reads a --robots file: one spec a line; blank lines and lines starting with '#' (after
// leading blanks) are skipped. Appends to `out`, numbering from out.size() + 1. Only a
// regular file of at most kMaxRobotsFileBytes (base::read_small_file). False with
// err = "PATH: <reason>" or "PATH:LINE: <message>".
[[nodiscard]] bool load_robots(const std::string& path, std::vector<Robot>& out, std::string& err);

// Checks a whole table: tokens and names unique, at most kMaxRobots. False with err set, and
// *at (if given) the index of the robot found wrong (the later of a duplicate pair).
[[nodiscard]] bool check_robots(const std::vector<Robot>& robots, std::string& err, size_t* at = nullptr);

// The robot whose token equals `token`, or -1. Compares against every robot's token
// through a fixed-size digest in constant time, so neither the position of a wrong byte
// nor which robot matched shows in the time taken.
[[nodiscard]] ptrdiff_t find_robot(const std::vector<Robot>& robots, std::string_view token);

// The same lookup against digests computed once (token_digests(robots), at start): a request
// then costs one SHA-256 and one 32-byte comparison per robot, not a hash of every token.
[[nodiscard]] std::vector<codec::Sha256Digest> token_digests(const std::vector<Robot>& robots);
[[nodiscard]] ptrdiff_t find_token(const std::vector<codec::Sha256Digest>& digests, std::string_view token) noexcept;

}  // namespace wspush::robot
