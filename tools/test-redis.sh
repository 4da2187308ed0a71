#!/usr/bin/env bash
# One redis-server for a whole test run, shared by the tests that only need a Redis (the
# others, which kill it, restart it or configure a password or ACL users, start their own:
# tests/redis/redis_server.h).
#   . tools/test-redis.sh; test_redis_start    (tools/run-tests.sh does this)
#   tools/test-redis.sh COMMAND [ARGS...]      runs COMMAND with it, e.g.
#       tools/test-redis.sh build/wspush_tests --gtest_filter='Redis*'
# test_redis_start starts redis-server on 127.0.0.1 on a free port (tried at random in
# 20000..31999, below the kernel's ephemeral ports, and again on another while one is taken)
# and on a Unix socket, with no persistence, in a directory of its own made by mktemp; waits
# (at most 10 s) until its log says it is ready and it answers PING, never for a fixed time;
# exports WSPUSH_TEST_REDIS=127.0.0.1:PORT and WSPUSH_TEST_REDIS_UNIX=PATH; and sets traps so
# that it is stopped (SIGTERM, then waited for) and its directory removed when the shell
# exits, on an error or on Ctrl-C too. Its log is in that directory while it runs, and is
# printed when it could not start.

test_redis_pid=
test_redis_dir=
test_redis_drain=

test_redis_stop() {
    if [ -n "$test_redis_pid" ]; then
        kill -TERM "$test_redis_pid" 2>/dev/null
        wait "$test_redis_pid" 2>/dev/null
        test_redis_pid=
    fi
    # The log's reader ends at the server's end of the pipe.
    [ -n "$test_redis_drain" ] && wait "$test_redis_drain" 2>/dev/null
    test_redis_drain=
    [ -n "$test_redis_dir" ] && rm -rf "$test_redis_dir"
    test_redis_dir=
}

test_redis_start() {
    command -v redis-server >/dev/null || { echo "test-redis: redis-server is not installed" >&2; return 1; }
    trap test_redis_stop EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    test_redis_dir=$(mktemp -d /tmp/wspush-test-redis-XXXXXX) || return 1
    local fifo=$test_redis_dir/out log=$test_redis_dir/redis.log sock=$test_redis_dir/redis.sock
    local port fd line ready reply c deadline=$((SECONDS + 10))
    mkfifo "$fifo" || return 1
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        port=$((20000 + RANDOM % 12000))
        redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$test_redis_dir" \
            --unixsocket "$sock" --unixsocketperm 700 --daemonize no --logfile '' --databases 16 \
            >"$fifo" 2>&1 &
        test_redis_pid=$!
        exec {fd}<"$fifo"
        ready=
        # Its log, line by line, until it is ready or gone (a port taken: it exits).
        while [ "$SECONDS" -lt "$deadline" ] && IFS= read -r -t $((deadline - SECONDS)) -u "$fd" line; do
            printf '%s\n' "$line" >>"$log"
            if [[ $line == *"Ready to accept connections"* ]]; then ready=1 && break; fi
        done
        if [ -n "$ready" ]; then
            # The rest of its log goes on to the file, so that it never blocks on the pipe.
            cat <&"$fd" >>"$log" &
            test_redis_drain=$!
            exec {fd}<&-
            break
        fi
        exec {fd}<&-
        kill -KILL "$test_redis_pid" 2>/dev/null
        wait "$test_redis_pid" 2>/dev/null
        test_redis_pid=
        grep -q 'Address already in use' "$log" 2>/dev/null || break
    done
    if [ -z "$ready" ]; then
        echo "test-redis: redis-server did not start (its log: $log):" >&2
        sed 's/^/    /' "$log" >&2 2>/dev/null
        return 1
    fi
    reply=
    if exec {c}<>"/dev/tcp/127.0.0.1/$port"; then
        printf 'PING\r\n' >&"$c"
        IFS= read -r -t 5 -u "$c" reply
        exec {c}>&-
    fi
    if [[ $reply != +PONG* ]]; then
        echo "test-redis: redis-server on 127.0.0.1:$port does not answer PING (its log: $log)" >&2
        return 1
    fi
    export WSPUSH_TEST_REDIS=127.0.0.1:$port WSPUSH_TEST_REDIS_UNIX=$sock
    echo "tests: a shared redis-server on $WSPUSH_TEST_REDIS and $WSPUSH_TEST_REDIS_UNIX"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -u
    [ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARGS...]" >&2; exit 2; }
    test_redis_start || exit 1
    "$@"
fi
