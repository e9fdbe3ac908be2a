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
#   FUZZ_ASAN=0      fuzz a build without AddressSanitizer (Swift's own checks stay:
#                    bounds, overflow, exclusivity): 3.2-3.5x the executions per
#                    CPU-second; afterwards every input the run kept (its corpus)
#                    is replayed once under the ASan build, which must pass too
#                    (Docs/ROBUSTNESS.md, "Execution rate"). Default 1 (ASan).
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

asan="${FUZZ_ASAN:-1}"
case "$asan" in 0|1) ;; *) echo "fuzz-stack.sh: FUZZ_ASAN must be 0 or 1, got '$asan'" >&2; exit 2 ;; esac

out="${FUZZ_OUT:-.build/fuzz}"
mkdir -p "$out/artifacts"
export SWIFT_BACKTRACE=enable=no   # else the backtracer holds a crashing run (and trips ASan)

# build SANITIZERS SCRATCH: both targets, into SCRATCH/release.
build() {
  local sanitizers=$1 scratch=$2 target
  for target in "${targets[@]}"; do
    [ -d "Tools/fuzz/stack/$target" ] || { echo "fuzz-stack.sh: no target '$target'" >&2; exit 2; }
    # --sanitize=fuzzer: libFuzzer's main and runtime at the link. The compiles need one
    # -sanitize= list (given two -sanitize= flags swiftc keeps the last, and
    # --sanitize=fuzzer --sanitize=address left the library modules without coverage).
    DP_FUZZ_STACK=1 DP_FUZZ_SANITIZE="$sanitizers" swift build -c release --scratch-path "$scratch" --sanitize=fuzzer \
      -Xswiftc -sanitize="$sanitizers" -Xlinker --no-gc-sections --product "dp-fuzz-$target" >"$out/build-$target.log" 2>&1 \
      || { grep -E "error" "$out/build-$target.log" | head -20 >&2; echo "fuzz-stack.sh: building dp-fuzz-$target failed" >&2; exit 1; }
    grep -E "Build of" "$out/build-$target.log" || true
  done
}
asanBin=.build/fuzz-stack/release
build fuzzer,address .build/fuzz-stack
bin="$asanBin"
if [ "$asan" = 0 ]; then
  build fuzzer .build/fuzz-stack-noasan
  bin=.build/fuzz-stack-noasan/release
fi

# cpuNow = CPU seconds (user + system) of the children this shell has waited
# for (`times` runs in this shell: a $(...) subshell would count its own).
children_cpu() {
  times >"$out/times"
  cpuNow=$(awk 'NR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/); printf "%.1f", u[1] * 60 + u[2] + s[1] * 60 + s[2] }' "$out/times")
}

declare -A executions rate coverage features elapsed cpu replayed
for target in "${targets[@]}"; do
  work="$out/corpus/stack-$target"
  mkdir -p "$work"
  log="$out/stack-$target.log"
  echo "fuzz-stack.sh: running $target for $seconds s$([ "$runs" -ge 0 ] && echo " or $runs executions") ($jobs worker(s))"
  status=0
  started=$(date +%s)
  children_cpu
  cpuBefore=$cpuNow
  extra=()
  [ "$jobs" -gt 1 ] && extra=(-fork="$jobs")
  "$bin/dp-fuzz-$target" -max_total_time="$seconds" -runs="$runs" -max_len=1024 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 "${extra[@]}" -artifact_prefix="$out/artifacts/stack-$target-" \
    "$work" "Tools/fuzz/corpus/stack-$target" >"$log" 2>&1 || status=$?
  elapsed[$target]=$(( $(date +%s) - started ))
  children_cpu
  cpu[$target]=$(awk -v a="$cpuBefore" -v b="$cpuNow" 'BEGIN { printf "%.1f", b - a }')
  executions[$target]=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate[$target]=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  coverage[$target]=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2 || true)
  features[$target]=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2 || true)
  # A binary without libFuzzer's driver would run nothing and exit 0.
  if ! grep -q "^stat::number_of_executed_units" "$log" && [ "$status" -eq 0 ]; then status=3; fi
  if [ "$status" -ne 0 ]; then
    grep -v '^#[0-9]' "$log" | tail -40 >&2
    echo "fuzz-stack.sh: $target FAILED (exit $status); the input is in $out/artifacts/stack-$target-*" >&2
    [ "$asan" = 0 ] && echo "fuzz-stack.sh: (found without ASan; replay it with $asanBin/dp-fuzz-$target too)" >&2
    exit 1
  fi
  if [ "$asan" = 0 ]; then
    # What ASan would have caught in the inputs that reached new coverage:
    # every input the run kept, replayed once (-runs=0 runs the corpus and stops).
    replayed[$target]=$(ls "$work" | wc -l)
    echo "fuzz-stack.sh: replaying $target's corpus (${replayed[$target]} inputs) under ASan"
    "$asanBin/dp-fuzz-$target" -runs=0 -max_len=1024 -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$out/artifacts/stack-$target-asan-" "$work" "Tools/fuzz/corpus/stack-$target" \
      >"$out/stack-$target-asan.log" 2>&1 \
      || { grep -v '^#[0-9]' "$out/stack-$target-asan.log" | tail -40 >&2
           echo "fuzz-stack.sh: $target FAILED its ASan replay; the input is in $out/artifacts/stack-$target-asan-*" >&2; exit 1; }
  fi
done

# exec/CPU-s: executions per CPU-second, the figure that does not depend on what
# else the machine runs (exec/s is libFuzzer's, per wall-clock second).
printf '%-8s %14s %10s %10s %8s %12s %8s %8s\n' target executions seconds cpu-s exec/s exec/cpu-s cov ft
for target in "${targets[@]}"; do
  perCPU=$(awk -v x="${executions[$target]:-0}" -v c="${cpu[$target]:-0}" 'BEGIN { printf "%.0f", (c > 0 ? x / c : 0) }')
  printf '%-8s %14s %10s %10s %8s %12s %8s %8s\n' "$target" "${executions[$target]:-?}" "${elapsed[$target]:-?}" "${cpu[$target]:-?}" \
    "${rate[$target]:-?}" "$perCPU" "${coverage[$target]:-?}" "${features[$target]:-?}"
done
if [ -n "${FUZZ_JSON:-}" ]; then
  {
    echo "{\"date\": \"$(date -u +%FT%TZ)\", \"seconds\": $seconds, \"runs\": $runs, \"asan\": $([ "$asan" = 1 ] && echo true || echo false), \"targets\": {"
    sep=""
    for target in "${targets[@]}"; do
      printf '%s"%s": {"executions": %s, "elapsed_seconds": %s, "cpu_seconds": %s, "exec_per_sec": %s, "cov": %s, "ft": %s, "asan_replayed_inputs": %s, "crashes": 0}' \
        "$sep" "$target" "${executions[$target]:-0}" "${elapsed[$target]:-0}" "${cpu[$target]:-0}" "${rate[$target]:-0}" \
        "${coverage[$target]:-0}" "${features[$target]:-0}" "${replayed[$target]:-0}"
      sep=", "
    done
    echo "}}"
  } > "$FUZZ_JSON"
fi
echo "fuzz-stack.sh: no crashes"
