#!/usr/bin/env bash
# Stripped size and resident memory at rest of one build's server, dynamic and static
# (README, "Cross builds"):
#   tools/footprint.sh [CROSS]        e.g. tools/footprint.sh aarch64-linux-gnu-
# Reads BUILD/wspushd and BUILD/wspushd-static (`make [CROSS=...] build/.../wspushd static`),
# BUILD being build/ natively and build/<triplet> for a cross build (or $BUILD).
#
# At rest: push mode, listening on loopback, control socket open, no client; sampled once the
# server has logged its listening line. Natively: VmRSS and RssAnon of the process. A cross
# build runs under Debian's qemu-user, whose own VmRSS is mostly qemu (its code, the code it
# translated, its heap); the program is confined to a reserved range of qemu's address space
# (-R) and the script adds up the resident pages of the mappings inside that range
# (/proc/PID/smaps): exactly the pages the program touched, its binary, the libc and ld.so
# pages it uses, its heap, stack and .bss. What a kernel maps by itself natively (vdso,
# vvar) is not counted.
set -euo pipefail
cross=${1:-}
triplet=${cross%-}
triplet=${triplet##*/}
build=${BUILD:-build${triplet:+/$triplet}}
TMP=$(mktemp -d /tmp/wspush-footprint.XXXXXX)
# shellcheck source=tools/bench/server.sh
source "$(dirname "$0")/bench/server.sh"

# elf64 BINARY: true for a 64-bit target.
elf64() { "${cross}readelf" -h "$1" | grep -q 'ELF64'; }

# use BINARY: sets SERVER to it, or for a cross build to a script that runs it under qemu,
# which logs where the program's address space lies (-d page). 64-bit targets are given
# 512 GiB at the bottom of qemu's address space (their loader and mappings sit below
# 0x5600000000); 32-bit ones get their 4 GiB by default.
use() {
    SERVER=$1
    [ -z "$cross" ] && return
    SERVER=$TMP/under-qemu
    printf '#!/bin/sh\nexec qemu-%s -L /usr/%s -d page -D %s/qemu.log %s %s "$@"\n' "${triplet%%-*}" "$triplet" \
        "$TMP" "$(elf64 "$1" && echo "-R 0x8000000000")" "$1" >"$SERVER"
    chmod +x "$SERVER"
}

# resident: "<KiB resident> <KiB of it private (anonymous)>" of the running server.
resident() {
    if [ -z "$cross" ]; then
        awk '/^VmRSS:/ {r = $2} /^RssAnon:/ {a = $2} END {print r, a}' "/proc/$SRV_PID/status"
        return
    fi
    local base lo hi rss=0 anon=0 in=0 key val s
    base=$(grep -o 'Locating guest address space @ 0x[0-9a-f]*' "$TMP/qemu.log" | tail -n 1)
    lo=$((16#${base##*0x}))
    if elf64 "$1"; then hi=$((lo + 0x8000000000)); else hi=$((lo + 0x100000000)); fi
    while read -r key val _; do
        case $key in
            *-*) s=$((16#${key%-*})) && in=$((s >= lo && s < hi)) ;;
            Rss:) rss=$((rss + in * val)) ;;
            Anonymous:) anon=$((anon + in * val)) ;;
        esac
    done <"/proc/$SRV_PID/smaps"
    echo "$rss $anon"
}

echo "| build | binary | stripped | resident at rest | of it private |"
echo "| --- | --- | --- | --- | --- |"
for bin in "$build/wspushd" "$build/wspushd-static"; do
    [ -x "$bin" ] || { echo "footprint: $bin missing" >&2 && exit 1; }
    "${cross}strip" -o "$TMP/stripped" "$bin"
    size=$(stat -c %s "$TMP/stripped")
    use "$bin"
    start_server
    read -r rss anon < <(resident "$bin")
    stop_server
    echo "| ${triplet:-native} | $(basename "$bin") | $size B ($((size / 1024)) KiB) | $rss KiB | $anon KiB |"
done
