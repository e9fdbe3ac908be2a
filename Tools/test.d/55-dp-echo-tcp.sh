#!/usr/bin/env bash
# dp-echo serving TCP echo, TCP discard and UDP echo on a tap in a network
# namespace this script makes, to Linux clients there; its --stats-json
# counts what it served. Namespace and server are removed at the end.
set -euo pipefail
source "$(dirname "$0")/lib/suite.sh"
suite_begin dp-echo-tcp dp-echo
suite_namespace dpe
ip netns exec "$ns" "$bin/dp-echo" --tap dpe0 --ip 10.79.0.2/24 --tcp-echo 7 --tcp-discard 9 --udp-echo 7 \
  --seconds 60 --stats-json "$work/stats.json" >"$work/server.log" 2>&1 &
server=$!
tap_ready dpe0 "$work/server.log" "tcp echo" 10.79.0.1/24
ip netns exec "$ns" timeout 60 python3 - <<'PY'
import socket
data = bytes((i * 11) & 0xFF for i in range(300000))
for n in range(3):
    s = socket.create_connection(("10.79.0.2", 7), timeout=10)
    s.sendall(data); s.shutdown(socket.SHUT_WR)
    back = b""
    while True:
        c = s.recv(65536)
        if not c: break
        back += c
    assert back == data, (n, len(back))
    s.close()
d = socket.create_connection(("10.79.0.2", 9), timeout=10)
d.sendall(data); d.shutdown(socket.SHUT_WR)
assert d.recv(10) == b""  # discard sends nothing and closes after the end of stream
d.close()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(2)
u.sendto(b"x", ("10.79.0.2", 7)); assert u.recvfrom(10)[0] == b"x"
print("clients ok")
PY
kill -INT "$server"
wait "$server" || true
server=""
cat "$work/server.log"
python3 - "$work/stats.json" <<'PY'
import json, sys
stats = json.load(open(sys.argv[1]))
assert stats["tcpConnections"] == 4, stats["tcpConnections"]
assert stats["tcpBytesEchoed"] == 900000, stats["tcpBytesEchoed"]
assert stats["tcpBytesDiscarded"] == 300000, stats["tcpBytesDiscarded"]
assert stats["udpEchoed"] >= 1
print("dp-echo stats ok")
PY
