// UTF-8 validation as a byte-class DFA in the manner of Bjoern Hoehrmann's decoder: each
// byte maps to one of 12 classes, and (state, class) maps to the next state. The states
// encode exactly the well-formed byte sequences of Unicode table 3-7, so a byte that no
// well-formed sequence allows at its position moves to kReject at once (fail fast).
#include "codec/utf8.h"

#include <array>
#include <cstring>

namespace wspush::codec {

namespace {

// Byte classes. Table 3-7 constrains the second byte of four leads (E0, ED, F0, F4), so the
// continuation range 80..BF is split where those constraints cut it: 8F|90, 9F|A0.
enum Class : uint8_t {
    kAscii,      // 00..7F
    kCont80,     // 80..8F
    kCont90,     // 90..9F
    kContA0,     // A0..BF
    kBad,        // C0, C1 (always overlong), F5..FF (always > U+10FFFF)
    kLead2,      // C2..DF
    kLeadE0,     // E0: second byte A0..BF (below is overlong)
    kLead3,      // E1..EC, EE..EF
    kLeadED,     // ED: second byte 80..9F (above is a surrogate D800..DFFF)
    kLeadF0,     // F0: second byte 90..BF (below is overlong)
    kLead4,      // F1..F3
    kLeadF4,     // F4: second byte 80..8F (above is > U+10FFFF)
    kClassCount,
};

struct Range {
    uint8_t lo, hi;
    Class cls;
};

constexpr Range kRanges[] = {
    {0x00, 0x7F, kAscii},  {0x80, 0x8F, kCont80}, {0x90, 0x9F, kCont90}, {0xA0, 0xBF, kContA0},
    {0xC0, 0xC1, kBad},    {0xC2, 0xDF, kLead2},  {0xE0, 0xE0, kLeadE0}, {0xE1, 0xEC, kLead3},
    {0xED, 0xED, kLeadED}, {0xEE, 0xEF, kLead3},  {0xF0, 0xF0, kLeadF0}, {0xF1, 0xF3, kLead4},
    {0xF4, 0xF4, kLeadF4}, {0xF5, 0xFF, kBad},
};

constexpr std::array<uint8_t, 256> make_class_table() {
    std::array<uint8_t, 256> t{};
    for (const Range& r : kRanges) {
        for (unsigned b = r.lo; b <= r.hi; ++b) t[b] = r.cls;
    }
    return t;
}
constexpr std::array<uint8_t, 256> kClassOf = make_class_table();

// States. kAccept and kReject are fixed by the header; the rest name what must follow.
enum State : uint8_t {
    kSAccept = Utf8Validator::kAccept,
    kSReject = Utf8Validator::kReject,
    kNeed1,     // one more 80..BF
    kNeed2,     // two more 80..BF
    kNeed3,     // three more 80..BF
    kAfterE0,   // A0..BF, then one more
    kAfterED,   // 80..9F, then one more
    kAfterF0,   // 90..BF, then two more
    kAfterF4,   // 80..8F, then two more
    kStateCount,
};

constexpr uint8_t R = kSReject;

// kNext[state][class]. Columns: Ascii 80..8F 90..9F A0..BF Bad C2..DF E0 E1..EF ED F0 F1..F3 F4.
constexpr uint8_t kNext[kStateCount][kClassCount] = {
    /* Accept  */ {kSAccept, R, R, R, R, kNeed1, kAfterE0, kNeed2, kAfterED, kAfterF0, kNeed3, kAfterF4},
    /* Reject  */ {R, R, R, R, R, R, R, R, R, R, R, R},
    /* Need1   */ {R, kSAccept, kSAccept, kSAccept, R, R, R, R, R, R, R, R},
    /* Need2   */ {R, kNeed1, kNeed1, kNeed1, R, R, R, R, R, R, R, R},
    /* Need3   */ {R, kNeed2, kNeed2, kNeed2, R, R, R, R, R, R, R, R},
    /* AfterE0 */ {R, R, R, kNeed1, R, R, R, R, R, R, R, R},
    /* AfterED */ {R, kNeed1, kNeed1, R, R, R, R, R, R, R, R, R},
    /* AfterF0 */ {R, R, kNeed2, kNeed2, R, R, R, R, R, R, R, R},
    /* AfterF4 */ {R, kNeed2, R, R, R, R, R, R, R, R, R, R},
};

constexpr uint64_t kHighBits = 0x8080808080808080ull;

inline uint64_t load64(const uint8_t* p) noexcept {
    uint64_t w;
    std::memcpy(&w, p, sizeof w);  // unaligned-safe; compiles to one load
    return w;
}

// Two words side by side. GCC and Clang lower this to one SSE2/NEON register where the
// target has one and to a pair of plain words where it does not.
using Words2 = uint64_t __attribute__((vector_size(16)));

inline Words2 load128(const uint8_t* p) noexcept {
    Words2 w;
    std::memcpy(&w, p, sizeof w);
    return w;
}

// True when none of the 64 bytes at p has the high bit set.
inline bool ascii64(const uint8_t* p) noexcept {
    const Words2 w = load128(p) | load128(p + 16) | load128(p + 32) | load128(p + 48);
    return ((w[0] | w[1]) & kHighBits) == 0;
}

}  // namespace

bool Utf8Validator::feed(const uint8_t* p, size_t n) noexcept {
    uint8_t s = state_;
    if (s == kReject) return false;
    const uint8_t* const end = p + n;
    while (p != end) {
        if (s == kAccept) {
            // ASCII fast path, only between sequences: 64 bytes per branch, then single
            // words, then the DFA for the rest.
            while (end - p >= 64 && ascii64(p)) p += 64;
            while (end - p >= 8 && (load64(p) & kHighBits) == 0) p += 8;
            if (p == end) break;
        }
        s = kNext[s][kClassOf[*p++]];
        if (s == kReject) {
            state_ = s;
            return false;
        }
    }
    state_ = s;
    return true;
}

bool utf8_valid(std::string_view s) noexcept {
    Utf8Validator v;
    return v.feed(reinterpret_cast<const uint8_t*>(s.data()), s.size()) && v.complete();
}

}  // namespace wspush::codec
