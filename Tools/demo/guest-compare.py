#!/usr/bin/env python3
"""Guest stack figures, Dataplane vs the Linux kernel stack, from the
DEMO-FIGURE lines demo-peer.py printed in each lab run's log (ours: dp-echo
on the PCI ports; Linux: linux-echo on the kernel drivers of the same NIC
kinds). Medians over the runs of each side; the ratio is the median of ours
over the median of Linux. Writes results/guest-stack.json
(Docs/BENCHMARKS.md schema) and prints the rows.
Usage: guest-compare.py RESULTS_DIR OURS_LOG... -- LINUX_LOG...
"""
import json, os, re, statistics, sys, time

directory = sys.argv[1]
split = sys.argv.index("--")
sides = {"ours": sys.argv[2:split], "linux": sys.argv[split + 1:]}
values = {}  # (nic, figure, unit) -> side -> [values]
for side, logs in sides.items():
    for log in logs:
        for line in open(log, errors="replace"):
            match = re.search(r"DEMO-FIGURE (\S+) (\S+) ([\d.]+) (\S+)", line)
            if match:
                key = (match.group(1), match.group(2), match.group(4))
                values.setdefault(key, {}).setdefault(side, []).append(float(match.group(3)))
names = {"udp-echo-rate": "UDP echo, 18 B, 16 in flight", "tcp-echo-goodput": "TCP echo goodput",
         "tcp-connections-rate": "TCP connections (connect, 1 B echo, close)"}
figures = []
for (nic, figure, unit), sides_values in sorted(values.items()):
    ours = statistics.median(sides_values["ours"]) if "ours" in sides_values else None
    linux = statistics.median(sides_values["linux"]) if "linux" in sides_values else None
    entry = {"name": f"guest {nic} {names.get(figure, figure)}", "unit": unit, "better": "higher", "ours": ours,
             "note": f"runs: ours {sides_values.get('ours', [])}, Linux {sides_values.get('linux', [])}"}
    if linux:
        entry.update(peer=linux, peerName="Linux kernel stack", ratio=round(ours / linux, 3) if ours is not None else None)
    figures.append(entry)
    print(f"{entry['name']}: ours {ours}, Linux {linux} {unit}, ratio {entry.get('ratio')}")
if not figures:
    sys.exit("guest-compare: no DEMO-FIGURE lines in the logs")
os.makedirs(directory, exist_ok=True)
with open(os.path.join(directory, "guest-stack.json"), "w") as out:
    json.dump({"suite": "guest-stack", "environment": {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
               "figures": figures,
               "notes": ["QEMU TCG guest, 2 vCPUs; the peer is one Python process in the lab namespace, so these "
                         "figures are bounded by the peer and by TCG as much as by either stack."]}, out, indent=2)
