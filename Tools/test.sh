#!/usr/bin/env bash
# Runs every test of Dataplane: the Swift test suites, then each suite in
# Tools/test.d (lab checks, Linux-peer tests, fuzz smoke runs) in name order.
# Usage: ./Tools/test.sh [--filter REGEX]   (the filter goes to swift test)
set -euo pipefail
cd "$(dirname "$0")/.."
./Tools/bootstrap.sh

filter=()
if [ "${1:-}" = "--filter" ]; then filter=(--filter "$2"); fi

start=$(date +%s)
swift build --build-tests
swift test --skip-build "${filter[@]}" 2>&1 | tee /tmp/dataplane-swift-test.log
status=${PIPESTATUS[0]}
[ "$status" -eq 0 ] || { echo "test.sh: swift test failed"; exit "$status"; }
tests_done=$(date +%s)
timings=()
# The per-suite seconds, printed at the end and also when a suite fails, so
# a red CI log still says where its time went.
print_timings() {
  echo "test.sh: seconds per suite (swift test took $(( tests_done - start )) s):"
  printf '  %s\n' "${timings[@]}"
}

if [ ${#filter[@]} -eq 0 ]; then
  for suite in Tools/test.d/[0-9][0-9]-*.sh; do
    [ -e "$suite" ] || continue
    echo "=== $(basename "$suite")"
    suite_start=$(date +%s)
    suite_status=0
    bash "$suite" || suite_status=$?
    timings+=("$(( $(date +%s) - suite_start )) s $(basename "$suite")")
    if [ "$suite_status" -ne 0 ]; then
      print_timings
      echo "test.sh: $(basename "$suite") failed (exit $suite_status)"
      exit "$suite_status"
    fi
  done
  print_timings
fi
echo "test.sh: all tests passed in $(( $(date +%s) - start )) s"
