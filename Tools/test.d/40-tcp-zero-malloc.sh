#!/usr/bin/env bash
# The TCP state machine allocates nothing per segment in steady state: a bulk
# transfer between two in-memory endpoint tables with the malloc interposer
# preloaded must count 0 mallocs after warm-up (and the counter must work:
# a run that allocates on purpose must count some).
set -euo pipefail
cd "$(dirname "$0")/../.."
swift build -c release --product dp-tcp-bench >/dev/null
lib=.build/release/libMallocInterposerSwift.so
bench=.build/release/dp-tcp-bench
check=$(LD_PRELOAD=$lib "$bench" --megabytes 50 --sanity-allocate | grep "steady state")
case "$check" in *" 0 mallocs"*) echo "tcp-zero-malloc: the malloc counter did not count ($check)"; exit 1;; esac
for run in "--congestion newreno" "--congestion cubic" "--congestion newreno --drop-every 50"; do
  # Printed through our own stdout: `tee /dev/stderr` reopened the caller's
  # log file with O_TRUNC and left a run of NUL bytes where its start was.
  out=$(LD_PRELOAD=$lib "$bench" --megabytes 200 $run)
  echo "$out"
  line=$(echo "$out" | grep "steady state")
  case "$line" in
    *" 0 mallocs"*) ;;
    *) echo "tcp-zero-malloc: $run allocates per segment: $line"; exit 1;;
  esac
done
echo "tcp-zero-malloc: 0 mallocs per segment (newreno, cubic, newreno with 2% loss)"
