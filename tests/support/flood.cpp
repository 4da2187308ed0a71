#include "support/flood.h"

#include <cerrno>
#include <cstdint>
#include <poll.h>
#include <sys/socket.h>

namespace wspush::testing {

size_t send_until_stalled(int fd, std::string_view bytes, int stall_ms) {
    size_t sent = 0;
    while (sent < bytes.size()) {
        ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            sent += static_cast<size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) break;
        pollfd p{fd, POLLOUT, 0};
        int r;
        do r = poll(&p, 1, stall_ms);
        while (r < 0 && errno == EINTR);
        if (r <= 0) break;  // full for stall_ms: the peer has stopped reading
    }
    return sent;
}

bool FrameScanner::next(Frame& f, int timeout_ms) {
    for (;;) {
        if (parse(f)) return true;
        if (pause_ms_ > 0) poll(nullptr, 0, pause_ms_);
        pollfd p{fd_, POLLIN, 0};
        int r;
        do r = poll(&p, 1, timeout_ms);
        while (r < 0 && errno == EINTR);
        if (r <= 0) return false;
        if (at_ > 0) {
            buf_.erase(0, at_);
            at_ = 0;
        }
        size_t had = buf_.size();
        buf_.resize(had + max_read_);
        ssize_t n = ::recv(fd_, buf_.data() + had, max_read_, 0);
        buf_.resize(had + static_cast<size_t>(n > 0 ? n : 0));
        if (n <= 0) return false;
    }
}

bool FrameScanner::parse(Frame& f) {
    size_t avail = buf_.size() - at_;
    if (avail < 2) return false;
    auto b = [&](size_t i) { return static_cast<uint8_t>(buf_[at_ + i]); };
    size_t hdr = 2;
    uint64_t len = b(1) & 0x7F;
    if (len == 126) {
        if (avail < 4) return false;
        hdr = 4;
        len = (uint64_t{b(2)} << 8) | b(3);
    } else if (len == 127) {
        if (avail < 10) return false;
        hdr = 10;
        len = 0;
        for (int i = 0; i < 8; ++i) len = (len << 8) | b(2 + i);
    }
    if (avail < hdr + len) return false;
    f.opcode = b(0) & 0x0F;
    f.fin = b(0) & 0x80;
    f.rsv = (b(0) >> 4) & 7;
    f.masked = b(1) & 0x80;
    f.payload.assign(buf_, at_ + hdr, len);
    at_ += hdr + len;
    return true;
}

}  // namespace wspush::testing
