#pragma once
// Socket activation (sd_listen_fds(3)'s protocol, no libsystemd): a service manager that
// opened our sockets passes them as descriptors 3, 4, ... with LISTEN_FDS=<count>,
// LISTEN_PID=<our pid> and optionally LISTEN_FDNAMES=<name>:<name>... (FileDescriptorName=).
// We take one TCP listener (for WebSocket and HTTP clients) and one AF_UNIX listener (the
// control socket), told apart by name ("control") or else by address family.
#include <string>

namespace wspush::net {

struct Inherited {
    int tcp = -1;      // a listening TCP socket, non-blocking, close-on-exec; -1: none passed
    int control = -1;  // a listening AF_UNIX stream socket, likewise
};

// Reads and removes the LISTEN_* variables. Not activated (no LISTEN_FDS, or LISTEN_PID
// names another process): true, nothing inherited. A passed descriptor that is not a
// listening stream socket, or more than one of a kind: false, with err saying which.
bool inherited_sockets(Inherited& out, std::string& err);

}  // namespace wspush::net
