#!/usr/bin/env bash
# Routes and static neighbours against Linux: our stack (dp-echo or the C
# check) on a tap whose kernel side is a Linux router R (ip_forward=1, in
# its own namespace), and a Linux host B on another subnet behind R:
#
#   stack 10.119.1.2 --tap-- R 10.119.1.1 | R 10.119.2.1 --veth-- B 10.119.2.2
#
# 1. A static route (--route) via R and a static ARP entry (--arp) for R:
#    B's ping, UDP echo and TCP echo are answered through R; dp-stat shows
#    the route (static) and the neighbour (PERMANENT); no ARP request was sent.
# 2. No route to B's subnet: B's pings go unanswered (drop.ipv4.noRoute counts them);
#    then the route and R's neighbour entry added through telemetry
#    (dp-stat --change) make them answered, and deleting the route ends that.
# 3. A configuration file whose ARP entry for R has the wrong MAC: replies
#    go to that MAC and R drops them (the entry is used and not overwritten).
# 4. The C API (Tools/c-route/route-check.c): routes added and removed at
#    run time with Linux's errno, ENETUNREACH without a route, EHOSTUNREACH
#    for a TCP connect after ARP fails; beside it, Linux itself in B gives
#    the same errno (and nothing to a UDP socket, as ours).
# Namespaces, servers and files are removed at the end, also on failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" != 0 ]; then echo "routes: needs root for network namespaces; skipped"; exit 0; fi
swift build -j 1 --product dp-echo >/dev/null
swift build -j 1 --product dp-stat >/dev/null
swift build -j 1 --product dataplane >/dev/null
bin=$(swift build -j 1 --show-bin-path)
work=$(mktemp -d)
R="h19r-$$"; B="h19b-$$"
name="h19-routes-$$"
server=""; linux=""
cleanup() {
  for p in $server $linux; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  ip netns delete "$R" 2>/dev/null || true
  ip netns delete "$B" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
routerMAC=02:19:00:00:00:01
ip netns add "$R"; ip netns add "$B"
ip -n "$R" link set lo up; ip -n "$B" link set lo up
ip -n "$R" link add h19vr type veth peer name h19vb netns "$B"
ip -n "$R" addr add 10.119.2.1/24 dev h19vr; ip -n "$R" link set h19vr up
ip -n "$B" addr add 10.119.2.2/24 dev h19vb; ip -n "$B" link set h19vb up
ip netns exec "$R" sysctl -qw net.ipv4.ip_forward=1
for ns in "$R" "$B"; do ip netns exec "$ns" ethtool -K "$( [ "$ns" = "$R" ] && echo h19vr || echo h19vb )" tx off >/dev/null 2>&1 || true; done

# What Linux gives a host without forwarding (B before its default route):
# connect() to an address with no route fails with ENETUNREACH; a TCP
# connect to a neighbour that never answers ARP fails with EHOSTUNREACH, a
# connected UDP socket hears nothing (host unreachable is a soft error).
ip netns exec "$B" timeout 30 python3 - >"$work/linux.txt" 2>&1 <<'PY' &
import errno, socket, time
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    u.connect(("10.119.9.9", 7)); print("linux: no route: connected")
except OSError as e:
    print("linux: no route:", errno.errorcode[e.errno])
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM); t.settimeout(10)
try:
    t.connect(("10.119.2.99", 7)); print("linux: arp failure, tcp: connected")
except socket.timeout:
    print("linux: arp failure, tcp: timed out")
except OSError as e:
    print("linux: arp failure, tcp:", errno.errorcode.get(e.errno, e))
v = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); v.settimeout(6)
v.connect(("10.119.2.98", 7)); v.send(b"x")
try:
    v.recv(10); print("linux: arp failure, udp: answered")
except socket.timeout:
    print("linux: arp failure, udp: timed out")
except OSError as e:
    print("linux: arp failure, udp:", errno.errorcode.get(e.errno, e))
PY
linux=$!

# start_echo TAP ARGS...: dp-echo in R on TAP; R's side gets 10.119.1.1 and routerMAC.
start_echo() {
  local tap=$1; shift
  ip netns exec "$R" "$bin/dp-echo" --tap "$tap" --ip 10.119.1.2/24 --udp-echo 7 --tcp-echo 7 --seconds 40 \
    --telemetry-name "$name" "$@" >"$work/server.log" 2>&1 &
  server=$!
  for _ in $(seq 100); do
    ip -n "$R" link show "$tap" >/dev/null 2>&1 && grep -q "tcp echo" "$work/server.log" && break
    sleep 0.1
  done
  ip -n "$R" link set "$tap" address "$routerMAC"
  ip -n "$R" addr add 10.119.1.1/24 dev "$tap"
  ip -n "$R" link set "$tap" up
}
stop_echo() {
  kill -INT "$server"; wait "$server" || true; server=""
}

# 1. Static route and static ARP entry.
start_echo h19t0 --route "10.119.2.0/24 via 10.119.1.1" --arp "10.119.1.1=$routerMAC"
wait "$linux"; linux=""
cat "$work/linux.txt"
grep -q "linux: no route: ENETUNREACH" "$work/linux.txt"
grep -q "linux: arp failure, tcp: EHOSTUNREACH" "$work/linux.txt"
grep -q "linux: arp failure, udp: timed out" "$work/linux.txt"
ip -n "$B" route add default via 10.119.2.1
ip netns exec "$B" ping -c 3 -i 0.2 -W 2 10.119.1.2
ip netns exec "$B" timeout 20 python3 - <<'PY'
import socket
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(2)
for i in range(20):
    u.sendto(b"via R %d" % i, ("10.119.1.2", 7)); assert u.recvfrom(100)[0] == b"via R %d" % i
t = socket.create_connection(("10.119.1.2", 7), timeout=5)
t.sendall(b"tcp through the router"); assert t.recv(100) == b"tcp through the router"
t.close()
print("routes: ping, UDP and TCP echo from B through R ok")
PY
"$bin/dp-stat" "$name" --show routes,arp | tee "$work/stat.txt"
grep -Eq "10\.119\.2\.0/24 +10\.119\.1\.1 +0 +10\.119\.1\.2 +static" "$work/stat.txt"
grep -Eq "10\.119\.1\.0/24 +- +0 +10\.119\.1\.2 +connected" "$work/stat.txt"
grep -Eq "10\.119\.1\.1 +$routerMAC +0 +PERMANENT" "$work/stat.txt"
"$bin/dp-stat" "$name" --show counters --json >"$work/counters.json"
python3 - "$work/counters.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))["cores"][0]["counters"]
assert c.get("arp.requestsSent", 0) == 0, ("ARP requests sent despite the static entry", c.get("arp.requestsSent"))
print("routes: no ARP request for the static neighbour")
PY
stop_echo

# 2. Without a route to B's subnet, nothing goes back.
ip -n "$R" link del h19t0 2>/dev/null || true
start_echo h19t1
if ip netns exec "$B" ping -c 2 -i 0.3 -W 1 10.119.1.2 >/dev/null; then echo "routes: answered without a route"; exit 1; fi
"$bin/dp-stat" "$name" --show counters --json >"$work/counters.json"
python3 - "$work/counters.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))["cores"][0]["counters"]
assert c.get("drop.ipv4.noRoute", 0) >= 2, c.get("drop.ipv4.noRoute")
print("routes: no route, %d replies dropped (drop.ipv4.noRoute)" % c["drop.ipv4.noRoute"])
PY
# 2b. The same process, changed at run time through telemetry (dp-stat --change).
"$bin/dp-stat" "$name" --change "route add 10.119.2.0/24 via 10.119.1.1" | tee "$work/change.txt"
grep -q "route add 10.119.2.0/24 via 10.119.1.1: applied on 1 of 1 cores" "$work/change.txt"
"$bin/dp-stat" "$name" --change "arp add 10.119.1.1 $routerMAC"
"$bin/dp-stat" "$name" --show routes,arp >"$work/stat.txt"
grep -Eq "10\.119\.2\.0/24 +10\.119\.1\.1 +0 +10\.119\.1\.2 +static" "$work/stat.txt"
grep -Eq "10\.119\.1\.1 +$routerMAC +0 +PERMANENT" "$work/stat.txt"
ip netns exec "$B" ping -c 2 -i 0.3 -W 2 10.119.1.2 >/dev/null || { echo "routes: no answer after the route was added at run time"; exit 1; }
if "$bin/dp-stat" "$name" --change "route add 10.119.2.0/24 via 10.119.1.1" 2>"$work/err.txt"; then echo "routes: a duplicate route was accepted"; exit 1; fi
grep -q "route add 10.119.2.0/24" "$work/err.txt"
"$bin/dp-stat" "$name" --change "route del 10.119.2.0/24"
if ip netns exec "$B" ping -c 2 -i 0.3 -W 1 10.119.1.2 >/dev/null; then echo "routes: answered after the route was deleted at run time"; exit 1; fi
if "$bin/dp-stat" "$name" --change "route bogus" 2>"$work/err.txt"; then echo "routes: a bad change was accepted"; exit 1; fi
echo "routes: route and neighbour added and removed at run time through telemetry ($(cat "$work/err.txt"))"
stop_echo

# 3. A configuration file with a wrong MAC for R: the entry wins over ARP.
cat >"$work/routes.conf" <<'CONF'
# dp-echo --route-config: one change per line
route add 10.119.2.0/24 via 10.119.1.1
arp add 10.119.1.1 02:19:00:00:00:99   # not R's MAC
CONF
ip -n "$R" link del h19t1 2>/dev/null || true
start_echo h19t2 --route-config "$work/routes.conf"
if ip netns exec "$B" ping -c 2 -i 0.3 -W 1 10.119.1.2 >/dev/null; then echo "routes: the wrong static MAC was not used"; exit 1; fi
"$bin/dp-stat" "$name" --show arp | grep -Eq "10\.119\.1\.1 +02:19:00:00:00:99 +0 +PERMANENT"
echo "routes: configuration file's static entry used (and kept over ARP)"
stop_echo
ip -n "$R" link del h19t2 2>/dev/null || true

# 4. The C API at run time, against B's UDP echo.
cc -Wall -Wextra -Werror -O2 -o "$work/route-check" Tools/c-route/route-check.c -I Sources/CDataplane/include \
  -L "$bin" -ldataplane -Wl,-rpath,"$bin" -Wl,-rpath,"$(dirname "$(command -v swift)")/../lib/swift/linux"
ip netns exec "$B" timeout 40 socat UDP4-RECVFROM:7,fork EXEC:cat &
linux=$!
ip netns exec "$R" timeout 40 "$work/route-check" --tap h19t3 --ip 10.119.1.2/24 --no-telemetry \
  --router 10.119.1.1 --far 10.119.2.2 --far-net 10.119.2.0/24 --port 7 --lost 10.119.1.99 \
  --wait-file "$work/tap-ready" >"$work/check.log" 2>&1 &
server=$!
for _ in $(seq 100); do ip -n "$R" link show h19t3 >/dev/null 2>&1 && break; sleep 0.1; done
ip -n "$R" addr add 10.119.1.1/24 dev h19t3
ip -n "$R" link set h19t3 up
touch "$work/tap-ready"
rc=0; wait "$server" || rc=$?; server=""
cat "$work/check.log"
[ "$rc" = 0 ] && grep -q "route-check: ok" "$work/check.log"
echo "routes: ok"
