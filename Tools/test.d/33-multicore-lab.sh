#!/usr/bin/env bash
# Per-core stacks in the lab guest (TCG), dp-echo --cores N against a Linux
# peer in the lab's namespace (multicore_peer.py: TCP connections echoed
# byte-exact, UDP from 64 source ports):
#   virtio-net with N queue pairs and the device's RSS (rss=on; the driver
#   programs the Toeplitz key and table), N = 2 and 4 vCPUs;
#   e1000 (one queue) spread over 2 cores by software RSS;
#   virtio-net, 2 queue pairs, device RSS, IPv6 flows (MULTICORE_LAB_ONLY=TEXT
#   runs only the cases whose name has TEXT).
# Every core must serve a share of the connections (at least 10% each) and
# no frame may reach a core that does not own its flow (wrong-core 0).
# Under TCG the vCPUs share this machine's 2 cores: this checks correctness,
# not speed-up. Needs root (namespaces, taps).
set -uo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" -ne 0 ]; then echo "33-multicore-lab: needs root for network namespaces and taps"; exit 1; fi
swift build --product dp-lab || exit 1
connections=${MULTICORE_LAB_CONNECTIONS:-1000}
log=$(mktemp /tmp/multicore-lab.XXXXXX)
trap 'rm -f "$log"' EXIT
failed=0
results=()

run() {  # name, cores, dp-lab options...  (GUEST_ADDRESSES and PEER_ARGUMENTS for IPv6 flows)
  local name=$1 cores=$2; shift 2
  local guest_addresses=${GUEST_ADDRESSES:---ip 10.0.0.2/24} peer_arguments=${PEER_ARGUMENTS:-10.0.0.2 9999 $connections}
  case "$name" in *"${MULTICORE_LAB_ONLY:-}"*) ;; *) return 0 ;; esac
  echo "--- $name"
  local attempt status
  for attempt in 1 2; do
    .build/debug/dp-lab run --access vfio --product dp-echo --timeout 600 --peer-ip 10.0.0.1/24 \
      --peer "/usr/bin/python3 $PWD/Tools/test.d/multicore_peer.py $peer_arguments" "$@" \
      -- "dp-echo --pci 0000:00:10.0 $guest_addresses --cores $cores --tcp-echo 7 --udp-echo 7 --stop-port 9999 --seconds 540" \
      2>&1 | tee "$log"
    status=${PIPESTATUS[0]}
    # 125: the guest ended before running the command (a failed boot): once more.
    [ "$status" -eq 125 ] && [ "$attempt" -eq 1 ] && ! grep -q "guest ready" "$log" || break
  done
  if /usr/bin/python3 - "$log" "$cores" "$connections" <<'PY'
import re, sys
text = open(sys.argv[1], errors="replace").read()
cores, connections = int(sys.argv[2]), int(sys.argv[3])
assert "MULTICORE peer pass" in text, "the peer failed or did not finish"
shares = {int(m[0]): (int(m[1]), int(m[2]), int(m[3])) for m in
          re.findall(r"dp-echo: core (\d+): (\d+) datagrams echoed, (\d+) TCP connections, (\d+) on the wrong core", text)}
assert sorted(shares) == list(range(cores)), f"per-core lines for {sorted(shares)}, expected {cores} cores"
tcp = [shares[c][1] for c in range(cores)]
assert sum(tcp) == connections, f"{sum(tcp)} connections served, {connections} opened"
assert min(tcp) >= connections * 0.10, f"a core served under 10%: {tcp}"
wrong = [shares[c][2] for c in range(cores)]
assert wrong == [0] * cores, f"frames on the wrong core: {wrong}"
print(f"multicore-lab: connections per core {tcp}, datagrams per core {[shares[c][0] for c in range(cores)]}, wrong-core {wrong}")
PY
  then results+=("$name: pass"); else failed=1; results+=("$name: FAIL (status $status)"); fi
}

run "virtio-net, 2 queue pairs with device RSS, 2 cores" 2 --nic virtio --cpus 2 --queue-pairs 2 --rss
run "virtio-net, 4 queue pairs with device RSS, 4 cores" 4 --nic virtio --cpus 4 --queue-pairs 4 --rss
run "e1000 (one queue), software RSS over 2 cores" 2 --nic e1000 --cpus 2
# IPv6 flows (TCPv6/UDPv6 hash types in the device's RSS; neighbour
# advertisements copied to every core): the same checks.
GUEST_ADDRESSES="--ip 10.0.0.2/24 --ip fd33::2/64" PEER_ARGUMENTS="fd33::2 9999 $connections tap0 fd33::1/64" \
  run "virtio-net, 2 queue pairs with device RSS, 2 cores, IPv6 flows" 2 --nic virtio --cpus 2 --queue-pairs 2 --rss
printf '%s\n' "${results[@]}"
exit $failed
