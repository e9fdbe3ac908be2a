#!/usr/bin/env bash
# Builds and runs the whole-stack libFuzzer targets (Tools/fuzz/stack,
# Docs/ROBUSTNESS.md) for SECONDS each (default 60), one after the other;
# prints executions, executions per second and coverage (libFuzzer's cov:
# edges and ft: features) per target. Fails when a target crashes, breaks
# an invariant or hangs (the input is kept in .build/fuzz/artifacts).
#
# The targets are SwiftPM executables declared only with DP_FUZZ_STACK=1,
# built with -sanitize=fuzzer,address in a scratch path of their own
# (.build/fuzz-stack), so plain builds never see them.
#
# Usage: ./Tools/fuzz-stack.sh [SECONDS] [TARGET...]   targets: stack tcp
#   FUZZ_JSON=path   also write the figures as JSON
#   FUZZ_JOBS=N      run N libFuzzer workers per target (default 1)
#   FUZZ_OUT=dir     logs, corpus and crashes there (default .build/fuzz)
#   FUZZ_RUNS=N      stop a target after N executions (SECONDS still bounds it):
#                    the CI smoke runs a fixed number, the long run aims at 10 million
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(stack tcp)
case "$seconds" in ''|*[!0-9]*) echo "fuzz-stack.sh: SECONDS must be a whole number, got '$seconds'" >&2; exit 2 ;; esac
jobs="${FUZZ_JOBS:-1}"
runs="${FUZZ_RUNS:--1}"
case "$runs" in -1|[0-9]*) ;; *) echo "fuzz-stack.sh: FUZZ_RUNS must be a whole number, got '$runs'" >&2; exit 2 ;; esac

out="${FUZZ_OUT:-.build/fuzz}"
mkdir -p "$out/artifacts"
export SWIFT_BACKTRACE=enable=no   # else the backtracer holds a crashing run (and trips ASan)
scratch=.build/fuzz-stack
bin="$scratch/release"

for target in "${targets[@]}"; do
  [ -d "Tools/fuzz/stack/$target" ] || { echo "fuzz-stack.sh: no target '$target'" >&2; exit 2; }
  # --sanitize=fuzzer: libFuzzer's main and runtime at the link. The compiles need one
  # -sanitize= list (given two -sanitize= flags swiftc keeps the last, and
  # --sanitize=fuzzer --sanitize=address left the library modules without coverage).
  DP_FUZZ_STACK=1 swift build -j 1 -c release --scratch-path "$scratch" --sanitize=fuzzer -Xswiftc -sanitize=fuzzer,address \
    -Xlinker --no-gc-sections --product "dp-fuzz-$target" >"$out/build-$target.log" 2>&1 \
    || { grep -E "error" "$out/build-$target.log" | head -20 >&2; echo "fuzz-stack.sh: building dp-fuzz-$target failed" >&2; exit 1; }
  grep -E "Build of" "$out/build-$target.log" || true
done

declare -A executions rate coverage features elapsed
for target in "${targets[@]}"; do
  work="$out/corpus/stack-$target"
  mkdir -p "$work"
  log="$out/stack-$target.log"
  echo "fuzz-stack.sh: running $target for $seconds s$([ "$runs" -ge 0 ] && echo " or $runs executions") ($jobs worker(s))"
  status=0
  started=$(date +%s)
  extra=()
  [ "$jobs" -gt 1 ] && extra=(-fork="$jobs")
  "$bin/dp-fuzz-$target" -max_total_time="$seconds" -runs="$runs" -max_len=1024 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 "${extra[@]}" -artifact_prefix="$out/artifacts/stack-$target-" \
    "$work" "Tools/fuzz/corpus/stack-$target" >"$log" 2>&1 || status=$?
  elapsed[$target]=$(( $(date +%s) - started ))
  executions[$target]=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate[$target]=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  coverage[$target]=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2 || true)
  features[$target]=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2 || true)
  # A binary without libFuzzer's driver would run nothing and exit 0.
  if ! grep -q "^stat::number_of_executed_units" "$log" && [ "$status" -eq 0 ]; then status=3; fi
  if [ "$status" -ne 0 ]; then
    grep -v '^#[0-9]' "$log" | tail -40 >&2
    echo "fuzz-stack.sh: $target FAILED (exit $status); the input is in $out/artifacts/stack-$target-*" >&2
    exit 1
  fi
done

printf '%-8s %14s %10s %8s %8s %8s\n' target executions seconds exec/s cov ft
for target in "${targets[@]}"; do
  printf '%-8s %14s %10s %8s %8s %8s\n' "$target" "${executions[$target]:-?}" "${elapsed[$target]:-?}" "${rate[$target]:-?}" \
    "${coverage[$target]:-?}" "${features[$target]:-?}"
done
if [ -n "${FUZZ_JSON:-}" ]; then
  {
    echo "{\"date\": \"$(date -u +%FT%TZ)\", \"seconds\": $seconds, \"runs\": $runs, \"targets\": {"
    sep=""
    for target in "${targets[@]}"; do
      printf '%s"%s": {"executions": %s, "elapsed_seconds": %s, "exec_per_sec": %s, "cov": %s, "ft": %s, "crashes": 0}' "$sep" "$target" \
        "${executions[$target]:-0}" "${elapsed[$target]:-0}" "${rate[$target]:-0}" "${coverage[$target]:-0}" "${features[$target]:-0}"
      sep=", "
    done
    echo "}}"
  } > "$FUZZ_JSON"
fi
echo "fuzz-stack.sh: no crashes"
