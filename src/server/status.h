// The operator's page (GET /status with --http-stats): the server samples its figures every
// StatusRing::kEveryMs into a fixed ring, the last 10 minutes, which GET /status.json returns
// for the page's charts.
#pragma once
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace wspush::server {

class StatusRing {
public:
    static constexpr uint32_t kEveryMs = 2000;
    static constexpr uint32_t kSamples = 300;  // 10 minutes; 16 bytes each, 4.7 KiB in all

    struct Sample {
        uint32_t pushes;      // publications in the interval
        uint32_t deliveries;  // frames queued to clients in the interval
        uint32_t clients;     // open WebSocket connections at its end
        uint32_t rss_kib;     // resident memory at its end
    };

    StatusRing() = default;
    ~StatusRing() { free(s_); }
    StatusRing(const StatusRing&) = delete;
    StatusRing& operator=(const StatusRing&) = delete;

    // Adds a sample; when full, the oldest goes. The ring's memory is taken at the first
    // sample: false (and the sample lost) if there is none.
    bool add(const Sample& x) {
        if (s_ == nullptr && (s_ = static_cast<Sample*>(malloc(sizeof(Sample) * kSamples))) == nullptr) return false;
        s_[(head_ + n_) % kSamples] = x;
        if (n_ < kSamples) ++n_;
        else head_ = (head_ + 1) % kSamples;
        return true;
    }
    [[nodiscard]] uint32_t size() const { return n_; }
    // The i-th sample, oldest first.
    [[nodiscard]] const Sample& at(uint32_t i) const { return s_[(head_ + i) % kSamples]; }

private:
    Sample* s_ = nullptr;
    uint32_t head_ = 0;
    uint32_t n_ = 0;
};

// The page itself (src/server/status_page.html, embedded at build time).
[[nodiscard]] std::string_view status_page() noexcept;

}  // namespace wspush::server
