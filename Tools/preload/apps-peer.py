#!/usr/bin/env python3
"""Peer of the unmodified-application runs (guest side: guest-apps.sh).

Checks real answers of Debian's redis-server and nginx in the lab guest,
on each NIC in the guest script's order, then stops each app:
  redis: 10,000 keys SET then GET (pipelined), every value compared;
  nginx: /1k.bin and /100k.bin, sha256 compared with the guest's pattern.
With --bench it also measures (from this namespace, like a client host):
  redis-benchmark SET and GET, 50 clients, pipelining 1 and 16;
  wrk, 50 connections, the 1 KiB and the 100 KiB file.
Lines: "APPS <nic> <check> pass|fail <detail>", "APPS-FIGURE <nic> <app> <test> <requests/s>".

  apps-peer.py [--bench] [--seconds S] e1000=10.0.0.2 virtio=10.0.1.2
"""
import argparse, hashlib, re, socket, subprocess, sys, time, urllib.request

KEYS = 10_000
failures = 0


def say(nic, check, ok, detail):
    global failures
    failures += 0 if ok else 1
    print(f"APPS {nic} {check} {'pass' if ok else 'fail'} {detail}", flush=True)


def connect(address, port, seconds=180):
    deadline = time.time() + seconds
    while True:
        try:
            return socket.create_connection((address, port), timeout=10)
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.5)


def read_reply(stream):
    line = stream.readline()
    if line.startswith(b"$"):
        length = int(line[1:])
        if length < 0:
            return None
        data = stream.read(length + 2)
        return data[:-2]
    return line.rstrip(b"\r\n")


def command(*parts):
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        part = part if isinstance(part, bytes) else str(part).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(part), part))
    return b"".join(out)


def value_of(i):
    return hashlib.sha256(b"key %d" % i).hexdigest().encode() * (1 + i % 4)


def redis_check(nic, address):
    with connect(address, 6379) as s:
        s.settimeout(60)
        stream = s.makefile("rb")
        s.sendall(b"".join(command("SET", f"key:{i}", value_of(i)) for i in range(KEYS)))
        ok = sum(read_reply(stream) == b"+OK" for _ in range(KEYS))
        s.sendall(b"".join(command("GET", f"key:{i}") for i in range(KEYS)))
        same = sum(read_reply(stream) == value_of(i) for i in range(KEYS))
        s.sendall(command("DBSIZE"))
        size = read_reply(stream)
    say(nic, "redis-set-get", ok == KEYS and same == KEYS and size == b":%d" % KEYS,
        f"{ok} SET OK, {same}/{KEYS} GET values equal, DBSIZE {size.decode(errors='replace')}")


def redis_bench(nic, address):
    for pipeline, requests in ((1, 20_000), (16, 200_000)):
        try:
            out = subprocess.run(["redis-benchmark", "-h", address, "-p", "6379", "-c", "50", "-P", str(pipeline),
                                  "-n", str(requests), "-t", "set,get", "--csv"],
                                 capture_output=True, text=True, timeout=240).stdout
        except subprocess.TimeoutExpired:
            print(f"APPS-NOTE {nic} redis-benchmark -P {pipeline} timed out", flush=True)
            continue
        for name, rate in re.findall(r'^"(SET|GET)","([0-9.]+)"', out, re.M):
            print(f"APPS-FIGURE {nic} redis {name}-P{pipeline} {rate}", flush=True)


def redis_stop(address):
    try:
        with connect(address, 6379, 10) as s:
            s.sendall(command("SHUTDOWN", "NOSAVE"))
            s.settimeout(10)
            s.recv(100)
    except OSError:
        pass


def pattern():
    one = bytes(65 + (i * 7) % 26 for i in range(1024))
    return one, one * 100


def nginx_check(nic, address):
    connect(address, 80).close()
    for name, expected in zip(("1k.bin", "100k.bin"), pattern()):
        try:
            body = urllib.request.urlopen(f"http://{address}/{name}", timeout=60).read()
            ok = hashlib.sha256(body).hexdigest() == hashlib.sha256(expected).hexdigest()
            say(nic, f"nginx-{name}", ok, f"{len(body)} bytes, sha256 {'equal' if ok else 'DIFFERENT'}")
        except OSError as error:
            say(nic, f"nginx-{name}", False, f"{error}")


def nginx_bench(nic, address, seconds):
    for name in ("1k.bin", "100k.bin"):
        try:
            out = subprocess.run(["wrk", "-t", "1", "-c", "50", "-d", f"{seconds}s", f"http://{address}/{name}"],
                                 capture_output=True, text=True, timeout=seconds + 60).stdout
        except subprocess.TimeoutExpired:
            print(f"APPS-NOTE {nic} wrk {name} timed out", flush=True)
            continue
        rate = re.search(r"Requests/sec:\s+([0-9.]+)", out)
        errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)", out)
        if rate:
            print(f"APPS-FIGURE {nic} nginx {name} {rate.group(1)}", flush=True)
        if errors:
            print(f"APPS-NOTE {nic} wrk {name}: {errors.group(0)}", flush=True)


def nginx_stop(address):
    try:
        urllib.request.urlopen(f"http://{address}/stop", timeout=10).read()
    except OSError:
        pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bench", action="store_true")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("nics", nargs="+")
    options = parser.parse_args()
    for pair in options.nics:
        nic, address = pair.split("=")
        started = time.time()
        try:
            redis_check(nic, address)
            if options.bench:
                redis_bench(nic, address)
        except OSError as error:
            say(nic, "redis-set-get", False, f"{error}")
        redis_stop(address)
        try:
            nginx_check(nic, address)
            if options.bench:
                nginx_bench(nic, address, options.seconds)
        except OSError as error:
            say(nic, "nginx", False, f"{error}")
        nginx_stop(address)
        print(f"APPS {nic} done in {time.time() - started:.0f} s", flush=True)
    print(f"APPS peer {'pass' if failures == 0 else 'fail'} ({failures} failed)", flush=True)
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
