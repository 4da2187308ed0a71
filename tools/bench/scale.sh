#!/usr/bin/env bash
# Scaling out (run by `make bench` after the journal suite): fan-out through one process,
# through `--workers 2`, and through two nodes sharing a Redis (`--redis`, Debian's
# redis-server started here on a free loopback port, no persistence), alternating in one run,
# a fresh server (and Redis) per run, medians of REPS. Load: wsload fanout, N subscribers
# (spread evenly over the two nodes for --redis, over the workers by the kernel's accept
# queue), one relay-mode publisher on the first, 64-byte messages, 16 undelivered at once;
# every delivery checked (missing, duplicated and reordered must be 0).
#
# Figures: deliveries/s, push-to-delivery latency p50/p99, and the wspushd processes' CPU
# time per delivery (all of them: parent and workers, or both nodes; Redis' own CPU is given
# apart). Nothing is pinned: a machine with 2 cores runs the server processes, Redis and the
# load generator on the same two cores, so these figures show what each way costs per
# delivery, not how far it scales; on a head-end each worker or node has a core of its own.
#
#   tools/bench/scale.sh [BUILD_DIR]        (REPS=3, SUBS=2000, PUSHES=2000; QUICK=1: one run)
set -euo pipefail
BUILD=${1:-build}
SERVER=$BUILD/wspushd
WSLOAD=$BUILD/wsload
REPS=${REPS:-3}
SUBS=${SUBS:-2000}
PUSHES=${PUSHES:-2000}
[ "${QUICK:-0}" = 1 ] && REPS=1
OUT=$BUILD/bench
mkdir -p "$OUT"
if ! "$SERVER" --help 2>&1 | grep -q -- '--workers N'; then
    echo "scale: skipped, $SERVER has no --workers"
    exit 0
fi
TMP=$(mktemp -d /tmp/wspush-sbench.XXXXXX)
SRV_CPU=0-$(($(nproc) - 1))
# shellcheck source=tools/bench/server.sh
source "$(dirname "$0")/server.sh"
# shellcheck source=tools/bench/figures.sh
source "$(dirname "$0")/figures.sh"
B_PID= REDIS_PID=
cleanup_all() {
    [ -n "$B_PID" ] && kill "$B_PID" 2>/dev/null && wait "$B_PID" 2>/dev/null
    [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null && wait "$REDIS_PID" 2>/dev/null
    cleanup
}
trap cleanup_all EXIT
say() { echo "scale: [${SECONDS}s] $*" >&2; }
HAVE_REDIS=1
command -v redis-server >/dev/null || HAVE_REDIS=0

# A free loopback port: bound to 0 and read back (redis-server has no --port 0).
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start_redis() {
    RPORT=$(free_port)
    redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$TMP" \
        >"$TMP/redis.log" 2>&1 &
    REDIS_PID=$!
    for _ in $(seq 1 200); do
        grep -q 'Ready to accept connections' "$TMP/redis.log" && return 0
        sleep 0.05
    done
    echo "redis-server did not start: $(cat "$TMP/redis.log")" >&2
    exit 1
}
stop_redis() { kill "$REDIS_PID"; wait "$REDIS_PID" || true; REDIS_PID=; }
# The second node: its own control socket and log; sets B_PID, B_PORT.
start_node_b() {
    launch "$TMP/b.sock" "$TMP/b.log" "$@"
    B_PID=$LAUNCHED_PID
    B_PORT=$LAUNCHED_PORT
}
cpu_s() { awk '{print ($14 + $15) / 100}' "/proc/$1/stat" 2>/dev/null || echo 0; }

MODES=(one workers2)
[ "$HAVE_REDIS" = 1 ] && MODES+=(redis2)
declare -A RATE P50 P99 CPU RCPU BAD
say "$REPS rounds, $SUBS subscribers, $PUSHES pushes of 64 B, 16 in flight, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq 1 "$REPS"); do
    for mode in "${MODES[@]}"; do
        URLS=() PIDS= R0=0
        case $mode in
            one)
                start_server --mode relay
                URLS=(--url "ws://127.0.0.1:$PORT/ws/fan")
                PIDS=$SRV_PID ;;
            workers2)
                start_server --mode relay --workers 2
                URLS=(--url "ws://127.0.0.1:$PORT/ws/fan")
                # Both workers up (each answers in STATS) before the clients come.
                for _ in $(seq 1 100); do
                    echo STATS | socat -t 2 - "UNIX-CONNECT:$TMP/ctl.sock" | grep -q '"workers_answered":2' && break
                    sleep 0.05
                done
                PIDS=$SRV_PID,$(pgrep -P "$SRV_PID" | paste -sd,) ;;
            redis2)
                start_redis
                start_server --mode relay --redis "127.0.0.1:$RPORT"
                start_node_b --mode relay --redis "127.0.0.1:$RPORT"
                URLS=(--url "ws://127.0.0.1:$PORT/ws/fan" --url "ws://127.0.0.1:$B_PORT/ws/fan")
                PIDS=$SRV_PID,$B_PID
                R0=$(cpu_s "$REDIS_PID") ;;
        esac
        LINE=$("$WSLOAD" fanout "${URLS[@]}" --via relay -n "$SUBS" -k 16 -s 64 -m "$PUSHES" \
            --pid "$PIDS" --timeout 20s 2>"$TMP/wsload.err" || true)
        [ -n "$LINE" ] || { echo "scale: $mode: wsload gave no summary: $(tail -3 "$TMP/wsload.err")" >&2; exit 1; }
        if [ "$mode" = redis2 ]; then
            RCPU[$mode]+="$(awk -v a="$(cpu_s "$REDIS_PID")" -v b="$R0" -v n="$(field delivered "$LINE")" \
                'BEGIN {if (n > 0) printf "%.3f", (a - b) * 1e6 / n; else print "n/a"}') "
        fi
        RATE[$mode]+="$(field deliveries_per_s "$LINE") "
        P50[$mode]+="$(field p50_ms "$LINE") "
        P99[$mode]+="$(field p99_ms "$LINE") "
        CPU[$mode]+="$(field cpu_us_per_msg "$LINE") "
        BAD[$mode]+="$(($(field missing "$LINE") + $(field duplicated "$LINE") + $(field reordered "$LINE"))) "
        say "round $round $mode: $(field deliveries_per_s "$LINE") deliveries/s, p50 $(field p50_ms "$LINE") ms, p99 $(field p99_ms "$LINE") ms, missing $(field missing "$LINE"), duplicated $(field duplicated "$LINE"), reordered $(field reordered "$LINE")"
        stop_server
        if [ -n "$B_PID" ]; then kill "$B_PID"; wait "$B_PID" || true; B_PID=; fi
        [ -n "$REDIS_PID" ] && stop_redis
    done
done

med() { tr ' ' '\n' <<<"$1" | grep . | median; }
ONE=$(med "${RATE[one]}")
{
    echo "| fan-out, $SUBS subscribers, 64 B, 16 in flight, relay publisher | deliveries/s | vs one process | p50 / p99 ms | wspushd CPU µs per delivery | missing + duplicated + reordered |"
    echo "|---|---|---|---|---|---|"
    for mode in "${MODES[@]}"; do
        case $mode in
            one) name="one process" ;;
            workers2) name="\`--workers 2\`" ;;
            redis2) name="two nodes, \`--redis\` (Redis: $(med "${RCPU[redis2]}") µs per delivery more)" ;;
        esac
        R=$(med "${RATE[$mode]}")
        echo "| $name | $R | $(ratio "$R" "$ONE") | $(med "${P50[$mode]}") / $(med "${P99[$mode]}") | $(med "${CPU[$mode]}") | $(tr ' ' '\n' <<<"${BAD[$mode]}" | awk '{s += $1} END {print s + 0}') |"
    done
    [ "$HAVE_REDIS" = 1 ] || echo "(no redis-server here: the --redis row is left out)"
} | tee "$OUT/scale.md"
