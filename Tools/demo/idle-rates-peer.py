"""The peer of Tools/demo/idle-rates.sh, in the lab's namespace: keeps
WINDOW UDP datagrams in flight to the guest's dp-echo for SECONDS,
refilling the window after 0.2 s without an answer (the guest restarts
dp-echo between turns). The guest counts what it echoed.
Usage: idle-rates-peer.py SECONDS [WINDOW]"""
import socket, sys, time

seconds = float(sys.argv[1])
window = int(sys.argv[2]) if len(sys.argv) > 2 else 8
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(0.2)
end = time.time() + seconds
while time.time() < end:
    for _ in range(window):
        u.sendto(b"r" * 64, ("10.119.7.2", 7))
    while time.time() < end:
        try:
            u.recvfrom(256)
        except socket.timeout:
            break
        u.sendto(b"r" * 64, ("10.119.7.2", 7))
