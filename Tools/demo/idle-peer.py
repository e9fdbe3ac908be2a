"""The peer of an idle run (Tools/demo/idle-guest.sh), in the lab's namespace:
waits out the guest's quiet span, sends one ping (the first after idling
must be answered), then a UDP echo load for LOAD seconds with WINDOW
datagrams in flight, and prints FIRST-PING ok|lost and ROUND-TRIPS/S N.
With FLOWS > 1 the load goes from FLOWS sockets on source ports 40000..
(fixed, so RSS spreads them over the guest's queues the same way each run).
Usage: idle-peer.py WAIT_SECONDS LOAD_SECONDS [WINDOW] [FLOWS]"""
import socket, subprocess, sys, time

wait, load = float(sys.argv[1]), float(sys.argv[2])
window = int(sys.argv[3]) if len(sys.argv) > 3 else 8
time.sleep(wait)
ping = subprocess.run(["ping", "-c", "1", "-W", "5", "10.119.7.2"], capture_output=True, text=True)
print("FIRST-PING", "ok" if ping.returncode == 0 else "lost", flush=True)
flows = int(sys.argv[4]) if len(sys.argv) > 4 else 1
sockets = []
for i in range(flows):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if flows > 1:
        u.bind(("", 40000 + i))
    u.settimeout(0.5 / flows)
    sockets.append(u)
done, sent, end = 0, 0, time.time() + load
for u in sockets:
    for _ in range(window):
        u.sendto(b"l" * 64, ("10.119.7.2", 7)); sent += 1
turn = 0
while time.time() < end:
    u = sockets[turn % flows]; turn += 1
    try:
        u.recvfrom(256); done += 1
    except socket.timeout:
        pass
    u.sendto(b"l" * 64, ("10.119.7.2", 7)); sent += 1
print("ROUND-TRIPS/S %d" % int(done / load), flush=True)
