#!/usr/bin/env python3
"""Figures of the one-guest comparison (paired-peer.py's log, ./Tools/demo.sh):
per NIC and figure (TCP echo goodput, one-way peer -> guest, one-way guest ->
peer), ours and Linux as the medians of their transfers, and the ratio as
the median of the per-round ratios (each round's two transfers ran a
fraction of a second apart, so they shared the host's phase; the ratio of
the medians is in the note). Writes results/tcp-guest-paired.json in the
Docs/BENCHMARKS.md schema and results/tcp-guest-paired.png (every round's
pair over time: the two stacks' rates move together with the host), and
prints the rows. Exits non-zero when the log has no pairs or the peer saw a
failed transfer.
Usage: paired-compare.py RESULTS_DIR LOG
"""
import json, os, re, statistics, sys, time

directory, log = sys.argv[1], sys.argv[2]
pairs = {}  # (nic, figure) -> [(round, ours, linux)]
failures, steal = None, None
for line in open(log, errors="replace"):
    match = re.search(r"PAIRED (\S+) (\S+) (\d+) ours ([\d.]+) linux ([\d.]+)", line)
    if match:
        pairs.setdefault((match.group(1), match.group(2)), []).append(
            (int(match.group(3)), float(match.group(4)), float(match.group(5))))
    if match := re.search(r"PAIRED-DONE failures=(\d+)", line):
        failures = int(match.group(1))
    if match := re.search(r"PAIRED-HOST steal ([\d.]+)%", line):
        steal = float(match.group(1))
if not pairs:
    sys.exit(f"paired-compare: no PAIRED lines in {log}")
names = {"echo": "TCP echo goodput", "oneway-to-guest": "TCP one-way goodput, peer -> guest",
         "oneway-from-guest": "TCP one-way goodput, guest -> peer"}
figures = []
for (nic, figure), rows in sorted(pairs.items()):
    ours = statistics.median(r[1] for r in rows)
    linux = statistics.median(r[2] for r in rows)
    ratio = statistics.median(r[1] / r[2] for r in rows)
    entry = {"name": f"guest {nic} {names.get(figure, figure)}, one guest, alternating", "unit": "Mbit/s",
             "better": "higher", "ours": round(ours, 1), "peer": round(linux, 1), "peerName": "Linux kernel stack",
             "ratio": round(ratio, 3),
             "note": f"{len(rows)} pairs; median of per-pair ratios {ratio:.2f}, ratio of medians {ours / linux:.2f}; "
                     f"ours {min(r[1] for r in rows):.0f}-{max(r[1] for r in rows):.0f}, "
                     f"Linux {min(r[2] for r in rows):.0f}-{max(r[2] for r in rows):.0f} Mbit/s"}
    figures.append(entry)
    print(f"{entry['name']}: ours {entry['ours']}, Linux {entry['peer']} Mbit/s, ratio {entry['ratio']} ({entry['note']})")
os.makedirs(directory, exist_ok=True)
notes = ["One QEMU TCG guest (2 vCPUs, 2-CPU host) runs both stacks at once on NICs of the same kinds: dp-echo on "
         "vCPU 0 (NICs under VFIO), linux-echo on vCPU 1 with the kernel's own drivers (Tools/demo/paired-guest.sh). "
         "The peer (Tools/demo/paired-peer.py, Python, in the lab namespace) alternates transfers between them; "
         "sha256 checked on every transfer.",
         f"host steal time over the run: {steal if steal is not None else '?'}% of the host's CPU time"]
with open(os.path.join(directory, "tcp-guest-paired.json"), "w") as out:
    json.dump({"suite": "tcp-guest-paired", "environment": {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
               "figures": figures, "notes": notes}, out, indent=2)
print(f"paired-compare: wrote {os.path.join(directory, 'tcp-guest-paired.json')} ({len(figures)} figures)")
try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    echo = sorted(nic for nic, figure in pairs if figure == "echo")
    if echo:
        fig, axes = plt.subplots(1, len(echo), figsize=(6 * len(echo), 3.8), squeeze=False)
        for axis, nic in zip(axes[0], echo):
            rows = pairs[(nic, "echo")]
            axis.plot([r[0] for r in rows], [r[1] for r in rows], label="Dataplane (dp-echo)", color="tab:blue")
            axis.plot([r[0] for r in rows], [r[2] for r in rows], label="Linux (linux-echo)", color="tab:gray")
            axis.set_title(f"{nic}: TCP echo, one guest, alternating")
            axis.set_xlabel("round (one transfer each)")
            axis.set_ylabel("Mbit/s")
            axis.set_ylim(bottom=0)
            axis.legend(loc="lower right")
        fig.tight_layout()
        fig.savefig(os.path.join(directory, "tcp-guest-paired.png"), dpi=110)
        print(f"paired-compare: wrote {os.path.join(directory, 'tcp-guest-paired.png')}")
except ImportError:
    print("paired-compare: python3-matplotlib missing, no tcp-guest-paired.png")
if failures != 0:
    sys.exit(f"paired-compare: the peer reported {failures if failures is not None else 'no end (it did not finish)'} failure(s)")
