#!/usr/bin/env python3
"""Bulk one-way TCP transfers between the lab peer and a guest (issue 17):
peer -> guest into a sink, guest -> peer from a source, sha256 compared at
the receiving end. The guest serves them with dp-echo --tcp-sink/--tcp-source
(ours) or linux-echo ... SINK_PORT SOURCE_PORT (the kernel stack):
- sink: the peer sends BYTES and shuts its side; the guest answers "COUNT\\n"
  at the end of the stream (the clock stops at that line) and then the
  sha256 of what it kept, which must equal the peer's digest of what it sent.
- source: the peer asks "BYTES\\n"; the guest sends BYTES (the clock stops at
  the last one) and then the sha256 of what it sent, which must equal the
  peer's digest of what it received.
The guest digests after the clock on both stacks. Goodput is BYTES over the
time from the established connection to the clock's stop (a refused connect,
before the guest's service listens, is retried and not timed); the figure is
the median of TRANSFERS per direction.

As a module, demo-peer.py calls run(); as a program it is the peer of a lab
run of its own (Tools/demo/tcp-oneway.sh): waits until each NIC answers,
runs the transfers, then sends 'stop' to STOP_PORT.
Usage: tcp_oneway.py STOP_PORT BYTES TRANSFERS NAME=GUEST_IP...
Prints DEMO NIC STEP pass|fail SECONDS DETAIL, DEMO-FIGURE and DEMO-NOTE lines.
"""
import hashlib, os, socket, statistics, struct, subprocess, sys, time

SINK_PORT, SOURCE_PORT = 5009, 5019


def read_line(s, deadline):
    line = bytearray()
    while not line.endswith(b"\n") and time.monotonic() < deadline:
        chunk = s.recv(128)
        if not chunk:
            break
        line += chunk
    return bytes(line).strip().decode(errors="replace")


def connect(ip, port):
    """Connects, retrying a refusal for up to 30 s (a guest's service may
    start a little after its address answers)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return socket.create_connection((ip, port), timeout=60)
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def tcp_info(s):
    """The peer's side of the connection as Linux's TCP_INFO tells it
    (include/uapi/linux/tcp.h), to say what limited a transfer: the
    sender's time limited by the receiver's window or by its send buffer,
    retransmissions, round trip, congestion window, out-of-order arrivals.
    Best effort: an older kernel's shorter struct gives what it has."""
    try:
        raw = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    except OSError:
        return ""
    def u32(offset):
        return struct.unpack_from("=I", raw, offset)[0] if len(raw) >= offset + 4 else 0
    def u64(offset):
        return struct.unpack_from("=Q", raw, offset)[0] if len(raw) >= offset + 8 else 0
    busy = u64(168)
    def share(offset):
        return f"{100 * u64(offset) / busy:.0f}%" if busy else "-"
    return (f"peer tcp_info: rtt {u32(68)} us, min_rtt {u32(148)} us, cwnd {u32(80)}, "
            f"total_retrans {u32(100)}, segs_out {u32(136)}, segs_in {u32(140)}, "
            f"rwnd_limited {share(176)}, sndbuf_limited {share(184)}, busy {busy // 1000} ms, "
            f"dsack_dups {u32(216)}, rcv_ooopack {u32(224)}, snd_wnd {u32(228)}, "
            f"rcv_rtt {u32(92)} us, rcv_space {u32(96)}")


def to_guest(ip, data, digest):
    """Returns (ok, seconds, detail) of one transfer into the guest's sink."""
    s = connect(ip, SINK_PORT)
    started = time.monotonic()
    with s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        count = read_line(s, started + 300)
        seconds = time.monotonic() - started
        info = tcp_info(s)
        theirs = read_line(s, time.monotonic() + 120)
    ok = count == str(len(data)) and theirs == digest
    return ok, seconds, f"guest got {count} bytes, sha256 {theirs[:16]}; {info}"


def from_guest(ip, nbytes):
    """Returns (ok, seconds, detail) of one transfer from the guest's source."""
    s = connect(ip, SOURCE_PORT)
    started = time.monotonic()
    got = bytearray()
    with s:
        s.sendall(b"%d\n" % nbytes)
        while len(got) < nbytes and time.monotonic() - started < 300:
            chunk = s.recv(min(1 << 20, nbytes - len(got)))
            if not chunk:
                break
            got += chunk
        seconds = time.monotonic() - started
        info = tcp_info(s)
        theirs = read_line(s, time.monotonic() + 120)
    ours = hashlib.sha256(got).hexdigest()
    ok = len(got) == nbytes and theirs == ours
    return ok, seconds, f"got {len(got)} bytes, sha256 {ours[:16]} (guest's {theirs[:16]}); {info}"


def run(nic, ip, nbytes, transfers, report):
    """TRANSFERS each way, alternating; report(nic, step, ok, started, detail)
    prints the step's line. Returns the number of failed transfers."""
    data = os.urandom(nbytes)  # made before the clock: the peer's work, not the guest's
    digest = hashlib.sha256(data).hexdigest()
    rates = {"to-guest": [], "from-guest": []}
    failed = 0
    for _ in range(transfers):
        for direction in rates:
            started = time.monotonic()
            try:
                ok, seconds, detail = to_guest(ip, data, digest) if direction == "to-guest" else from_guest(ip, nbytes)
            except OSError as error:
                ok, seconds, detail = False, 0, str(error)
            report(nic, f"tcp-oneway-{direction}", ok, started, f"{nbytes} bytes, {detail}")
            if ok:
                rates[direction].append(nbytes * 8 / seconds / 1e6)
            else:
                failed += 1
    for direction, values in rates.items():
        if values:
            print(f"DEMO-FIGURE {nic} tcp-oneway-{direction} {statistics.median(values):.1f} Mbit/s", flush=True)
            print(f"DEMO-NOTE {nic} tcp-oneway-{direction} transfers " + " ".join(f"{r:.1f}" for r in values), flush=True)
    return failed


def main():
    stop_port, nbytes, transfers = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    nics = [arg.split("=", 1) for arg in sys.argv[4:]]
    failures = 0

    def report(nic, step, ok, started, detail):
        nonlocal failures
        failures += 0 if ok else 1
        print(f"DEMO {nic} {step} {'pass' if ok else 'fail'} {time.monotonic() - started:.2f} {detail}", flush=True)

    for nic, ip in nics:
        started = time.monotonic()
        while subprocess.run(["ping", "-n", "-q", "-c", "1", "-w", "2", ip], capture_output=True).returncode != 0:
            if time.monotonic() - started > 120:
                report(nic, "ready", False, started, f"{ip} did not answer for 120 s")
                break
        else:
            report(nic, "ready", True, started, f"{ip} answers")
            run(nic, ip, nbytes, transfers, report)
    # Said before the stop: the guest's end may end this process first.
    print(f"DEMO-PEER-DONE failures={failures}", flush=True)
    stopper = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for _ in range(3):
        stopper.sendto(b"stop", (nics[0][1], stop_port))
        time.sleep(0.2)


if __name__ == "__main__":
    main()
