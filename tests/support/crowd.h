// A crowd of hostile clients held by a forked child process, so that more sockets than one
// process may open (the test's own, or the server's descriptor limit) can be held against
// a server: two crowds of 10,000 hold 20,000 connections. The child opens its connections,
// reports, holds them as told, and closes them all when the test finishes it. Every wait is
// bounded; nothing is left running when the object goes.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <sys/types.h>

namespace wspush::testing {

class Crowd {
public:
    enum class Kind : uint8_t {
        // Connects and never sends a byte; reads what the server sends and closes its side
        // when the server closes (EOF or reset), counting the answers.
        kSilent,
        // Connects with a 2 KiB receive buffer and 1 KiB segments (so the window it offers
        // and what the server's kernel buffers for it stay small), sends one upgrade request
        // and never reads a byte; holds until finished.
        kNeverReads,
    };

    // What the child counted. Answers: the first bytes each connection received.
    struct Report {
        uint64_t opened = 0;  // connected (and, kNeverReads, the upgrade request sent whole)
        uint64_t failed = 0;  // connect or send failed
        uint64_t ended = 0;   // kSilent: closed by the server
        uint64_t got_408 = 0; // kSilent: the answer began "HTTP/1.1 408"
        uint64_t got_503 = 0; // kSilent: the answer began "HTTP/1.1 503"
        uint64_t got_other = 0;
        uint64_t first_408_ms = 0;  // kSilent: when the first 408 came, ms after the first connect
        uint64_t last_end_ms = 0;   // kSilent: when the server closed the last one
    };

    Crowd() = default;
    ~Crowd();
    Crowd(const Crowd&) = delete;
    Crowd& operator=(const Crowd&) = delete;

    // Forks the child, which opens `count` connections to 127.0.0.1:port one after another
    // (kNeverReads: upgrading at `target`). Call before starting any thread in this process.
    // False when the child cannot be started.
    bool start(uint16_t port, size_t count, Kind kind, const std::string& target = {});
    // Waits (bounded) until the child has opened its connections; its counts then. opened
    // plus failed is count on success; both 0 on timeout.
    Report wait_opened(int timeout_ms = 30000);
    // kSilent: waits (bounded) until the server has closed every connection; kNeverReads:
    // returns at once. Then the child closes what it holds and exits; its final counts.
    Report finish(int timeout_ms = 30000);

private:
    bool read_report(Report& r, int timeout_ms);
    pid_t pid_ = -1;
    Kind kind_ = Kind::kSilent;
    int to_child_ = -1;    // closing it tells the child to finish
    int from_child_ = -1;  // reports
};

}  // namespace wspush::testing
