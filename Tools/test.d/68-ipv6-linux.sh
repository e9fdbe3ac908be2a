#!/usr/bin/env bash
# IPv6 against the Linux kernel over a tap in a namespace this script makes
# (issue 20): dp-echo with fd20::2/64 (and its EUI-64 link-local address),
# (issue 20): dp-echo with fd20::2/64 (and its EUI-64 link-local address),
# detection, NDP resolution both ways (Linux resolves us; we resolve
# fd20::3, which Linux never asked us about), ping -6 to the global and the
# link-local address, ping -6 with 4000 and 20000 bytes (fragments both
# ways), UDP echo over IPv6 of 1..30000 bytes, then a hostile IPv6 set (tools/test.d/ipv6_hostile.py) counted by
# reason with the stack still answering; TCP transfers; and an AF_INET6 UDP
# socket server under the preload library (ipv6_udp_sockets.sh). Namespace
# and server are removed at the end, also on failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" != 0 ]; then echo "ipv6-linux: needs root for network namespaces; skipped"; exit 0; fi
swift build --product dp-echo >/dev/null
bin=$(swift build --show-bin-path)
work=$(mktemp -d)
ns="h20-v6-$$-$RANDOM"
tap=h20v6
mac=02:00:0a:78:00:02
linklocal=fe80::aff:fe78:2   # modified EUI-64 of $mac
server=""
cleanup() {
  if [ -n "$server" ]; then kill -INT "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  ip netns delete "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$ns"
ip netns exec "$ns" ip link set lo up
ip netns exec "$ns" timeout 160 "$bin/dp-echo" --tap "$tap" --mac "$mac" --ip 10.120.0.2/24 --ip fd20::2/64 \
  --udp-echo 7 --tcp-echo 7 --seconds 150 --stats-json "$work/stats.json" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 100); do
  ip netns exec "$ns" ip link show "$tap" >/dev/null 2>&1 && grep -q "udp echo" "$work/server.log" && break
  sleep 0.1
done
ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 "net.ipv6.conf.$tap.disable_ipv6=0" \
  "net.ipv6.conf.$tap.accept_dad=0"
ip netns exec "$ns" ip addr add fd20::1/64 dev "$tap" nodad
ip netns exec "$ns" ip link set "$tap" up
# Our addresses answer once duplicate address detection (1 s) is over.
up=0
for _ in $(seq 10); do
  if ip netns exec "$ns" ping -6 -c 1 -W 1 fd20::2 >/dev/null 2>&1; then up=1; break; fi
done
[ "$up" = 1 ] || { echo "ipv6-linux: fd20::2 never answered"; cat "$work/server.log"; exit 1; }
ping6() { ip netns exec "$ns" timeout 20 ping -6 -q -c "$1" -i 0.2 -W 2 "${@:2}"; }
ping6 3 fd20::2
ping6 3 -I "$tap" "$linklocal"
ping6 2 -s 4000 fd20::2
ping6 2 -s 20000 fd20::2
# UDP echo over IPv6, 1 to 30000 bytes (the larger ones in fragments both ways).
ip netns exec "$ns" timeout 30 python3 - <<'PY'
import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.settimeout(2)
sizes = [1, 2, 7, 8, 9, 100, 1000, 1232, 1452, 1453, 1500, 2900, 4000, 9000, 16000, 20000, 25000, 30000]
for n in sizes:
    data = bytes((i * 7 + n) & 0xFF for i in range(n))
    for attempt in range(3):
        s.sendto(data, ("fd20::2", 7))
        try:
            back, peer = s.recvfrom(65536)
        except socket.timeout:
            continue
        assert back == data and peer[0] == "fd20::2" and peer[1] == 7, (n, len(back), peer)
        break
    else:
        raise SystemExit(f"ipv6-linux: no UDP echo of {n} bytes")
print(f"ipv6-linux: UDP echo over IPv6 ok for {len(sizes)} sizes, 1..30000 bytes")
c = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
c.settimeout(2)
c.connect(("fd20::2", 9))   # nothing listens there: ICMPv6 port unreachable
c.send(b"anyone?")
try:
    c.recv(100)
    raise SystemExit("ipv6-linux: a datagram came back from a closed port")
except ConnectionRefusedError:
    print("ipv6-linux: closed UDP port refused (ICMPv6 port unreachable)")
PY
# TCP over IPv6: 1,000 concurrent connections echoed byte-exact, and the
# dual-stack listener ([::]:7, AF_INET6) taking an IPv4 and an IPv6 client.
ip netns exec "$ns" ip addr add 10.120.0.1/24 dev "$tap"
ip netns exec "$ns" timeout 90 python3 Tools/test.d/tcp_linux_peer.py concurrent --to "[fd20::2]:7" --count 1000 --size 4096 --seconds 80
ip netns exec "$ns" timeout 30 python3 - <<'PY'
import socket
for family, host in ((socket.AF_INET, "10.120.0.2"), (socket.AF_INET6, "fd20::2")):
    s = socket.create_connection((host, 7), timeout=10)
    assert s.family == family, s
    data = bytes(range(256)) * 512
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    back = bytearray()
    while chunk := s.recv(65536):
        back += chunk
    assert back == data, (host, len(back))
    s.close()
print("ipv6-linux: dual-stack TCP listener echoed an IPv4 and an IPv6 client (128 KiB each)")
PY
# NDP both ways: Linux holds our MAC for fd20::2 ...
ip netns exec "$ns" ip -6 neigh show fd20::2 dev "$tap" | grep -q "lladdr $mac" \
  || { echo "ipv6-linux: Linux has no neighbour entry for fd20::2"; ip netns exec "$ns" ip -6 neigh; exit 1; }
# ... and the hostile script's first check makes us resolve fd20::4 ourselves.
ip netns exec "$ns" ip addr add fd20::4/64 dev "$tap" nodad
ip netns exec "$ns" timeout 60 python3 Tools/test.d/ipv6_hostile.py "$tap" "$mac" | tee "$work/hostile.log"
ping6 3 fd20::2
kill -INT "$server"
wait "$server" || true
server=""
cat "$work/server.log"
python3 - "$work/stats.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))["counters"]
def need(name, at_least=1):
    assert c.get(name, 0) >= at_least, f"{name}: {c.get(name, 0)} < {at_least}\n{json.dumps(c, indent=1, sort_keys=True)}"
need("icmpv6.echoReplies", 3 + 3 + 2 + 2 + 3 + 1)
need("ipv6.reassembled", 4)            # 2 x 4000 + 2 x 20000 bytes arrived in fragments
need("ipv6.fragmentsSent", 2 * 3 + 2 * 14)
need("udp.delivered", 18)
need("tcp.received", 1000 * 3)
need("icmp.errorsSent")                # the port unreachable
need("ndp.solicitationsReceived")
need("ndp.advertisementsSent")
need("ndp.solicitationsSent", 3)       # DAD of 2 addresses + resolving fd20::4
need("ndp.advertisementsReceived")     # fd20::4's answer
need("drop.ipv6.extension_chain_too_long")
need("drop.ipv6.deprecated_routing_header")
need("drop.ipv6.truncated")
need("drop.ipv6.bad_extension_header")
need("drop.icmpv6.bad_checksum")
need("drop.icmpv6.bad_hop_limit", 2)
need("drop.reassembly.overlap")
need("drop.reassembly.badFragment")
assert c.get("drop.ipv6.duplicateAddress", 0) == 0, c
print("ipv6-linux: counters ok:", {k: v for k, v in sorted(c.items()) if "6" in k or "ndp" in k or "reassembly" in k})
PY
# TCP transfers over IPv6 clean and through the impairment relay (sha256
# equal), 4 MiB each way here; Tools/demo/ipv6-tcp-transfer.sh does 100 MiB.
bash Tools/test.d/tcp_linux_transfer.sh 6 $((4 << 20))
# AF_INET6 datagram sockets (socket/recvfrom/sendto through the preload
# library) echoing a Linux AF_INET6 and AF_INET client.
bash Tools/test.d/ipv6_udp_sockets.sh
echo "ipv6-linux: ok"
