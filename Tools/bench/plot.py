#!/usr/bin/env python3
"""Draws a benchmark JSON's ours/peer ratios as horizontal bars, 1.0 marked."""
import json
import sys

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    sys.exit(1)

data = json.load(open(sys.argv[1]))
figures = [f for f in data["figures"] if f.get("ratio") is not None]
if not figures:
    sys.exit(1)
names = [f["name"] for f in figures]
# Show "speed relative to the peer": > 1 means ours is better either way.
speed = [(1 / f["ratio"]) if f["better"] == "lower" else f["ratio"] for f in figures]
fig, ax = plt.subplots(figsize=(9, 0.45 * len(names) + 1.5))
colors = ["#2a9d8f" if s >= 1 else "#e76f51" for s in speed]
ax.barh(names, speed, color=colors)
ax.axvline(1.0, color="black", linewidth=1)
ax.invert_yaxis()
ax.set_xlabel("speed relative to %s (> 1: Dataplane is better)" % (figures[0].get("peerName") or "peer"))
ax.set_title("dp-bench %s" % data["suite"])
for i, s in enumerate(speed):
    ax.text(s, i, " %.2f" % s, va="center")
fig.tight_layout()
fig.savefig(sys.argv[2], dpi=100)
