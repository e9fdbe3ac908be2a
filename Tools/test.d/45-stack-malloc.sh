#!/usr/bin/env bash
# The stack's fast path allocates nothing: UDP echo between two stacks over
# Loopback, mallocs counted by ordo-one's malloc interposer after a warm-up.
# Fails when any malloc is counted (or datagrams are lost).
set -euo pipefail
cd "$(dirname "$0")/../.."
swift build --product dp-stack-bench >/dev/null
for size in 64 1472 8000; do
  .build/debug/dp-stack-bench --packets 20000 --warmup 5000 --size "$size" --burst 8 --require-zero
done
echo "45-stack-malloc: 0 mallocs per UDP echo in the steady state"
