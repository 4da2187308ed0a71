#include "push/envelope.h"

#include <cassert>
#include <cstring>
#include <initializer_list>

#include "codec/base64.h"
#include "push/names.h"

namespace wspush::push {
namespace {

constexpr size_t kMaxDecimal = 20;  // digits of UINT64_MAX

// Writes v in decimal at out; returns the number of digits.
size_t format_decimal(uint64_t v, char (&out)[kMaxDecimal]) noexcept {
    char rev[kMaxDecimal];
    size_t n = 0;
    do {
        rev[n++] = static_cast<char>('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; ++i) out[i] = rev[n - 1 - i];
    return n;
}

// A text frame of `head`'s parts, then `body` bytes written by fill(char*) (which returns
// one past the last), then `tail`'s parts: sized first, allocated once. nullptr when out
// of memory or when the size cannot be represented.
template <class F>
Message* build_text(std::initializer_list<std::string_view> head, size_t body, F&& fill,
                    std::initializer_list<std::string_view> tail) noexcept {
    size_t fixed = 0;
    for (std::string_view s : head) fixed += s.size();
    for (std::string_view s : tail) fixed += s.size();
    if (body > SIZE_MAX - fixed) return nullptr;
    Message* m = Message::make_buffer(fixed + body);
    if (m == nullptr) return nullptr;
    auto put = [](char* at, std::string_view s) {
        if (!s.empty()) memcpy(at, s.data(), s.size());
        return at + s.size();
    };
    char* at = reinterpret_cast<char*>(m->payload());
    for (std::string_view s : head) at = put(at, s);
    at = fill(at);
    for (std::string_view s : tail) at = put(at, s);
    assert(at == reinterpret_cast<char*>(m->payload()) + fixed + body);
    (void)at;
    m->extend(fixed + body);
    m->seal(ws::Opcode::kText);
    return m;
}

}  // namespace

Message* make_envelope(std::string_view channel, uint64_t epoch, uint64_t seq, const Message& raw,
                       std::string_view type) noexcept {
    constexpr std::string_view kType = R"({"type":")";
    constexpr std::string_view kHead = R"(","channel":")";
    constexpr std::string_view kSeq = R"(","seq":)";
    constexpr std::string_view kEpoch = R"(,"epoch":")";
    constexpr std::string_view kText = R"(","data":")";
    constexpr std::string_view kBinary = R"(","binary":true,"data":")";
    constexpr std::string_view kTail = R"("})";
    const std::string_view data(reinterpret_cast<const char*>(raw.payload()), raw.payload_size());
    const bool binary = raw.opcode() == ws::Opcode::kBinary;
    char digits[kMaxDecimal];
    const size_t ndigits = format_decimal(seq, digits);
    char ep[kEpochChars];
    format_epoch(epoch, ep);
    const size_t body = binary ? codec::base64_encoded_size(data.size()) : json_escaped_size(data);
    return build_text(
        {kType, type, kHead, channel, kSeq, {digits, ndigits}, kEpoch, {ep, kEpochChars}, binary ? kBinary : kText}, body,
        [&](char* at) {
            return binary ? at + codec::base64_encode(raw.payload(), data.size(), at) : json_escape_to(at, data);
        },
        {kTail});
}

Message* make_direct_envelope(std::string_view kind, std::string_view text) noexcept {
    return build_text({R"({"type":")", kind, R"(","data":")"}, json_escaped_size(text),
                      [&](char* at) { return json_escape_to(at, text); }, {R"("})"});
}

Message* make_gap_notice(std::string_view channel, uint64_t epoch, uint64_t since, uint64_t first) noexcept {
    constexpr std::string_view kHead = R"({"type":"gap","channel":")";
    constexpr std::string_view kEpoch = R"(","epoch":")";
    constexpr std::string_view kSince = R"(","since":)";
    constexpr std::string_view kFirst = R"(,"first":)";
    constexpr std::string_view kTail = "}";
    char ep[kEpochChars];
    format_epoch(epoch, ep);
    char s[kMaxDecimal];
    char f[kMaxDecimal];
    const size_t ns = format_decimal(since, s);
    const size_t nf = format_decimal(first, f);
    return build_text({kHead, channel, kEpoch, {ep, kEpochChars}, kSince, {s, ns}, kFirst, {f, nf}}, 0,
                      [](char* at) { return at; }, {kTail});
}

}  // namespace wspush::push
