#!/usr/bin/env bash
# TCP between the Linux kernel and ours (dp-echo's echo port) through the
# impairment relay: SIZE bytes each way, clean and impaired, with the sha256
# of what was sent and what came back compared. This kernel has no netem, so
# dp-impair relays the frames between the two sides and impairs them as
# they pass.
#
#   netns P (Linux peer)          netns R (relay, no addresses)
#   p0 PEER  <== veth ==> r0 <-- dp-impair --> tap <-> dp-echo OURS
#
# Usage: tcp_linux_transfer.sh 4|6 [SIZE]   (SIZE defaults to 100 MiB)
#   4: over IPv4 (10.81.0.0/24; IPv6 off in both namespaces): suite 56.
#   6: over IPv6 (fd20:56::/64; dp-echo also has 10.120.56.2/24): suite 68
#      with a small size, Tools/demo/ipv6-tcp-transfer.sh with 100 MiB.
# Runs: clean (the relay copies every frame unchanged), then impaired in
# both directions: loss 4%, reordering 22% (held 3 ms while later frames
# pass), duplication 1%. Namespaces and processes are removed at the end,
# also on failure. Environment: DP_TRANSFER_RUNS="clean impaired" picks runs.
set -euo pipefail
cd "$(dirname "$0")/../.."
family=${1:?usage: tcp_linux_transfer.sh 4|6 [SIZE]}
size=${2:-$((100 * 1024 * 1024))}
case "$family" in
  4) suite=tcp-linux-transfer prefix=dpt host=10.81.0.2 seed=56
     peer_addresses=(10.81.0.1/24) our_addresses=(--ip 10.81.0.2/24) mac=02:00:0a:51:00:02 ;;
  6) suite=ipv6-tcp-transfer prefix=v6t host=fd20:56::2 seed=68
     peer_addresses=(10.120.56.1/24 fd20:56::1/64) our_addresses=(--ip 10.120.56.2/24 --ip fd20:56::2/64)
     mac=02:00:0a:78:38:02 ;;
  *) echo "usage: tcp_linux_transfer.sh 4|6 [SIZE]"; exit 2 ;;
esac
if [ "$(id -u)" != 0 ]; then echo "$suite: needs root for network namespaces; skipped"; exit 0; fi
swift build --product dp-echo >/dev/null
swift build --product dp-impair >/dev/null
bin=$(swift build --show-bin-path)
python=/usr/bin/python3
work=$(mktemp -d)
tag="$$-$RANDOM"
nsP="$prefix-p-$tag"
nsR="$prefix-r-$tag"
tap=${prefix}0
server=""
relay=""

stop_process() {  # pid: SIGINT (both tools write their stats on it), then wait, bounded
  local pid=$1
  kill -INT "$pid" 2>/dev/null || return 0
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  if [ -n "$relay" ]; then stop_process "$relay"; fi
  if [ -n "$server" ]; then stop_process "$server"; fi
  ip netns delete "$nsP" 2>/dev/null || true
  ip netns delete "$nsR" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# The topology. Over IPv4, IPv6 is off before any interface exists, so
# nothing but the test's own frames (and ARP) crosses the relay; over IPv6
# it is on without DAD, and off on the relay's port (no router
# solicitations or link-local chatter from it).
for ns in "$nsP" "$nsR"; do
  ip netns add "$ns"
  if [ "$family" = 4 ]; then
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  else
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0 \
      net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0
  fi
  ip -n "$ns" link set lo up
done
ip -n "$nsP" link add p0 type veth peer name r0 netns "$nsR"
for address in "${peer_addresses[@]}"; do
  case "$address" in *:*) ip -n "$nsP" addr add "$address" dev p0 nodad ;; *) ip -n "$nsP" addr add "$address" dev p0 ;; esac
done
[ "$family" = 4 ] || ip netns exec "$nsR" sysctl -qw net.ipv6.conf.r0.disable_ipv6=1 2>/dev/null || true
# AF_PACKET copies frames with the sender's offload shortcuts (partial
# checksums, 64 KB GSO frames): turn them off on both ends.
ip netns exec "$nsP" ethtool -K p0 tx off tso off gso off gro off >/dev/null
ip netns exec "$nsR" ethtool -K r0 tx off tso off gso off gro off >/dev/null
ip -n "$nsP" link set p0 up
ip -n "$nsR" link set r0 promisc on up

wait_for_line() {  # file, text, what: up to 10 s
  for _ in $(seq 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "$suite: $3 did not start:"; cat "$1"; return 1
}

# One run: dp-echo and the relay started fresh (their counters are this
# run's), 100 MiB through the echo, then both stopped and their counters checked.
run_transfer() {  # name, time limit in seconds, relay options...
  local name=$1 limit=$2
  shift 2
  # A fixed MAC and a flushed neighbour cache: each run's dp-echo is a new
  # station, and Linux would otherwise keep sending to the last one's address.
  ip -n "$nsP" neigh flush dev p0
  [ "$family" = 4 ] || ip -n "$nsP" -6 neigh flush dev p0
  ip netns exec "$nsR" "$bin/dp-echo" --tap "$tap" "${our_addresses[@]}" --mac "$mac" --tcp-echo 7 \
    --seconds $((limit + 60)) --stats-json "$work/echo-$name.json" >"$work/echo-$name.log" 2>&1 &
  server=$!
  wait_for_line "$work/echo-$name.log" "tcp echo" "dp-echo"
  ip -n "$nsR" link set "$tap" promisc on
  ip netns exec "$nsR" "$bin/dp-impair" --a "$tap" --b r0 "$@" --seed "$seed" \
    --seconds $((limit + 60)) --stats-json "$work/relay-$name.json" >"$work/relay-$name.log" 2>&1 &
  relay=$!
  wait_for_line "$work/relay-$name.log" "dp-impair:" "dp-impair"
  cat "$work/relay-$name.log"
  local status=0
  ip netns exec "$nsP" timeout "$limit" "$python" - "$size" "$work/client-$name.json" "$host" <<'PY' || status=$?
import hashlib, json, random, socket, sys, threading, time
size, result_path, host = int(sys.argv[1]), sys.argv[2], sys.argv[3]
data = random.Random(56).randbytes(size)  # pseudo-random, the same every run
sent_hash = hashlib.sha256(data).hexdigest()
start = time.monotonic()
s = None
for attempt in range(20):  # ARP or the SYN may be lost under impairment; the stack may still be starting
    try:
        s = socket.create_connection((host, 7), timeout=5)
        assert s.family == (socket.AF_INET6 if ":" in host else socket.AF_INET)
        break
    except OSError as error:
        print(f"client: connect attempt {attempt + 1}: {error}", flush=True)
        time.sleep(0.5)
if s is None:
    sys.exit(f"client: no connection to {host} port 7")
s.settimeout(60)  # a stalled transfer fails instead of hanging
failures = []
def send_all():
    try:
        view = memoryview(data)
        for offset in range(0, size, 1 << 16):
            s.sendall(view[offset:offset + (1 << 16)])
        s.shutdown(socket.SHUT_WR)
    except OSError as error:
        failures.append(f"send: {error!r}")
sender = threading.Thread(target=send_all)
sender.start()
digest = hashlib.sha256()
received = 0
buffer = bytearray(1 << 20)
view = memoryview(buffer)
try:
    while True:
        n = s.recv_into(buffer)
        if n == 0:
            break
        digest.update(view[:n])
        received += n
except OSError as error:
    failures.append(f"receive after {received} bytes: {error!r}")
sender.join()
elapsed = time.monotonic() - start
s.close()
received_hash = digest.hexdigest()
json.dump({"sent": size, "received": received, "sentSHA256": sent_hash, "receivedSHA256": received_hash,
           "seconds": elapsed, "failures": failures}, open(result_path, "w"))
print(f"client: sent {size} received {received} bytes in {elapsed:.1f} s, "
      f"sha256 sent {sent_hash} received {received_hash}", flush=True)
if failures or received != size or received_hash != sent_hash:
    sys.exit(f"client: transfer failed: {failures}")
PY
  stop_process "$relay"
  relay=""
  stop_process "$server"
  server=""
  if [ "$status" != 0 ]; then
    [ "$status" = 124 ] && echo "$suite: $name: no result within $limit s"
    cat "$work/echo-$name.log" "$work/relay-$name.log"
    echo "$suite: $name failed"
    return 1
  fi
  cat "$work/relay-$name.log" | tail -n 2
  "$python" - "$name" "$size" "$work/client-$name.json" "$work/echo-$name.json" "$work/relay-$name.json" <<'PY'
import json, sys
name, size = sys.argv[1], int(sys.argv[2])
client, echo, relay = (json.load(open(path)) for path in sys.argv[3:6])
assert client["received"] == size and client["sentSHA256"] == client["receivedSHA256"], client
assert echo["tcpBytesEchoed"] == size, f"dp-echo echoed {echo['tcpBytesEchoed']} bytes, expected {size}"
a_to_b, b_to_a = relay["aToB"], relay["bToA"]  # a = the tap (dp-echo's side), b = r0 (Linux's side)
for direction in (a_to_b, b_to_a):
    unintended = sum(direction[k] for k in ("oversized", "queueOverflow", "sendErrors", "kernelDrops"))
    if unintended:
        print(f"transfer {name}: the relay lost {unintended} frames it was not asked to lose: {direction}")
seconds = client["seconds"]
print(f"transfer {name}: {size} bytes each way, sha256 {client['sentSHA256']} sent == received, "
      f"{seconds:.1f} s, {size / 1e6 / seconds:.1f} MB/s, "
      f"relay: dropped {b_to_a['dropped']}/{a_to_b['dropped']} "
      f"reordered {b_to_a['reordered']}/{a_to_b['reordered']} "
      f"duplicated {b_to_a['duplicated']}/{a_to_b['duplicated']} "
      f"(Linux->ours/ours->Linux, of {b_to_a['framesIn']}/{a_to_b['framesIn']} frames)")
tcp = echo.get("tcpConnectionTotals", {})
print(f"  our TCP: {tcp.get('segmentsSent')} segments sent, {tcp.get('retransmittedSegments')} retransmitted "
      f"({tcp.get('fastRetransmits')} fast retransmits, {tcp.get('lostRetransmissions')} lost retransmissions resent, "
      f"{tcp.get('tailLossProbes')} tail loss probes, {tcp.get('retransmissionTimeouts')} timeouts), "
      f"{tcp.get('segmentsReceived')} received, {tcp.get('pawsDrops')} PAWS drops, {tcp.get('outOfOrderDrops')} out-of-order drops")
PY
}

runs=${DP_TRANSFER_RUNS:-clean impaired}
for run in $runs; do
  case "$run" in
    clean) run_transfer clean 60 ;;
    impaired) run_transfer impaired 150 --loss 0.04 --reorder 0.22 --reorder-delay-ms 3 --duplicate 0.01 ;;
    *) echo "$suite: unknown run '$run' (clean, impaired)"; exit 2 ;;
  esac
done
echo "$suite: ok"
