#!/usr/bin/env bash
# The LD_PRELOAD library (product dataplane-preload) under unmodified programs:
#  1. the kernel build of Tools/c-epoll/epoll-check.c (plain libc sockets and
#     epoll) on the data plane's loopback port at an address the kernel does
#     not have: it must print what it prints on Linux, and make no AF_INET
#     socket system call (strace);
#     and a fork() whose child gets EBADF on the parent's socket;
#  2. a pthread + epoll server with two threads on --cores 2 over a tap
#     (threads-echo.c), each thread's listener serving Linux clients;
#  3. in the lab guest (TCG) on e1000 and on virtio-net under VFIO, Debian's
#     own redis-server and nginx binaries serve the Linux peer in the lab's
#     namespace: 10,000 redis keys SET and GET with every value compared,
#     nginx files compared by sha256 (Tools/preload/apps-peer.py).
# The same guest run with --bench, alternating with the guest kernel's stack,
# is the demo's benchmark (./Tools/demo.sh).
set -uo pipefail
cd "$(dirname "$0")/../.."
swift build -c release --product dataplane-preload >/dev/null || exit 1
swift build --product dp-lab >/dev/null || exit 1
preload="$PWD/.build/release/libdataplane-preload.so"
work=$(mktemp -d)
ns=""
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; fi
  if [ -n "$ns" ]; then ip netns delete "$ns" 2>/dev/null; fi
  rm -rf "$work"
}
trap cleanup EXIT

# 1. epoll-check under the library, without root.
cc -Wall -Wextra -Werror -O2 -DKERNEL_SOCKETS -o "$work/epoll-check" Tools/c-epoll/epoll-check.c || exit 1
"$work/epoll-check" >"$work/kernel.out" || { cat "$work/kernel.out"; exit 1; }
EPOLL_CHECK_ADDRESS=10.5.0.1 LD_PRELOAD="$preload" DP_ARGS="--loopback --ip 10.5.0.1/24 --idle-sleep-us 0" \
  timeout 120 strace -f -qq -e trace=socket -o "$work/strace.txt" "$work/epoll-check" >"$work/preload.out" 2>"$work/preload.err"
if ! diff "$work/kernel.out" "$work/preload.out"; then
  cat "$work/preload.err"
  echo "52-preload: epoll-check under LD_PRELOAD differs from Linux (diff above)"; exit 1
fi
if grep -q "AF_INET" "$work/strace.txt"; then
  cat "$work/strace.txt"; echo "52-preload: an AF_INET socket reached the kernel"; exit 1
fi
echo "52-preload: epoll-check under LD_PRELOAD: $(grep -c '^ok' "$work/preload.out") checks as on Linux, no AF_INET socket in the kernel"

# fork(): the child's calls on a data-plane socket are EBADF, the parent's socket works on.
cc -Wall -Wextra -Werror -O2 -o "$work/fork-check" Tools/preload/fork-check.c || exit 1
LD_PRELOAD="$preload" DP_ARGS="--loopback --ip 10.5.0.1/24" timeout 60 "$work/fork-check" >"$work/fork.out" 2>&1
cat "$work/fork.out"
grep -q "child sendto: Bad file descriptor" "$work/fork.out" && grep -q "parent sendto: 1" "$work/fork.out" \
  || { echo "52-preload: fork() was not refused to the child as documented"; exit 1; }

if [ "$(id -u)" -ne 0 ]; then echo "52-preload: the tap and lab parts need root (namespaces, taps)"; exit 1; fi

# 2. Two application threads on two cores (--cores 2 over a tap, spread in
#    software): Tools/preload/threads-echo.c, a plain pthread + epoll server,
#    one SO_REUSEPORT listener per thread; Linux clients in a namespace.
cc -Wall -Wextra -Werror -O2 -pthread -o "$work/threads-echo" Tools/preload/threads-echo.c || exit 1
ns="dpp-$$-$RANDOM"
ip netns add "$ns" && ip netns exec "$ns" ip link set lo up
ip netns exec "$ns" timeout 120 env LD_PRELOAD="$preload" DP_ARGS="--tap dpp0 --ip 10.79.0.2/24 --cores 2" \
  "$work/threads-echo" 7302 2 64 20 90 >"$work/threads.log" 2>&1 &
server=$!
for _ in $(seq 200); do
  ip netns exec "$ns" ip link show dpp0 >/dev/null 2>&1 && grep -q "thread 1 serving" "$work/threads.log" && break
  sleep 0.1
done
ip netns exec "$ns" ip addr add 10.79.0.1/24 dev dpp0 && ip netns exec "$ns" ip link set dpp0 up
ip netns exec "$ns" timeout 90 /usr/bin/python3 Tools/c-echo/echo-client.py 10.79.0.2 7302 64
client=$?
wait "$server"
server_status=$?
server=""
ip netns delete "$ns"
ns=""
cat "$work/threads.log"
if [ "$client" -ne 0 ] || [ "$server_status" -ne 0 ] || grep -q "thread [01]: 0 connections" "$work/threads.log" \
   || ! grep -q "extra thread's socket(): Operation not permitted" "$work/threads.log"; then
  echo "52-preload: two threads on two cores failed (client $client, server $server_status)"; exit 1
fi
echo "52-preload: two application threads each served connections on their own core; a third thread got EPERM"

# An unmodified AF_INET6 server (issue 20): its dual-stack [::]:7303 socket is
# the data plane's; an IPv6 and an IPv4 client each get their bytes back, and
# accept gives the IPv4 one as ::ffff:10.120.52.1.
cc -Wall -Wextra -Werror -O2 -o "$work/ipv6-echo" Tools/preload/ipv6-echo.c || exit 1
ns="v6pre-$$-$RANDOM"
ip netns add "$ns" && ip netns exec "$ns" ip link set lo up
ip netns exec "$ns" timeout 60 env LD_PRELOAD="$preload" DP_ARGS="--tap v6pre0 --ip 10.120.52.2/24 --ip fd20:52::2/64" \
  "$work/ipv6-echo" 7303 2 >"$work/ipv6.log" 2>&1 &
server=$!
for _ in $(seq 200); do
  ip netns exec "$ns" ip link show v6pre0 >/dev/null 2>&1 && grep -q "listening" "$work/ipv6.log" && break
  sleep 0.1
done
ip netns exec "$ns" sysctl -qw net.ipv6.conf.v6pre0.accept_dad=0
ip netns exec "$ns" ip addr add 10.120.52.1/24 dev v6pre0
ip netns exec "$ns" ip addr add fd20:52::1/64 dev v6pre0 nodad
ip netns exec "$ns" ip link set v6pre0 up
ip netns exec "$ns" timeout 40 /usr/bin/python3 - <<'PY'
import socket, time
for host in ("fd20:52::2", "10.120.52.2"):
    for attempt in range(20):  # our addresses answer once DAD (1 s) is over
        try:
            s = socket.create_connection((host, 7303), timeout=3)
            break
        except OSError:
            time.sleep(0.3)
    else:
        raise SystemExit(f"52-preload: no connection to {host}")
    data = bytes(range(256)) * 1024
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    back = bytearray()
    while chunk := s.recv(65536):
        back += chunk
    assert back == data, (host, len(back))
    s.close()
PY
client=$?
wait "$server"
server_status=$?
server=""
ip netns delete "$ns"
ns=""
cat "$work/ipv6.log"
if [ "$client" -ne 0 ] || [ "$server_status" -ne 0 ] || ! grep -q "peer fd20:52::1 port" "$work/ipv6.log" \
   || ! grep -q "peer ::ffff:10.120.52.1 port" "$work/ipv6.log"; then
  echo "52-preload: the AF_INET6 server under LD_PRELOAD failed (client $client, server $server_status)"; exit 1
fi
echo "52-preload: an unmodified AF_INET6 dual-stack server served an IPv6 and an IPv4 client on the data plane (the kernel of the namespace has no fd20:52::2: the data plane answered)"

# 3. redis-server and nginx in the lab guest.
./Tools/bootstrap.sh >/dev/null
for binary in /usr/bin/redis-server /usr/sbin/nginx; do
  [ -x "$binary" ] || { echo "52-preload: $binary is missing (Tools/bootstrap.sh installs it)"; exit 1; }
done
log="$work/lab.log"
for attempt in 1 2; do
  .build/debug/dp-lab run --nic e1000 --nic virtio --access vfio --timeout 600 \
    --peer-ip 10.0.0.1/24 --peer-ip 10.0.1.1/24 \
    --include /usr/bin/redis-server --include /usr/sbin/nginx --include /etc/passwd --include /etc/group \
    --include "$preload:/lab/libdataplane-preload.so" --include "$PWD/Tools/preload/guest-apps.sh:/lab/guest-apps.sh" \
    --peer "/usr/bin/python3 -u $PWD/Tools/preload/apps-peer.py e1000=10.0.0.2 virtio=10.0.1.2" \
    -- "sh /lab/guest-apps.sh dataplane" >"$log" 2>&1
  status=$?
  # 125: the guest ended before running the command (a failed boot): once more.
  [ "$status" -eq 125 ] && [ "$attempt" -eq 1 ] && ! grep -q "guest ready" "$log" || break
done
grep -E "APPS" "$log" | sed 's/^peer: //'
checks=$(grep -c "APPS [a-z0-9]* [a-z0-9.-]* pass" "$log")
if [ "$status" -ne 0 ] || ! grep -q "APPS peer pass" "$log" || [ "$checks" -ne 6 ]; then
  tail -40 "$log"
  echo "52-preload: redis/nginx in the guest failed (status $status, $checks of 6 checks passed)"; exit 1
fi
echo "52-preload: Debian's redis-server and nginx served the Linux peer through the library on e1000 and virtio-net"
