#!/usr/bin/env bash
# Soak: DURATION seconds (default 3600) of mixed traffic against dp-echo on a
# tap, through the impairment relay (dp-impair: loss 1%, reordering 5%):
# TCP bulk both ways (4 MiB echo transfers, sha256 compared), short
# connections, UDP echo (Tools/demo/soak-peer.py). Every 10 s (SOAK_INTERVAL)
# dp-echo's resident memory (/proc/PID/status VmRSS) and its pools' buffers in
# use (dp-stat --json --show pools) are sampled; soak-report.py fits a slope
# to each and fails on a growth trend beyond noise, on any transfer that
# differed and on a crash. Writes results/soak-DURATION.json (and .png when
# matplotlib is there).
#
#   netns P (Linux peer)          netns R (relay)
#   p0 10.121.1.1/24 <== veth ==> r0 <-- dp-impair --> tap h21s0 <-> dp-echo 10.121.1.2/24
#
# Usage: Tools/demo/soak.sh [DURATION_SECONDS] [RESULTS_DIR]   (root: namespaces)
set -euo pipefail
cd "$(dirname "$0")/../.."
duration="${1:-3600}"
results="${2:-results}"
interval="${SOAK_INTERVAL:-10}"
case "$duration" in ''|*[!0-9]*) echo "soak: DURATION must be whole seconds, got '$duration'" >&2; exit 2 ;; esac
if [ "$(id -u)" != 0 ]; then echo "soak: needs root for network namespaces; skipped"; exit 0; fi
swift build -j 1 --product dp-echo >/dev/null
swift build -j 1 --product dp-impair >/dev/null
swift build -j 1 --product dp-stat >/dev/null
bin=$(swift build -j 1 --show-bin-path)
mkdir -p "$results"
work=$(mktemp -d)
tag="$$"
nsP="h21s-p-$tag"
nsR="h21s-r-$tag"
tap=h21s0
name="h21-soak-$tag"
server="" relay="" peer=""

stop_process() {  # pid: SIGINT, then wait (bounded), then KILL
  local pid=$1
  kill -INT "$pid" 2>/dev/null || return 0
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  if [ -n "$peer" ]; then kill "$peer" 2>/dev/null || true; wait "$peer" 2>/dev/null || true; fi
  if [ -n "$relay" ]; then stop_process "$relay"; fi
  if [ -n "$server" ]; then stop_process "$server"; fi
  ip netns delete "$nsP" 2>/dev/null || true
  ip netns delete "$nsR" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

for ns in "$nsP" "$nsR"; do
  ip netns add "$ns"
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip -n "$ns" link set lo up
done
ip -n "$nsP" link add p0 type veth peer name r0 netns "$nsR"
ip -n "$nsP" addr add 10.121.1.1/24 dev p0
ip netns exec "$nsP" ethtool -K p0 tx off tso off gso off gro off >/dev/null
ip netns exec "$nsR" ethtool -K r0 tx off tso off gso off gro off >/dev/null
ip -n "$nsP" link set p0 up
ip -n "$nsR" link set r0 promisc on up

wait_for_line() {  # file, text, what: up to 20 s
  for _ in $(seq 200); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "soak: $3 did not start:"; cat "$1"; return 1
}
ip netns exec "$nsR" "$bin/dp-echo" --tap "$tap" --ip 10.121.1.2/24 --mac 02:00:0a:79:01:02 --tcp-echo 7 --udp-echo 7 \
  --seconds $((duration + 120)) --telemetry-name "$name" --stats-json "$work/echo.json" >"$work/echo.log" 2>&1 &
server=$!
wait_for_line "$work/echo.log" "tcp echo" "dp-echo"
ip -n "$nsR" link set "$tap" promisc on
ip netns exec "$nsR" "$bin/dp-impair" --a "$tap" --b r0 --loss 0.01 --reorder 0.05 --reorder-delay-ms 3 --seed 21 \
  --seconds $((duration + 120)) >"$work/relay.log" 2>&1 &
relay=$!
wait_for_line "$work/relay.log" "dp-impair:" "dp-impair"

# The dp-echo process itself (ip netns exec execs it: $server is its pid).
echo_pid=$server
samples="$work/samples.jsonl"
sample() {  # phase, seconds since start
  local rss pools
  rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$echo_pid/status" 2>/dev/null || echo -1)
  pools=$("$bin/dp-stat" "$name" --json --show pools 2>/dev/null | tr -d '\n' || true)
  echo "{\"phase\": \"$1\", \"t\": $2, \"rssKiB\": ${rss:--1}, \"pools\": ${pools:-null}}" >> "$samples"
}
sample before 0
ip netns exec "$nsP" timeout $((duration + 90)) /usr/bin/python3 Tools/demo/soak-peer.py 10.121.1.2 "$duration" "$work/peer.json" \
  >"$work/peer.log" 2>&1 &
peer=$!

start=$(date +%s)
while kill -0 "$peer" 2>/dev/null; do
  sample load $(( $(date +%s) - start ))
  for _ in $(seq "$interval"); do kill -0 "$peer" 2>/dev/null || break; sleep 1; done
done
peer_status=0
wait "$peer" || peer_status=$?
peer=""
sleep 3  # the last connections close (TIME_WAIT holds no buffers)
sample after $(( $(date +%s) - start ))
alive=1
kill -0 "$echo_pid" 2>/dev/null || alive=0
stop_process "$relay"; relay=""
stop_process "$server"; server=""
cat "$work/peer.log"
/usr/bin/python3 Tools/demo/soak-report.py --samples "$samples" --peer "$work/peer.json" --peer-status "$peer_status" \
  --echo-alive "$alive" --echo-log "$work/echo.log" --duration "$duration" \
  --out "$results/soak-$duration.json"
