#!/usr/bin/env bash
# dp-dumpcap attached to a running dp-echo (tap in a network namespace this
# script makes): it captures a TCP echo transfer from a Linux peer, stopped
# by SIGINT; tshark must decode it with no malformed frames and the right
# sequence numbers and payloads. Then stops on --count and on --duration,
# and clear errors. Namespace and processes are removed at the end.
set -euo pipefail
source "$(dirname "$0")/lib/suite.sh"
suite_begin dumpcap dp-echo dp-dumpcap
command -v tshark >/dev/null || { echo "dumpcap: tshark is missing (apt-get install tshark)"; exit 1; }
name="dpdc-$$"
dumpcap=""
suite_processes="server dumpcap"
suite_namespace dpdc
ip netns exec "$ns" "$bin/dp-echo" --tap dpd0 --ip 10.85.0.2/24 --tcp-echo 7 --udp-echo 7 --seconds 90 \
  --telemetry-name "$name" >"$work/server.log" 2>&1 &
server=$!
tap_ready dpd0 "$work/server.log" "tcp echo" 10.85.0.1/24

# 1: a TCP transfer, the capture stopped by SIGINT.
"$bin/dp-dumpcap" "$name" --port dpd0 -w "$work/tcp.pcapng" --filter "tcp and port 7" >"$work/dumpcap.log" 2>&1 &
dumpcap=$!
for _ in $(seq 100); do grep -q capturing "$work/dumpcap.log" && break; sleep 0.05; done
cat "$work/dumpcap.log"
ip netns exec "$ns" timeout 60 python3 - "$work/port" <<'PY'
import socket, sys
data = bytes((i * 13 + 5) & 0xFF for i in range(400000))
s = socket.create_connection(("10.85.0.2", 7), timeout=10)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
s.sendall(data); s.shutdown(socket.SHUT_WR)
back = b""
while True:
    c = s.recv(65536)
    if not c: break
    back += c
assert back == data, len(back)
s.close()
# Not in the capture (the filter): a datagram.
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(2)
u.sendto(b"u", ("10.85.0.2", 7)); u.recvfrom(10)
print("peer ok: 400000 bytes echoed")
PY
sleep 0.3
kill -INT "$dumpcap"
wait "$dumpcap"
dumpcap=""
cat "$work/dumpcap.log"
malformed=$(tshark -r "$work/tcp.pcapng" -Y _ws.malformed 2>/dev/null | wc -l)
[ "$malformed" = 0 ] || { echo "dumpcap: $malformed malformed frames"; exit 1; }
[ "$(tshark -r "$work/tcp.pcapng" -Y "not tcp" 2>/dev/null | wc -l)" = 0 ] || { echo "dumpcap: the filter let other packets in"; exit 1; }
tshark -r "$work/tcp.pcapng" -c 4 2>/dev/null
python3 Tools/test.d/pcap_tcp_check.py "$work/tcp.pcapng" "$(cat "$work/port")" 7 400000

# 2: --count ends it by itself (UDP only: the TCP transfer's last frames may still be on the wire).
"$bin/dp-dumpcap" "$name" -w "$work/count.pcapng" --count 10 --snaplen 80 --filter udp >"$work/dumpcap.log" 2>&1 &
dumpcap=$!
sleep 0.3
ip netns exec "$ns" timeout 30 python3 -c '
import socket
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(2)
for i in range(20): u.sendto(b"c" * 300, ("10.85.0.2", 7)); u.recvfrom(400)
'
for _ in $(seq 100); do kill -0 "$dumpcap" 2>/dev/null || break; sleep 0.05; done
wait "$dumpcap"
dumpcap=""
cat "$work/dumpcap.log"
grep -q "10 packets captured" "$work/dumpcap.log"
[ "$(tshark -r "$work/count.pcapng" -T fields -e frame.cap_len 2>/dev/null | sort -u)" = 80 ]
[ "$(tshark -r "$work/count.pcapng" 2>/dev/null | wc -l)" = 10 ]

# 3: --duration ends it; an idle port gives a valid empty capture.
"$bin/dp-dumpcap" "$name" -w "$work/idle.pcapng" --duration 0.5 --filter "port 9999" | tee "$work/dumpcap.log"
grep -q "0 packets captured" "$work/dumpcap.log"
tshark -r "$work/idle.pcapng" >/dev/null 2>&1

# Bad input: clear errors.
if "$bin/dp-dumpcap" "$name" -w "$work/x.pcapng" --filter "port x" 2>"$work/err.txt"; then echo "bad filter accepted"; exit 1; fi
grep -q "is not a port number" "$work/err.txt"
if "$bin/dp-dumpcap" "$name" -w "$work/x.pcapng" --port 5 2>"$work/err.txt"; then echo "bad port accepted"; exit 1; fi
grep -q "no port '5'" "$work/err.txt"
if "$bin/dp-dumpcap" nobody -w "$work/x.pcapng" 2>"$work/err.txt"; then echo "bad target accepted"; exit 1; fi
grep -q "no telemetry socket named 'nobody'" "$work/err.txt"

kill -INT "$server"
wait "$server" || true
server=""
echo "dumpcap suite ok"
