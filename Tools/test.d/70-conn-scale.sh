#!/usr/bin/env bash
# Issue 18 in CI: 100,000 TCP connections from Linux clients (4 source
# addresses, 6 processes) to dp-conn-bench on a tap, each echoes 16 bytes,
# all held 5 s, then each echoes again and closes; every byte compared
# (Tools/demo/conn-scale.sh with the data plane only; the full demo runs
# 1,000,000 and the Linux comparison). Fails unless every connection was
# answered both times, the memory per idle connection stays under
# CONN_SCALE_MAX_BYTES (default 4096), and the stack's idle poll step with
# them all held costs at most 50 us more than with none (the timer wheel:
# a turn that looked at every connection would cost several hundred us).
# Environment: CONN_SCALE_COUNT (default 100000).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" != 0 ]; then echo "conn-scale: needs root for network namespaces; skipped"; exit 0; fi
count=${CONN_SCALE_COUNT:-100000}
limit=${CONN_SCALE_MAX_BYTES:-4096}
json=$(mktemp)
trap 'rm -f "$json"' EXIT
CONN_SCALE_RUNS=ours CONN_SCALE_JSON="$json" HOLD_FREE_GIB=2 CONN_SCALE_TAG=${CONN_SCALE_TAG:-dpcs} CONN_SCALE_NET=${CONN_SCALE_NET:-10.68} \
  timeout 240 bash Tools/demo/conn-scale.sh "$count" 5
python3 - "$json" "$count" "$limit" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["ours"]
n, limit = int(sys.argv[2]), int(sys.argv[3])
assert r, "the run did not happen (memory?)"
assert r["held"] == n, f"held {r['held']} of {n}"
assert r["all_answered_twice"], "some connection was not answered twice byte for byte"
assert r["rss_per_connection"] <= limit, f"{r['rss_per_connection']} bytes per idle connection > {limit}"
assert r["open_after"] == 0, f"{r['open_after']} connections still open after the clients closed"
none, held = r["idle_step_ns_no_connections"], r["idle_step_ns_held"]
assert held <= none + 50_000, f"idle poll step {none} ns with no connection, {held} ns with {n} held"
print(f"conn-scale: {n} connections held and answered twice, {r['rss_per_connection']} B RSS per idle connection, "
      f"ramp {r['ramp_per_second']}/s (SYNs dropped {r['syns_dropped']}, SYN cookies {r['syn_cookies_sent']}), "
      f"idle poll step {none} -> {held} ns")
PY
