#!/usr/bin/env python3
"""Linux client for the example application (Examples/EchoServer): TCP
connections at once, each sending its own pattern while reading the echo,
and UDP datagrams up to a fragmented 8000 bytes; every byte must come back
as sent. Bounded in count and time; exits non-zero on any mismatch.
Usage: package_echo_peer.py ADDRESS PORT
Prints: "package-echo-peer: C TCP connections, B TCP bytes, D datagrams echoed"."""
import socket
import sys
import threading

address, port = sys.argv[1], int(sys.argv[2])
SIZES = [1, 1000, 65536, 300000]  # one connection each, all open at once
DATAGRAMS = [1, 100, 1472, 3000, 8000] * 4


def pattern(n, size):
    return bytes((i * 7 + n * 13 + (i >> 8)) & 0xFF for i in range(size))


def tcp_echo(n, size, results):
    payload = pattern(n, size)
    with socket.create_connection((address, port), timeout=10) as s:
        # Write from a second thread: the echo comes back while we send.
        def write():
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
        writer = threading.Thread(target=write)
        writer.start()
        received = bytearray()
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            received += chunk
        writer.join(10)
    results[n] = bytes(received) == payload, len(received), size


results = {}
threads = [threading.Thread(target=tcp_echo, args=(n, size, results)) for n, size in enumerate(SIZES)]
for t in threads:
    t.start()
for t in threads:
    t.join(30)
for n, size in enumerate(SIZES):
    ok, got, expected = results.get(n, (False, 0, size))
    assert ok, "TCP connection %d: %d bytes back of %d, or different bytes" % (n, got, expected)

u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(2)
sent = set()
for n, size in enumerate(DATAGRAMS):
    message = pattern(100 + n, size)
    sent.add(message)
    data = None
    for attempt in range(3):  # the first may wait for ARP
        u.sendto(message, (address, port))
        try:
            data, source = u.recvfrom(65536)
            while data != message and data in sent:  # a late echo of an earlier retry
                data, source = u.recvfrom(65536)
            break
        except socket.timeout:
            pass
    assert data == message, "UDP datagram %d (%d bytes): %s back" % (
        n, size, "nothing" if data is None else "%d different bytes" % len(data))
    assert source == (address, port), source
print("package-echo-peer: %d TCP connections, %d TCP bytes, %d datagrams echoed"
      % (len(SIZES), sum(SIZES), len(DATAGRAMS)))
