#!/usr/bin/env bash
# Runs a GoogleTest binary in parallel shards (GTEST_TOTAL_SHARDS/GTEST_SHARD_INDEX: each
# shard runs every Nth test), prints each shard's finished suites as they end, then the
# failures in full and one summary line over all shards: "N passed, N failed, N skipped".
# Most tests wait on sockets, timers and child processes rather than compute, so shards
# overlap well even on one or two cores.
#   tools/run-tests.sh BINARY [GoogleTest flags...]
# TEST_SHARDS sets the number of shards (default: twice the cores). Tests matching
# TEST_SERIAL (GoogleTest patterns, default below) run after the shards, alone: they load the
# whole machine (thousands of sockets, the kernel's TCP memory) and would disturb tests that
# run beside them. Each run's whole output is kept in <BINARY's directory>/test-logs/.
# TEST_WRAPPER (words) runs the binary through a command: `qemu-aarch64` for a cross build's.
# When the tests selected include Redis ones (Redis*) and redis-server is installed, one
# redis-server is started for the whole run (tools/test-redis.sh: a free loopback port, no
# persistence, its own temporary directory) and given to every shard as WSPUSH_TEST_REDIS and
# WSPUSH_TEST_REDIS_UNIX; it is stopped when the run ends, however it ends. A WSPUSH_TEST_REDIS
# already set is used as it is (set empty: every test starts its own).
set -uo pipefail
bin=$1
shift
read -r -a wrap <<<"${TEST_WRAPPER:-}"
shards=${TEST_SHARDS:-$(($(nproc) * 2))}
[ "$shards" -ge 1 ] || shards=1
serial_patterns=${TEST_SERIAL:-Hostile*:Reliability.*}
logs=$(dirname "$bin")/test-logs
rm -rf "$logs" && mkdir -p "$logs"
start=$SECONDS

# The caller's --gtest_filter (POSITIVE[-NEGATIVE]) is split into the shards' share and the
# serial share: the tests it selects are listed, and those matching TEST_SERIAL run alone.
filter='*'
args=()
for a in "$@"; do
    case $a in
        --gtest_filter=*) filter=${a#--gtest_filter=} ;;
        *) args+=("$a") ;;
    esac
done
serial=()
suite=
wants_redis=
while IFS= read -r line; do
    case $line in
        " "*) name="$suite${line#  }" name=${name%%  #*} ;;
        *) suite=${line%%  #*} && continue ;;
    esac
    [[ $name == Redis* ]] && wants_redis=1
    IFS=: read -r -a pats <<<"$serial_patterns"
    for p in "${pats[@]}"; do
        # shellcheck disable=SC2053  # the pattern is a glob on purpose
        if [[ $name == $p ]]; then serial+=("$name") && break; fi
    done
done < <("${wrap[@]}" "$bin" --gtest_list_tests --gtest_filter="$filter")
positive=${filter%%-*}
negative=
[[ $filter == *-* ]] && negative=${filter#*-}
sharded=$positive${negative:+-$negative}
if [ "${#serial[@]}" -gt 0 ]; then
    joined=$(IFS=:; echo "${serial[*]}")
    sharded="$positive-${negative:+$negative:}$joined"
fi

if [ -n "$wants_redis" ] && [ -z "${WSPUSH_TEST_REDIS+set}" ] && command -v redis-server >/dev/null; then
    # shellcheck source=tools/test-redis.sh
    . "$(dirname "$0")/test-redis.sh"
    test_redis_start || exit 1
fi

# run NAME FILTER [env...]: one run of the binary, its output in $logs/NAME.log, its suite
# lines shown as they end.
run() {
    local name=$1 f=$2
    shift 2
    env "$@" "${wrap[@]}" "$bin" --gtest_brief=1 --gtest_filter="$f" "${args[@]}" 2>&1 |
        tee "$logs/$name.log" | grep --line-buffered '^\[ suite' | sed -u "s/^\[ suite    \]/[ $name ]/"
    return "${PIPESTATUS[0]}"
}
echo "tests: $(basename "$bin") in $shards shards, then ${#serial[@]} alone (logs: $logs/)"
pids=()
names=()
for ((i = 0; i < shards; i++)); do
    run "shard-$i" "$sharded" GTEST_TOTAL_SHARDS="$shards" GTEST_SHARD_INDEX="$i" &
    pids+=($!)
    names+=("shard-$i")
done
failed_runs=()
for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || failed_runs+=("${names[$i]}")
done
if [ "${#serial[@]}" -gt 0 ]; then
    names+=(alone)
    run alone "$joined" || failed_runs+=(alone)
fi

passed=0 failed=0 skipped=0
for name in "${names[@]}"; do
    log=$logs/$name.log
    # The last line of a run that went to its end: "N passed, N failed[, N skipped]".
    summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    if [ -z "$summary" ]; then
        echo "tests: $name ended without its summary (crashed?); its last lines:"
        tail -n 20 "$log" | sed 's/^/    /'
        failed=$((failed + 1))
        continue
    fi
    read -r p _ f _ s _ <<<"${summary//,/}"
    passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + ${s:-0}))
done
for name in "${failed_runs[@]}"; do
    echo "---- $name: failures ($logs/$name.log)"
    grep -vE '^\[ suite|^[0-9]+ passed, [0-9]+ failed' "$logs/$name.log"
done
echo "$passed passed, $failed failed, $skipped skipped ($((SECONDS - start)) s)"
[ "${#failed_runs[@]}" -eq 0 ] && [ "$failed" -eq 0 ]
