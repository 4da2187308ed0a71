// A connection on the Unix control socket: line input, reply output, optional TAIL.
//
// Lifetime (one way in, one way out, as redis freeClientAsync/unlinkClient):
//
//   state   clients_  flush_    ready_    held_    dead_    fd
//   kOpen   yes       maybe     maybe     maybe    no       open
//   kDead   no        no        no        no       yes      closed
//
// ControlChannel::condemn() is the only way to kDead: it closes the descriptor and takes the
// client off every list at that moment; reap() frees it after the loop turn, so an event
// still queued for it in the same epoll batch finds a kDead client, never freed memory.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "base/intrusive_list.h"

namespace wspush::ctl {

enum class ClientState : uint8_t { kOpen, kDead };

struct ControlClient {
    base::ListNode link;        // clients_ while kOpen, dead_ once kDead
    base::ListNode flush_link;  // flush_: output to write before the loop sleeps
    base::ListNode ready_link;  // ready_: read budget used up with input still pending
    base::ListNode held_link;   // held_: replies wait for the journal's commit
    int fd = -1;
    ClientState state = ClientState::kOpen;
    std::string in;             // bytes received and not yet processed
    std::string out;            // replies and TAIL output not yet written
    std::string pubb_channel;   // PUBB waiting for its payload
    // Replies held for the journal: [offset, length) in `out`, offsets counted from the
    // first byte ever queued (out_base: bytes written and erased from `out` so far). Only
    // the bytes before the first are written until ControlChannel::settle().
    struct Held {
        uint64_t at;
        uint32_t len;
        uint64_t id;  // ControlChannel::settle_one()'s
    };
    std::vector<Held> held;
    uint64_t out_base = 0;
    uint64_t pubb_need = 0;
    uint64_t tail_dropped = 0;  // TAIL messages dropped since the last DROPPED line
    bool in_pubb = false;
    bool tail = false;          // receives client messages
    bool discarding = false;    // skipping the rest of an over-long line
    bool quitting = false;      // QUIT: close once `out` is written
    bool eof = false;           // the client finished sending: close once answered
    bool stalled = false;       // input left unread/unprocessed while output was over its cap
};

}  // namespace wspush::ctl
