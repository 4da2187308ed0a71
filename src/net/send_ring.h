// Batched sends: many sockets' writes submitted with one system call through an io_uring
// (raw system calls, no liburing). The loop's flush hands it one write per connection and
// gets every result back from the same call, so a fan-out to N clients costs N/kBatch
// system calls instead of N. Each send carries MSG_DONTWAIT: a full socket answers -EAGAIN
// at once, as write() would, and nothing is left in flight when submit() returns (the
// caller's buffers need to live only until then). Where io_uring is missing or forbidden
// (old kernels, seccomp, kernel.io_uring_disabled), open() fails and the caller writes
// socket by socket.
#pragma once
#include <cstddef>
#include <cstdint>
#include <sys/socket.h>

namespace wspush::net {

class SendRing {
public:
    static constexpr unsigned kBatch = 32;  // sends per submission

    SendRing() noexcept = default;
    ~SendRing() { close(); }
    SendRing(const SendRing&) = delete;
    SendRing& operator=(const SendRing&) = delete;

    // Sets up the ring. Returns 0 or -errno (then ready() stays false).
    [[nodiscard]] int open() noexcept;
    [[nodiscard]] bool ready() const noexcept { return fd_ >= 0; }
    // Unmaps and closes the ring (ready() is false after).
    void close() noexcept;

    // Queues send(fd, msg) (msg->msg_iovlen 1: a plain send of that buffer) tagged `tag`;
    // msg and what it points to must stay valid until submit() returns. At most kBatch
    // between submits.
    void add(int fd, const msghdr* msg, uint32_t tag) noexcept;
    // Submits what add() queued and waits for all of it (the sends run at once: none can
    // block). Calls done(tag, result) for each, result being bytes sent or -errno. Returns
    // 0, or -errno when the submission itself failed (nothing was sent; the caller writes
    // socket by socket).
    template <class F>
    int submit(F&& done) noexcept {
        const int rc = enter();
        if (rc < 0) return rc;
        for (uint32_t seen = 0; seen < pending_;) {
            int32_t res;
            uint32_t tag;
            if (!next_completion(&tag, &res)) break;
            ++seen;
            done(tag, res);
        }
        pending_ = 0;
        return 0;
    }

private:
    [[nodiscard]] int enter() noexcept;
    [[nodiscard]] bool next_completion(uint32_t* tag, int32_t* res) noexcept;

    int fd_ = -1;
    uint32_t pending_ = 0;
    // The shared rings (see io_uring_setup(2)): submission and completion heads, tails,
    // masks and arrays, and the submission entries.
    void* sq_map_ = nullptr;
    size_t sq_map_len_ = 0;
    void* cq_map_ = nullptr;
    size_t cq_map_len_ = 0;
    void* sqes_ = nullptr;
    size_t sqes_len_ = 0;
    uint32_t* sq_tail_ = nullptr;
    uint32_t* sq_mask_ = nullptr;
    uint32_t* sq_array_ = nullptr;
    uint32_t* cq_head_ = nullptr;
    uint32_t* cq_tail_ = nullptr;
    uint32_t* cq_mask_ = nullptr;
    void* cqes_ = nullptr;
};

}  // namespace wspush::net
