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
PID=
cleanup() {
    [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT

# run BIN MODE LOAD-ARGS...: starts BIN in MODE, runs wsload LOAD-ARGS against it, prints
# the summary figures that matter for a comparison.
run() {
    local bin=$1 mode=$2
    shift 2
    rm -f "$TMP/ctl.sock"
    taskset -c 0 "$bin" --listen 127.0.0.1:0 --mode "$mode" --max-message 64M --control "$TMP/ctl.sock" \
        2>"$TMP/server.log" &
    PID=$!
    local port=
    for _ in $(seq 1 200); do
        port=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$TMP/server.log" | cut -d: -f2 || true)
        [ -n "$port" ] && break
        sleep 0.05
    done
    [ -n "$port" ] || { echo "server did not start: $(cat "$TMP/server.log")" >&2; exit 1; }
    local args=("$@")
    args=("${args[@]//PORT/$port}")
    args=("${args[@]//CTL/$TMP/ctl.sock}")
    taskset -c 1 "$WSLOAD" "${args[@]}" --pid "$PID" 2>/dev/null |
        tr ' ' '\n' | grep -E '^(msgs_per_s|deliveries_per_s|handshakes_per_s|cpu_us_per_msg|missing)=' | tr '\n' ' '
    kill "$PID"
    wait "$PID" 2>/dev/null || true
    PID=
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
