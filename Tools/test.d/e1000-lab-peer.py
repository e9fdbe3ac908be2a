#!/usr/bin/python3
"""The Linux side of the e1000 lab suite (30-e1000-lab.sh), run by dp-lab
inside the run's namespace once the guest is ready. It watches tap0..tap2
with AF_PACKET sockets, sends frames into tap0 when the guest's beacons (on
tap2) say a phase runs, checks what arrives and prints one
`CHECK name pass|fail detail` line per check. Every wait is bounded; it
only ever touches the taps of the run's own namespace."""
import os, select, socket, struct, sys, time

P0_MAC = bytes.fromhex("525400123456")
P1_MAC = bytes.fromhex("525400123457")
P2_MAC = bytes.fromhex("525400123458")
PEER_MAC = bytes.fromhex("020000000002")
TXONLY_PEER = bytes.fromhex("020000000001")
BEACON_RX, BEACON_IO, BEACON_END = (bytes.fromhex(m) for m in ("020000000099", "020000000098", "020000000097"))
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
TXONLY_COUNT, OFFLOAD_COUNT, RX_COUNT, IO_COUNT = (int(v) for v in sys.argv[1:5])
DEADLINE = time.monotonic() + float(sys.argv[5] if len(sys.argv) > 5 else 150)
SIZES = [60, 64, 65, 127, 128, 256, 511, 512, 1000, 1023, 1024, 1500, 1514]


def say(text):
    print(text, flush=True)


def check(name, ok, detail):
    say(f"CHECK {name} {'pass' if ok else 'fail'} {detail}")


def csum(data, initial=0):
    s = initial
    for i in range(0, len(data), 2):
        s += (data[i] << 8) | (data[i + 1] if i + 1 < len(data) else 0)
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def txonly_frame(size, source_port, checksums=True):
    """dp-testpmd's txonly frame (Tools/testpmd/FrameTemplates.swift)."""
    ip_len, udp_len = size - 14, size - 34
    f = bytearray(TXONLY_PEER + P0_MAC + b"\x08\x00")
    f += bytes([0x45, 0, ip_len >> 8, ip_len & 0xFF, 0, 0, 0, 0, 64, 17, 0, 0, 198, 18, 0, 1, 198, 18, 0, 2])
    f += bytes([source_port >> 8, source_port & 0xFF, 0, 9, udp_len >> 8, udp_len & 0xFF, 0, 0])
    while len(f) < size:
        f.append((len(f) - 42) & 0xFF)
    if checksums:
        ip = ~csum(f[14:34]) & 0xFFFF
        f[24:26] = ip.to_bytes(2, "big")
        udp = ~csum(f[34:size], 17 + udp_len + csum(f[26:34])) & 0xFFFF
        f[40:42] = (udp or 0xFFFF).to_bytes(2, "big")
    return bytes(f)


def peer_frame(index, size):
    body = PEER_MAC + b"\x88\xb5" + struct.pack(">I", index)
    frame = bytearray(P0_MAC + body)
    while len(frame) < size:
        frame.append((len(frame) * 7 + index) & 0xFF)
    return bytes(frame)


def open_tap(name):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((name, 0))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    return s


for tap in ("tap0", "tap1", "tap2"):
    try:
        with open(f"/proc/sys/net/ipv6/conf/{tap}/disable_ipv6", "w") as f:
            f.write("1")
    except OSError:
        pass
taps = {name: open_tap(name) for name in ("tap0", "tap1", "tap2")}
seen = {name: [] for name in taps}


def pump(until=None, limit=0.2):
    """Reads frames into `seen` until `until()` holds or time runs out."""
    end = min(DEADLINE, time.monotonic() + limit) if until is None else DEADLINE
    while time.monotonic() < end:
        if until is not None and until():
            return True
        ready, _, _ = select.select(list(taps.values()), [], [], 0.05)
        for name, s in taps.items():
            if s in ready:
                while True:
                    try:
                        data, address = s.recvfrom(65536, socket.MSG_DONTWAIT)
                    except BlockingIOError:
                        break
                    if address[2] != PACKET_OUTGOING:
                        seen[name].append(data)
    return until() if until is not None else True


def beacon(destination):
    return lambda: any(f[:6] == destination for f in seen["tap2"])


def send_all(frames):
    for i, frame in enumerate(frames):
        taps["tap0"].send(frame)
        if i % 16 == 15:
            pump(limit=0.001)


# Phases A (txonly) and D (checksum offload) arrive on tap0 while we wait
# for the receive beacon.
if not pump(until=beacon(BEACON_RX)):
    check("rx-beacon", False, "no beacon from port 2 before the deadline")
    sys.exit(1)
pump(limit=0.5)
plain = [f for f in seen["tap0"] if f[:6] == TXONLY_PEER and len(f) == 64]
expected = txonly_frame(64, 1024)
check("txonly-count", len(plain) == TXONLY_COUNT, f"tap0 got {len(plain)} of {TXONLY_COUNT} 64-byte txonly frames")
check("txonly-content", bool(plain) and all(f == expected for f in plain),
      f"{sum(f == expected for f in plain)} of {len(plain)} equal the frame sent")
offloaded = [f for f in seen["tap0"] if f[:6] == TXONLY_PEER and len(f) == 300]
wanted = [txonly_frame(300, 1024 + i % 4) for i in range(OFFLOAD_COUNT)]
valid = [f for f in offloaded if csum(f[14:34]) == 0xFFFF and f[24:26] != b"\0\0"
         and csum(f[34:300], 17 + 266 + csum(f[26:34])) == 0xFFFF and f[40:42] != b"\0\0"]
check("tx-checksum-offload", len(offloaded) == OFFLOAD_COUNT and len(valid) == OFFLOAD_COUNT and offloaded == wanted,
      f"{len(valid)} of {len(offloaded)} frames (of {OFFLOAD_COUNT}) carry valid IPv4 and UDP checksums filled in by the device; "
      f"{sum(a == b for a, b in zip(offloaded, wanted))} equal Linux's own computation")

# Phase B: the guest's rxonly runs on port 0; send the frames.
rx_frames = [peer_frame(i, SIZES[i % len(SIZES)]) for i in range(RX_COUNT)]
send_all(rx_frames)
say(f"sent {len(rx_frames)} frames ({sum(map(len, rx_frames))} bytes, {min(map(len, rx_frames))}..{max(map(len, rx_frames))} bytes + FCS) into tap0")

# Phase C: io forwarding port 0 -> port 1.
if not pump(until=beacon(BEACON_IO)):
    check("io-beacon", False, "no io beacon from port 2 before the deadline")
    sys.exit(1)
start = len(seen["tap1"])
io_frames = [peer_frame(100000 + i, SIZES[(i * 5) % len(SIZES)]) for i in range(IO_COUNT)]
send_all(io_frames)
forwarded = lambda: [f for f in seen["tap1"][start:] if f[6:12] == PEER_MAC and f[12:14] == b"\x88\xb5"]
pump(until=lambda: len(forwarded()) >= IO_COUNT or beacon(BEACON_END)())
pump(limit=1.0)
got = forwarded()
check("io-forward", got == io_frames, f"tap1 got {len(got)} of {IO_COUNT} frames sent into tap0; "
      f"{sum(a == b for a, b in zip(got, io_frames))} unchanged and in order")
pump(until=beacon(BEACON_END))
say("peer done")
