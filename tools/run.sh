#!/usr/bin/env bash
# `make run`: starts build/wspushd with the defaults and one webhook robot for channel "demo"
# whose token is made fresh each run (never a well-known one: the server listens on every
# interface), and prints what to open and what to paste.
set -euo pipefail
build=${1:-build}
# The examples below use socat and curl: installed when missing (as root), else one hint.
missing=()
for tool in socat curl; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
        echo "make run: installing ${missing[*]} for the examples" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
            echo "make run: could not install ${missing[*]}" >&2
    else
        echo "make run: the examples below need ${missing[*]}: apt-get install -y ${missing[*]}" >&2
    fi
fi
token=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
# Every line can be pasted whole into another shell in this directory (the first is a comment).
cat <<MSG
# in a browser: http://127.0.0.1:8080/   (demo page, channel "demo"; WebSocket ws://127.0.0.1:8080/ws/<channel>)
echo 'PUB demo hello from the shell' | socat - UNIX-CONNECT:./wspushd.sock
curl -s -H 'Content-Type: application/json' -d '{"msgtype":"text","text":{"content":"hello from a robot"}}' 'http://127.0.0.1:8080/robot/send?access_token=$token'
MSG
exec "$build/wspushd" --robot "$token demo name=demo"
