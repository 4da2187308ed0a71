// The rate limit keeps the exact admission times (a ring of `rate` entries) rather than a
// token bucket: "20 in any 60 s" then holds to the millisecond, and Retry-After can say
// exactly when the oldest admission leaves the window.
#include "robot/limiter.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace wspush::robot {

namespace {

constexpr size_t kMaxTextBytes = 4096;  // Digest::render's text, "... and N more" included
constexpr size_t kMoreReserve = 48;     // room kept for that last line

// Whole seconds in ms, rounded up, at least 1.
uint32_t ceil_seconds(uint64_t ms) noexcept {
    return static_cast<uint32_t>(std::clamp<uint64_t>((ms + 999) / 1000, 1, UINT32_MAX));
}

// How many leading bytes of s to keep so that at most `max` are kept and no UTF-8 sequence is
// split: the cut backs off over continuation bytes (10xxxxxx).
size_t utf8_cut(std::string_view s, size_t max) noexcept {
    if (s.size() <= max) return s.size();
    size_t n = max;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xc0) == 0x80) --n;
    return n;
}

// Bytes that mean something in markdown; a backslash before ASCII punctuation always stands
// for the punctuation itself (CommonMark 2.4), so escaping one too many is harmless.
bool markdown_special(char c) noexcept { return std::string_view("\\`*_[]#<>|~").find(c) != std::string_view::npos; }

// Appends one summary line escaped so that it stays the text of one list item: no inline
// markup, and nothing at its start that reads as a block ("- ", "+ ", "1. ", "2) ", "===").
void append_escaped(std::string& out, std::string_view line) {
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    size_t digits = 0;
    while (digits < line.size() && line[digits] >= '0' && line[digits] <= '9') ++digits;
    for (size_t i = 0; i < line.size(); ++i) {
        const char c = line[i];
        const bool block_start = (i == 0 && (c == '-' || c == '+' || c == '=')) ||
                                 (i == digits && digits > 0 && (c == '.' || c == ')'));
        if (block_start || markdown_special(c)) out += '\\';
        out += c;
    }
}

// "YYYY-MM-DD HH:MM:SS UTC"
void append_time(std::string& out, uint64_t ms) {
    const time_t t = static_cast<time_t>(ms / 1000);
    tm parts;
    char buf[40];
    if (gmtime_r(&t, &parts) == nullptr || std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &parts) == 0) {
        out += "?";
        return;
    }
    out += buf;
}

}  // namespace

Limiter::Limiter(uint32_t rate, uint32_t window_ms, uint32_t throttle_ms)
    : log_(std::make_unique<uint64_t[]>(std::max<uint32_t>(rate, 1))),
      rate_(std::max<uint32_t>(rate, 1)),
      window_ms_(window_ms),
      throttle_ms_(throttle_ms) {}

void Limiter::expire(uint64_t now_ms) noexcept {
    // Forget admissions that have left the window: one at t counts until t + window_ms.
    while (count_ > 0 && now_ms >= log_[head_] && now_ms - log_[head_] >= window_ms_) {
        head_ = (head_ + 1) % rate_;
        --count_;
    }
}

void Limiter::note(uint64_t now_ms) noexcept {
    if (admit(now_ms) || throttled(now_ms) || throttle_ms_ > 0) return;
    // No throttle configured: the log stays full, the newest admission in the oldest's place.
    log_[head_] = now_ms;
    head_ = (head_ + 1) % rate_;
}

void Limiter::throttle_until(uint64_t until_ms) noexcept {
    if (until_ms <= until_) return;
    until_ = until_ms;
    head_ = count_ = 0;
}

bool Limiter::admit(uint64_t now_ms) noexcept {
    if (throttled(now_ms)) return false;
    expire(now_ms);
    if (count_ < rate_) {
        log_[(head_ + count_) % rate_] = now_ms;
        ++count_;
        return true;
    }
    if (throttle_ms_ > 0) {
        until_ = now_ms + throttle_ms_;
        head_ = count_ = 0;  // the throttle ends with a clean slate
    }
    return false;
}

void Limiter::retune(uint32_t rate, uint32_t window_ms, uint32_t throttle_ms, uint64_t now_ms) {
    rate = std::max<uint32_t>(rate, 1);
    auto log = std::make_unique<uint64_t[]>(rate);
    const uint32_t keep = std::min(count_, rate);
    for (uint32_t k = 0; k < keep; ++k) log[k] = log_[(head_ + count_ - keep + k) % rate_];
    if (throttled(now_ms)) until_ = until_ - throttle_ms_ + throttle_ms;  // began at until_ - throttle_ms_
    log_ = std::move(log);
    rate_ = rate;
    window_ms_ = window_ms;
    throttle_ms_ = throttle_ms;
    head_ = 0;
    count_ = keep;
}

uint32_t Limiter::retry_after_s(uint64_t now_ms) const noexcept {
    if (throttled(now_ms)) return ceil_seconds(until_ - now_ms);
    // Full log: the next message passes once the oldest admission leaves the window.
    if (count_ == rate_) {
        const uint64_t frees = log_[head_] + window_ms_;
        if (frees > now_ms) return ceil_seconds(frees - now_ms);
    }
    return 1;
}

void Digest::add(uint64_t now_ms, std::string_view summary) {
    if (count_ == 0) first_ms_ = now_ms;
    last_ms_ = now_ms;
    ++count_;
    if (kept_ == kMaxLines) return;
    if (lines_.capacity() == 0) lines_.reserve(kMaxLines * (kMaxLineBytes + 1));
    const size_t start = lines_.size();
    lines_.append(summary.substr(0, utf8_cut(summary, kMaxLineBytes)));
    // Lines are '\n'-terminated: a line break inside a summary becomes a space.
    std::replace_if(lines_.begin() + static_cast<ptrdiff_t>(start), lines_.end(),
                    [](char c) { return c == '\n' || c == '\r'; }, ' ');
    lines_ += '\n';
    ++kept_;
}

void Digest::render(std::string_view robot_name, std::string& title, std::string& text) const {
    const std::string count = std::to_string(count_) + (count_ == 1 ? " message" : " messages");
    title.assign(robot_name);
    title += ": " + count + " while throttled";

    text.clear();
    text += "**";
    append_escaped(text, robot_name);
    text += "**: " + count + " while throttled, ";
    append_time(text, first_ms_);
    text += " to ";
    append_time(text, last_ms_);
    text += "\n\n";

    // Escaping can double a line; past the budget, lines count as "more" instead.
    uint64_t more = omitted();
    std::string item;
    std::string_view rest = lines_;
    for (size_t nl; (nl = rest.find('\n')) != std::string_view::npos; rest.remove_prefix(nl + 1)) {
        item = "- ";
        append_escaped(item, rest.substr(0, nl));
        item += '\n';
        if (text.size() + item.size() + kMoreReserve > kMaxTextBytes) {
            ++more;
            continue;
        }
        text += item;
    }
    if (more > 0) text += "\n... and " + std::to_string(more) + " more\n";
}

void Digest::clear() noexcept {
    lines_.clear();  // keeps the capacity: a robot throttled once will likely be again
    count_ = 0;
    first_ms_ = last_ms_ = 0;
    kept_ = 0;
}

}  // namespace wspush::robot
