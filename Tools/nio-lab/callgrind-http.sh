#!/usr/bin/env bash
# Instructions per HTTP request, the stable measure on a loaded machine
# (wall-clock wrk figures swing 2-3x there): runs dp-nio-http or
# dp-hb-http (release build) under callgrind in a network namespace this
# script makes, on a tap (the data plane) or with --kernel (NIOPosix on the
# namespace's loopback), warms it up with wrk, zeroes the counters, drives
# wrk for SECONDS, dumps, and prints instructions per request and the
# functions with the most inclusive instructions. Bounded in time; the
# namespace and the server are removed at the end.
# Usage: Tools/nio-lab/callgrind-http.sh PRODUCT dataplane|kernel [SECONDS] [PREFIX]
#   PREFIX names the namespace and tap (default "cg"); the subnet is 10.125.9.0/24.
#   CALLGRIND_KEEP=FILE keeps the dump.
set -euo pipefail
cd "$(dirname "$0")/../.."
product=${1:?usage: callgrind-http.sh dp-nio-http|dp-hb-http dataplane|kernel [SECONDS] [PREFIX]}
mode=${2:?dataplane or kernel}
seconds=${3:-15}
prefix=${4:-cg}
bin=.build/release/$product
[ -x "$bin" ] || { echo "callgrind-http: build it first: swift build -c release --product $product"; exit 1; }
ns="$prefix-cg-$$"
tap="${prefix}cg0"
work=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ]; then kill -INT "$server" 2>/dev/null || true; sleep 2; kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  ip netns delete "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
# Valgrind 3.19 cannot read the DWARF 5 Swift's toolchain writes: a copy
# without debug info keeps the symbol table, which is all callgrind needs.
objcopy --strip-debug "$bin" "$work/$product"
bin=$work/$product
# ... and it faults on the read-only mask libdispatch's dispatch_main gives
# sigsuspend (the async main's thread): a preload hands it a writable copy.
cc -O2 -shared -fPIC -o "$work/sigsuspend.so" Tools/nio-lab/valgrind-sigsuspend.c -ldl
ip netns add "$ns"
ip netns exec "$ns" ip link set lo up
if [ "$mode" = kernel ]; then
  args=(--kernel --ip 127.0.0.1/8 --port 8080 --size 1024); url=http://127.0.0.1:8080/
else
  args=(--tap "$tap" --ip 10.125.9.2/24 --port 8080 --size 1024 --idle-sleep-us 20); url=http://10.125.9.2:8080/
fi
ip netns exec "$ns" timeout $((seconds * 3 + 120)) env LD_PRELOAD="$work/sigsuspend.so" valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" \
  "$bin" "${args[@]}" --seconds $((seconds * 3 + 90)) >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 600); do grep -q serving "$work/server.log" && break; sleep 0.2; done
grep -q serving "$work/server.log" || { grep -v '^==' "$work/server.log" | head -40; echo "callgrind-http: the server did not start"; exit 1; }
if [ "$mode" != kernel ]; then
  ip netns exec "$ns" ip addr add 10.125.9.1/24 dev "$tap"
  ip netns exec "$ns" ip link set "$tap" up
fi
ip netns exec "$ns" timeout 30 wrk -t1 -c10 -d5s "$url" >/dev/null
vg=$(pgrep -P "$server" | head -1)  # timeout's child: valgrind
callgrind_control -z "$vg" >/dev/null
ip netns exec "$ns" timeout $((seconds + 20)) wrk -t1 -c10 -d"${seconds}s" "$url" >"$work/wrk.txt"
callgrind_control -d "$vg" >/dev/null
sleep 1
requests=$(awk '/requests in/ { print $1 }' "$work/wrk.txt")
dump=$(ls -t "$work"/cg.out.* 2>/dev/null | head -1)
[ -n "$dump" ] || { echo "callgrind-http: no dump"; exit 1; }
total=$(callgrind_annotate "$dump" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }')
[ -n "${CALLGRIND_KEEP:-}" ] && cp "$dump" "$CALLGRIND_KEEP"  # for callgrind_annotate later
echo "callgrind-http: $product $mode: $requests requests in ${seconds} s under callgrind, $total instructions, $((total / requests)) per request"
callgrind_annotate --inclusive=yes "$dump" 2>/dev/null | sed -n '/Ir/,$p' | head -60 | swift demangle --simplified | cut -c1-220
