#!/usr/bin/env python3
"""The peer of the one-guest comparison in ./Tools/demo.sh (issue 17), run
in the lab's namespace. One guest runs both stacks at once
(Tools/demo/paired-guest.sh): Dataplane's dp-echo on one e1000 and one
virtio-net NIC, the Linux kernel stack's linux-echo on two more NICs of the
same kinds. This peer alternates transfers between them, a fraction of a
second apart, so both stacks meet the same host: on this shared 2-CPU host
either stack's rate moves in phases of seconds (Docs/BENCHMARKS.md), which
made the medians of separate boots differ from run to run.

Per NIC kind and round: one TCP echo transfer of ECHO_BYTES to each stack
(sha256 checked), the order flipped every round, for SECONDS (at most 500
rounds). Then ONEWAY_ROUNDS rounds of the bulk one-way transfers of
tcp_oneway.py, each way, to each stack (the guest checks sha256 or
the peer does). Prints "PAIRED NIC FIGURE ROUND ours RATE linux RATE"
(Mbit/s) per pair, DEMO lines for failed transfers, the host's steal time
over the run, "PAIRED-DONE failures=N", then stops both servers.
Usage: paired-peer.py SECONDS ECHO_BYTES ONEWAY_BYTES ONEWAY_ROUNDS NIC=OURS_IP,LINUX_IP...
"""
import hashlib, os, socket, subprocess, sys, time

import tcp_oneway
from tcp_echo import echo_once

seconds, echo_bytes = float(sys.argv[1]), int(sys.argv[2])
oneway_bytes, oneway_rounds = int(sys.argv[3]), int(sys.argv[4])
nics = [(name, tuple(ips.split(","))) for name, ips in (arg.split("=", 1) for arg in sys.argv[5:])]
failures = 0


def fail(nic, side, figure, detail):
    global failures
    failures += 1
    print(f"DEMO {nic} paired-{figure}-{side} fail 0 {detail}", flush=True)


def host_cpu():
    """(steal, total) jiffies of the host, from /proc/stat (not namespaced)."""
    fields = [int(x) for x in open("/proc/stat").readline().split()[1:9]]
    return fields[7], sum(fields)


def wait_ready(nic, ip):
    started = time.monotonic()
    while time.monotonic() - started < 120:
        if subprocess.run(["ping", "-n", "-q", "-c", "1", "-w", "2", ip], capture_output=True).returncode == 0:
            return True
    fail(nic, ip, "ready", f"{ip} did not answer for 120 s")
    return False


def echo_rate(nic, side, ip, data, digest):
    try:
        back, took, _ = echo_once(ip, data)
    except OSError as error:
        fail(nic, side, "echo", str(error))
        return None
    if hashlib.sha256(back).digest() != digest:
        fail(nic, side, "echo", f"sha256 differs ({len(back)} of {len(data)} bytes back)")
        return None
    return len(data) * 8 / took / 1e6


def oneway_rate(nic, side, ip, direction, data, digest):
    try:
        if direction == "to-guest":
            ok, took, detail = tcp_oneway.to_guest(ip, data, digest)
        else:
            ok, took, detail = tcp_oneway.from_guest(ip, len(data))
    except OSError as error:
        ok, took, detail = False, 0, str(error)
    if not ok:
        fail(nic, side, f"oneway-{direction}", detail)
        return None
    return len(data) * 8 / took / 1e6


def pair(nic, figure, round_number, measure):
    """measure(side, ip) for both stacks, ours first in odd rounds."""
    ips = dict(zip(("ours", "linux"), dict(nics)[nic]))
    order = ("ours", "linux") if round_number % 2 else ("linux", "ours")
    rates = {side: measure(side, ips[side]) for side in order}
    if None not in rates.values():
        print(f"PAIRED {nic} {figure} {round_number} ours {rates['ours']:.1f} linux {rates['linux']:.1f}", flush=True)


ready = all([wait_ready(nic, ip) for nic, ips in nics for ip in ips])
steal0, total0 = host_cpu()
if ready:
    echo_data = os.urandom(echo_bytes)  # made before any clock: the peer's work
    echo_digest = hashlib.sha256(echo_data).digest()
    end, rounds = time.monotonic() + seconds, 0
    while time.monotonic() < end and rounds < 500 and failures < 5:
        rounds += 1
        for nic, _ in nics:
            pair(nic, "echo", rounds, lambda side, ip: echo_rate(nic, side, ip, echo_data, echo_digest))
    oneway_data = os.urandom(oneway_bytes)
    oneway_digest = hashlib.sha256(oneway_data).hexdigest()
    for round_number in range(1, oneway_rounds + 1):
        for nic, _ in nics:
            for direction in ("to-guest", "from-guest"):
                pair(nic, f"oneway-{direction}", round_number,
                     lambda side, ip: oneway_rate(nic, side, ip, direction, oneway_data, oneway_digest))
steal1, total1 = host_cpu()
share = 100 * (steal1 - steal0) / max(1, total1 - total0)
print(f"PAIRED-HOST steal {share:.1f}% of the host's CPU time over the run", flush=True)
# Said before the stop: the guest's end may end this process first.
print(f"PAIRED-DONE failures={failures}", flush=True)
stopper = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(3):
    for _, (ours, linux) in nics[:1]:
        stopper.sendto(b"stop", (linux, 9998))
        stopper.sendto(b"stop", (ours, 9999))
    time.sleep(0.2)
