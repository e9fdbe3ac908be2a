#!/usr/bin/env bash
# The main job: sets up the machine, builds Dataplane and runs the
# side-by-side benchmarks. (The guest lab demo joins here as it lands:
# see Docs/BENCHMARKS.md and Docs/LAB.md.)
# Usage: ./Tools/demo.sh [--quick]
set -euo pipefail
cd "$(dirname "$0")/.."
./Tools/bootstrap.sh

quick=()
peer_seconds=330
if [ "${1:-}" = "--quick" ]; then quick=(--quick --repetitions 1); peer_seconds=60; fi

step() { printf '\n=== %s\n' "$*"; }
step "build (release)"
swift build -c release --product dp-bench
step "ring: ours vs DPDK ring_perf_autotest"
.build/release/dp-bench ring "${quick[@]}"
step "pool: ours vs DPDK mempool_perf_autotest"
.build/release/dp-bench pool "${quick[@]}" --peer-seconds "$peer_seconds"
step "results in results/ (JSON and PNG)"
ls -1 results/
