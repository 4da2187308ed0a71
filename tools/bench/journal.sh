#!/usr/bin/env bash
# What the journal costs (run by `make bench` after the macro suite): control-socket PUB
# rates and push-to-OK latency with no journal and under --fsync never, batch and always,
# alternating in one run (a fresh server and a fresh journal directory per run), medians of
# REPS; then start-up time, from the fork to the "listening on" line, and the server's CPU
# time by then, with no journal, an empty one and a full one (about --journal-max 64M over
# 1000 channels; page cache warm, then dropped), medians of STARTS (5), with the recovery
# line the server logs. Server pinned to CPU 0, wsload on CPU 1, loopback only, every run bounded.
# Prints two tables and writes them to $BUILD/bench/journal.md.
#
#   tools/bench/journal.sh [BUILD_DIR]      (REPS=3 by default; QUICK=1 for one run each)
#
# The journal directories live under $BUILD/bench (on disk: fdatasync on tmpfs costs
# nothing), are created per run and removed at the end; the filesystem is named in the
# output, since what fdatasync costs depends on it.
set -euo pipefail
BUILD=${1:-build}
SERVER=$BUILD/wspushd
WSLOAD=$BUILD/wsload
REPS=${REPS:-3}
STARTS=${STARTS:-5}
[ "${QUICK:-0}" = 1 ] && REPS=1 && STARTS=1
OUT=$BUILD/bench
mkdir -p "$OUT"
if ! "$SERVER" --help 2>&1 | grep -q -- '--journal DIR'; then
    echo "journal: skipped, $SERVER has no --journal"
    exit 0
fi
TMP=$(mktemp -d /tmp/wspush-jbench.XXXXXX)  # control socket and logs
LOAD_CPU=1
if [ "$(nproc)" -lt 2 ]; then LOAD_CPU=0; fi
# shellcheck source=tools/bench/server.sh
source "$(dirname "$0")/server.sh"
# shellcheck source=tools/bench/figures.sh
source "$(dirname "$0")/figures.sh"
JROOT=$(mktemp -d "$OUT/journal.XXXXXX")  # the journals: on the build's disk
trap 'cleanup; rm -rf "$JROOT"' EXIT
FS=$(df -T "$JROOT" | awk 'NR == 2 {print $2 " on " $1}')
case "$FS" in tmpfs*|ramfs*) echo "journal: $JROOT is on $FS: the sync figures would mean nothing" >&2; exit 1 ;; esac
say() { echo "journal: [${SECONDS}s] $*" >&2; }
load() { taskset -c $LOAD_CPU "$WSLOAD" "$@"; }
# jstat KEY: one figure of STATS' "journal" object (n/a without it).
jstat() {
    echo STATS | socat -t 2 - "UNIX-CONNECT:$TMP/ctl.sock" | grep -o '"journal":{[^}]*}' |
        grep -o "\"$1\":[0-9]*" | cut -d: -f2 | grep . || echo n/a
}
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
say "journals under $JROOT ($FS), $REPS rounds, load average $LOAD_BEFORE"

# ---------------------------------------------------------------- PUB, per fsync policy
# Per round, the four configurations in turn, each on a fresh server (and journal): 64-byte
# PUBs on one control connection, 16 unanswered for 2 s, then one at a time for 2 s (each
# push sent when the previous OK came). One subscriber checks every push arrives once, in
# order. Syncs per push: the journal's fdatasync calls over its appended records.
POLICIES=(off never batch always)
declare -A RATE16 P50_16 P99_16 CPU16 SYNCS16 RATE1 P50_1 P99_1 SYNCS1
# syncs_per_push: sets SPP to the fdatasync calls per appended record since the previous
# call on this server (not in a $(...): SYNCS0 and APPENDED0 must stay set).
SYNCS0=0 APPENDED0=0 SPP=n/a
syncs_per_push() {
    local s a
    s=$(jstat syncs) a=$(jstat appended)
    SPP=$(awk -v s=$((s - SYNCS0)) -v a=$((a - APPENDED0)) 'BEGIN {if (a > 0) printf "%.3f", s / a; else print "n/a"}')
    SYNCS0=$s APPENDED0=$a
}
for round in $(seq 1 "$REPS"); do
    for p in "${POLICIES[@]}"; do
        args=()
        [ "$p" != off ] && args=(--journal "$JROOT/pub-$p-$round" --fsync "$p")
        start_server "${args[@]}"
        SYNCS0=0 APPENDED0=0
        ctl=(--url "ws://127.0.0.1:$PORT/ws/jbench" --via control --control "$TMP/ctl.sock" -c 1 -s 64 -d 2s --pid "$SRV_PID")
        line=$(load webhook "${ctl[@]}" -k 16 -m 2000000)
        if [ "$p" != off ]; then syncs_per_push && SYNCS16[$p]+="$SPP "; fi
        RATE16[$p]+="$(field requests_per_s "$line") "
        P50_16[$p]+="$(field p50_us "$line") "
        P99_16[$p]+="$(field p99_us "$line") "
        CPU16[$p]+="$(field cpu_us_per_msg "$line") "
        line1=$(load webhook "${ctl[@]}" -k 1 -m 1000000)
        RATE1[$p]+="$(field requests_per_s "$line1") "
        P50_1[$p]+="$(field p50_us "$line1") "
        P99_1[$p]+="$(field p99_us "$line1") "
        if [ "$p" != off ]; then syncs_per_push && SYNCS1[$p]+="$SPP "; fi
        stop_server
        rm -rf "$JROOT/pub-$p-$round"
        say "round $round, $p: 16 in flight $(field requests_per_s "$line")/s p99 $(field p99_us "$line") us;" \
            "1 at a time $(field requests_per_s "$line1")/s p50 $(field p50_us "$line1") us"
    done
done
med() { tr ' ' '\n' <<<"$1" | { grep . || true; } | median; }
# jratio A B: ratio's A / B, to three decimals below 0.1.
jratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (!(b + 0 > 0) || a == "n/a") print "n/a"; else if (a / b < 0.1) printf "%.3fx", a / b; else printf "%.2fx", a / b}'; }
# lat US: a latency in microseconds as 35.6 µs, 356 µs or 3.56 ms.
lat() { awk -v n="$1" 'BEGIN {if (n >= 1000) printf "%.2f ms", n / 1000; else if (n >= 100) printf "%.0f µs", n; else printf "%.1f µs", n}'; }
# short N: a rate as 314k or 1.23M.
short() { awk -v n="$1" 'BEGIN {if (n >= 1e6) printf "%.2fM", n / 1e6; else if (n >= 1e4) printf "%.0fk", n / 1e3; else if (n >= 1e3) printf "%.1fk", n / 1e3; else printf "%.0f", n}'; }
PUB_ROWS=()
for p in "${POLICIES[@]}"; do
    r16=$(med "${RATE16[$p]}"); r1=$(med "${RATE1[$p]}")
    p50=$(med "${P50_16[$p]}"); p99=$(med "${P99_16[$p]}")
    q50=$(med "${P50_1[$p]}"); q99=$(med "${P99_1[$p]}")
    if [ "$p" = off ]; then
        B16=$r16 B1=$r1
        label="no journal (baseline)" syncs="-"
        vs16="" vs1=""
    else
        label="--fsync $p" syncs="$(med "${SYNCS16[$p]}") / $(med "${SYNCS1[$p]}")"
        vs16=" ($(jratio "$r16" "$B16"))" vs1=" ($(jratio "$r1" "$B1"))"
    fi
    PUB_ROWS+=("$(printf '| %s | %s%s | %s / %s | %s%s | %s / %s | %s | %s µs |' \
        "$label" "$(short "$r16")" "$vs16" "$(lat "$p50")" "$(lat "$p99")" "$(short "$r1")" "$vs1" \
        "$(lat "$q50")" "$(lat "$q99")" "$syncs" "$(awk -v c="$(med "${CPU16[$p]}")" 'BEGIN {printf "%.1f", c}')")")
done

# ---------------------------------------------------------------- start-up
# start_timed ARGS...: start_server's job, timed: sets UP_MS to the milliseconds from just
# before the fork to reading the "listening on" line from the server's stderr (a FIFO read
# as it comes, not polled), UP_CPU to the server's CPU milliseconds by then, and RECOVERY to the journal's recovery line, if any.
start_timed() {
    rm -f "$TMP/ctl.sock" "$TMP/log.fifo"
    mkfifo "$TMP/log.fifo"
    local t0 t1="" line fd
    : >"$TMP/server.log"
    t0=$EPOCHREALTIME
    taskset -c "$SRV_CPU" "$SERVER" --listen 127.0.0.1:0 --control "$TMP/ctl.sock" "$@" 2>"$TMP/log.fifo" &
    SRV_PID=$!
    exec {fd}<"$TMP/log.fifo"
    while IFS= read -r -t 60 -u "$fd" line; do
        printf '%s\n' "$line" >>"$TMP/server.log"
        if [[ $line == *"listening on 127.0.0.1:"* ]]; then
            t1=$EPOCHREALTIME
            break
        fi
    done
    # The rest of the log, until the server exits (and the FIFO's writer with it).
    cat <&"$fd" >>"$TMP/server.log" &
    LOGCAT=$!
    exec {fd}<&-
    if [ -z "$t1" ]; then
        echo "server did not start: $(cat "$TMP/server.log")" >&2
        exit 1
    fi
    PORT=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$TMP/server.log" | cut -d: -f2)
    UP_MS=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", (b - a) * 1000}')
    # CPU time so far (scheduler accounting, ns resolution; n/a where the kernel hides it):
    # unlike UP_MS, not lengthened by other work on the machine.
    UP_CPU=$(awk '/^se.sum_exec_runtime/ {printf "%.1f", $3; f=1} END {if (!f) print "n/a"}' "/proc/$SRV_PID/sched" 2>/dev/null || echo n/a)
    RECOVERY=$(grep -o "journal [^ ]*: [0-9]* channels.*" "$TMP/server.log" | head -1 || true)
}
# evict DIR: drops DIR's files from the page cache (written back first), so that the next
# start reads them from the disk (as far as the virtual disk's host lets it).
evict() {
    sync "$1"/*
    for f in "$1"/*; do dd if="$f" iflag=nocache count=0 status=none; done
}

# The full journal: 256-byte PUBs over 1000 channels (16 in flight on 4 connections) until
# the journal holds 56 MiB, then 50,000 pushes (about 14 MiB) more, so that retention has dropped segments and
# copied their live records forward, as on a server that has run a while.
FULL=$JROOT/full
start_server --journal "$FULL" --journal-max 64M --fsync never
filled=0 chunks=0 extra=-1
while [ "$chunks" -lt 40 ]; do
    line=$(load webhook --url "ws://127.0.0.1:$PORT/ws/fill" --via control --control "$TMP/ctl.sock" \
        --channels 1000 -n 0 -c 4 -k 16 -s 256 -m 50000 -d 60s)
    filled=$((filled + $(field ok "$line")))
    chunks=$((chunks + 1))
    bytes=$(jstat bytes)
    say "filling: $filled pushes, journal $((bytes >> 20)) MiB in $(jstat segments) segments"
    if [ "$extra" -lt 0 ] && [ "$bytes" -ge $((56 << 20)) ]; then extra=$filled; fi
    if [ "$extra" -ge 0 ] && [ $((filled - extra)) -ge 50000 ]; then break; fi
done
FULL_BYTES=$(jstat bytes)
FULL_SEGS=$(jstat segments)
stop_server
FULL_DU=$(du -sm "$FULL" | cut -f1)
# Every start adds a segment and may seal, index or drop others: each timed start gets its
# own copy of the journal as filled, all made (and written back to the disk) before the
# first start, so that no start's own fdatasyncs wait behind the writeback of a copy.
say "copying the filled journal for $((2 * STARTS)) timed starts"
for i in $(seq 1 $((2 * STARTS))); do cp -a "$FULL" "$JROOT/full-$i"; done
rm -rf "$FULL"
sync -f "$JROOT"

declare -A UP CPU RMS REC
STARTUPS=("none" "empty" "full" "full-evicted")
for round in $(seq 1 "$STARTS"); do
    took=()
    for s in "${STARTUPS[@]}"; do
        dir=$JROOT/full-$((2 * round - 1))
        case $s in
            none) start_timed ;;
            empty)
                dir=$JROOT/empty-$round
                start_timed --journal "$dir"
                ;;
            full) start_timed --journal "$dir" --journal-max 64M ;;
            full-evicted)
                dir=$JROOT/full-$((2 * round))
                evict "$dir"
                start_timed --journal "$dir" --journal-max 64M
                ;;
        esac
        UP[$s]+="$UP_MS "
        CPU[$s]+="$UP_CPU "
        took+=("$s $UP_MS ms")
        if [ -n "$RECOVERY" ]; then
            REC[$s]="journal DIR:${RECOVERY#*:}"
            RMS[$s]+="$(grep -o 'recovered in [0-9]* ms' <<<"$RECOVERY" | cut -d' ' -f3) "
        fi
        stop_server
        wait "$LOGCAT"
        if [ "$s" != none ]; then rm -rf "$dir"; fi
    done
    say "start-up round $round: $(IFS=,; echo "${took[*]}")"
done
UP_NONE=$(med "${UP[none]}")
START_ROWS=()
for s in "${STARTUPS[@]}"; do
    up=$(med "${UP[$s]}")
    case $s in
        none) label="no journal (baseline)" ;;
        empty) label="empty journal (a new directory)" ;;
        full) label="full journal, $((FULL_BYTES >> 20)) MiB in $FULL_SEGS segments, 1000 channels, page cache warm" ;;
        full-evicted) label="the same, its files dropped from the page cache first" ;;
    esac
    delta=$(awk -v a="$up" -v b="$UP_NONE" 'BEGIN {printf "%+.1f ms", a - b}')
    rms=$(med "${RMS[$s]:-}")
    START_ROWS+=("$(printf '| %s | %s ms | %s | %s ms | %s | %s |' "$label" "$up" "$([ "$s" = none ] && echo - || echo "$delta")" \
        "$(med "${CPU[$s]}")" "$([ "$rms" = n/a ] && echo - || echo "$rms ms")" "${REC[$s]:--}")")
done

{
    echo "Journal on $FS; $REPS rounds, medians; 64-byte PUBs, one control connection, one subscriber checking;"
    echo "load average $LOAD_BEFORE before, $(cut -d' ' -f1-3 /proc/loadavg) after."
    echo
    echo "| journal | 16 in flight: pushes/s | p50 / p99 push-to-OK | 1 at a time: pushes/s | p50 / p99 | fdatasyncs per push (16 / 1) | server CPU per push (16 in flight) |"
    echo "| --- | --- | --- | --- | --- | --- | --- |"
    printf '%s\n' "${PUB_ROWS[@]}"
    echo
    echo "Start-up, fork to the \"listening on\" line, medians of $STARTS (filled with $filled pushes of 256 B, du $FULL_DU MiB):"
    echo
    echo "| start-up | time | against no journal | server CPU by then | \"recovered in\" | recovery line (the last start's) |"
    echo "| --- | --- | --- | --- | --- | --- |"
    printf '%s\n' "${START_ROWS[@]}"
} | tee "$OUT/journal.md"
