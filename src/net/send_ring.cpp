#include "net/send_ring.h"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <linux/io_uring.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace wspush::net {
namespace {

int uring_setup(unsigned entries, io_uring_params* p) {
    return static_cast<int>(syscall(__NR_io_uring_setup, entries, p));
}

int uring_enter(int fd, unsigned to_submit, unsigned min_complete, unsigned flags) {
    return static_cast<int>(syscall(__NR_io_uring_enter, fd, to_submit, min_complete, flags, nullptr, 0));
}

// The rings are shared with the kernel: the tail we publish and the head we consume are
// release stores, what the kernel publishes is read with acquire loads.
uint32_t load_acquire(const uint32_t* p) {
    return std::atomic_ref<const uint32_t>(*p).load(std::memory_order_acquire);
}
void store_release(uint32_t* p, uint32_t v) {
    std::atomic_ref<uint32_t>(*p).store(v, std::memory_order_release);
}

template <class T>
T* at(void* base, uint32_t off) {
    return reinterpret_cast<T*>(static_cast<char*>(base) + off);
}

}  // namespace

SendRing::EnterFn SendRing::enter_fn = uring_enter;

void SendRing::close() noexcept {
    if (sqes_) munmap(sqes_, sqes_len_);
    if (cq_map_ && cq_map_ != sq_map_) munmap(cq_map_, cq_map_len_);
    if (sq_map_) munmap(sq_map_, sq_map_len_);
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    sqes_ = cq_map_ = sq_map_ = nullptr;
    pending_ = 0;
}

int SendRing::open() noexcept {
    io_uring_params p;
    memset(&p, 0, sizeof p);
    // SUBMIT_ALL: an entry the kernel refuses does not stop the ones behind it (each gets
    // its completion), so every submit() completes exactly what it queued.
    p.flags = IORING_SETUP_SUBMIT_ALL;
    const int fd = uring_setup(kBatch, &p);
    if (fd < 0) return -errno;
    sq_map_len_ = p.sq_off.array + p.sq_entries * sizeof(uint32_t);
    cq_map_len_ = p.cq_off.cqes + p.cq_entries * sizeof(io_uring_cqe);
    const bool single = (p.features & IORING_FEAT_SINGLE_MMAP) != 0;
    if (single && cq_map_len_ > sq_map_len_) sq_map_len_ = cq_map_len_;
    void* sq = mmap(nullptr, sq_map_len_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
    if (sq == MAP_FAILED) {
        const int e = errno;
        ::close(fd);
        return -e;
    }
    void* cq = sq;
    if (!single) {
        cq = mmap(nullptr, cq_map_len_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_CQ_RING);
        if (cq == MAP_FAILED) {
            const int e = errno;
            munmap(sq, sq_map_len_);
            ::close(fd);
            return -e;
        }
    }
    sqes_len_ = p.sq_entries * sizeof(io_uring_sqe);
    void* sqes = mmap(nullptr, sqes_len_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
    if (sqes == MAP_FAILED) {
        const int e = errno;
        if (cq != sq) munmap(cq, cq_map_len_);
        munmap(sq, sq_map_len_);
        ::close(fd);
        return -e;
    }
    fd_ = fd;
    sq_map_ = sq;
    cq_map_ = cq;
    sqes_ = sqes;
    sq_head_ = at<uint32_t>(sq, p.sq_off.head);
    sq_tail_ = at<uint32_t>(sq, p.sq_off.tail);
    sq_mask_ = at<uint32_t>(sq, p.sq_off.ring_mask);
    sq_array_ = at<uint32_t>(sq, p.sq_off.array);
    cq_head_ = at<uint32_t>(cq, p.cq_off.head);
    cq_tail_ = at<uint32_t>(cq, p.cq_off.tail);
    cq_mask_ = at<uint32_t>(cq, p.cq_off.ring_mask);
    cqes_ = at<void>(cq, p.cq_off.cqes);
    return 0;
}

io_uring_sqe* SendRing::claim(int fd, uint32_t tag) noexcept {
    const uint32_t idx = *sq_tail_ & *sq_mask_;  // only we write the tail
    io_uring_sqe* sqe = static_cast<io_uring_sqe*>(sqes_) + idx;
    memset(sqe, 0, sizeof *sqe);
    sqe->fd = fd;
    sqe->user_data = tag;
    return sqe;
}

void SendRing::push() noexcept {
    const uint32_t tail = *sq_tail_;
    const uint32_t idx = tail & *sq_mask_;
    sq_array_[idx] = idx;
    store_release(sq_tail_, tail + 1);
    ++pending_;
}

void SendRing::add(int fd, const msghdr* msg, uint32_t tag) noexcept {
    io_uring_sqe* sqe = claim(fd, tag);
    // MSG_DONTWAIT: a full socket completes with -EAGAIN at once instead of being polled by
    // the ring (the caller's buffers are gone after submit()). MSG_NOSIGNAL: EPIPE, no signal.
    sqe->msg_flags = MSG_DONTWAIT | MSG_NOSIGNAL;
    // Addresses go through uintptr_t: g++ sign-extends a 32-bit pointer cast straight to
    // uint64_t, which a 64-bit kernel running a 32-bit (armhf) process reads as a bad address.
    if (msg->msg_iovlen == 1) {
        sqe->opcode = IORING_OP_SEND;
        sqe->addr = reinterpret_cast<uintptr_t>(msg->msg_iov[0].iov_base);
        sqe->len = static_cast<uint32_t>(msg->msg_iov[0].iov_len);
    } else {
        sqe->opcode = IORING_OP_SENDMSG;
        sqe->addr = reinterpret_cast<uintptr_t>(msg);
        sqe->len = 1;
    }
    push();
}

void SendRing::add_recv(int fd, void* buf, uint32_t len, uint32_t tag) noexcept {
    io_uring_sqe* sqe = claim(fd, tag);
    sqe->opcode = IORING_OP_RECV;
    sqe->msg_flags = MSG_DONTWAIT;
    sqe->addr = reinterpret_cast<uintptr_t>(buf);
    sqe->len = len;
    push();
}

uint32_t SendRing::enter(int* error) noexcept {
    const uint32_t queued = pending_;
    pending_ = 0;
    *error = 0;
    uint32_t taken = 0;
    while (taken < queued) {
        // Waits for the completions of what it takes (the sends never block: at once).
        const int rc = enter_fn(fd_, queued - taken, queued - taken, IORING_ENTER_GETEVENTS);
        if (rc > 0) {
            taken += static_cast<uint32_t>(rc);
            continue;
        }
        if (rc < 0 && errno == EINTR) continue;  // only when it took nothing
        *error = rc < 0 ? errno : EAGAIN;
        break;
    }
    if (taken < queued) {
        // Entries the kernel did not take: the kernel's head stops at them. Take them back,
        // so that no later submission sends them with buffers reused since.
        store_release(sq_tail_, load_acquire(sq_head_));
    }
    return taken;
}

void SendRing::wait_completion() noexcept {
    while (enter_fn(fd_, 0, 1, IORING_ENTER_GETEVENTS) < 0 && errno == EINTR) {
    }
}

bool SendRing::next_completion(uint32_t* tag, int32_t* res) noexcept {
    const uint32_t head = *cq_head_;
    if (head == load_acquire(cq_tail_)) return false;
    const io_uring_cqe* cqe = static_cast<const io_uring_cqe*>(cqes_) + (head & *cq_mask_);
    *tag = static_cast<uint32_t>(cqe->user_data);
    *res = cqe->res;
    store_release(cq_head_, head + 1);
    return true;
}

}  // namespace wspush::net
