#!/usr/bin/env bash
# `make run`: starts build/wspushd with the defaults and one webhook robot for channel "demo"
# whose token is made fresh each run (never a well-known one: the server listens on every
# interface), and prints what to open and what to paste.
set -euo pipefail
build=${1:-build}
for tool in socat curl; do
    command -v "$tool" >/dev/null || echo "make run: '$tool' is missing for the examples below: apt-get install -y $tool" >&2
done
token=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
cat <<MSG
wspushd: demo page  http://127.0.0.1:8080/   (channel "demo"; WebSocket ws://127.0.0.1:8080/ws/<channel>)
push from a shell:  echo 'PUB demo hello from the shell' | socat - UNIX-CONNECT:./wspushd.sock
push as a robot:    curl -s -H 'Content-Type: application/json' -d '{"msgtype":"text","text":{"content":"hello from a robot"}}' 'http://127.0.0.1:8080/robot/send?access_token=$token'
MSG
exec "$build/wspushd" --robot "$token demo name=demo"
