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

struct io_uring_sqe;  // <linux/io_uring.h>, included by send_ring.cpp only

namespace wspush::net {

class SendRing {
public:
    // io_uring_enter(2), replaceable by tests (a kernel that takes fewer entries than asked).
    using EnterFn = int (*)(int fd, unsigned to_submit, unsigned min_complete, unsigned flags);
    static EnterFn enter_fn;

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
    // Queues recv(fd, buf, len, MSG_DONTWAIT) tagged `tag` (the load generator's batched
    // reads): an empty socket completes with -EAGAIN at once, so nothing is left in flight
    // when submit() returns either. Same rules as add().
    void add_recv(int fd, void* buf, uint32_t len, uint32_t tag) noexcept;
    // Submits what add() queued and waits for what the kernel took; calls done(tag, result)
    // for each of those, result being bytes sent or -errno. The kernel takes entries in the
    // order they were added and may take fewer than all (no memory for a request, or an
    // error with none taken: then -errno goes to *error); the rest are taken back, none is
    // left in the ring. Returns how many were taken: the caller writes tags from there on
    // itself.
    template <class F>
    uint32_t submit(F&& done, int* error) noexcept {
        const uint32_t taken = enter(error);
        for (uint32_t seen = 0; seen < taken;) {
            int32_t res;
            uint32_t tag;
            if (!next_completion(&tag, &res)) {
                wait_completion();
                continue;
            }
            ++seen;
            done(tag, res);
        }
        return taken;
    }

private:
    // The next submission entry, zeroed, for fd and tag; push() hands it to the kernel's
    // queue once it is filled in.
    [[nodiscard]] io_uring_sqe* claim(int fd, uint32_t tag) noexcept;
    void push() noexcept;
    [[nodiscard]] uint32_t enter(int* error) noexcept;
    void wait_completion() noexcept;
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
    uint32_t* sq_head_ = nullptr;
    uint32_t* sq_tail_ = nullptr;
    uint32_t* sq_mask_ = nullptr;
    uint32_t* sq_array_ = nullptr;
    uint32_t* cq_head_ = nullptr;
    uint32_t* cq_tail_ = nullptr;
    uint32_t* cq_mask_ = nullptr;
    void* cqes_ = nullptr;
};

}  // namespace wspush::net
