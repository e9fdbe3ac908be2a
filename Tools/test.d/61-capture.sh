#!/usr/bin/env bash
# dp-echo --capture on a tap in a network namespace this script makes: a
# Linux peer sends known UDP datagrams and a TCP transfer through the echo;
# tshark must read the pcapng with no malformed frames, and the captured
# payloads, directions and TCP sequence numbers must be what the peer sent
# and got back. A second run checks --capture-filter, --capture-count and
# --capture-snaplen. Namespace and servers are removed at the end.
set -euo pipefail
source "$(dirname "$0")/lib/suite.sh"
suite_begin capture dp-echo
command -v tshark >/dev/null || { echo "capture: tshark is missing (apt-get install tshark)"; exit 1; }
suite_namespace dpcap

# Starts dp-echo on tap dpc0 with the extra flags given; waits for the tap.
start_echo() {
  ip netns exec "$ns" "$bin/dp-echo" --tap dpc0 --ip 10.81.0.2/24 --tcp-echo 7 --udp-echo 7 --seconds 60 "$@" \
    >"$work/server.log" 2>&1 &
  server=$!
  for _ in $(seq 100); do
    ip netns exec "$ns" ip link show dpc0 >/dev/null 2>&1 && grep -q "tcp echo" "$work/server.log" && break
    sleep 0.1
  done
  ip netns exec "$ns" ip addr replace 10.81.0.1/24 dev dpc0
  ip netns exec "$ns" ip link set dpc0 up
}

stop_echo() {
  kill -INT "$server"
  wait "$server" || true
  server=""
  cat "$work/server.log"
}

# Run 1: everything on port 0 ("dpc0" by name).
start_echo --capture "dpc0:$work/all.pcapng"
ip netns exec "$ns" timeout 60 python3 - "$work/peer.json" <<'PY'
import json, socket, sys
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(2)
datagrams = [("capture-%02d-" % i).encode() + bytes(range(i * 7 % 200)) for i in range(20)]
for d in datagrams:
    for attempt in range(5):
        u.sendto(d, ("10.81.0.2", 7))
        try:
            if u.recvfrom(4096)[0] == d: break
        except socket.timeout:
            pass
    else:
        raise SystemExit("no echo for %r" % d[:12])
data = bytes((i * 13 + 5) & 0xFF for i in range(300000))
s = socket.create_connection(("10.81.0.2", 7), timeout=10)
port = s.getsockname()[1]
s.sendall(data); s.shutdown(socket.SHUT_WR)
back = b""
while True:
    c = s.recv(65536)
    if not c: break
    back += c
assert back == data, len(back)
s.close()
json.dump({"udp": [d.hex() for d in datagrams], "tcpPort": port, "tcpBytes": len(data)}, open(sys.argv[1], "w"))
print("peer ok: 20 datagrams echoed, 300000 TCP bytes echoed from port", port)
PY
sleep 0.3   # the peer's last ACK and FIN reach dp-echo
stop_echo
file="$work/all.pcapng"
malformed=$(tshark -r "$file" -Y _ws.malformed | wc -l)
[ "$malformed" = 0 ] || { echo "capture: $malformed malformed frames"; tshark -r "$file" -Y _ws.malformed | head; exit 1; }
tshark -r "$file" -q -z io,phs
tshark -r "$file" -T fields -e frame.interface_id -e frame.packet_flags_direction -e ip.src -e ip.dst -e udp.srcport -e udp.dstport \
  -e udp.payload -Y udp >"$work/udp.txt"
python3 - "$work/peer.json" "$work/udp.txt" <<'PY'
import json, sys
peer = json.load(open(sys.argv[1]))
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[2]) if l.strip()]
inbound = [r[6] for r in rows if r[5] == "7" and r[1] in ("0x00000001", "0x1", "1")]
outbound = [r[6] for r in rows if r[4] == "7" and r[1] in ("0x00000002", "0x2", "2")]
sent = set(peer["udp"])
assert sent <= set(inbound), ("datagrams missing inbound", len(sent - set(inbound)))
assert sent <= set(outbound), ("echoes missing outbound", len(sent - set(outbound)))
assert all(r[0] == "0" for r in rows), "every packet on interface 0"
print("udp ok: %d datagrams in, %d echoes out, payloads as sent" % (len(inbound), len(outbound)))
PY
python3 Tools/test.d/pcap_tcp_check.py "$file" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tcpPort"])' "$work/peer.json")" 7 300000

# Run 2: the filter, the count and the snap length.
start_echo --capture "0:$work/some.pcapng" --capture-filter "udp and dst port 7" --capture-count 5 --capture-snaplen 60
ip netns exec "$ns" timeout 30 python3 - <<'PY'
import socket
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(2)
for i in range(12):
    u.sendto(b"x" * 200 + bytes([i]), ("10.81.0.2", 7))
    try: u.recvfrom(4096)
    except socket.timeout: pass
socket.create_connection(("10.81.0.2", 7), timeout=5).close()
print("peer 2 ok")
PY
stop_echo
grep -q "capture: 5 packets, 0 dropped" "$work/server.log"
[ "$(tshark -r "$work/some.pcapng" -Y _ws.malformed | wc -l)" = 0 ]
tshark -r "$work/some.pcapng" -T fields -e frame.cap_len -e frame.len -e udp.dstport -e frame.packet_flags_direction >"$work/some.txt"
cat "$work/some.txt"
python3 - "$work/some.txt" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
assert len(rows) == 5, len(rows)
assert all(r[0] == "60" and r[1] == "243" and r[2] == "7" for r in rows), rows
print("filter, count and snap length ok")
PY
# Run 3: dp_init --capture in a C program (Tools/c-echo against libdataplane), file completed at exit().
swift build -j 1 --product dataplane >/dev/null
cc -Wall -Wextra -Werror -O2 -o "$work/c-echo" Tools/c-echo/echo.c -I Sources/CDataplane/include \
  -L "$bin" -ldataplane -Wl,-rpath,"$bin" -Wl,-rpath,"$(dirname "$(command -v swift)")/../lib/swift/linux"
ip netns exec "$ns" "$work/c-echo" --tap dpc1 --ip 10.82.0.2/24 --port 7007 --seconds 30 \
  --capture "0:$work/c.pcapng" --capture-filter "tcp or udp" >"$work/server.log" 2>&1 &
server=$!
tap_ready dpc1 "$work/server.log" serving 10.82.0.1/24
ip netns exec "$ns" timeout 60 python3 Tools/c-echo/echo-client.py 10.82.0.2 7007 2
stop_echo
[ "$(tshark -r "$work/c.pcapng" -Y _ws.malformed | wc -l)" = 0 ]
syns=$(tshark -r "$work/c.pcapng" -Y "tcp.flags.syn == 1 and tcp.flags.ack == 0 and tcp.dstport == 7007" | wc -l)
others=$(tshark -r "$work/c.pcapng" -Y "not (tcp or udp)" | wc -l)
udp=$(tshark -r "$work/c.pcapng" -Y "udp.port == 7007" | wc -l)
echo "c-echo capture: $syns SYNs to 7007, $udp UDP datagrams, $others others"
[ "$syns" -ge 2 ] && [ "$udp" -ge 40 ] && [ "$others" = 0 ]
tshark -r "$work/c.pcapng" -q -z io,phs 2>/dev/null | grep -c "tcp" >/dev/null

# Bad input is a clear error, not a crash.
if out=$("$bin/dp-echo" --tap x --ip 10.0.0.2/24 --capture "0:/tmp/x" --capture-filter "port seven" 2>&1); then
  echo "bad filter accepted"; exit 1
fi
echo "$out" | grep -q "is not a port number" || { echo "unclear error: $out"; exit 1; }
echo "capture suite ok"
