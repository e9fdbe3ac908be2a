#!/usr/bin/env python3
"""Linux peer of the multi-core lab suite (33-multicore-lab.sh), run in the
lab's network namespace: waits until dp-echo answers UDP echo, then opens
CONNECTIONS TCP connections (16 at a time, each echoed byte-exact) and
sends UDP from 64 source ports, and finally 'stop' to STOP_PORT so dp-echo
ends and prints its per-core counts. Bounded in count and time.
GUEST_IP may be IPv6; then TAP and ADDRESS/PREFIX give the lab tap the
peer's own IPv6 address first.
Usage: multicore_peer.py GUEST_IP STOP_PORT CONNECTIONS [TAP ADDRESS/PREFIX]"""
import socket, subprocess, sys, threading, time

ip, stop_port, connections = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
address = (ip, 7)
family = socket.AF_INET6 if ":" in ip else socket.AF_INET
if len(sys.argv) > 5:
    tap, own = sys.argv[4], sys.argv[5]
    subprocess.run(["sysctl", "-qw", f"net.ipv6.conf.{tap}.disable_ipv6=0"], check=False)
    subprocess.run(["ip", "addr", "add", own, "dev", tap, "nodad"], check=True)


def wait_ready():
    u = socket.socket(family, socket.SOCK_DGRAM)
    u.settimeout(0.5)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        u.sendto(b"ready?", address)
        try:
            if u.recvfrom(64)[0] == b"ready?":
                return True
        except socket.timeout:
            pass
    return False


def main():
    if not wait_ready():
        print("MULTICORE peer fail: dp-echo never answered UDP echo", flush=True)
        return 1
    failures = []

    def client(n):
        data = bytes((i * 13 + n) & 0xFF for i in range(2048 + n % 512))
        for attempt in range(3):
            try:
                with socket.create_connection(address, timeout=30) as s:
                    s.sendall(data)
                    s.shutdown(socket.SHUT_WR)
                    back = b""
                    while True:
                        chunk = s.recv(65536)
                        if not chunk:
                            break
                        back += chunk
                if back != data:
                    failures.append((n, "%d of %d bytes back" % (len(back), len(data))))
                return
            except OSError as error:
                last = error
        failures.append((n, repr(last)))

    started = time.monotonic()
    for batch in range(0, connections, 16):
        threads = [threading.Thread(target=client, args=(n,)) for n in range(batch, min(batch + 16, connections))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    tcp_seconds = time.monotonic() - started
    echoed = 0
    for port in range(64):
        u = socket.socket(family, socket.SOCK_DGRAM)
        u.settimeout(1)
        u.bind(("", 31000 + port))
        for attempt in range(3):
            u.sendto(b"port %d" % port, address)
            try:
                if u.recvfrom(64)[0] == b"port %d" % port:
                    echoed += 1
                    break
            except socket.timeout:
                pass
        u.close()
    ok = not failures and echoed == 64
    print("MULTICORE peer %s: %d TCP connections in %.1f s, %d failed %s; UDP from %d of 64 source ports echoed"
          % ("pass" if ok else "fail", connections, tcp_seconds, len(failures), failures[:3], echoed), flush=True)
    stop = socket.socket(family, socket.SOCK_DGRAM)
    for _ in range(5):
        stop.sendto(b"stop", (ip, stop_port))
        time.sleep(0.2)
    return 0 if ok else 1


sys.exit(main())
