#!/usr/bin/env bash
# Same-run comparison of two wspushd binaries: the runs alternate (A, B, A, B, ...) so that
# the load of a shared machine falls on both alike. Server pinned to CPU 0, wsload to CPU 1,
# loopback only, each run bounded (3 s or 300 pushes).
#
#   tools/bench/compare.sh A/wspushd B/wspushd [ROUNDS]     (ROUNDS=2; wsload from build/)
#
# Prints one line per run: which binary, the load, its rate and the server CPU per message.
set -euo pipefail
A=$1
B=$2
ROUNDS=${3:-2}
WSLOAD=${WSLOAD:-build/wsload}
TMP=$(mktemp -d /tmp/wspush-compare.XXXXXX)
# shellcheck source=tools/bench/server.sh
source "$(dirname "$0")/server.sh"

# run BIN MODE LOAD-ARGS...: starts BIN in MODE, runs wsload LOAD-ARGS against it (PORT and
# CTL in them stand for its port and control socket), prints the figures that matter here.
run() {
    SERVER=$1
    local mode=$2
    shift 2
    start_server --mode "$mode" --max-message 64M
    local args=("$@")
    args=("${args[@]//PORT/$PORT}")
    args=("${args[@]//CTL/$TMP/ctl.sock}")
    taskset -c 1 "$WSLOAD" "${args[@]}" --pid "$SRV_PID" 2>/dev/null |
        tr ' ' '\n' | grep -E '^(msgs_per_s|deliveries_per_s|handshakes_per_s|cpu_us_per_msg|missing)=' | tr '\n' ' '
    stop_server
}

for load in "echo 32 B, 16 in flight|echo|echo --url ws://127.0.0.1:PORT/ -c 100 -k 16 -s 32 -d 3s" \
            "echo 4 KiB, 16 in flight|echo|echo --url ws://127.0.0.1:PORT/ -c 100 -k 16 -s 4096 -d 3s" \
            "handshakes, 32 parallel|echo|churn --url ws://127.0.0.1:PORT/ -c 32 -s 32 -d 3s" \
            "fan-out 10k x 64 B, 16 in flight|push|fanout --url ws://127.0.0.1:PORT/ws/fan --control CTL -n 10000 -k 16 -s 64 -m 300"; do
    name=${load%%|*}
    rest=${load#*|}
    mode=${rest%%|*}
    read -r -a args <<<"${rest#*|}"
    for round in $(seq 1 "$ROUNDS"); do
        for side in A B; do
            bin=$A
            [ "$side" = B ] && bin=$B
            echo "$name  [$side, round $round]  $(run "$bin" "$mode" "${args[@]}")"
        done
    done
done
