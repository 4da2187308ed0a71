// Counters reported by STATS, METRICS and GET /stats.
#pragma once
#include <cstdint>

namespace wspush::server {

struct Stats {
    uint64_t connections_total = 0;  // accepted TCP connections
    uint32_t clients = 0;            // open WebSocket connections
    uint64_t messages_in = 0;
    uint64_t messages_out = 0;       // frames queued to clients (data, not control)
    uint64_t bytes_in = 0;
    uint64_t bytes_out = 0;
    uint64_t writes = 0;             // flushes of a client's queue (one or more writev)
    uint64_t published = 0;
    // Connections dropped, by reason.
    uint64_t drop_slow_consumer = 0;
    uint64_t drop_idle_timeout = 0;
    uint64_t drop_handshake_timeout = 0;
    uint64_t drop_protocol_error = 0;
    uint64_t drop_http_error = 0;
    uint64_t drop_server_full = 0;
    uint64_t drop_kicked = 0;
    uint64_t memory_trims = 0;       // times idle memory was given back
    uint64_t out_of_memory = 0;      // allocations that failed (the client was closed)
    uint64_t webhook_requests = 0;   // webhook requests answered (POST /robot/send, /push, /send)
    uint64_t webhook_errors = 0;     // ... with a non-zero errcode
};

// This process's resident memory in bytes (/proc/self/statm; 0 if unreadable).
uint64_t resident_bytes();

}  // namespace wspush::server
