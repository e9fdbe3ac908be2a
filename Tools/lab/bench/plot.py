#!/usr/bin/python3
"""Draws `dp-lab bench` results (JSON) as bars: packets per second per port
of Dataplane and DPDK in each round and their medians."""
import json, sys

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    sys.exit(1)

data = json.load(open(sys.argv[1]))
rounds = data["rounds"]
labels = [f"round {r['round']}" for r in rounds] + ["median"]
ours = [r["ours_pps_per_port"] / 1e3 for r in rounds] + [data["ours_pps_per_port"] / 1e3]
dpdk = [r["dpdk_pps_per_port"] / 1e3 for r in rounds] + [data["dpdk_pps_per_port"] / 1e3]
fig, ax = plt.subplots(figsize=(8, 4))
x = range(len(labels))
ax.bar([i - 0.2 for i in x], ours, width=0.4, label="dp-testpmd (Dataplane)", color="#2a9d8f")
ax.bar([i + 0.2 for i in x], dpdk, width=0.4, label="dpdk-testpmd 22.11", color="#264653")
ax.set_xticks(list(x))
ax.set_xticklabels(labels)
ax.set_ylabel("kpps per port (host tap counter)")
ax.set_title(f"{data['nic']} {data['mode']} ({data['access']}, {data['frame_size']} B, burst {data['burst']}): "
             f"ours/DPDK = {data['ratio']:.2f}")
ax.legend()
fig.tight_layout()
fig.savefig(sys.argv[2], dpi=100)
