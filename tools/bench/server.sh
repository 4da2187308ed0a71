# shellcheck shell=bash
# Sourced by the benchmark scripts: start and stop one wspushd pinned to a core, and clean up
# on exit. Needs TMP (a scratch directory the script owns) and SERVER (the binary to run).
SRV_CPU=${SRV_CPU:-0}
SRV_PID=
cleanup() {
    [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null && wait "$SRV_PID" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT

# launch SOCK LOG ARGS...: starts $SERVER on 127.0.0.1:0 pinned to SRV_CPU with its control
# socket at SOCK and its log in LOG; sets LAUNCHED_PID and LAUNCHED_PORT (waits up to 10 s
# for the listening line).
launch() {
    local sock=$1 log=$2
    shift 2
    rm -f "$sock"
    # Emptied here, not by the child's redirection: that may come after the first look
    # below, which would then find the previous server's port.
    : >"$log"
    taskset -c "$SRV_CPU" "$SERVER" --listen 127.0.0.1:0 --control "$sock" "$@" 2>"$log" &
    LAUNCHED_PID=$!
    for _ in $(seq 1 200); do
        LAUNCHED_PORT=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$log" | cut -d: -f2 || true)
        [ -n "$LAUNCHED_PORT" ] && return 0
        sleep 0.05
    done
    echo "server did not start: $(cat "$log")" >&2
    exit 1
}
# start_server ARGS...: launch with the control socket at $TMP/ctl.sock; sets SRV_PID and PORT.
start_server() {
    launch "$TMP/ctl.sock" "$TMP/server.log" "$@"
    SRV_PID=$LAUNCHED_PID
    PORT=$LAUNCHED_PORT
}
stop_server() {
    kill "$SRV_PID"
    wait "$SRV_PID" || true
    SRV_PID=
}
