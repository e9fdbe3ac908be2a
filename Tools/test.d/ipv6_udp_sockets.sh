#!/usr/bin/env bash
# AF_INET6 datagram sockets against Linux (issue 20), called by
# 68-ipv6-linux.sh: Tools/preload/udp6-echo.c, a plain libc UDP echo server
# on a dual-stack [::] socket, runs under the preload library (so its
# socket, recvfrom and sendto are the data plane's C API) over a tap in a
# namespace made here. A Linux AF_INET6 client sends 1..30000-byte
# datagrams (fragments both ways) and compares each echo; a Linux AF_INET
# client's datagrams arrive with the v4-mapped source ::ffff:10.132.0.1.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" != 0 ]; then echo "ipv6-udp-sockets: needs root for network namespaces; skipped"; exit 0; fi
swift build --product dataplane-preload >/dev/null
preload="$(swift build --show-bin-path)/libdataplane-preload.so"
work=$(mktemp -d)
ns="v6udp-$$-$RANDOM"
tap=v6udp0
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  ip netns delete "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
cc -Wall -Wextra -Werror -O2 -o "$work/udp6-echo" Tools/preload/udp6-echo.c
ip netns add "$ns"
ip netns exec "$ns" ip link set lo up
ip netns exec "$ns" timeout 60 env LD_PRELOAD="$preload" DP_ARGS="--tap $tap --ip 10.132.0.2/24 --ip fd32::2/64" \
  "$work/udp6-echo" 7304 1000 >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 300); do
  ip netns exec "$ns" ip link show "$tap" >/dev/null 2>&1 && grep -q "bound" "$work/server.log" && break
  sleep 0.1
done
grep -q "bound" "$work/server.log" || { cat "$work/server.log"; echo "ipv6-udp-sockets: the server never bound"; exit 1; }
ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 "net.ipv6.conf.$tap.disable_ipv6=0" "net.ipv6.conf.$tap.accept_dad=0"
ip netns exec "$ns" ip addr add 10.132.0.1/24 dev "$tap"
ip netns exec "$ns" ip addr add fd32::1/64 dev "$tap" nodad
ip netns exec "$ns" ip link set "$tap" up
ip netns exec "$ns" timeout 40 /usr/bin/python3 - <<'PY'
import socket, time
def echo(family, host, sizes, tries=20):
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.settimeout(1)
    for n in sizes:
        data = bytes((i * 13 + n) & 0xFF for i in range(n))
        done = False
        for _ in range(tries):  # the first ones wait for DAD (1 s) and NDP/ARP
            s.sendto(data, (host, 7304))
            try:
                while True:  # late echoes of an earlier try are skipped
                    back, peer = s.recvfrom(65536)
                    assert peer[1] == 7304, peer
                    if len(back) == n:
                        assert back == data, (n, "echo differs")
                        done = True
                        break
            except socket.timeout:
                pass
            if done:
                break
        else:
            raise SystemExit(f"ipv6-udp-sockets: no echo of {n} bytes from {host}")
    return s
sizes = [1, 2, 100, 1232, 1452, 1453, 1500, 2900, 4000, 9000, 16000, 20000, 30000]
six = echo(socket.AF_INET6, "fd32::2", sizes)
print(f"ipv6-udp-sockets: AF_INET6 socket echoed {len(sizes)} sizes, 1..30000 bytes, to a Linux AF_INET6 client")
four = echo(socket.AF_INET, "10.132.0.2", [1, 1000, 3000])
print("ipv6-udp-sockets: the dual-stack socket echoed a Linux AF_INET client")
six.sendto(b"bye", ("fd32::2", 7304))
PY
wait "$server"
status=$?
server=""
cat "$work/server.log"
[ "$status" = 0 ] || { echo "ipv6-udp-sockets: the server exited with $status"; exit 1; }
grep -q "peer fd32::1 port" "$work/server.log" || { echo "ipv6-udp-sockets: no IPv6 peer in recvfrom"; exit 1; }
grep -q "peer ::ffff:10.132.0.1 port" "$work/server.log" || { echo "ipv6-udp-sockets: the IPv4 peer was not v4-mapped"; exit 1; }
echo "ipv6-udp-sockets: ok"
