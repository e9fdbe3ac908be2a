#!/usr/bin/env python3
"""Linux client for the C echo example: TCP and UDP echo round trips
against ADDRESS:PORT, bounded in count and time. Exits non-zero on any
mismatch. Usage: echo-client.py ADDRESS PORT [CONNECTIONS]"""
import socket
import sys

address, port = sys.argv[1], int(sys.argv[2])
connections = int(sys.argv[3]) if len(sys.argv) > 3 else 4

for n in range(connections):
    payload = bytes((i * 7 + n) & 0xFF for i in range(20000 + n))
    with socket.create_connection((address, port), timeout=5) as s:
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        received = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            received += chunk
        assert received == payload, "TCP connection %d: %d bytes back of %d" % (n, len(received), len(payload))

u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(2)
for n in range(20):
    message = b"datagram %d " % n + bytes(range(n * 10 % 256)) * 3
    for attempt in range(3):  # the first may wait for ARP
        u.sendto(message, (address, port))
        try:
            data, source = u.recvfrom(65536)
            break
        except socket.timeout:
            data = None
    assert data == message, "UDP datagram %d not echoed" % n
    assert source == (address, port), source
print("echo-client: %d TCP connections and 20 datagrams echoed" % connections)
