#!/usr/bin/env bash
# Same-run baseline against uWebSockets: builds bench/peers/uws_push from the peers' own
# source into BUILD/peers/ (never into their tree, never into git), then runs the same
# wsload loads against wspushd and uws_push, alternating (wspushd first in odd rounds, uWS
# first in even ones), a fresh server per run pinned to CPU 0 and wsload on CPU 1, loopback
# only, each run bounded. Prints a table of medians with ratios and writes it to
# BUILD/bench/peers.md. Without the uWebSockets source it prints one line and exits 0.
#
#   tools/bench/peers.sh [BUILD_DIR]       (from the repository root; REPS=3 rounds by default)
#
# Not like for like: wspushd also keeps each channel's history (100 messages) and does its
# full upgrade (ids, since=, origins); uws_push keeps none and serves only what these loads
# use. uWebSockets is built at -O2 without its Makefile's -O3 -flto, like wspushd. The rate
# figures are near what one wsload core can take in; the CPU figures say more.
#
# Sources: UWS_DIR and USOCKETS_DIR, each a git directory (exported at HEAD) or an exported
# tree (uWebSockets' src/App.h, uSockets' src/libusockets.h at its top). Without
# USOCKETS_DIR's source, a uSockets/ inside the uWebSockets tree is used.
set -euo pipefail
BUILD=${1:-build}
UWS_DIR=${UWS_DIR:-/work/.mirror/uNetworking+uWebSockets/repo}
USOCKETS_DIR=${USOCKETS_DIR:-/work/.mirror/uNetworking+uSockets/repo}
REPS=${REPS:-3}
PEERS=$BUILD/peers
OUT=$BUILD/bench
WSLOAD=$BUILD/wsload
LOAD_CPU=1
if [ "$(nproc)" -lt 2 ]; then LOAD_CPU=0; fi
say() { echo "peers: [${SECONDS}s] $*" >&2; }

# source_tree DIR SENTINEL NAME: prints the tree to build from: DIR itself when it is an
# exported tree, or DIR's HEAD exported to $PEERS/src/NAME-<commit> (once). Prints nothing
# when DIR holds neither.
source_tree() {
    local dir=$1 sentinel=$2 name=$3 commit
    if [ -f "$dir/$sentinel" ]; then
        echo "$dir"
    elif commit=$(git -C "$dir" rev-parse --verify -q 'HEAD^{commit}' 2>/dev/null); then
        local to=$PEERS/src/$name-${commit:0:12}
        if [ ! -f "$to/$sentinel" ]; then
            say "exporting $name ${commit:0:12} from $dir"
            rm -rf "$to.tmp" && mkdir -p "$to.tmp"
            git -C "$dir" archive HEAD src | tar -x -C "$to.tmp"
            mv "$to.tmp" "$to"
        fi
        echo "$to"
    fi
}

UWS=$(source_tree "$UWS_DIR" src/App.h uWebSockets)
if [ -z "$UWS" ]; then
    echo "peers: skipped, no uWebSockets source at UWS_DIR=$UWS_DIR"
    exit 0
fi
USOCKETS=$(source_tree "$USOCKETS_DIR" src/libusockets.h uSockets)
if [ -z "$USOCKETS" ] && [ -f "$UWS/uSockets/src/libusockets.h" ]; then USOCKETS=$UWS/uSockets; fi
if [ -z "$USOCKETS" ]; then
    echo "peers: skipped, no uSockets source at USOCKETS_DIR=$USOCKETS_DIR (nor in $UWS/uSockets)"
    exit 0
fi
# uWebSockets pins its uSockets as a submodule: say so when the one we build is another.
if PIN=$(git -C "$UWS_DIR" rev-parse -q --verify 'HEAD:uSockets' 2>/dev/null) &&
    HAVE=$(git -C "$USOCKETS_DIR" rev-parse -q --verify 'HEAD^{commit}' 2>/dev/null) && [ "$PIN" != "$HAVE" ]; then
    say "note: uWebSockets pins uSockets ${PIN:0:12}, building ${HAVE:0:12}"
fi

# Objects and binary per pair of trees, so that switching sources rebuilds.
KEY=$(basename "$UWS")+$(basename "$USOCKETS")
PEER=$PEERS/uws_push-$KEY
say "building $PEER (uSockets epoll, no SSL, -O2)"
nice make -s -j2 -f bench/peers/peers.mk UWS="$UWS" USOCKETS="$USOCKETS" OBJ="$PEERS/obj-$KEY" OUT="$PEER"
nice make -s -j2 BUILD="$BUILD" "$BUILD/wspushd" "$BUILD/wsload"

mkdir -p "$OUT"
TMP=$(mktemp -d /tmp/wspush-peers.XXXXXX)
# shellcheck source=tools/bench/server.sh
source "$(dirname "$0")/server.sh"
# shellcheck source=tools/bench/figures.sh
source "$(dirname "$0")/figures.sh"

# The loads: name | server mode | wsload arguments (PORT and CTL stand for the server's).
LOADS=(
    "fan-out 10k x 64 B, 16 in flight, control socket|push|fanout --url ws://127.0.0.1:PORT/ws/fan --control CTL -n 10000 -k 16 -s 64 -m 1000"
    "fan-out 10k x 64 B, 16 in flight, relay client|relay|fanout --url ws://127.0.0.1:PORT/ws/fan --via relay -n 10000 -k 16 -s 64 -m 1000"
    "fan-out 10k x 64 B at 10 pushes/s|push|fanout --url ws://127.0.0.1:PORT/ws/fan --control CTL -n 10000 -s 64 --rate 10 -m 50"
    "echo 32 B, 100 conns, 16 in flight|echo|echo --url ws://127.0.0.1:PORT/ -c 100 -k 16 -s 32 -d 3s"
)
declare -A FIG  # FIG[load,side,figure] = the runs' values, one a line
FAILED=0

# run SIDE MODE ARGS...: one bounded run of wsload ARGS against a fresh server of SIDE; its
# summary line goes to LINE (empty if wsload printed none).
LINE=
run() {
    local side=$1 mode=$2 rc=0
    shift 2
    SERVER=$BUILD/wspushd
    [ "$side" = uws ] && SERVER=$PEER
    start_server --mode "$mode" --max-message 64M
    local args=("$@")
    args=("${args[@]//PORT/$PORT}")
    args=("${args[@]//CTL/$TMP/ctl.sock}")
    LINE=$(timeout 60 taskset -c $LOAD_CPU "$WSLOAD" "${args[@]}" --pid "$SRV_PID" 2>"$TMP/wsload.err") || rc=$?
    stop_server
    if [ $rc -ne 0 ]; then
        FAILED=$((FAILED + 1))
        say "$side: wsload ${args[0]} failed (exit $rc): $(tail -n 3 "$TMP/wsload.err" | tr '\n' ' ') $LINE"
    fi
}

# keep LOAD SIDE FIGURE VALUE: adds one run's value.
keep() { FIG[$1,$2,$3]+="$4"$'\n'; }

for round in $(seq 1 "$REPS"); do
    sides=(wspushd uws)
    [ $((round % 2)) = 0 ] && sides=(uws wspushd)
    for i in "${!LOADS[@]}"; do
        rest=${LOADS[$i]#*|}
        mode=${rest%%|*}
        read -r -a args <<<"${rest#*|}"
        for side in "${sides[@]}"; do
            run "$side" "$mode" "${args[@]}"
            rate=$(field msgs_per_s "$LINE")
            [ "${args[0]}" = fanout ] && rate=$(field deliveries_per_s "$LINE")
            keep "$i" "$side" rate "$rate"
            keep "$i" "$side" cpu "$(field cpu_us_per_msg "$LINE")"
            keep "$i" "$side" p50 "$(field p50_ms "$LINE")"
            keep "$i" "$side" p99 "$(field p99_ms "$LINE")"
            keep "$i" "$side" core "$(awk -v c="$(field server_cpu_s "$LINE")" -v s="$(field secs "$LINE")" \
                'BEGIN {if (s > 0) printf "%.1f", 100 * c / s}')"
            say "round $round, ${LOADS[$i]%%|*}, $side: $rate/s, p99 $(field p99_ms "$LINE")$(field p99_us "$LINE")"
        done
    done
done

ROWS=()
# row LOAD FIGURE TEXT: medians of both sides and their ratio.
row() {
    local a b
    a=$(printf '%s' "${FIG[$1,wspushd,$2]:-}" | grep . | median)
    b=$(printf '%s' "${FIG[$1,uws,$2]:-}" | grep . | median)
    ROWS+=("| ${LOADS[$1]%%|*} | $3 | $a | $b | $(ratio "$a" "$b") |")
}
for i in "${!LOADS[@]}"; do
    case $i in
        0 | 1) row "$i" rate "deliveries/s"; row "$i" cpu "server CPU us/delivery" ;;
        2) row "$i" p50 "p50 ms"; row "$i" p99 "p99 ms"; row "$i" core "server CPU, % of a core" ;;
        3) row "$i" rate "msgs/s"; row "$i" cpu "server CPU us/msg" ;;
    esac
done
{
    echo "| load | figure | wspushd | uWebSockets | wspushd / uWS |"
    echo "| --- | --- | --- | --- | --- |"
    printf '%s\n' "${ROWS[@]}"
    echo
    echo "Medians of $REPS alternating runs each; uWebSockets $(basename "$UWS"), uSockets $(basename "$USOCKETS")." \
        "A ratio above 1 favours wspushd for rates, uWS for CPU and latency.$([ $FAILED -gt 0 ] && echo " $FAILED runs failed their checks.")"
} | tee "$OUT/peers.md"
