#!/usr/bin/env bash
# Telemetry and dp-stat against a running dp-echo on a tap in a network
# namespace this script makes: a Linux peer (python3) holds N TCP
# connections open while dp-stat's connection list must show exactly them
# (ESTABLISHED, the peer's addresses and ports); counters read before and
# after UDP traffic must have grown by it; --watch must show rates; the
# socket must be gone after dp-echo exits. Namespace and server are
# removed at the end.
set -euo pipefail
source "$(dirname "$0")/lib/suite.sh"
suite_begin telemetry dp-echo dp-stat
name="dptel-$$"
peer=""
suite_processes="server peer"
suite_cleanup_first() { touch "$work/release" 2>/dev/null; }  # lets a waiting peer end
suite_namespace dptel
ip netns exec "$ns" "$bin/dp-echo" --tap dpt0 --ip 10.84.0.2/24 --tcp-echo 7 --udp-echo 7 --seconds 60 \
  --telemetry-name "$name" >"$work/server.log" 2>&1 &
server=$!
tap_ready dpt0 "$work/server.log" "tcp echo" 10.84.0.1/24

# The process is listed, by name and by pid.
"$bin/dp-stat" | tee "$work/list.txt"
grep -q "^$name .*dp-echo *running" "$work/list.txt"
pid=$(awk -v n="$name" '$1 == n { print $2 }' "$work/list.txt")
"$bin/dp-stat" "$pid" --show pools >/dev/null

# A peer holding 7 connections (echo checked on each) until told to let go.
connections=7
ip netns exec "$ns" timeout 60 python3 - "$work" "$connections" <<'PY' &
import json, os, socket, sys, time
work, n = sys.argv[1], int(sys.argv[2])
conns = []
for i in range(n):
    s = socket.create_connection(("10.84.0.2", 7), timeout=10)
    s.sendall(b"hello %d" % i)
    assert s.recv(100) == b"hello %d" % i
    conns.append(s)
json.dump(["%s:%d" % s.getsockname() for s in conns], open(work + "/peer.json.tmp", "w"))
os.rename(work + "/peer.json.tmp", work + "/peer.json")
deadline = time.time() + 50
while not os.path.exists(work + "/release") and time.time() < deadline:
    time.sleep(0.05)
for s in conns: s.close()
PY
peer=$!
for _ in $(seq 200); do [ -f "$work/peer.json" ] && break; sleep 0.05; done
"$bin/dp-stat" "$name" --show tcp
"$bin/dp-stat" "$name" --show tcp --json >"$work/tcp.json"
python3 - "$work/peer.json" "$work/tcp.json" "$connections" <<'PY'
import json, sys
peer = set(json.load(open(sys.argv[1])))
cores = json.load(open(sys.argv[2]))["tcp"]
ours = [c for core in cores for c in core["connections"]]
remotes = set(c["remote"] for c in ours)
assert remotes == peer, ("dp-stat's connections differ from the peer's", sorted(remotes ^ peer))
assert all(c["state"] == "ESTABLISHED" and c["local"] == "10.84.0.2:7" for c in ours), ours
assert all(c["cwnd"] > 0 and c["mss"] > 0 and c["rttMicroseconds"] is not None for c in ours), ours
assert len(ours) == int(sys.argv[3])
print("tcp list ok: %d connections, as the peer holds them" % len(ours))
PY
touch "$work/release"
wait "$peer"
peer=""

# Counters move with traffic: 50 UDP echoes between two readings.
"$bin/dp-stat" "$name" --json --show ports,cores >"$work/before.json"
ip netns exec "$ns" timeout 30 python3 - <<'PY'
import socket
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(2)
for i in range(50):
    u.sendto(b"d" * 100, ("10.84.0.2", 7)); u.recvfrom(200)
PY
"$bin/dp-stat" "$name" --json --show ports,cores >"$work/after.json"
"$bin/dp-stat" "$name" --show ports,counters
python3 - "$work/before.json" "$work/after.json" <<'PY'
import json, sys
b, a = (json.load(open(p)) for p in sys.argv[1:3])
def frames(d): return sum(c["counters"].get("frames.received", 0) for c in d["cores"])
def udp(d): return sum(c["counters"].get("udp.delivered", c["counters"].get("udp.received", 0)) for c in d["cores"])
def port_rx(d): return d["portStats"][0]["basic"]["receivedPackets"]
assert frames(a) - frames(b) >= 50, (frames(b), frames(a))
assert port_rx(a) - port_rx(b) >= 50, (port_rx(b), port_rx(a))
print("counters ok: frames.received +%d, port rx +%d" % (frames(a) - frames(b), port_rx(a) - port_rx(b)))
PY

# --watch: rates while a peer sends.
ip netns exec "$ns" timeout 30 python3 - <<'PY' &
import socket, time
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(1)
end = time.time() + 2.5
while time.time() < end:
    u.sendto(b"w" * 64, ("10.84.0.2", 7))
    try: u.recvfrom(100)
    except socket.timeout: pass
    time.sleep(0.002)
PY
peer=$!
"$bin/dp-stat" "$name" --watch 0.5 --samples 3 --json >"$work/watch.json"
wait "$peer"; peer=""
"$bin/dp-stat" "$name" --watch 0.5 --samples 2 | tail -5
python3 - "$work/watch.json" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert len(lines) == 3, len(lines)
rate = lines[-1]["ratesPerSecond"].get("counter.frames.received", 0)
assert rate > 20, ("frames.received per second while traffic flows", rate)
print("watch ok: %.0f frames/s received" % rate)
PY

# Bad input: clear errors, not crashes.
if "$bin/dp-stat" no-such-process 2>"$work/err.txt"; then echo "unknown target accepted"; exit 1; fi
grep -q "no telemetry socket named 'no-such-process'" "$work/err.txt"
"$bin/dp-stat" "$name" --command /nope | grep -q "unknown command"
"$bin/dp-stat" "$name" --command "/ports/5/stats" | grep -q "no port 5"

kill -INT "$server"
wait "$server" || true
server=""
cat "$work/server.log"
[ ! -e "/run/dataplane/$name" ] || { echo "telemetry: /run/dataplane/$name left behind"; exit 1; }

# Every data-plane process: the C runtime (dp_init in Tools/c-echo) and the
# LD_PRELOAD library under an unmodified pthread + epoll server on 2 cores.
swift build -j 1 --product dataplane >/dev/null
swift build -j 1 --product dataplane-preload >/dev/null
rpath="$(dirname "$(command -v swift)")/../lib/swift/linux"
cc -Wall -Wextra -Werror -O2 -o "$work/c-echo" Tools/c-echo/echo.c -I Sources/CDataplane/include \
  -L "$bin" -ldataplane -Wl,-rpath,"$bin" -Wl,-rpath,"$rpath"
cc -Wall -Wextra -Werror -O2 -pthread -o "$work/threads-echo" Tools/preload/threads-echo.c

# check_process NAME CONNECTIONS: dp-stat lists NAME, its cores answer and accepted CONNECTIONS in all.
check_process() {
  "$bin/dp-stat" "$1" --json --show cores,pools >"$work/proc.json"
  python3 - "$work/proc.json" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
cores = d["cores"]
assert all("error" not in c for c in cores), cores
accepted = sum(c["tcp"]["connectionsAccepted"] for c in cores)
assert accepted == int(sys.argv[2]), (accepted, sys.argv[2])
assert d["pools"][0]["capacity"] > 0
print("process ok: %d core(s) answered, %d connections accepted" % (len(cores), accepted))
PY
}

ip netns exec "$ns" "$work/c-echo" --tap dpt1 --ip 10.84.1.2/24 --port 7007 --seconds 30 --telemetry-name "c-$$" \
  >"$work/c.log" 2>&1 &
server=$!
tap_ready dpt1 "$work/c.log" serving 10.84.1.1/24
ip netns exec "$ns" timeout 60 python3 Tools/c-echo/echo-client.py 10.84.1.2 7007 2
check_process "c-$$" 2
kill -INT "$server"; wait "$server" || true; server=""
[ ! -e "/run/dataplane/c-$$" ] || { echo "telemetry: the C program left its socket"; exit 1; }

ip netns exec "$ns" env LD_PRELOAD="$bin/libdataplane-preload.so" \
  DP_ARGS="--tap dpt2 --ip 10.84.2.2/24 --cores 2 --telemetry-name preload-$$" \
  "$work/threads-echo" 7302 2 100 100 10 >"$work/preload.log" 2>&1 &   # ends after 10 s
server=$!
for _ in $(seq 200); do
  ip netns exec "$ns" ip link show dpt2 >/dev/null 2>&1 && grep -q "thread 1 serving" "$work/preload.log" && break
  sleep 0.1
done
ip netns exec "$ns" ip addr add 10.84.2.1/24 dev dpt2
ip netns exec "$ns" ip link set dpt2 up
ip netns exec "$ns" timeout 60 python3 Tools/c-echo/echo-client.py 10.84.2.2 7302 5
check_process "preload-$$" 5
wait "$server" || true; server=""
tail -3 "$work/preload.log"
[ ! -e "/run/dataplane/preload-$$" ] || { echo "telemetry: the preloaded program left its socket"; exit 1; }
echo "telemetry suite ok"
