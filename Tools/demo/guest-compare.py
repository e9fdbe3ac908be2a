#!/usr/bin/env python3
"""Guest stack figures, Dataplane vs the Linux kernel stack, from the
DEMO-FIGURE lines demo-peer.py printed in each lab run's log (ours: dp-echo
on the PCI ports; Linux: linux-echo on the kernel drivers of the same NIC
kinds). Medians over the runs of each side; the ratio is the median of ours
over the median of Linux. With a third group of logs (dp-echo --cores 2 in
the same 2-vCPU guest, virtio with 2 queue pairs and RSS, e1000 spread in
software) the same figures come again as "..., 2 cores", beside the same
Linux runs. Writes results/guest-stack.json (UDP) and results/tcp-guest.json
(TCP goodput, connections/s) in the Docs/BENCHMARKS.md schema,
results/tcp-guest.png (ours beside Linux per NIC), and prints the rows.
Usage: guest-compare.py RESULTS_DIR OURS_LOG... -- LINUX_LOG... [-- OURS_2_CORES_LOG...]
"""
import json, os, re, statistics, sys, time

directory = sys.argv[1]
separators = [i for i, arg in enumerate(sys.argv) if arg == "--"]
ends = separators + [len(sys.argv)]
sides = {"ours": sys.argv[2:ends[0]], "linux": sys.argv[ends[0] + 1:ends[1]]}
if len(separators) > 1:
    sides["ours2"] = sys.argv[ends[1] + 1:ends[2]]
values = {}  # (nic, figure, unit) -> side -> [values]
for side, logs in sides.items():
    for log in logs:
        for line in open(log, errors="replace"):
            match = re.search(r"DEMO-FIGURE (\S+) (\S+) ([\d.]+) (\S+)", line)
            if match:
                key = (match.group(1), match.group(2), match.group(4))
                values.setdefault(key, {}).setdefault(side, []).append(float(match.group(3)))
names = {"udp-echo-rate": "UDP echo, 18 B, 16 in flight", "tcp-echo-goodput": "TCP echo goodput",
         "tcp-connections-rate": "TCP connections (connect, 1 B echo, close; 16 at a time)",
         "tcp-oneway-to-guest": "TCP one-way goodput, peer -> guest (sha256 checked)",
         "tcp-oneway-from-guest": "TCP one-way goodput, guest -> peer (sha256 checked)"}
figures = []
for (nic, figure, unit), sides_values in sorted(values.items()):
    linux = statistics.median(sides_values["linux"]) if "linux" in sides_values else None
    for side, suffix in (("ours", ""), ("ours2", ", 2 cores")):
        if side == "ours2" and side not in sides_values:
            continue
        ours = statistics.median(sides_values[side]) if side in sides_values else None
        entry = {"name": f"guest {nic} {names.get(figure, figure)}{suffix}", "unit": unit, "better": "higher", "ours": ours,
                 "note": f"runs: ours {sides_values.get(side, [])}, Linux {sides_values.get('linux', [])}"}
        if linux:
            entry.update(peer=linux, peerName="Linux kernel stack", ratio=round(ours / linux, 3) if ours is not None else None)
        figures.append(entry)
        print(f"{entry['name']}: ours {ours}, Linux {linux} {unit}, ratio {entry.get('ratio')}")
if not figures:
    sys.exit("guest-compare: no DEMO-FIGURE lines in the logs")
os.makedirs(directory, exist_ok=True)
environment = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
notes = ["QEMU TCG guest, 2 vCPUs, on a 2-CPU host; the peer runs in the lab namespace: UDP echo rate and "
         "connections/s from peer-load (C), the TCP transfer from demo-peer.py (Python). TCG and the shared host "
         "bound these figures as much as either stack."]
tcp = [f for f in figures if " TCP " in f["name"]]
udp = [f for f in figures if f not in tcp]
for name, suite, chosen in (("guest-stack.json", "guest-stack", udp), ("tcp-guest.json", "tcp-guest", tcp)):
    with open(os.path.join(directory, name), "w") as out:
        json.dump({"suite": suite, "environment": environment, "figures": chosen, "notes": notes}, out, indent=2)
    print(f"guest-compare: wrote {os.path.join(directory, name)} ({len(chosen)} figures)")

# One panel per TCP figure: ours beside Linux for each NIC.
try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    print("guest-compare: python3-matplotlib missing, no tcp-guest.png")
    sys.exit(0)
kinds = sorted({f["name"].split(" ", 2)[2] for f in tcp})
if kinds:
    fig, axes = plt.subplots(1, len(kinds), figsize=(5 * len(kinds), 4), squeeze=False)
    for axis, kind in zip(axes[0], kinds):
        rows = [f for f in tcp if f["name"].endswith(kind)]
        nics = [f["name"].split(" ")[1] for f in rows]
        positions = range(len(rows))
        axis.bar([p - 0.2 for p in positions], [f["ours"] or 0 for f in rows], 0.4, label="Dataplane")
        axis.bar([p + 0.2 for p in positions], [f.get("peer") or 0 for f in rows], 0.4, label="Linux kernel")
        for p, f in zip(positions, rows):
            if f.get("ratio"):
                axis.annotate(f"{f['ratio']:.2f}x", (p - 0.2, f["ours"] or 0), ha="center", va="bottom")
        axis.set_xticks(list(positions), nics)
        axis.set_title(kind, fontsize=9)
        axis.set_ylabel(rows[0]["unit"])
        axis.legend(fontsize=8, loc="lower center")
        axis.margins(y=0.15)
    fig.suptitle("TCP in the QEMU guest, same NIC: Dataplane (dp-echo) vs Linux (linux-echo), medians")
    fig.tight_layout()
    fig.savefig(os.path.join(directory, "tcp-guest.png"), dpi=110)
    print(f"guest-compare: wrote {os.path.join(directory, 'tcp-guest.png')}")
