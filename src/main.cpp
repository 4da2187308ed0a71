// wspushd: flags -> Config -> Server::run (or, with --workers above 1, the parent's loop).
#include <cstdio>
#include <string>

#include "server/config.h"
#include "server/server.h"
#include "server/workers.h"

int main(int argc, char** argv) {
    wspush::server::Config cfg;
    std::string err;
    switch (wspush::server::parse_args(argc, argv, cfg, err)) {
        case wspush::server::ArgsResult::kHelp: fputs(wspush::server::usage(), stdout); return 0;
        case wspush::server::ArgsResult::kError: fprintf(stderr, "wspushd: %s\n", err.c_str()); return 2;
        case wspush::server::ArgsResult::kOk: break;
    }
    // --workers N: a parent numbering publications for N worker processes (server/workers.h).
    if (cfg.workers > 1) return wspush::server::run_parent(cfg);
    wspush::server::Server server(cfg);
    if (!server.start(err)) {
        fprintf(stderr, "wspushd: %s\n", err.c_str());
        return 1;
    }
    return server.run();
}
