#!/usr/bin/env bash
# UDP echo round trips/s under load with --idle poll and --idle interrupt
# (and optionally another dp-echo build), taken in turns within one lab
# boot: boots of a TCG guest on a shared host differ by 2-4x in speed, so
# only turns of one boot compare. Prints each turn and the median per
# variant, and interrupt/poll per build.
# Usage: Tools/demo/idle-rates.sh [NIC] [ACCESS] [ROUNDS] [SECONDS]   (needs root; about 2-4 min)
#   IDLE_ECHO=/path/to/dp-echo (a static release build, e.g. an older
#   .build-lab/release/dp-echo) adds that build's turns as "before".
set -uo pipefail
cd "$(dirname "$0")/../.."
nic=${1:-e1000}; access=${2:-vfio}; rounds=${3:-3}; seconds=${4:-4}
variants="dp-echo:poll dp-echo:interrupt"
include=()
if [ -n "${IDLE_ECHO:-}" ]; then
  include=(--include "$IDLE_ECHO:/lab/before/dp-echo")
  variants="/lab/before/dp-echo:poll /lab/before/dp-echo:interrupt $variants"
fi
turns=$((rounds * $(echo $variants | wc -w)))
total=$((turns * (seconds + 4) + 20))
swift build -j 1 --product dp-lab >/dev/null || exit 1
log=$(mktemp /tmp/dp-idle-rates.XXXXXX)
for attempt in 1 2; do
  .build/debug/dp-lab run --nic "$nic" --access "$access" --peer-ip 10.119.7.1/24 --product dp-echo --timeout $((total + 150)) \
    "${include[@]}" --include "$PWD/Tools/demo/idle-rates-guest.sh:/lab/idle-rates-guest.sh" \
    --peer "/usr/bin/python3 -u $PWD/Tools/demo/idle-rates-peer.py $total" \
    -- "sh /lab/idle-rates-guest.sh $rounds $seconds $variants" >"$log" 2>&1 && break
  grep -q "before the guest command reported" "$log" && [ "$attempt" = 1 ] && continue
  echo "idle-rates: dp-lab failed (log $log)"; exit 1
done
grep -E "^RATE|^CLOCK|idle interrupt:" "$log"
/usr/bin/python3 - "$log" "$nic" "$access" <<'PY'
import re, statistics, sys
text, nic, access = open(sys.argv[1]).read(), sys.argv[2], sys.argv[3]
rates = {}
for binary, mode, _, echoed, seconds in re.findall(r"^RATE (\S+) (\w+) (\d+) (\d+) (\d+)", text, re.M):
    build = "before" if "/before/" in binary else "this"
    rates.setdefault((build, mode), []).append(int(echoed) / int(seconds))
for (build, mode), values in sorted(rates.items()):
    print("idle-rates: %s %s %-6s %-9s median %7.0f round trips/s  (turns: %s)" % (nic, access, build, mode,
          statistics.median(values), ", ".join("%.0f" % v for v in values)))
for build in ("before", "this"):
    p, i = rates.get((build, "poll")), rates.get((build, "interrupt"))
    if p and i and statistics.median(p) > 0:
        print("idle-rates: %s %s %s build: interrupt/poll %.2f" % (nic, access, build, statistics.median(i) / statistics.median(p)))
PY
rm -f "$log"
