// wsload: wspushd's WebSocket load generator. See usage() in options.cpp.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "wsload/modes.h"
#include "wsload/options.h"
#include "wsload/sys.h"

using namespace wspush::wsload;

int main(int argc, char** argv) {
    bool help = false;
    Options opt;
    try {
        opt = parse_options(argc, argv, help);
    } catch (const UsageError& e) {
        std::fprintf(stderr, "wsload: %s\n%s", e.what(), usage());
        return 2;
    }
    if (help) {
        std::fputs(usage(), stdout);
        return 0;
    }
    signal(SIGPIPE, SIG_IGN);
    install_stop_handler();
    raise_nofile_limit();
    // Hard deadline: every phase has its own bound, this catches anything that slips
    // through them (the default SIGALRM action ends the process). Ramping up N
    // connections --parallel at a time may take a handshake timeout per 10 rounds.
    const uint64_t conns = std::max(opt.subscribers, opt.connections);
    const double ramp = opt.timeout_s * static_cast<double>(conns / (opt.parallel * 10));
    const double bound = opt.duration_s + 4 * opt.timeout_s + ramp + 60;
    alarm(static_cast<unsigned>(std::ceil(bound)));
    switch (opt.mode) {
        case Mode::kIdle: return run_idle(opt);
        case Mode::kEcho: return run_echo(opt);
        case Mode::kFanout: return run_fanout(opt);
        case Mode::kChurn: return run_churn(opt);
        case Mode::kWebhook: return run_webhook(opt);
    }
    return 2;
}
