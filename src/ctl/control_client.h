// A connection on the Unix control socket: line input, reply output, optional TAIL.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace wspush::ctl {

struct ControlClient {
    int fd = -1;
    std::string in;            // bytes received and not yet processed
    std::string out;           // replies not yet written
    std::string pubb_channel;  // PUBB waiting for its payload
    uint64_t pubb_need = 0;
    bool in_pubb = false;
    bool tail = false;         // receives client messages
    bool discarding = false;   // skipping the rest of an over-long line
    bool paused = false;       // stopped reading: too many unread replies
    bool quitting = false;     // QUIT: close once `out` is written
    bool eof = false;          // the client finished sending: close once answered
    bool in_flush = false;     // on the server's control flush list
    bool dead = false;         // closed; freed at the end of the loop iteration
};

}  // namespace wspush::ctl
