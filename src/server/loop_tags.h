// epoll tags of the server's loop (server.cpp), shared with its set-up (setup.cpp).
#pragma once
#include <cstdint>

namespace wspush::server::loop {

// epoll tags: the low 3 bits say what the event is for; client fds are shifted up,
// control clients are 8-aligned pointers.
constexpr uint64_t kTagListen = 1;
constexpr uint64_t kTagControlListen = 2;
constexpr uint64_t kTagSignal = 3;
constexpr uint64_t kTagClient = 4;
constexpr uint64_t kTagControl = 5;
constexpr uint64_t kTagRedis = 6;  // --redis: the write connection; kTagRedis + 1 the subscriber
constexpr uint64_t kTagMask = 7;
// --workers: the socketpair with the parent. A singleton, so it shares kTagSignal's low bits
// (the 3 bits are all taken) and is told apart by the rest.
constexpr uint64_t kTagParent = (1u << 3) | kTagSignal;

}  // namespace wspush::server::loop
