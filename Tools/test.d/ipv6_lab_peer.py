#!/usr/bin/env python3
"""The peer of suite 69 in dp-lab's namespace: gives each tap an IPv6
address (fd20:N::1/64), then pings dp-echo in the guest (fd20:N::2) with
ping -6 (56 and 4000 bytes: fragments both ways) and echoes UDP datagrams of
1..8000 bytes over IPv6 and sends 2 MiB through dp-echo's TCP echo over
IPv6 (sha256 equal) on every NIC. Prints "IPV6LAB peer pass" at the end,
then sends "stop" over IPv6 to dp-echo's stop port 9999.
Usage: ipv6_lab_peer.py TAP..."""
import hashlib
import socket
import subprocess
import threading
import sys
import time

taps = sys.argv[1:]
for index, tap in enumerate(taps):
    subprocess.run(["sysctl", "-qw", f"net.ipv6.conf.{tap}.disable_ipv6=0"], check=False)
    subprocess.run(["ip", "addr", "add", f"fd20:{index}::1/64", "dev", tap, "nodad"], check=True)


def ping(address, size, count=3):
    return subprocess.run(["ping", "-6", "-q", "-c", str(count), "-W", "5", "-s", str(size), address],
                          capture_output=True, text=True)


def tcp_echo(address, size=2 << 20):
    """2 MiB each way through the TCP echo on port 7; sha256 of both sides."""
    data = bytes((i * 7 + (i >> 11)) & 0xFF for i in range(size))
    try:
        s = socket.create_connection((address, 7), timeout=30)
    except OSError as error:
        return False, f"connect: {error}"
    started = time.time()
    sender = threading.Thread(target=lambda: (s.sendall(data), s.shutdown(socket.SHUT_WR)))
    sender.start()
    digest, received = hashlib.sha256(), 0
    try:
        while chunk := s.recv(65536):
            digest.update(chunk)
            received += len(chunk)
    except OSError as error:
        return False, f"after {received} bytes: {error}"
    sender.join()
    s.close()
    same = digest.hexdigest() == hashlib.sha256(data).hexdigest()
    return same and received == size, f"{received} bytes in {time.time() - started:.1f} s, sha256 {'equal' if same else 'differs'}"


failed = False
for index, tap in enumerate(taps):
    address = f"fd20:{index}::2"
    deadline = time.time() + 180   # the guest boots dp-echo after the peer starts
    while time.time() < deadline and ping(address, 56, 1).returncode != 0:
        time.sleep(1)
    for size in (56, 4000):
        result = ping(address, size)
        ok = result.returncode == 0
        print(f"IPV6LAB {tap} ping -6 -s {size} {address}: {'pass' if ok else 'fail'}", flush=True)
        failed |= not ok
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.settimeout(5)
    for n in (1, 1200, 1452, 4000, 8000):
        data = bytes((i + n) & 0xFF for i in range(n))
        ok = False
        for _ in range(3):
            s.sendto(data, (address, 7))
            try:
                back, _ = s.recvfrom(65536)
            except socket.timeout:
                continue
            ok = back == data
            break
        print(f"IPV6LAB {tap} udp echo {n} bytes: {'pass' if ok else 'fail'}", flush=True)
        failed |= not ok
    ok, detail = tcp_echo(address)
    print(f"IPV6LAB {tap} tcp echo over IPv6 2 MiB: {'pass' if ok else 'fail'} {detail}", flush=True)
    failed |= not ok
    out = subprocess.run(["ip", "-6", "neigh", "show", address, "dev", tap], capture_output=True, text=True).stdout.strip()
    print(f"IPV6LAB {tap} neighbour {out}", flush=True)
print("IPV6LAB peer " + ("fail" if failed else "pass"), flush=True)
stop = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
for _ in range(3):
    stop.sendto(b"stop", ("fd20:0::2", 9999))   # dp-echo --stop-port 9999 ends the guest's run
    time.sleep(0.5)
sys.exit(1 if failed else 0)
