#!/usr/bin/env python3
"""Peer of the SwiftNIO runs in the lab guest (guest side: guest-nio.sh).
For each NIC and server in the guest's order: waits until that server
answers GET / with its own body (1024 bytes of its pattern; the previous
server may still be running its fixed time), then with --bench runs wrk
(1 thread, 50 connections, 1 KiB responses). Lines:
"NIO <nic> <server> pass|fail <detail>", "APPS-FIGURE <nic> <server> GET-1KiB <requests/s>"
(the lines Tools/demo/apps-compare.py reads).

  nio-peer.py [--bench] [--seconds S] e1000=10.0.0.2 virtio=10.0.1.2
"""
import argparse, re, subprocess, sys, time, urllib.request

SERVERS = ("dp-nio-http", "dp-hb-http")
failures = 0


def fetch(address):
    """GET / (None when nothing answers)."""
    try:
        return urllib.request.urlopen(f"http://{address}/", timeout=5).read()
    except OSError:
        return None


def wait_for(address, body, seconds):
    """Waits until the server that answers is the one expected (each
    server's body is its own, so the previous one still running is told
    apart); returns the last answer."""
    deadline = time.time() + seconds
    answer = None
    while time.time() < deadline:
        answer = fetch(address)
        if answer == body:
            return answer
        time.sleep(0.5)
    return answer


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
            body = wait_for(address, expected_body(server), 240)
            ok = body == expected_body(server)
            detail = f"GET / {len(body)} bytes {'as expected' if ok else repr(body[:40])}" if body else "never answered"
            print(f"NIO {nic} {server} {'pass' if ok else 'fail'} {detail}", flush=True)
            if not ok:
                failures += 1
                continue
            if options.bench:
                out = subprocess.run(["wrk", "-t", "1", "-c", "50", "-d", f"{options.seconds}s", f"http://{address}/"],
                                     capture_output=True, text=True, timeout=options.seconds + 60).stdout
                rate = re.search(r"Requests/sec:\s+([0-9.]+)", out)
                if rate:
                    print(f"APPS-FIGURE {nic} {server} GET-1KiB {rate.group(1)}", flush=True)
                errors = re.search(r"Socket errors: .*|Non-2xx or 3xx responses: \d+", out)
                if errors:
                    print(f"NIO-NOTE {nic} {server} wrk: {errors.group(0)}", flush=True)
    print(f"NIO peer {'pass' if failures == 0 else 'fail'} ({failures} failed)", flush=True)
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
