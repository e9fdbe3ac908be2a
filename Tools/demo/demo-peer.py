#!/usr/bin/env python3
"""The Linux peer of ./Tools/demo.sh, run in the lab's network namespace.

For each guest NIC (dp-echo serving it): ping, fragmented ping, UDP echo
(content checked), a TCP transfer through TCP echo (sha256 checked) and two
rough figures (UDP echo round trips/s, TCP echo goodput). Prints one line per
step: DEMO NIC STEP pass|fail SECONDS DETAIL, then sends 'stop' so dp-echo
ends the run. Every loop is bounded in count and time.
Usage: demo-peer.py [--load PEER_LOAD] [--oneway BYTES] STOP_PORT TCP_BYTES NAME=GUEST_IP...
  --load: the C load generator (Tools/demo/peer-load.c) for the UDP echo and
  connection rates, so that they measure the guest rather than this process.
  --oneway: after the echo transfer, 3 bulk one-way transfers of BYTES each
  way (Tools/demo/tcp_oneway.py; the guest serves its sink and source).
"""
import hashlib, os, socket, subprocess, sys, time
import tcp_oneway
from tcp_echo import echo_once

load = None
oneway_bytes = 0
while sys.argv[1] in ("--load", "--oneway"):
    if sys.argv[1] == "--load":
        load = sys.argv[2]
    else:
        oneway_bytes = int(sys.argv[2])
    del sys.argv[1:3]
stop_port = int(sys.argv[1])
tcp_bytes = int(sys.argv[2])
nics = [arg.split("=", 1) for arg in sys.argv[3:]]
failures = 0


def report(nic, step, ok, started, detail):
    global failures
    failures += 0 if ok else 1
    print(f"DEMO {nic} {step} {'pass' if ok else 'fail'} {time.monotonic() - started:.2f} {detail}", flush=True)


def ping(ip, count, size, deadline):
    result = subprocess.run(["ping", "-n", "-q", "-c", str(count), "-i", "0.2", "-s", str(size), "-w", str(deadline), ip],
                            capture_output=True, text=True)
    summary = [line for line in result.stdout.splitlines() if "transmitted" in line or "rtt" in line]
    return result.returncode == 0, "; ".join(summary) or result.stderr.strip()


def wait_ready(nic, ip):
    started = time.monotonic()
    while time.monotonic() - started < 120:
        ok, _ = ping(ip, 1, 56, 2)
        if ok:
            report(nic, "ready", True, started, f"{ip} answers")
            return True
    report(nic, "ready", False, started, f"{ip} did not answer for 120 s")
    return False


def udp_echo(nic, ip):
    started = time.monotonic()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1.0)
    bad = 0
    sizes = [1, 18, 64, 512, 1472, 3000, 8000]  # 3000 and 8000 arrive and leave as IP fragments
    for n in range(60):
        payload = os.urandom(sizes[n % len(sizes)])
        for _attempt in range(3):
            s.sendto(payload, (ip, 7))
            try:
                data, _ = s.recvfrom(65536)
                if data == payload:
                    break
            except socket.timeout:
                pass
        else:
            bad += 1
    report(nic, "udp-echo", bad == 0, started, f"60 datagrams of 1..8000 bytes, {60 - bad} echoed intact")
    # Rate: 16 in flight for 2 s.
    if load:
        figure(nic, "udp-echo-rate", [load, "udp", ip, "7", "2", "16"])
        return
    started = time.monotonic()
    s.settimeout(0.5)
    sent = received = 0
    end = time.monotonic() + 2
    payload = b"x" * 18
    while time.monotonic() < end:
        while sent - received < 16:
            s.sendto(payload, (ip, 7)); sent += 1
        try:
            s.recvfrom(2048); received += 1
        except socket.timeout:
            sent = received  # lost: refill the window
    seconds = time.monotonic() - started
    print(f"DEMO-FIGURE {nic} udp-echo-rate {received / seconds:.0f} round-trips/s", flush=True)


def tcp_transfer(nic, ip, transfers=3):
    """`transfers` echo transfers of TCP_BYTES (each sha256 checked); the
    goodput figure is their median, timed from connect to the last byte
    back (the random data and its digest are made before the clock starts:
    they are the peer's work, not the guest's)."""
    started = time.monotonic()
    data = os.urandom(tcp_bytes)
    digest = hashlib.sha256(data).hexdigest()
    rates, failed = [], []
    try:
        for _ in range(transfers):
            back, seconds, info = echo_once(ip, data)
            if hashlib.sha256(back).hexdigest() != digest:
                failed.append(len(back))
            rates.append(tcp_bytes * 8 / seconds / 1e6)
            print(f"DEMO-NOTE {nic} tcp-echo {rates[-1]:.1f} Mbit/s; {info}", flush=True)
        ok = not failed
        report(nic, "tcp-sha256", ok, started,
               f"{transfers} x {tcp_bytes} bytes echoed, sha256 {'matches' if ok else f'differs ({failed} back)'} {digest[:16]}")
        rates.sort()
        print(f"DEMO-FIGURE {nic} tcp-echo-goodput {rates[len(rates) // 2]:.1f} Mbit/s", flush=True)
        print(f"DEMO-NOTE {nic} tcp-echo-goodput transfers " + " ".join(f"{r:.1f}" for r in rates), flush=True)
    except OSError as error:
        report(nic, "tcp-sha256", False, started, f"{error}")


def figure(nic, name, command):
    """Runs peer-load and prints its "RATE UNIT" line as a DEMO-FIGURE."""
    result = subprocess.run(command, capture_output=True, text=True, timeout=30)
    if result.returncode == 0 and result.stdout.strip():
        print(f"DEMO-FIGURE {nic} {name} {result.stdout.strip()}", flush=True)
    else:
        print(f"DEMO-FIGURE-MISSING {nic} {name}: {result.stderr.strip()}", flush=True)


def tcp_connection_rate(nic, ip):
    # Without peer-load: one connection after another for 2 s (connect, 1 byte echoed, close).
    if load:
        # 16 at a time, as wrk -c or ab -c measure a server's rate; one at a
        # time would measure the round-trip latency of QEMU and the tap,
        # which both stacks share.
        figure(nic, "tcp-connections-rate", [load, "conn", ip, "7", "2", "16"])
        return
    started = time.monotonic()
    done = 0
    while time.monotonic() - started < 2:
        try:
            c = socket.create_connection((ip, 7), timeout=2)
            c.sendall(b"x")
            if c.recv(1) == b"x":
                done += 1
            c.close()
        except OSError:
            pass
    print(f"DEMO-FIGURE {nic} tcp-connections-rate {done / (time.monotonic() - started):.0f} connections/s", flush=True)


for nic, ip in nics:
    if not wait_ready(nic, ip):
        continue
    started = time.monotonic()
    ok, detail = ping(ip, 3, 56, 10)
    report(nic, "ping", ok, started, detail)
    started = time.monotonic()
    ok, detail = ping(ip, 2, 4000, 10)
    report(nic, "ping-4000-fragmented", ok, started, detail)
    udp_echo(nic, ip)
    tcp_transfer(nic, ip)
    if oneway_bytes:
        tcp_oneway.run(nic, ip, oneway_bytes, 3, report)
    tcp_connection_rate(nic, ip)

stopper = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(3):
    stopper.sendto(b"stop", (nics[0][1], stop_port))
    time.sleep(0.2)
print(f"DEMO-PEER-DONE failures={failures}", flush=True)
