#!/usr/bin/env python3
"""Peer of the SwiftNIO runs in the lab guest (guest side: guest-nio.sh).
For each NIC and server in the guest's order: waits until the server
answers, checks GET / (1024 bytes of the servers' pattern), with --bench
runs wrk (1 connection thread, 50 connections, 1 KiB responses), then waits
until the server has stopped (it runs a fixed time). Lines:
"NIO <nic> <server> pass|fail <detail>", "NIO-FIGURE <nic> <server> <requests/s>".

  nio-peer.py [--bench] [--seconds S] e1000=10.0.0.2 virtio=10.0.1.2
"""
import argparse, re, socket, subprocess, sys, time, urllib.request

SERVERS = ("dp-nio-http", "dp-hb-http")
failures = 0


def wait_until(address, up, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            socket.create_connection((address, 80), timeout=2).close()
            answered = True
        except OSError:
            answered = False
        if answered == up:
            return True
        time.sleep(0.5)
    return False


PATTERNS = {"dp-nio-http": b"Hello from SwiftNIO. ", "dp-hb-http": b"Hello from Hummingbird. "}


def expected_body(server, size=1024):
    """The server's body: its pattern repeated to --size bytes."""
    pattern = PATTERNS[server]
    return (pattern * (size // len(pattern) + 1))[:size]


def main():
    global failures
    parser = argparse.ArgumentParser()
    parser.add_argument("--bench", action="store_true")
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("nics", nargs="+")
    options = parser.parse_args()
    for pair in options.nics:
        nic, address = pair.split("=")
        for server in SERVERS:
            if not wait_until(address, True, 240):
                print(f"NIO {nic} {server} fail never answered", flush=True)
                failures += 1
                continue
            try:
                body = urllib.request.urlopen(f"http://{address}/", timeout=20).read()
                ok = body == expected_body(server)
                print(f"NIO {nic} {server} {'pass' if ok else 'fail'} GET / {len(body)} bytes "
                      f"{'as expected' if ok else repr(body[:40])}", flush=True)
                failures += 0 if ok else 1
            except OSError as error:
                print(f"NIO {nic} {server} fail {error}", flush=True)
                failures += 1
            if options.bench:
                out = subprocess.run(["wrk", "-t", "1", "-c", "50", "-d", f"{options.seconds}s", f"http://{address}/"],
                                     capture_output=True, text=True, timeout=options.seconds + 60).stdout
                rate = re.search(r"Requests/sec:\s+([0-9.]+)", out)
                if rate:
                    print(f"NIO-FIGURE {nic} {server} {rate.group(1)}", flush=True)
                errors = re.search(r"Socket errors: .*|Non-2xx or 3xx responses: \d+", out)
                if errors:
                    print(f"NIO-NOTE {nic} {server} wrk: {errors.group(0)}", flush=True)
            wait_until(address, False, 240)
    print(f"NIO peer {'pass' if failures == 0 else 'fail'} ({failures} failed)", flush=True)
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
