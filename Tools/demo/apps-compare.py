#!/usr/bin/env python3
"""Applications in the guest, Dataplane vs the Linux kernel stack, the same
programs on both: Debian's redis-server and nginx through the LD_PRELOAD
library (ours) or on the guest kernel's sockets (Linux), from the
APPS-FIGURE lines Tools/preload/apps-peer.py printed (redis-benchmark
SET/GET with 50 clients at pipelining 1 and 16; wrk with 50 connections on
a 1 KiB and a 100 KiB file); and the SwiftNIO servers dp-nio-http and
dp-hb-http on DataplaneNIO (ours) or NIOPosix (Linux), from the lines
Tools/nio-lab/nio-peer.py printed (wrk, 50 connections, 1 KiB). Medians over the runs of each
side; the ratio is the median of ours over the median of Linux. Writes
results/apps-guest.json (Docs/BENCHMARKS.md schema) and
results/apps-guest.png, and prints the rows.
Usage: apps-compare.py RESULTS_DIR OURS_LOG... -- LINUX_LOG...
"""
import json, os, re, statistics, sys, time

directory = sys.argv[1]
split = sys.argv.index("--")
sides = {"ours": sys.argv[2:split], "linux": sys.argv[split + 1:]}
values = {}  # (nic, app, test) -> side -> [requests/s]
checks = {"ours": [], "linux": []}
for side, logs in sides.items():
    for log in logs:
        for line in open(log, errors="replace"):
            match = re.search(r"APPS-FIGURE (\S+) (\S+) (\S+) ([\d.]+)", line)
            if match:
                key = (match.group(1), match.group(2), match.group(3))
                values.setdefault(key, {}).setdefault(side, []).append(float(match.group(4)))
            if re.search(r"APPS \S+ \S+ (pass|fail) ", line):
                checks[side].append(" pass " in line)
names = {"SET-P1": "SET, 50 clients", "GET-P1": "GET, 50 clients", "SET-P16": "SET, 50 clients, pipeline 16",
         "GET-P16": "GET, 50 clients, pipeline 16", "1k.bin": "1 KiB file, 50 connections",
         "100k.bin": "100 KiB file, 50 connections", "GET-1KiB": "GET / 1 KiB, 50 connections"}
figures = []
for (nic, app, test), side_values in sorted(values.items()):
    ours = statistics.median(side_values["ours"]) if "ours" in side_values else None
    linux = statistics.median(side_values["linux"]) if "linux" in side_values else None
    entry = {"name": f"guest {nic} {app} {names.get(test, test)}", "unit": "requests/s", "better": "higher",
             "ours": ours, "peer": linux, "peerName": "the same binary on the Linux kernel stack",
             "ratio": round(ours / linux, 3) if ours and linux else None,
             "note": f"runs: ours {side_values.get('ours', [])}, Linux {side_values.get('linux', [])}"}
    figures.append(entry)
    print(f"{entry['name']}: ours {ours}, Linux {linux} requests/s, ratio {entry['ratio']}")
if not figures:
    sys.exit("apps-compare: no APPS-FIGURE lines in the logs")
os.makedirs(directory, exist_ok=True)
notes = ["QEMU TCG guest, 2 vCPUs, on a 2-CPU host; redis-benchmark and wrk run in the lab namespace on the host. "
         "Ours: LD_PRELOAD=libdataplane-preload.so with the NIC under VFIO; Linux: the NIC on its kernel driver. "
         "Both sides' answers are checked in the same runs (10,000 redis keys, nginx files by sha256).",
         f"checks passed: ours {sum(checks['ours'])}/{len(checks['ours'])}, Linux {sum(checks['linux'])}/{len(checks['linux'])}"]
with open(os.path.join(directory, "apps-guest.json"), "w") as out:
    json.dump({"suite": "apps-guest", "environment": {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
               "figures": figures, "notes": notes}, out, indent=2)
print(f"apps-compare: wrote {os.path.join(directory, 'apps-guest.json')} ({len(figures)} figures)")
try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    sys.exit(0)
fig, axis = plt.subplots(figsize=(11, 4.5))
rows = [f for f in figures if f["ratio"]]
axis.bar(range(len(rows)), [f["ratio"] for f in rows], color=["tab:blue" if " e1000 " in f["name"] else "tab:orange" for f in rows])
axis.axhline(1.0, color="black", linewidth=0.8)
axis.axhline(1.5, color="gray", linewidth=0.8, linestyle="--")
axis.set_xticks(range(len(rows)), [f["name"].replace("guest ", "").replace(", 50 clients", "").replace(", 50 connections", "")
                                   for f in rows], rotation=35, ha="right", fontsize=8)
axis.set_ylabel("ours / Linux (requests/s)")
axis.set_title("The same programs in the QEMU guest, data plane over the Linux stack (medians; 1.5 goal dashed)\n"
               "redis-server, nginx: LD_PRELOAD; dp-nio-http, dp-hb-http: DataplaneNIO vs NIOPosix", fontsize=10)
fig.tight_layout()
fig.savefig(os.path.join(directory, "apps-guest.png"), dpi=110)
# (NIO rows are labelled by program: dp-nio-http, dp-hb-http.)
print(f"apps-compare: wrote {os.path.join(directory, 'apps-guest.png')}")
