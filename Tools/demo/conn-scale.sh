#!/usr/bin/env bash
# Connection scale (issue 18): N TCP connections from Linux clients to an
# echo server, each echoes 16 bytes, all held HOLD seconds, then each echoes
# again and closes; every byte compared by the clients. Run twice:
#   ours:  dp-conn-bench on a tap in namespace D; the clients in D (the tap's
#          Linux side holds the client addresses)
#   linux: conn-scale server (epoll) in namespace S; the clients in C, a veth between
# Reports the ramp rate, our memory per connection (RSS and heap deltas, our
# ring accounting), the kernel's per connection (slab + socket memory; the
# clients' share, measured in the first run, subtracted) and the poll-step
# cost with the connections idle against none. Prints a table, writes
# results/conn-scale-<time>.json. Stops by itself: every phase is bounded,
# and a run starts only with HOLD_FREE_GIB + an estimate of MemAvailable.
#
# Usage: Tools/demo/conn-scale.sh [N] [HOLD_SECONDS]   (root; default 1000000 30)
# Environment: CONN_SCALE_RUNS="ours linux", CONN_SCALE_JSON=path,
#              CONN_SCALE_INFLIGHT (handshakes in flight per client process, default 256),
#              CONN_SCALE_BACKLOG (our listener's backlog, default 65535),
#              CONN_SCALE_TAG (name prefix, default h18), CONN_SCALE_NET (first two octets, default 10.118)
set -euo pipefail
cd "$(dirname "$0")/../.."
count=${1:-1000000}
hold=${2:-30}
runs=${CONN_SCALE_RUNS:-ours linux}
tag=${CONN_SCALE_TAG:-h18}
net=${CONN_SCALE_NET:-10.118}
free_gib=${HOLD_FREE_GIB:-8}
if [ "$(id -u)" != 0 ]; then echo "conn-scale: needs root (namespaces); skipped"; exit 0; fi
say() { echo "conn-scale: [${SECONDS}s] $*"; }  # phases with the script's elapsed time
swift build -c release --product dp-conn-bench >/dev/null
bin=$(swift build -c release --show-bin-path)
work=$(mktemp -d)
cc -O2 -o "$work/conn-scale" Tools/demo/conn-scale.c
stamp=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p results
json=${CONN_SCALE_JSON:-results/conn-scale-$stamp.json}
nsD="$tag-csd-$$"; nsS="$tag-css-$$"; nsC="$tag-csc-$$"
pids=()

cleanup() {
  for pid in "${pids[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
  sleep 0.5
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  for ns in "$nsD" "$nsS" "$nsC"; do ip netns delete "$ns" 2>/dev/null || true; done
  rm -rf "$work"
  say "stopped, namespaces deleted"
}
trap cleanup EXIT

# Several source addresses and processes. At most 25,000 connections per
# source address: Linux's connect() picks the ephemeral port from one parity
# first (32,256 of 1024-65535) and scans all of that half on every connect()
# once it is used up, before it tries the other (__inet_hash_connect); with
# 50,000 per address every connect() above ~65,000 in all took 4.3 ms of
# kernel time, and the clients stalled. Each process holds what RLIMIT_NOFILE
# allows (the hard limit is raised only with CAP_SYS_RESOURCE; this lab's is
# 20,000), with room for 64 more.
sources_n=$(( (count + 24999) / 25000 )); [ "$sources_n" -lt 2 ] && sources_n=2
hard=$(ulimit -Hn); [ "$hard" = unlimited ] && hard=1048576
per_proc=$(( hard - 64 < 125000 ? hard - 64 : 125000 ))
procs=$(( (count + per_proc - 1) / per_proc ))
# The Linux server's processes (SO_REUSEPORT spreads connections by hash: 75% full on average).
server_procs=$(( (count * 4 / 3 + per_proc - 1) / per_proc ))
sources=$(seq -s, -f "$net.1.%g" 1 "$sources_n")

mem_kib() { awk -v k="$1" '$1 == k":" {print $2}' /proc/meminfo; }
kernel_bytes() {  # slab plus TCP socket buffer pages
  local slab sock
  slab=$(mem_kib Slab)
  sock=$(ip netns exec "$1" awk '$1 == "TCP:" {for (i = 2; i < NF; i++) if ($i == "mem") print $(i+1)}' /proc/net/sockstat)
  echo $(( slab * 1024 + ${sock:-0} * 4096 ))
}
listen_counters() {  # the namespace's listen-path counters (/proc/net/netstat TcpExt) as JSON
  ip netns exec "$1" awk '$1 == "TcpExt:" { if (!h) { for (i = 2; i <= NF; i++) name[i] = $i; h = 1; next }
    for (i = 2; i <= NF; i++) if (name[i] ~ /^(ListenOverflows|ListenDrops|SyncookiesSent|SyncookiesRecv|TCPReqQFullDrop)$/)
      out = out (out ? ", " : "") "\"" name[i] "\": " $i }
    END { print "{" out "}" }' /proc/net/netstat
}
check_memory() {  # bytes the run may need
  local available=$(( $(mem_kib MemAvailable) * 1024 ))
  if [ "$available" -lt $(( $1 + free_gib * 1024 * 1024 * 1024 )) ]; then
    echo "conn-scale: $(( available >> 20 )) MiB available, the run needs about $(( $1 >> 20 )) MiB and $free_gib GiB must stay free: skipped"
    return 1
  fi
}
make_ns() {
  ip netns add "$1"
  ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
    net.ipv4.ip_local_port_range="1024 65535" net.core.somaxconn=65535 net.ipv4.tcp_max_syn_backlog=65535 \
    net.ipv4.tcp_max_tw_buckets=2000000
  ip -n "$1" link set lo up
}
wait_file() {  # file, seconds
  for _ in $(seq $(( $2 * 10 ))); do [ -s "$1" ] && return 0; sleep 0.1; done
  return 1
}

# Runs the clients against SERVER from namespace NS; fills ramp_s, answered and the hold samples.
run_clients() {  # ns, server address, kernel-sample ns, status command
  local ns=$1 server=$2 per=$(( (count + procs - 1) / procs )) left=$count i=0
  local cpids=() begin
  begin=$(date +%s.%N)
  while [ "$left" -gt 0 ]; do
    local n=$(( left < per ? left : per ))
    ip netns exec "$ns" bash -c "ulimit -n $(( n + 64 )) && exec '$work/conn-scale' client $server 7 $n $sources $i '$work/ready-$i'" \
      >"$work/client-$i.log" 2>&1 &
    cpids+=($!); pids+=($!)
    left=$(( left - n )); i=$(( i + 1 ))
  done
  for j in $(seq 0 $(( i - 1 ))); do  # each client writes its file, or ends (then its log says why)
    for _ in $(seq 4000); do { [ -s "$work/ready-$j" ] || ! kill -0 "${cpids[$j]}" 2>/dev/null; } && break; sleep 0.1; done
  done
  ramp_s=$(awk -v a="$begin" -v b="$(date +%s.%N)" 'BEGIN {print b - a}')
  answered=$(cat "$work"/ready-* 2>/dev/null | awk '{s += $4} END {print s + 0}')
  say "ramp done: $answered answered in $ramp_s s; holding ${hold} s"
  sleep 3
  hold_kernel=$(kernel_bytes "$3")
  hold_status=$($4)
  sleep $(( hold > 3 ? hold - 3 : 0 ))
  for pid in "${cpids[@]}"; do kill -USR1 "$pid" 2>/dev/null || true; done
  say "second echo"
  clients_ok=1
  for pid in "${cpids[@]}"; do wait "$pid" || clients_ok=0; done
  say "second echo done, clients closed"
  cat "$work"/client-*.log
  rm -f "$work"/ready-* "$work"/client-*.log
}

ours="{}"
linux="{}"
client_kernel=0
if [[ " $runs " == *" ours "* ]] && check_memory $(( count * 8192 )); then
  make_ns "$nsD"
  ip netns exec "$nsD" "$bin/dp-conn-bench" --tap "${tag}cs0" --ip "$net.0.2/16" --port 7 \
    --seconds 900 --status "$work/status.json" --backlog "${CONN_SCALE_BACKLOG:-65535}" >"$work/dp.log" 2>&1 &
  pids+=($!); dp=$!
  say "ours: dp-conn-bench starting"
  wait_file "$work/status.json" 30 || { echo "conn-scale: dp-conn-bench did not start:"; cat "$work/dp.log"; exit 1; }
  ip -n "$nsD" link set "${tag}cs0" txqueuelen 65536 up  # frames to us: 256 handshakes in flight per client process
  ip -n "$nsD" addr add "$net.0.1/16" dev "${tag}cs0"
  for s in ${sources//,/ }; do ip -n "$nsD" addr add "$s/16" dev "${tag}cs0"; done
  sleep 2
  idle_before=$(cat "$work/status.json")
  base_kernel=$(kernel_bytes "$nsD")
  run_clients "$nsD" "$net.0.2" "$nsD" "cat $work/status.json"
  # The clients' last FINs may still be queued for us: up to 10 s for every close.
  for _ in $(seq 20); do sleep 0.5; grep -q '"open":0,' "$work/status.json" && break; done
  sleep 1.2  # a status written after the last close
  say "ours: $(grep -o '"open":[0-9]*' "$work/status.json") after the close"
  after=$(cat "$work/status.json")
  # Frames the tap's queue to us dropped (our input lagging): the kernel's tx_dropped of the tap.
  tap_dropped=$(ip netns exec "$nsD" cat "/sys/class/net/${tag}cs0/statistics/tx_dropped")
  client_kernel=$(( hold_kernel - base_kernel ))
  ours=$(python3 - "$idle_before" "$hold_status" "$after" "$count" "$ramp_s" "$answered" "$clients_ok" "$client_kernel" "$tap_dropped" <<'EOF'
import json, sys
before, held, after = (json.loads(x) for x in sys.argv[1:4])
n, ramp, answered, ok, kernel = int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6]), sys.argv[7] == "1", int(sys.argv[8])
tap_dropped = int(sys.argv[9])
print(json.dumps({
  "connections": n, "held": held["open"], "answered_first": answered, "all_answered_twice": ok and after["failures"] == 0,
  "ramp_seconds": round(ramp, 2), "ramp_per_second": round(n / ramp),
  "rss_per_connection": round((held["rss_bytes"] - before["rss_bytes"]) / n),
  "heap_per_connection": round((held["heap_bytes"] - before["heap_bytes"]) / n),
  "ring_bytes_in_use_held": held["ring_bytes_in_use"], "ring_bytes_from_system": held["ring_bytes_from_system"],
  "idle_step_ns_no_connections": before["idle_step_ns_avg"], "idle_step_ns_held": held["idle_step_ns_avg"],
  "clients_kernel_bytes_per_connection": round(kernel / n), "open_after": after["open"], "echoed_bytes": after["echoed_bytes"],
  "syns_dropped": after["syns_dropped"], "syn_cookies_sent": after["syn_cookies_sent"],
  "syn_cookies_accepted": after["syn_cookies_accepted"], "syn_cookies_rejected": after.get("syn_cookies_rejected"),
  "syn_cookies_over_half_open": after.get("syn_cookies_over_half_open"), "control_queue_drops": after.get("control_queue_drops"),
  "cookie_acks_dropped_queue_full": after.get("cookie_acks_dropped_queue_full"),
  "cookie_acks_dropped_unchecked": after.get("cookie_acks_dropped_unchecked"),
  "stack_drops": after.get("stack_drops"), "tap_frames_dropped": tap_dropped,
}))
EOF
)
  kill -INT "$dp"; wait "$dp" || true
  ip netns delete "$nsD"
  say "ours: done"
fi

if [[ " $runs " == *" linux "* ]] && check_memory $(( count * 10240 )); then
  make_ns "$nsS"; make_ns "$nsC"
  ip -n "$nsC" link add "${tag}csc0" type veth peer name "${tag}css0" netns "$nsS"
  ip -n "$nsS" addr add "$net.0.2/16" dev "${tag}css0"
  ip -n "$nsC" addr add "$net.0.1/16" dev "${tag}csc0"
  for s in ${sources//,/ }; do ip -n "$nsC" addr add "$s/16" dev "${tag}csc0"; done
  ip -n "$nsS" link set "${tag}css0" up; ip -n "$nsC" link set "${tag}csc0" up
  linux_pids=()
  say "linux: servers starting"
  for k in $(seq "$server_procs"); do
    ip netns exec "$nsS" bash -c "ulimit -n $hard && exec '$work/conn-scale' server 7 900" >"$work/linux-$k.log" 2>&1 &
    pids+=($!); linux_pids+=($!)
  done
  wait_file "$work/linux-$server_procs.log" 10
  sleep 1
  rss() { local sum=0 p; for p in "${linux_pids[@]}"; do sum=$(( sum + $(awk '$1 == "VmRSS:" {print $2 * 1024}' "/proc/$p/status") )); done; echo "$sum"; }
  base_rss=$(rss); base_kernel=$(kernel_bytes "$nsS")
  run_clients "$nsC" "$net.0.2" "$nsS" "rss"
  linux=$(python3 - "$count" "$ramp_s" "$answered" "$clients_ok" "$hold_kernel" "$base_kernel" "$hold_status" "$base_rss" "$client_kernel" \
    "$(listen_counters "$nsS")" <<'EOF'
import json, sys
n, ramp, answered, ok = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
listen = json.loads(sys.argv[10])
kernel = int(sys.argv[5]) - int(sys.argv[6]) - int(sys.argv[9])  # the clients' share measured in our run
rss = int(sys.argv[7]) - int(sys.argv[8])
print(json.dumps({
  "connections": n, "answered_first": answered, "all_answered_twice": ok,
  "ramp_seconds": round(ramp, 2), "ramp_per_second": round(n / ramp),
  "server_kernel_bytes_per_connection": round(kernel / n), "server_rss_per_connection": round(rss / n),
  "bytes_per_connection": round((kernel + rss) / n), "clients_share_subtracted": int(sys.argv[9]) > 0,
  "listen_overflows": listen.get("ListenOverflows"), "listen_drops": listen.get("ListenDrops"),
  "syn_cookies_sent": listen.get("SyncookiesSent"), "syn_cookies_received": listen.get("SyncookiesRecv"),
}))
EOF
)
  for p in "${linux_pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  say "linux: done"
fi

python3 - "$ours" "$linux" "$json" "$stamp" <<'EOF'
import json, sys
ours, linux, path, stamp = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3], sys.argv[4]
result = {"date": stamp, "ours": ours, "linux": linux}
if ours and linux and linux.get("bytes_per_connection"):
    result["ratio_ours_to_linux"] = round(ours["rss_per_connection"] / linux["bytes_per_connection"], 3)
json.dump(result, open(path, "w"), indent=1)
def row(name, d, keys):
    print(f"{name:<8}" + "".join(f"{str(d.get(k, '-')):>14}" for k in keys))
keys = ["connections", "answered_first", "all_answered_twice", "ramp_per_second"]
print(f"{'':<8}" + "".join(f"{k[:13]:>14}" for k in keys))
row("ours", ours, keys); row("linux", linux, keys)
if ours:
    print(f"ours: RSS {ours['rss_per_connection']} B/conn, heap {ours['heap_per_connection']} B/conn, "
          f"ring chunks held {ours['ring_bytes_in_use_held']} B, idle poll step {ours['idle_step_ns_no_connections']} ns "
          f"with none -> {ours['idle_step_ns_held']} ns with {ours['held']} held")
    print(f"ours listen path: ramp {ours['ramp_per_second']}/s, SYNs dropped {ours['syns_dropped']}, "
          f"SYN cookies sent {ours['syn_cookies_sent']} / accepted {ours['syn_cookies_accepted']} / rejected {ours['syn_cookies_rejected']}"
          f" / over a half-open child {ours['syn_cookies_over_half_open']} / ACKs dropped (accept queue full) {ours['cookie_acks_dropped_queue_full']} / pure ACKs failing the check dropped, not reset {ours['cookie_acks_dropped_unchecked']}; frames to us dropped by the tap {ours['tap_frames_dropped']}, "
          f"control segments dropped {ours['control_queue_drops']}, stack drops {ours['stack_drops']}")
if linux:
    print(f"linux: {linux['bytes_per_connection']} B/conn (kernel {linux['server_kernel_bytes_per_connection']} + "
          f"process {linux['server_rss_per_connection']})")
    print(f"linux listen path: ramp {linux['ramp_per_second']}/s, listen overflows {linux['listen_overflows']}, "
          f"drops {linux['listen_drops']}, SYN cookies sent {linux['syn_cookies_sent']}")
if "ratio_ours_to_linux" in result: print(f"ours / linux memory per idle connection: {result['ratio_ours_to_linux']}")
print(f"written: {path}")
ok = (not ours or ours["all_answered_twice"]) and (not linux or linux["all_answered_twice"])
sys.exit(0 if ok else 1)
EOF
