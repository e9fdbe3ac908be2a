#!/usr/bin/env python3
"""Heap allocations per packet in the steady state, counted by ordo-one's
malloc interposer: UDP echo between two stacks over Loopback
(dp-stack-bench), TCP echo through sockets (dp-stack-bench --tcp-write,
64 B and 64 KiB writes) and a TCP bulk transfer between two endpoint tables
(dp-tcp-bench, interposer preloaded). Writes results/mallocs.json
(Docs/BENCHMARKS.md schema, no peer) and exits non-zero if any is above 0.
Usage: mallocs.py [--results DIR]   (after swift build -c release of both)
"""
import json, os, re, subprocess, sys, time

results = sys.argv[sys.argv.index("--results") + 1] if "--results" in sys.argv else "results"
release = ".build/release"
figures = []
for size in (64, 1472):
    out = subprocess.run([f"{release}/dp-stack-bench", "--packets", "20000", "--warmup", "5000", "--size", str(size), "--burst", "8"],
                         capture_output=True, text=True, timeout=120).stdout
    match = re.search(r"mallocs\s+(\d+) \(([\d.]+) per round trip\)", out)
    if not match:
        sys.exit(f"mallocs: dp-stack-bench printed no malloc count:\n{out}")
    figures.append({"name": f"UDP echo {size} B (stack over Loopback)", "unit": "mallocs/packet", "better": "lower",
                    "ours": float(match.group(2)), "mallocsPerOperation": float(match.group(2)),
                    "note": f"{match.group(1)} mallocs in 20000 round trips after 5000 warm-up"})
for write in (64, 65536):
    out = subprocess.run([f"{release}/dp-stack-bench", "--tcp-write", str(write), "--megabytes", "8"],
                         capture_output=True, text=True, timeout=300).stdout
    match = re.search(r"mallocs\s+(\d+) \(([\d.]+) per segment\)", out)
    segments = re.search(r"(\d+) segments", out)
    if not match:
        sys.exit(f"mallocs: dp-stack-bench --tcp-write printed no malloc count:\n{out}")
    figures.append({"name": f"TCP echo through sockets, {write} B writes (NetStack + SocketCore over Loopback)",
                    "unit": "mallocs/segment", "better": "lower",
                    "ours": float(match.group(2)), "mallocsPerOperation": float(match.group(2)),
                    "note": f"{match.group(1)} mallocs in {segments.group(1) if segments else '?'} segments "
                            "(8 MiB each way after 8 MiB warm-up, non-blocking send/recv)"})
preload = dict(os.environ, LD_PRELOAD=f"{release}/libMallocInterposerSwift.so")
# The counter must count: a run that allocates on purpose must show mallocs.
sanity = subprocess.run([f"{release}/dp-tcp-bench", "--megabytes", "10", "--sanity-allocate"], capture_output=True,
                        text=True, timeout=300, env=preload).stdout
if re.search(r" 0 mallocs", next((l for l in sanity.splitlines() if "steady state" in l), " 0 mallocs")):
    sys.exit(f"mallocs: the interposer counted nothing in a run that allocates (is {release}/libMallocInterposerSwift.so built?)")
out = subprocess.run([f"{release}/dp-tcp-bench", "--megabytes", "100"], capture_output=True, text=True, timeout=300,
                     env=preload).stdout
line = next((l for l in out.splitlines() if "steady state" in l), None)
match = re.search(r"(\d+) mallocs", line or "")
segments = re.search(r"(\d+) segments", line or "")
if not match:
    sys.exit(f"mallocs: dp-tcp-bench printed no steady-state count:\n{out}")
count = int(match.group(1))
per = count / int(segments.group(1)) if segments and int(segments.group(1)) else float(count)
figures.append({"name": "TCP bulk 100 MB (endpoint tables in memory)", "unit": "mallocs/segment", "better": "lower",
                "ours": per, "mallocsPerOperation": per, "note": line.strip()})
os.makedirs(results, exist_ok=True)
with open(os.path.join(results, "mallocs.json"), "w") as f:
    json.dump({"suite": "mallocs", "environment": {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
               "figures": figures,
               "notes": ["Forwarding (e1000 and virtio-net receive/transmit) is checked by E1000AllocationTests "
                         "and the VirtioNet allocation tests in swift test, and ring/pool by dp-bench's mallocs/op."]},
              f, indent=2)
for figure in figures:
    print(f"{figure['name']}: {figure['ours']:g} {figure['unit']}  ({figure['note']})")
sys.exit(0 if all(f["ours"] == 0 for f in figures) else 1)
