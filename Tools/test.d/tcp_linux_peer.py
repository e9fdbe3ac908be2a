#!/usr/bin/python3
"""The Linux side of Tools/test.d/57-tcp-linux-connections.sh: servers that
dp-tcp-check connects to, clients of dp-echo, and the bounded SYN flood.
Each client prints one 'ok: ...' line and exits non-zero on failure.
Every loop is bounded in count and time."""
import argparse
import errno
import hashlib
import os
import random
import resource
import selectors
import signal
import socket
import struct
import sys
import threading
import time


def endpoint(text):
    """HOST:PORT or [IPV6]:PORT."""
    host, port = text.rsplit(":", 1)
    return host.strip("[]"), int(port)


def family(target):
    return socket.AF_INET6 if ":" in target[0] else socket.AF_INET


def fail(message):
    print(f"FAIL: {message}", flush=True)
    sys.exit(1)


# MARK: Servers (for dp-tcp-check)

def echo_server(args):
    """Echoes every connection until its end of stream, then closes it."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(endpoint(args.listen))
    listener.listen(1024)
    listener.setblocking(False)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    served = 0
    deadline = time.monotonic() + args.seconds
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    while not stop and time.monotonic() < deadline:
        for key, _ in selector.select(0.5):
            if key.fileobj is listener:
                try:
                    conn, _ = listener.accept()
                except BlockingIOError:
                    continue
                conn.setblocking(False)
                selector.register(conn, selectors.EVENT_READ)
                served += 1
                continue
            conn = key.fileobj
            try:
                data = conn.recv(65536)
            except (ConnectionResetError, BlockingIOError):
                data = None
            if data:
                conn.setblocking(True)
                conn.settimeout(5)
                conn.sendall(data)
                conn.setblocking(False)
                if args.close_after_echo:
                    # Close right after the echo: our side closes at about the
                    # same time, so FINs cross (simultaneous close) or ours comes second.
                    selector.unregister(conn)
                    conn.close()
            else:  # end of stream (or reset): done with it
                selector.unregister(conn)
                conn.close()
    print(f"echo server {args.listen}: {served} connections", flush=True)


def eof_echo_server(args):
    """One connection: reads to end of stream, then sends it all back and closes."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(endpoint(args.listen))
    listener.listen(1)
    listener.settimeout(args.seconds)
    conn, _ = listener.accept()
    conn.settimeout(args.seconds)
    # Not reading for a while closes our window: the sender must probe it (persist timer) and resume.
    time.sleep(args.delay)
    received = bytearray()
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            break
        received += chunk
    if len(received) != args.expect:
        fail(f"eof-echo server: read {len(received)} bytes before the end of stream, expected {args.expect}")
    conn.sendall(received)  # only now, after the peer's FIN
    conn.close()
    print(f"ok: Linux server read {len(received)} bytes to the peer's FIN, sha256 "
          f"{hashlib.sha256(received).hexdigest()[:16]}, then sent them back", flush=True)


def reset_server(args):
    """One connection: streams both ways, then closes with RST (SO_LINGER {1, 0})."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(endpoint(args.listen))
    listener.listen(1)
    listener.settimeout(args.seconds)
    conn, _ = listener.accept()
    conn.setblocking(False)
    chunk = bytes(range(256)) * 64
    got = sent = 0
    selector = selectors.DefaultSelector()
    selector.register(conn, selectors.EVENT_READ | selectors.EVENT_WRITE)
    deadline = time.monotonic() + args.seconds
    def done():
        return sent >= args.after_sent if args.after_sent else got >= args.after
    if args.after_sent:
        selector.modify(conn, selectors.EVENT_WRITE)  # the client only reads
    while not done() and time.monotonic() < deadline:
        for _, events in selector.select(1):
            if events & selectors.EVENT_READ:
                try:
                    data = conn.recv(65536)
                except BlockingIOError:
                    data = None
                if data == b"":
                    fail("reset server: the client closed first")
                got += len(data or b"")
            if events & selectors.EVENT_WRITE:
                try:
                    sent += conn.send(chunk)
                except BlockingIOError:
                    pass
    if not done():
        fail(f"reset server: only {got} bytes read, {sent} sent in {args.seconds} s")
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()
    print(f"ok: Linux server reset the connection after reading {got} and sending {sent} bytes", flush=True)


def expect_peer_reset(args):
    """One connection: sends `size` bytes, then reads until the peer resets;
    passes only on ECONNRESET (not an orderly end of stream, not a timeout)."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(endpoint(args.listen))
    listener.listen(1)
    listener.settimeout(args.seconds)
    conn, _ = listener.accept()
    conn.settimeout(args.seconds)
    conn.sendall(bytes(range(256)) * (args.size // 256) + bytes(args.size % 256))
    start = time.monotonic()
    try:
        while time.monotonic() - start < args.seconds:
            if conn.recv(65536) == b"":
                fail("expect-peer-reset: orderly end of stream instead of a reset")
    except ConnectionResetError:
        print(f"ok: Linux server's recv failed with ECONNRESET after the peer's reset "
              f"({(time.monotonic() - start) * 1000:.0f} ms after it sent {args.size} bytes)", flush=True)
        return
    except socket.timeout:
        pass
    fail(f"expect-peer-reset: no reset within {args.seconds} s")


# MARK: Clients (of dp-echo)

def concurrent(args):
    """Opens `count` connections at once; each sends distinct content and reads it back."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = args.count + 64
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(want, soft), hard), hard))
    target = endpoint(args.to)
    selector = selectors.DefaultSelector()
    state = {}
    start = time.monotonic()
    for i in range(args.count):
        s = socket.socket(family(target))
        s.setblocking(False)
        s.connect_ex(target)
        payload = hashlib.sha256(i.to_bytes(4, "big")).digest() * (args.size // 32) + bytes(args.size % 32)
        state[s] = {"i": i, "payload": payload, "sent": 0, "back": bytearray()}
        selector.register(s, selectors.EVENT_WRITE)
    deadline = start + args.seconds
    done = 0
    peak_open = len(state)
    while done < args.count and time.monotonic() < deadline:
        for key, events in selector.select(1):
            s, st = key.fileobj, state[key.fileobj]
            if events & selectors.EVENT_WRITE:
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    fail(f"connection {st['i']}: connect failed: {os.strerror(err)}")
                try:
                    st["sent"] += s.send(st["payload"][st["sent"]:])
                except BlockingIOError:
                    pass
                # Read while writing: an echo client that only writes deadlocks once both windows fill.
                selector.modify(s, selectors.EVENT_READ | (selectors.EVENT_WRITE if st["sent"] < len(st["payload"]) else 0))
            if events & selectors.EVENT_READ:
                try:
                    chunk = s.recv(65536)
                except BlockingIOError:
                    continue
                if not chunk:
                    fail(f"connection {st['i']}: end of stream after {len(st['back'])} of {args.size} echoed bytes")
                st["back"] += chunk
                if len(st["back"]) >= args.size:
                    if st["back"] != st["payload"]:
                        fail(f"connection {st['i']}: echo differs from what it sent")
                    selector.unregister(s)
                    s.close()
                    done += 1
    elapsed = time.monotonic() - start
    if done < args.count:
        fail(f"{done} of {args.count} concurrent connections echoed within {args.seconds} s")
    print(f"ok: {args.count} concurrent connections echoed {args.size} bytes each, byte-exact, in {elapsed:.1f} s "
          f"({peak_open} open at once)", flush=True)


def cycles(args):
    """Sequential connect / send / read the echo / close; Linux closes first."""
    target = endpoint(args.to)
    start = time.monotonic()
    for i in range(args.count):
        if time.monotonic() - start > args.seconds:
            fail(f"Linux client cycles: {i} of {args.count} within {args.seconds} s")
        message = b"cycle %d\n" % i
        try:
            s = socket.create_connection(target, timeout=5)
            s.sendall(message)
            back = b""
            while len(back) < len(message):
                chunk = s.recv(64)
                if not chunk:
                    break
                back += chunk
            s.close()
        except OSError as error:
            fail(f"Linux client cycle {i}: {error}")
        if back != message:
            fail(f"Linux client cycle {i}: echo {back!r} differs from {message!r}")
    elapsed = time.monotonic() - start
    print(f"ok: Linux client {args.count} cycles against dp-echo, {args.count / elapsed:.0f} conn/s ({elapsed:.1f} s)",
          flush=True)


def half_close_client(args):
    """Linux half-closes first: send, shutdown(SHUT_WR), read the echo to the end of stream."""
    data = bytes((i * 13 + (i >> 9)) & 0xFF for i in range(args.bytes))
    s = socket.create_connection(endpoint(args.to), timeout=args.seconds)
    sender = threading.Thread(target=lambda: (s.sendall(data), s.shutdown(socket.SHUT_WR)))
    sender.start()
    back = bytearray()
    while len(back) <= args.bytes:
        chunk = s.recv(65536)
        if not chunk:
            break
        back += chunk
    sender.join(args.seconds)
    s.close()
    if back != data:
        fail(f"Linux half-close: read {len(back)} bytes back, expected the {args.bytes} sent")
    print(f"ok: half-close by Linux: {args.bytes} bytes sent, SHUT_WR, the echo read to the end of stream, equal",
          flush=True)


def stall(args):
    """Fills both directions, stops reading for a while (zero windows both
    ways), then reads and writes the rest; the echo must be byte-exact."""
    data = random.Random(3).randbytes(args.bytes)
    s = socket.create_connection(endpoint(args.to), timeout=10)
    s.setblocking(False)
    sent = 0
    back = bytearray()
    start = time.monotonic()
    # Write until nothing more fits (both windows and all buffers full).
    idle_since = time.monotonic()
    while time.monotonic() - idle_since < 0.5 and sent < len(data):
        try:
            n = s.send(data[sent:sent + 65536])
            sent += n
            idle_since = time.monotonic()
        except BlockingIOError:
            time.sleep(0.01)
    stalled_at = sent
    time.sleep(args.pause)
    selector = selectors.DefaultSelector()
    selector.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)
    while len(back) < len(data) and time.monotonic() - start < args.seconds:
        for _, events in selector.select(1):
            if events & selectors.EVENT_READ:
                try:
                    chunk = s.recv(65536)
                except BlockingIOError:
                    chunk = None
                if chunk == b"":
                    fail(f"stall: end of stream after {len(back)} echoed bytes")
                back += chunk or b""
            if events & selectors.EVENT_WRITE and sent < len(data):
                try:
                    sent += s.send(data[sent:sent + 65536])
                except BlockingIOError:
                    pass
                if sent == len(data):
                    selector.modify(s, selectors.EVENT_READ)
    s.close()
    if back != data:
        fail(f"stall: {len(back)} of {len(data)} bytes echoed back" + (" (content differs)" if len(back) == len(data) else ""))
    print(f"ok: stalled reader: {stalled_at} bytes in flight when the Linux client stopped reading for {args.pause} s "
          f"(zero windows both ways), then all {len(data)} bytes echoed, equal", flush=True)


def reset_clients(args):
    """Connections that send, read part of the echo, then reset (SO_LINGER {1, 0}):
    dp-echo must free them (checked in its stats at exit)."""
    target = endpoint(args.to)
    data = bytes(range(256)) * 400
    for i in range(args.count):
        s = socket.create_connection(target, timeout=5)
        s.sendall(data)
        got = 0
        while got < len(data) // 4:
            chunk = s.recv(65536)
            if not chunk:
                fail(f"reset client {i}: end of stream after {got} bytes")
            got += len(chunk)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    print(f"ok: {args.count} Linux clients reset their connections mid-echo", flush=True)


def same_port_cycles(args):
    """Connects `count` times from one local port to a server that closes
    first: each new SYN meets the server's TIME-WAIT entry of the last one."""
    target = endpoint(args.to)
    start = time.monotonic()
    slow = busy = 0
    for i in range(args.count):
        if time.monotonic() - start > args.seconds:
            fail(f"same-port cycles: {i} of {args.count} within {args.seconds} s")
        began = time.monotonic()
        try:
            for attempt in range(100):
                s = socket.socket()
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind((args.source, args.source_port))
                s.settimeout(10)
                try:
                    s.connect(target)
                    break
                except OSError as error:
                    # EADDRNOTAVAIL: Linux's side of the last connection is still in
                    # LAST-ACK (our ACK of its FIN not yet in); try again shortly.
                    s.close()
                    if error.errno != errno.EADDRNOTAVAIL or attempt == 99:
                        raise
                    busy += 1
                    time.sleep(0.005)
            greeting = b""
            while True:
                chunk = s.recv(256)
                if not chunk:
                    break
                greeting += chunk
            s.close()
        except OSError as error:
            fail(f"same-port cycle {i}: {error!r}")
        if not greeting.startswith(b"hello %d " % i):
            fail(f"same-port cycle {i}: greeting {greeting!r}")
        if time.monotonic() - began > 0.5:
            slow += 1  # the SYN was not let in at once: a retransmission got it through
        time.sleep(args.gap)
    elapsed = time.monotonic() - start
    print(f"ok: Linux client {args.count} connections from port {args.source_port} into our TIME-WAIT, "
          f"{slow} needed a SYN retransmission, {busy} waits for Linux's LAST-ACK, {elapsed:.1f} s", flush=True)


def refused(args):
    """A port with no listener: connect() must fail with ECONNREFUSED."""
    start = time.monotonic()
    try:
        socket.create_connection(endpoint(args.to), timeout=5).close()
    except ConnectionRefusedError:
        print(f"ok: connect to {args.to} (no listener) refused with ECONNREFUSED in "
              f"{(time.monotonic() - start) * 1000:.1f} ms", flush=True)
        return
    except OSError as error:
        fail(f"connect to {args.to} (no listener): {error!r} instead of ECONNREFUSED")
    fail(f"connect to {args.to} (no listener) succeeded")


# MARK: SYN flood

def checksum_fold(total):
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def words_sum(data):
    if len(data) % 2:
        data += b"\0"
    return sum(struct.unpack(f"!{len(data) // 2}H", data))


class SYNFrames:
    """Ethernet/IPv4/TCP SYNs from spoofed addresses (by default 198.18.0.0/15) and ports;
    checksums are updated incrementally from a template's partial sums."""

    def __init__(self, destination_mac, source_mac, destination_ip, destination_port, source_network="198.18.0.0/15"):
        base, prefix = source_network.split("/")
        self.source_base = struct.unpack("!I", socket.inet_aton(base))[0]
        self.source_bits = 32 - int(prefix)
        self.ethernet = bytes.fromhex(destination_mac.replace(":", "")) + bytes.fromhex(source_mac.replace(":", "")) \
            + b"\x08\x00"
        self.destination = socket.inet_aton(destination_ip)
        # MSS 1460, SACK permitted, timestamps, NOP, window scale 7: 20 bytes of options.
        options = struct.pack("!BBH", 2, 4, 1460) + b"\x04\x02" + struct.pack("!BBII", 8, 10, 1, 0) + b"\x01\x03\x03\x07"
        self.tcp = bytearray(struct.pack("!HHIIBBHHH", 0, destination_port, 0, 0, (40 // 4) << 4, 0x02, 64240, 0, 0)
                             + options)
        self.ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 60, 0, 0x4000, 64, 6, 0, b"\0\0\0\0",
                                        self.destination))
        self.ip_base = words_sum(bytes(self.ip))
        self.tcp_base = words_sum(bytes(self.tcp)) + words_sum(self.destination) + 6 + 40

    def frame(self, n, rng):
        source = self.source_base | rng.getrandbits(self.source_bits)
        source_port = 1024 + rng.getrandbits(15)
        sequence = rng.getrandbits(32)
        identification = n & 0xFFFF
        source_words = (source >> 16) + (source & 0xFFFF)
        struct.pack_into("!H", self.ip, 4, identification)
        struct.pack_into("!I", self.ip, 12, source)
        struct.pack_into("!H", self.ip, 10, checksum_fold(self.ip_base + identification + source_words))
        struct.pack_into("!HHI", self.tcp, 0, source_port, struct.unpack_from("!H", self.tcp, 2)[0], sequence)
        struct.pack_into("!H", self.tcp, 16, 0)
        total = self.tcp_base + source_words + source_port + (sequence >> 16) + (sequence & 0xFFFF)
        struct.pack_into("!H", self.tcp, 16, checksum_fold(total))
        return self.ethernet + bytes(self.ip) + bytes(self.tcp)


def echo_once(target, data, timeout):
    """One connection: sends `data` (from a thread, so the echo is read meanwhile), reads it back, closes."""
    s = socket.create_connection(target, timeout=timeout)
    sender = threading.Thread(target=lambda: (s.sendall(data), s.shutdown(socket.SHUT_WR)))
    sender.start()
    back = bytearray()
    while len(back) <= len(data):
        chunk = s.recv(65536)
        if not chunk:
            break
        back += chunk
    sender.join(timeout)
    s.close()
    return bytes(back)


def syn_flood(args):
    """While an established transfer runs and new connections are opened,
    sends `count` spoofed SYNs at `rate` per second through AF_PACKET."""
    target = endpoint(args.to)
    results = {}

    def transfer():
        data = random.Random(7).randbytes(args.transfer_bytes)
        try:
            s = socket.create_connection(target, timeout=30)
            results["transfer_connected"] = time.monotonic()
            sender = threading.Thread(target=lambda: (s.sendall(data), s.shutdown(socket.SHUT_WR)))
            sender.start()
            digest, count = hashlib.sha256(), 0
            while count <= len(data):
                chunk = s.recv(65536)
                if not chunk:
                    break
                digest.update(chunk)
                count += len(chunk)
            sender.join(30)
            s.close()
            results["transfer"] = (count, digest.hexdigest() == hashlib.sha256(data).hexdigest())
        except OSError as error:
            results["transfer"] = (-1, repr(error))

    def new_connections():
        ok, errors = 0, []
        # Start once the flood has filled the SYN backlog.
        while results.get("sent", 0) < args.start_after and time.monotonic() < flood_deadline:
            time.sleep(0.01)
        for i in range(args.new_connections):
            message = (b"new %d during the flood\n" % i) * (args.new_bytes // 24 + 1)
            message = message[:max(args.new_bytes, 24)]
            try:
                back = echo_once(target, message, 10)
                if back == message:
                    ok += 1
                else:
                    errors.append(f"{i}: {len(back)} of {len(message)} bytes echoed"
                                  + (" (content differs)" if len(back) == len(message) else ""))
            except OSError as error:
                errors.append(f"{i}: {error!r}")
            time.sleep(args.new_interval)
        results["new"] = (ok, errors)

    flood_deadline = time.monotonic() + args.seconds
    transfer_thread = threading.Thread(target=transfer)
    transfer_thread.start()
    while "transfer_connected" not in results and "transfer" not in results and time.monotonic() < flood_deadline:
        time.sleep(0.01)
    new_thread = threading.Thread(target=new_connections)
    new_thread.start()

    raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    raw.bind((args.interface, 0))
    frames = SYNFrames(args.dst_mac, open(f"/sys/class/net/{args.interface}/address").read().strip(),
                       target[0], target[1], args.source_network)
    rng = random.Random(1)
    dropped_file = f"/sys/class/net/{args.interface}/statistics/tx_dropped"
    dropped_before = int(open(dropped_file).read())
    start = time.monotonic()
    sent = 0
    burst = 64
    while sent < args.count and time.monotonic() < flood_deadline:
        for _ in range(min(burst, args.count - sent)):
            try:
                raw.send(frames.frame(sent, rng))
            except OSError:  # ENOBUFS: the tap's queue is full; counted as not sent
                results["enobufs"] = results.get("enobufs", 0) + 1
            sent += 1
        results["sent"] = sent
        # Pace to `rate` per second.
        ahead = sent / args.rate - (time.monotonic() - start)
        if ahead > 0:
            time.sleep(ahead)
    flood_seconds = time.monotonic() - start
    raw.close()
    time.sleep(0.2)
    # Frames the kernel dropped because the tap's queue was full (dp-echo read too slowly).
    tap_drops = int(open(dropped_file).read()) - dropped_before
    new_thread.join(max(flood_deadline - time.monotonic(), 1) + 30)
    transfer_thread.join(max(flood_deadline - time.monotonic(), 1) + 30)

    count, same = results.get("transfer", (-1, "did not finish"))
    ok, errors = results.get("new", (0, ["did not finish"]))
    line = (f"SYN flood {sent} SYNs in {flood_seconds:.1f} s ({tap_drops} frames dropped by the tap queue), "
            f"transfer {count} bytes sha256 {'equal' if same is True else 'DIFFERENT ' + str(same)}, "
            f"{ok}/{args.new_connections} new connections echoed {args.new_bytes} bytes each")
    if sent < args.count or same is not True or count != args.transfer_bytes or ok != args.new_connections:
        fail(line + (f" (errors: {errors[:3]})" if errors else ""))
    print(f"flood: {line}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("echo-server"); p.add_argument("--listen", required=True)
    p.add_argument("--seconds", type=float, default=300)
    p.add_argument("--close-after-echo", action="store_true", help="close after the first echo, not at end of stream")
    p.set_defaults(run=echo_server)
    p = commands.add_parser("eof-echo-server"); p.add_argument("--listen", required=True)
    p.add_argument("--expect", type=int, required=True); p.add_argument("--seconds", type=float, default=30)
    p.add_argument("--delay", type=float, default=0, help="seconds before the first read")
    p.set_defaults(run=eof_echo_server)
    p = commands.add_parser("reset-server"); p.add_argument("--listen", required=True)
    p.add_argument("--after", type=int, default=256 * 1024, help="reset after reading this many bytes")
    p.add_argument("--after-sent", type=int, default=0, help="instead: reset after sending this many, reading nothing")
    p.add_argument("--seconds", type=float, default=30)
    p.set_defaults(run=reset_server)
    p = commands.add_parser("expect-peer-reset"); p.add_argument("--listen", required=True)
    p.add_argument("--size", type=int, default=65536); p.add_argument("--seconds", type=float, default=10)
    p.set_defaults(run=expect_peer_reset)
    p = commands.add_parser("concurrent"); p.add_argument("--to", required=True)
    p.add_argument("--count", type=int, default=1000); p.add_argument("--size", type=int, default=4096)
    p.add_argument("--seconds", type=float, default=60); p.set_defaults(run=concurrent)
    p = commands.add_parser("cycles"); p.add_argument("--to", required=True)
    p.add_argument("--count", type=int, default=10000); p.add_argument("--seconds", type=float, default=90)
    p.set_defaults(run=cycles)
    p = commands.add_parser("half-close"); p.add_argument("--to", required=True)
    p.add_argument("--bytes", type=int, default=1000000); p.add_argument("--seconds", type=float, default=30)
    p.set_defaults(run=half_close_client)
    p = commands.add_parser("stall"); p.add_argument("--to", required=True)
    p.add_argument("--bytes", type=int, default=4 << 20); p.add_argument("--pause", type=float, default=2)
    p.add_argument("--seconds", type=float, default=30); p.set_defaults(run=stall)
    p = commands.add_parser("reset-clients"); p.add_argument("--to", required=True)
    p.add_argument("--count", type=int, default=50); p.set_defaults(run=reset_clients)
    p = commands.add_parser("same-port-cycles"); p.add_argument("--to", required=True)
    p.add_argument("--source", required=True); p.add_argument("--source-port", type=int, default=40000)
    p.add_argument("--count", type=int, default=100); p.add_argument("--gap", type=float, default=0.002)
    p.add_argument("--seconds", type=float, default=30); p.set_defaults(run=same_port_cycles)
    p = commands.add_parser("refused"); p.add_argument("--to", required=True); p.set_defaults(run=refused)
    p = commands.add_parser("syn-flood"); p.add_argument("--to", required=True)
    p.add_argument("--interface", required=True); p.add_argument("--dst-mac", required=True)
    p.add_argument("--count", type=int, default=100000); p.add_argument("--rate", type=float, default=50000)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--transfer-bytes", type=int, default=8 << 20)
    p.add_argument("--new-connections", type=int, default=20)
    p.add_argument("--new-interval", type=float, default=0.05)
    p.add_argument("--new-bytes", type=int, default=100000, help="each new connection echoes this much")
    p.add_argument("--start-after", type=int, default=5000)
    p.add_argument("--source-network", default="198.18.0.0/15",
                   help="spoofed sources; one on dp-echo's subnet makes it ARP for each")
    p.set_defaults(run=syn_flood)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
