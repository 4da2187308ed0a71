// Floods and slow readers: writing to a socket without blocking until the peer stops
// reading, and reading server frames in bulk or at a chosen pace.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

#include "support/test_server.h"

namespace wspush::testing {

// Writes bytes to a socket without blocking, waiting up to stall_ms each time it is full.
// Returns how many bytes went out: all of them, or fewer when the peer stopped reading for
// stall_ms (or the connection failed). A frame may be cut anywhere.
size_t send_until_stalled(int fd, std::string_view bytes, int stall_ms);

// Reads server frames straight from a socket (unmasked, any length): for floods of tiny
// frames (RawClient copies its buffer per frame) and for readers that pace themselves.
class FrameScanner {
public:
    explicit FrameScanner(int fd) : fd_(fd) {}
    // From now on reads at most `bytes` per recv and waits pause_ms before each recv: a
    // reader slower than the server.
    void pace(size_t bytes, int pause_ms) {
        max_read_ = bytes;
        pause_ms_ = pause_ms;
    }
    // The next frame within timeout_ms of silence; false on timeout or EOF.
    bool next(Frame& f, int timeout_ms = 5000);

private:
    bool parse(Frame& f);
    int fd_;
    size_t max_read_ = 65536;
    int pause_ms_ = 0;
    std::string buf_;
    size_t at_ = 0;
};

}  // namespace wspush::testing
