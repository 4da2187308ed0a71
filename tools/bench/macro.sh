#!/usr/bin/env bash
# The macro benchmark suite behind `make bench`: wspushd pinned to CPU 0, the load generator
# (tools/wsload) on CPU 1, loopback only, every run bounded. Prints one table (medians of
# REPS runs where a figure is a rate) and writes it to $BUILD/bench/macro.md.
#
#   tools/bench/macro.sh [BUILD_DIR]        (REPS=3 by default; QUICK=1 for one run each)
set -euo pipefail
BUILD=${1:-build}
SERVER=$BUILD/wspushd
WSLOAD=$BUILD/wsload
REPS=${REPS:-3}
[ "${QUICK:-0}" = 1 ] && REPS=1
OUT=$BUILD/bench
mkdir -p "$OUT"
TMP=$(mktemp -d /tmp/wspush-bench.XXXXXX)
LOAD_CPU=1
if [ "$(nproc)" -lt 2 ]; then LOAD_CPU=0; fi
# shellcheck source=tools/bench/server.sh
source "$(dirname "$0")/server.sh"
# shellcheck source=tools/bench/figures.sh
source "$(dirname "$0")/figures.sh"
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
# Private (anonymous) resident memory: what connections cost. VmRSS also counts the shared
# libc pages the first requests happen to fault in (±200 KiB from run to run).
anon_kb() { awk '/^RssAnon:/ {print $2}' "/proc/$1/status"; }
load() { taskset -c $LOAD_CPU "$WSLOAD" "$@"; }

ROWS=()
row() { ROWS+=("$(printf '| %s | %s | %s |' "$1" "$2" "$3")"); echo "  [${SECONDS}s] $1: $2 ($3)" >&2; }

# ---------------------------------------------------------------- footprint
strip -o "$TMP/wspushd.stripped" "$SERVER"
SIZE=$(stat -c %s "$TMP/wspushd.stripped")
LIBS=$(ldd "$SERVER" | awk '$1 !~ /linux-vdso|ld-linux/ {print $1}' | sed 's/\.so.*//' | tr '\n' ' ')
row "stripped binary" "$((SIZE / 1024)) KiB" "shared libraries: ${LIBS:-none}"
if [ -x "$SERVER-static" ]; then
    strip -o "$TMP/wspushd-static.stripped" "$SERVER-static"
    row "stripped static binary (make static)" "$(($(stat -c %s "$TMP/wspushd-static.stripped") / 1024)) KiB" \
        "no shared library at all (glibc linked in)"
fi

if [ -x "$SERVER-static" ]; then
    DYNAMIC=$SERVER
    SERVER=$SERVER-static
    start_server
    row "resident memory at rest, static build" "$(rss_kb "$SRV_PID") KiB" \
        "push mode, control socket open; of it private: $(awk '/^RssAnon:/ {print $2}' "/proc/$SRV_PID/status") KiB"
    stop_server
    SERVER=$DYNAMIC
fi
start_server
REST=$(rss_kb "$SRV_PID")
ANON_REST=$(anon_kb "$SRV_PID")
row "resident memory at rest" "$REST KiB" \
    "push mode, control socket open; of it libc and ld.so pages shared with every process: $(awk '/libc\.so|ld-linux/ {f=1} /^[0-9a-f]+-/ && !/libc\.so|ld-linux/ {f=0} f && /^Rss:/ {s+=$2} END {print s+0}' "/proc/$SRV_PID/smaps") KiB"

# ---------------------------------------------------------------- idle connections
for N in 10000 19500; do
    # Each count on a fresh server: what it then holds is the connections' alone (after the
    # first count's clients leave, the heap may keep some of what they used).
    if [ "$N" != 10000 ]; then
        stop_server
        start_server
        REST=$(rss_kb "$SRV_PID")
        ANON_REST=$(anon_kb "$SRV_PID")
    fi
    rm -f "$TMP/ready"
    # Not through load(): $! must be wsload itself, for the SIGINT that ends the hold.
    taskset -c $LOAD_CPU "$WSLOAD" idle --url "ws://127.0.0.1:$PORT/ws/idle" -n $N -d 120s \
        --hold-file "$TMP/ready" >"$TMP/idle.out" 2>"$TMP/idle.err" &
    LPID=$!
    for _ in $(seq 1 1200); do [ -s "$TMP/ready" ] && break; sleep 0.1; done
    HELD=$(rss_kb "$SRV_PID")
    ANON_HELD=$(anon_kb "$SRV_PID")
    CONNS=$(echo STATS | socat -t 5 - UNIX-CONNECT:"$TMP/ctl.sock" | grep -o '"connections":[0-9]*' | cut -d: -f2)
    kill -INT $LPID 2>/dev/null || true
    wait $LPID 2>/dev/null || true
    PER=$(( (ANON_HELD - ANON_REST) * 1024 / (CONNS > 0 ? CONNS : 1) ))
    row "resident memory per idle connection, $N" "$PER B" \
        "$CONNS connected, each in a channel with its heartbeat armed; private RSS $ANON_HELD KiB against $ANON_REST KiB at rest (VmRSS $HELD KiB against $REST: $(( (HELD - REST) * 1024 / (CONNS > 0 ? CONNS : 1) )) B each)"
    # Let the server notice the closes before the next step.
    for _ in $(seq 1 100); do
        C=$(echo STATS | socat -t 5 - UNIX-CONNECT:"$TMP/ctl.sock" | grep -o '"connections":[0-9]*' | cut -d: -f2)
        [ "${C:-1}" = 0 ] && break
        sleep 0.1
    done
done
# Memory comes back once the clients are gone (the server trims about a second after).
back_within() {  # back_within PID BASE_KB LIMIT_KB: polls up to 5 s; prints the final RSS
    local r
    for _ in $(seq 1 50); do r=$(rss_kb "$1"); [ $((r - $2)) -le "$3" ] && break; sleep 0.1; done
    echo "$r"
}
AFTER=$(back_within "$SRV_PID" "$REST" 512)
row "resident memory after 19,500 clients left" "$((AFTER - REST)) KiB above rest" \
    "RSS $AFTER KiB against $REST KiB before them (limit: 512 KiB)"
stop_server

# ---------------------------------------------------------------- echo
start_server --mode echo --max-message 64M
ECHO_REST=$(rss_kb "$SRV_PID")
load echo --url "ws://127.0.0.1:$PORT/" -c 1 -k 1 -s 16777216 -d 1s --pid "$SRV_PID" >/dev/null
AFTER=$(back_within "$SRV_PID" "$ECHO_REST" 1024)
row "resident memory after 16 MiB echoes" "$((AFTER - ECHO_REST)) KiB above rest" \
    "RSS $AFTER KiB against $ECHO_REST KiB before (limit: 1 MiB)"
for spec in "1 32" "16 32" "1 4096" "16 4096"; do
    set -- $spec
    rates=(); cpus=()
    for _ in $(seq 1 "$REPS"); do
        line=$(load echo --url "ws://127.0.0.1:$PORT/" -c 100 -k "$1" -s "$2" -d 3s --pid "$SRV_PID")
        rates+=("$(field msgs_per_s "$line")")
        cpus+=("$(field cpu_us_per_msg "$line")")
        P99=$(field p99_us "$line")
    done
    row "echo, 100 conns, $2 B, $1 in flight" "$(printf '%s\n' "${rates[@]}" | median) msgs/s" \
        "server CPU $(printf '%s\n' "${cpus[@]}" | median) us/msg; p99 ${P99} us"
done

# ---------------------------------------------------------------- churn
rates=(); cpus=()
for _ in $(seq 1 "$REPS"); do
    line=$(load churn --url "ws://127.0.0.1:$PORT/" -c 32 -s 32 -d 3s --pid "$SRV_PID")
    rates+=("$(field handshakes_per_s "$line")")
    cpus+=("$(field cpu_us_per_msg "$line")")
done
row "handshakes (connect, upgrade, 1 echo, close), 32 parallel" "$(printf '%s\n' "${rates[@]}" | median) /s" \
    "server CPU $(printf '%s\n' "${cpus[@]}" | median) us each"
stop_server

# ---------------------------------------------------------------- fan-out
# stat NAME: one STATS counter of the running server (over its control socket).
stat() { echo STATS | socat -t 2 - "UNIX-CONNECT:$TMP/ctl.sock" | grep -o "\"$1\":[0-9]*" | cut -d: -f2; }
# fanout_runs LABEL ARGS...: REPS runs of `wsload fanout ARGS` (16 in flight) and one row with
# the median rate and CPU, and the send calls behind them (STATS writes and messages_out
# across all runs: flushes per delivery and frames per flush; a flush is one writev of up to 64
# frames unless the socket fills).
fanout_runs() {
    local label=$1 w0 m0 w1 m1
    shift
    rates=(); cpus=()
    w0=$(stat writes); m0=$(stat messages_out)
    for _ in $(seq 1 "$REPS"); do
        line=$(load fanout "$@" -n 10000 -k 16 -s 64 -m 300 --pid "$SRV_PID")
        rates+=("$(field deliveries_per_s "$line")")
        cpus+=("$(field cpu_us_per_msg "$line")")
        bad="missing=$(field missing "$line") duplicated=$(field duplicated "$line") reordered=$(field reordered "$line")"
    done
    w1=$(stat writes); m1=$(stat messages_out)
    row "$label" "$(printf '%s\n' "${rates[@]}" | median) deliveries/s" \
        "server CPU $(printf '%s\n' "${cpus[@]}" | median) us/delivery; $(awk -v w=$((w1 - w0)) -v m=$((m1 - m0)) \
        'BEGIN {printf "%.3f flushes per delivery, %.1f frames per flush", w / m, m / w}'); $bad"
}
start_server
fanout_runs "fan-out to 10k subscribers, 64 B, 16 pushes in flight (control socket)" \
    --url "ws://127.0.0.1:$PORT/ws/fan" --control "$TMP/ctl.sock"
line=$(load fanout --url "ws://127.0.0.1:$PORT/ws/fan10" --control "$TMP/ctl.sock" -n 10000 -s 64 --rate 10 -m 100 --pid "$SRV_PID")
CPU_S=$(field server_cpu_s "$line")
SECS=$(field secs "$line")
row "fan-out to 10k subscribers at 10 pushes/s" "p50 $(field p50_ms "$line") ms, p99 $(field p99_ms "$line") ms" \
    "max $(field max_ms "$line") ms; server CPU $(awk -v c="$CPU_S" -v s="$SECS" 'BEGIN {printf "%.0f%%", 100*c/s}') of a core; missing=$(field missing "$line")"
stop_server
start_server --mode relay
fanout_runs "fan-out to 10k subscribers, 64 B, 16 pushes in flight (relay client)" \
    --url "ws://127.0.0.1:$PORT/ws/fanr" --via relay
stop_server

# ---------------------------------------------------------------- webhook
# One robot whose limit never throttles these runs (1000 per 1 ms window; refused, not
# digested, if it ever did, so that shows as failed requests). Every run has one subscriber
# that checks it gets each push once, in order: one delivery per push in every row.
TOKEN=wsload-bench-token
start_server --robot "$TOKEN bench rate=1000/1ms throttle=0 overflow=refuse"
HOOK=(--url "ws://127.0.0.1:$PORT/ws/bench" -s 64 -d 2s --pid "$SRV_PID")
# hook_runs ARGS...: REPS runs of `wsload webhook ARGS`; sets RATE, CPU (medians), P99 and
# FAILED (of the last run; any failure also fails the suite through set -e).
hook_runs() {
    local rates=() cpus=() line
    for _ in $(seq 1 "$REPS"); do
        line=$(load webhook "${HOOK[@]}" "$@")
        rates+=("$(field requests_per_s "$line")")
        cpus+=("$(field cpu_us_per_msg "$line")")
        P99=$(field p99_us "$line")
        FAILED=$(field failed "$line")
    done
    RATE=$(printf '%s\n' "${rates[@]}" | median)
    CPU=$(printf '%s\n' "${cpus[@]}" | median)
}
hook_runs --via control --control "$TMP/ctl.sock" -c 8 -k 16
CTL_RATE=$RATE
CTL_CPU=$CPU
row "control-socket PUB baseline, 8 conns x 16 in flight, 64 B" "$RATE pushes/s" \
    "server CPU $CPU us/push; p99 ${P99} us; failed=$FAILED"
hook_runs --token "$TOKEN" -c 8 -k 16
KA_RATE=$RATE
row "webhook POST /push, keep-alive, 8 conns x 16 in flight, 64 B" "$RATE pushes/s" \
    "$(ratio "$RATE" "$CTL_RATE") of the control socket; server CPU $CPU us/push ($(ratio "$CPU" "$CTL_CPU") of PUB's); p99 ${P99} us; failed=$FAILED"
hook_runs --token "$TOKEN" --no-keepalive -c 32
row "webhook POST /push, a connection per push, 32 concurrent, 64 B" "$RATE pushes/s" \
    "$(ratio "$RATE" "$CTL_RATE") of the control socket, $(ratio "$RATE" "$KA_RATE") of keep-alive; server CPU $CPU us/push ($(ratio "$CPU" "$CTL_CPU") of PUB's); p99 ${P99} us; failed=$FAILED"
hook_runs --token "$TOKEN" --robot -c 8 -k 16
row "webhook POST /robot/send (text card), keep-alive, 8 conns x 16 in flight, 64 B" "$RATE pushes/s" \
    "$(ratio "$RATE" "$CTL_RATE") of the control socket, $(ratio "$RATE" "$KA_RATE") of /push; server CPU $CPU us/push ($(ratio "$CPU" "$CTL_CPU") of PUB's); p99 ${P99} us; failed=$FAILED"
stop_server

{
    echo "| measure | figure | notes |"
    echo "| --- | --- | --- |"
    printf '%s\n' "${ROWS[@]}"
} | tee "$OUT/macro.md"
