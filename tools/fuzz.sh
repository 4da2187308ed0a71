#!/usr/bin/env bash
# Runs each libFuzzer target for SECONDS, nproc at a time (make fuzz):
#   tools/fuzz.sh DIR SECONDS TARGET...
# Target T runs in DIR/corpus/<T without _fuzz>, a working copy of tests/fuzz/corpus/<same>
# (what earlier runs found stays; the seeds in git are never written), logs to DIR/T.log
# and keeps a reproducer as DIR/crash-*, leak-*, timeout-* or oom-*. Prints a line as each
# target starts, one with its executions, exec/s and coverage as it ends, then
# "fuzz: N targets, N failed"; exits 1 if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."

dir=$1 seconds=$2
shift 2
jobs=$(nproc)

# Inputs larger than a parser ever needs to see only slow the search down: an upgrade
# head is at most 8 KiB (one more for a 431); a control line is too long past 16 + 256
# bytes in command_fuzz; the rest find their paths well within 4 KiB.
max_len() {
    case $1 in
        request_fuzz) echo 9000 ;;
        command_fuzz) echo 1024 ;;
        *) echo 4096 ;;
    esac
}

run_one() {
    local t=$1 name=${1%_fuzz}
    local corpus=$dir/corpus/$name log=$dir/$t.log
    mkdir -p "$corpus"
    [ -d "tests/fuzz/corpus/$name" ] && cp -n tests/fuzz/corpus/"$name"/* "$corpus"/ 2>/dev/null
    echo "fuzz: $t started"
    nice "$dir/$t" "$corpus" -max_total_time="$seconds" -max_len="$(max_len "$t")" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$dir/" >"$log" 2>&1
    local rc=$?
    local execs rate cov
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(grep -E '^#[0-9]+[[:space:]]+(DONE|INITED)[[:space:]]+cov:' "$log" | tail -1 | sed -E 's/.* cov: ([0-9]+) ft: ([0-9]+).*/\1 (ft \2)/')
    if [ "$rc" -eq 0 ]; then
        echo "fuzz: $t ok: ${execs:-?} executions, ${rate:-?} exec/s, cov ${cov:-?}"
    else
        local repro
        repro=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
        echo "fuzz: $t FAILED (exit $rc): $(grep -m1 -E '^==[0-9]+==ERROR|^SUMMARY|deadly signal|ALARM|out-of-memory' "$log")"
        echo "fuzz: $t   log: $log"
        [ -n "$repro" ] && echo "fuzz: $t   reproduce: $dir/$t $repro"
    fi
    echo "$rc" >"$dir/$t.rc"
}

mkdir -p "$dir"
for t in "$@"; do
    rm -f "$dir/$t.rc"
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
    run_one "$t" &
done
wait

failed=0
for t in "$@"; do
    [ "$(cat "$dir/$t.rc" 2>/dev/null)" = 0 ] || failed=$((failed + 1))
done
echo "fuzz: $# targets, $failed failed"
[ "$failed" -eq 0 ]
