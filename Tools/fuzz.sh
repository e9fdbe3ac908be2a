#!/usr/bin/env bash
# Builds and runs one libFuzzer target per Wire parser family for SECONDS
# each (default 60), one after the other, and prints executions per target.
# Fails when a target crashes (the input is kept in .build/fuzz/artifacts).
#
# The targets are not SwiftPM products: Wire is compiled here as a static
# library with -sanitize=fuzzer,address and each Tools/fuzz/targets/*.swift
# is linked against it, so `swift build` / `swift test` never see the
# libFuzzer entry points or the sanitizer flags.
#
# Usage: ./Tools/fuzz.sh [SECONDS] [TARGET...]   targets: ethernet-arp ipv4-icmp udp tcp ipv6-icmpv6
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(ethernet-arp ipv4-icmp udp tcp ipv6-icmpv6)
case "$seconds" in ''|*[!0-9]*) echo "fuzz.sh: SECONDS must be a whole number, got '$seconds'" >&2; exit 2 ;; esac

out=.build/fuzz
mkdir -p "$out/lib" "$out/artifacts"
flags=(-O -sanitize=fuzzer,address -parse-as-library -swift-version 6 -use-ld=lld)
export SWIFT_BACKTRACE=enable=no   # else the backtracer holds a crashing run for up to 30 s

# Wire, and the LinkAddress module it re-exports (MACAddress), as
# instrumented static libraries (rebuilt when a source is newer).
library="$out/lib/libWire.a"
if [ ! -f "$library" ] || [ -n "$(find Sources/Wire Sources/LinkAddress -name '*.swift' -newer "$library" | head -1)" ]; then
  echo "fuzz.sh: building instrumented LinkAddress and Wire"
  swiftc "${flags[@]}" -module-name LinkAddress -emit-library -static -emit-module \
    -emit-module-path "$out/lib/LinkAddress.swiftmodule" -o "$out/lib/libLinkAddress.a" Sources/LinkAddress/*.swift
  swiftc "${flags[@]}" -module-name Wire -emit-library -static -emit-module -I "$out/lib" \
    -emit-module-path "$out/lib/Wire.swiftmodule" -o "$library" Sources/Wire/*.swift
fi

declare -A executions
for target in "${targets[@]}"; do
  source="Tools/fuzz/targets/$target.swift"
  [ -f "$source" ] || { echo "fuzz.sh: no target '$target' ($source missing)" >&2; exit 2; }
  binary="$out/$target"
  if [ ! -x "$binary" ] || [ "$library" -nt "$binary" ] || [ "$source" -nt "$binary" ] \
    || [ Tools/fuzz/FuzzSupport.swift -nt "$binary" ]; then
    echo "fuzz.sh: building $target"
    swiftc "${flags[@]}" -module-name "Fuzz_${target//-/_}" -I "$out/lib" -L "$out/lib" -lWire -lLinkAddress \
      Tools/fuzz/FuzzSupport.swift "$source" -o "$binary"
  fi

  # New inputs go to a scratch corpus under .build; the seeds in the repo stay as they are.
  work="$out/corpus/$target"
  mkdir -p "$work"
  log="$out/$target.log"
  echo "fuzz.sh: running $target for $seconds s"
  status=0
  "$binary" -max_total_time="$seconds" -max_len=2048 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$out/artifacts/$target-" "$work" "Tools/fuzz/corpus/$target" >"$log" 2>&1 || status=$?
  executions[$target]=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  if [ "$status" -ne 0 ]; then
    tail -40 "$log" >&2
    echo "fuzz.sh: $target FAILED (exit $status); the input is in $out/artifacts/$target-*" >&2
    exit 1
  fi
done

printf '%-14s %14s %10s\n' target executions seconds
for target in "${targets[@]}"; do
  printf '%-14s %14s %10s\n' "$target" "${executions[$target]:-?}" "$seconds"
done
echo "fuzz.sh: no crashes"
