#!/usr/bin/python3
"""Feeds tap0 with 64-byte frames for `dp-lab bench --mode io`, bounded in
time and count. Runs inside the bench's own namespace (dp-lab --peer)."""
import socket, sys, time

seconds, limit, size = float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
destination = bytes.fromhex(sys.argv[4].replace(":", ""))
frame = destination + bytes.fromhex("020000000002") + b"\x88\xb5"
frame += bytes(i & 0xFF for i in range(size - len(frame)))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("tap0", 0))
end = time.monotonic() + seconds
sent = 0
while sent < limit and time.monotonic() < end:
    for _ in range(256):
        try:
            s.send(frame)
            sent += 1
        except OSError:  # tap queue full while the guest's port is down
            time.sleep(0.001)
            break
print(f"io-generator: sent {sent} frames", flush=True)
