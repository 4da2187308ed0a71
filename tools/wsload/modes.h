// The load modes. Each runs to completion within its time bounds, prints the summary
// line, and returns the exit status: 0 if every check passed, 1 if any failed.
#pragma once
#include "wsload/options.h"

namespace wspush::wsload {

int run_idle(const Options& opt);
int run_echo(const Options& opt);
int run_fanout(const Options& opt);
int run_churn(const Options& opt);
int run_webhook(const Options& opt);

}  // namespace wspush::wsload
