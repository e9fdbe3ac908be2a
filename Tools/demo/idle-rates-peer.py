"""The peer half of Tools/demo/idle-rates.sh, in the lab's namespace; it
follows the same schedule as idle-rates-guest.sh (rounds, NICs, modes
alternating, turn N on UDP port 7100+N). Per turn: probe the port every
0.2 s until dp-echo answers (it is up), wait out its quiet span, send one
ping (the first frame after idling: it must be answered), run PEER_LOAD's
UDP echo load (WINDOW datagrams in flight) for LOAD seconds, then send the
stop datagram to port 9100+N. Prints
"PEER-TURN N NIC MODE FIRST-PING ok|lost RTT_MS ROUND-TRIPS/S R".
Every wait is bounded.
Usage: idle-rates-peer.py PEER_LOAD ROUNDS IDLE LOAD WINDOW NAME=IP..."""
import re, socket, subprocess, sys, time

peer_load, rounds, idle, load, window = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
nics = [spec.split("=", 1) for spec in sys.argv[6:]]


def wait_until_up(ip, port, limit=180.0):
    """Probes until an echo comes back; the time it took, or None."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.2)
    start = time.time()
    try:
        while time.time() - start < limit:
            s.sendto(b"probe", (ip, port))
            try:
                if s.recvfrom(64)[0] == b"probe":
                    return time.time() - start
            except socket.timeout:
                pass
        return None
    finally:
        s.close()  # late echoes of other probes go nowhere


turn = 0
for round_ in range(rounds):
    modes = ["interrupt", "poll"] if round_ % 2 == 0 else ["poll", "interrupt"]
    for nic, ip in nics:
        for mode in modes:
            port = 7100 + turn
            up = wait_until_up(ip, port)
            if up is None:
                print("PEER-TURN %d %s %s NOT-UP" % (turn, nic, mode), flush=True)
                turn += 1
                continue
            # The guest waits 1 s after dp-echo is up, then measures IDLE s.
            time.sleep(1 + idle + 1.5)
            ping = subprocess.run(["ping", "-c", "1", "-W", "5", ip], capture_output=True, text=True)
            rtt = re.search(r"time=([\d.]+) ms", ping.stdout)
            result = subprocess.run(["timeout", str(int(load) + 10), peer_load, "udp", ip, str(port), str(load), window],
                                    capture_output=True, text=True)
            rate = re.search(r"^(\d+) round-trips/s", result.stdout, re.M)
            # Reported before the stop: after the last turn's stop the guest powers off.
            print("PEER-TURN %d %s %s FIRST-PING %s %s ROUND-TRIPS/S %s UP-AFTER %.1f" % (
                turn, nic, mode, "ok" if ping.returncode == 0 else "lost", rtt.group(1) if rtt else "-",
                rate.group(1) if rate else "-", up), flush=True)
            if not rate:
                print("peer-load: " + (result.stderr or result.stdout).strip(), flush=True)
            stop = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            for _ in range(5):
                stop.sendto(b"stop", (ip, 9100 + turn))
                time.sleep(0.1)
            stop.close()
            turn += 1
print("PEER-DONE", flush=True)
