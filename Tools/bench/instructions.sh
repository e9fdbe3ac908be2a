#!/usr/bin/env bash
# Instructions per element (ring: enqueue + dequeue) and per object (pool:
# get + put), ours beside DPDK, counted by callgrind: the stable figure on a
# shared machine. Each side runs N and 2N units of work; the difference
# divided by N's elements leaves out start-up and set-up.
# Usage: Tools/bench/instructions.sh [ring|pool|all]   (needs valgrind, cc, libdpdk-dev)
set -euo pipefail
cd "$(dirname "$0")/../.."
what=${1:-all}
swift build -c release --product dp-bench >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# valgrind 3.19 cannot read Swift's DWARF 5: count a copy without debug info.
cp .build/release/*.so "$work/" 2>/dev/null || true
for f in "$work"/*.so; do [ -e "$f" ] && objcopy --strip-debug "$f"; done
objcopy --strip-debug .build/release/dp-bench "$work/dp-bench"
flags=$(pkg-config --cflags --libs libdpdk)
cc -O3 -o "$work/ring-loop" Tools/bench/dpdk-ring-loop.c $flags
cc -O3 -o "$work/pktmbuf-perf" Tools/bench/dpdk-pktmbuf-perf.c $flags

ir() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 | awk '/Collected/ {print $4}'; }
per() { python3 -c "print(f'{($2 - $1) / $3:.2f}')"; }
ours() { LD_LIBRARY_PATH="$work" ir "$work/dp-bench" "$@" --no-peer --repetitions 1 --results "$work/results"; }

if [ "$what" = ring ] || [ "$what" = all ]; then
  n=${RING_ITERATIONS:-200000}  # 20,000 left about ±0.5 of noise per element
  printf '%-16s %10s %10s  (instructions per element, enqueue + dequeue)\n' ring ours DPDK
  for mode in SP/SC MP/MC; do
    side=$([ $mode = SP/SC ] && echo sp || echo mp)
    for c in "single 1" "bulk 8" "burst 8" "bulk 32" "burst 32"; do
      set -- $c
      name="$mode $1"; [ "$1" != single ] && name="$name $2"
      o1=$(ours ring --only "$name" --iterations $n); o2=$(ours ring --only "$name" --iterations $((2 * n)))
      p1=$(ir "$work/ring-loop" $side $1 $2 $n); p2=$(ir "$work/ring-loop" $side $1 $2 $((2 * n)))
      printf '%-16s %10s %10s\n' "$name" "$(per $o1 $o2 $((n * $2)))" "$(per $p1 $p2 $((n * $2)))"
    done
  done
fi
if [ "$what" = pool ] || [ "$what" = all ]; then
  b=200
  printf '%-24s %10s %10s  (instructions per object, get + put; keep 128)\n' pool ours DPDK
  eal="--no-huge -m 512 --no-pci -l 0 --log-level lib.eal:error --file-prefix=dpinstr$$"
  for path in raw packets; do
    for cache in 0 512; do
      for bulk in 1 8 32; do
        name="$path, cache $cache, 1 core, bulk $bulk, keep 128"
        o1=$(ours pool --only "$name" --iterations $b); o2=$(ours pool --only "$name" --iterations $((2 * b)))
        raw=$([ $path = raw ] && echo 1 || echo 0)
        p1=$(RAW=$raw CACHE=$cache BULK=$bulk ir "$work/pktmbuf-perf" -$b $eal)
        p2=$(RAW=$raw CACHE=$cache BULK=$bulk ir "$work/pktmbuf-perf" -$((2 * b)) $eal)
        printf '%-24s %10s %10s\n' "$path, cache $cache, bulk $bulk" "$(per $o1 $o2 $((b * 64 * 128)))" "$(per $p1 $p2 $((b * 64 * 128)))"
      done
    done
  done
fi
