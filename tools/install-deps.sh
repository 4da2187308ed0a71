#!/usr/bin/env bash
# Installs what building and testing wspush needs on Debian 12, if missing: the compiler,
# GoogleTest, Google Benchmark, the test-time peers (python3-websockets, socat, curl, openssl,
# chromium), valgrind (`make memcheck`), systemd (its socket-activate and analyze tools),
# man-db (the man page is rendered by `man`), clang-14 (`make fuzz`), redis-server (the Redis
# client's tests start their own on a free loopback port and a private Unix socket; a system
# redis the package may start on 6379 is never used), and for the cross builds
# the aarch64 and armhf compilers, GoogleTest's source (built for the target) and qemu-user
# (`make test-cross`).
# Silent when everything is there. Used by `make test`/`make bench` and by .ci/run.
set -euo pipefail
pkgs=(g++ make libgtest-dev libbenchmark-dev python3-websockets socat curl openssl chromium valgrind systemd man-db clang-14 redis-server
      g++-aarch64-linux-gnu g++-arm-linux-gnueabihf googletest qemu-user)
need=()
for p in "${pkgs[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "missing packages: ${need[*]} -- run: sudo apt-get install -y ${need[*]}" >&2
    exit 1
fi
echo "installing: ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}"
