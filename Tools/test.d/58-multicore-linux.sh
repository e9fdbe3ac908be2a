#!/usr/bin/env bash
# Per-core stacks with software RSS against Linux: dp-echo --cores N on a tap
# in a network namespace this script makes. Linux clients open 200 TCP
# connections (16 at a time, each echoed byte-exact) and send UDP from 64
# source ports; the stats JSON must show every core serving a share (at
# least 10% of the connections each) and no frame on the wrong core.
# Runs with 2 and 4 cores. Namespace and server are removed at the end.
set -euo pipefail
source "$(dirname "$0")/lib/suite.sh"
suite_begin multicore-linux dp-echo

run_cores() {
  local cores=$1
  suite_namespace dpm
  ip netns exec "$ns" "$bin/dp-echo" --tap dpm0 --ip 10.81.0.2/24 --tcp-echo 7 --udp-echo 7 --cores "$cores" \
    --seconds 90 --stats-json "$work/stats.json" >"$work/server.log" 2>&1 &
  server=$!
  tap_ready dpm0 "$work/server.log" "tcp echo" 10.81.0.1/24
  ip netns exec "$ns" timeout 90 python3 - <<'PY'
import socket, threading
address = ("10.81.0.2", 7)
failures = []
def client(n):
    data = bytes((i * 13 + n) & 0xFF for i in range(4096 + n))
    try:
        with socket.create_connection(address, timeout=15) as s:
            s.sendall(data); s.shutdown(socket.SHUT_WR)
            back = b""
            while True:
                chunk = s.recv(65536)
                if not chunk: break
                back += chunk
        if back != data: failures.append((n, len(back)))
    except Exception as error:
        failures.append((n, repr(error)))
for batch in range(0, 200, 16):
    threads = [threading.Thread(target=client, args=(n,)) for n in range(batch, min(batch + 16, 200))]
    for t in threads: t.start()
    for t in threads: t.join()
assert not failures, failures[:5]
echoed = 0
for port in range(64):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(1)
    u.bind(("10.81.0.1", 30000 + port))
    for attempt in range(3):  # the first may wait for ARP
        u.sendto(b"datagram %d" % port, address)
        try:
            if u.recvfrom(100)[0] == b"datagram %d" % port: echoed += 1; break
        except socket.timeout:
            pass
    u.close()
assert echoed == 64, echoed
print("clients ok: 200 TCP connections echoed byte-exact, 64 UDP source ports echoed")
PY
  kill -INT "$server"
  wait "$server" || true
  server=""
  ip netns delete "$ns"
  cat "$work/server.log"
  python3 - "$work/stats.json" "$cores" <<'PY'
import json, sys
stats, cores = json.load(open(sys.argv[1])), int(sys.argv[2])
shares = [core["tcpConnections"] for core in stats["cores"]]
assert len(shares) == cores and sum(shares) == 200, shares
assert min(shares) >= 200 * 0.10, f"a core served under 10% of the connections: {shares}"
wrong = [core["wrongCore"] for core in stats["cores"]]
assert wrong == [0] * cores, f"frames on the wrong core: {wrong}"
udp = [core["udpEchoed"] for core in stats["cores"]]
assert sum(udp) >= 64 and all(u > 0 for u in udp), f"UDP not spread: {udp}"
print(f"multicore-linux: {cores} cores, connections per core {shares}, datagrams per core {udp}, wrong-core {wrong}")
PY
}
run_cores 2
run_cores 4
