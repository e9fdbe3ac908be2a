#!/usr/bin/env python3
"""Gathers every results/*.json into one summary: a table on stdout
(figure, ours, peer, ratio, unit), results/report.md and results/summary.png
(speed relative to the peer as bars, 1.0 marked; > 1 means ours is better).
Reads the dp-bench schema ("figures", Docs/BENCHMARKS.md) and dp-lab bench's
files (NIC-MODE.json). Exits non-zero when there is nothing to report.
Usage: report.py [RESULTS_DIR]
"""
import glob, json, os, sys, time

directory = sys.argv[1] if len(sys.argv) > 1 else "results"
rows = []  # (suite, name, ours, peer, ratio, unit, better, peerName, mallocs, file mtime)
for path in sorted(glob.glob(os.path.join(directory, "*.json"))):
    try:
        data = json.load(open(path))
    except (OSError, ValueError) as error:
        print(f"report: skipping {path}: {error}", file=sys.stderr)
        continue
    if not isinstance(data, dict):
        continue  # not a figures file (a tool's own record)
    stamp = time.strftime("%Y-%m-%d %H:%M", time.gmtime(os.path.getmtime(path)))
    if isinstance(data.get("figures"), list):  # the soak's "figures" is its own record (a dict), not rows
        for f in data["figures"]:
            if not isinstance(f, dict) or "name" not in f:
                continue
            rows.append((data.get("suite", os.path.basename(path)), f["name"], f.get("ours"), f.get("peer"), f.get("ratio"),
                         f.get("unit", ""), f.get("better", "higher"), f.get("peerName", ""),
                         f.get("mallocsPerOperation"), stamp))
    elif data.get("tool") == "dp-lab bench":
        rows.append(("lab", f"guest {data['nic']} {data['mode']} {data.get('frame_size', 64)} B ({data.get('access', 'vfio')})",
                     data["ours_pps_per_port"] / 1e3, data["dpdk_pps_per_port"] / 1e3, data["ratio"], "kpps/port", "higher",
                     "dpdk-testpmd", None, stamp))
if not rows:
    sys.exit(f"report: no results in {directory}/ (run ./Tools/demo.sh or dp-bench first)")


def speed(row):
    ratio, better = row[4], row[6]
    if not ratio:
        return None
    return 1 / ratio if better == "lower" else ratio


def goal(row):
    """ours/DPDK >= 1.0; ours/Linux >= 2.0 UDP echo, 1.5 TCP goodput, 2.0
    connections/s, 1.5 for applications (the same program on both stacks)."""
    if row[7] == "same echo, 1 core":  # share-nothing scaling: 0.9 per core
        return 1.8
    if row[7] == "the same dp-echo, polling":  # interrupt idle: within 10% under load
        return 0.9
    if row[7] == "the same binary on the Linux kernel stack":
        return 1.5
    if row[7] == "Linux kernel stack":
        return {"Mbit/s": 1.5}.get(row[5], 2.0)
    return 1.0


def number(value):
    if value is None:
        return "-"
    return f"{value:,.3g}" if abs(value) < 100 else f"{value:,.0f}"


def fuzz_section():
    """The whole-stack fuzz run (Tools/fuzz-stack.sh's FUZZ_JSON): executions
    per target against the issue's goal of 10 million, 0 crashes."""
    path = os.path.join(directory, "fuzz-stack.json")
    try:
        data = json.load(open(path))
    except (OSError, ValueError):
        return ""
    lines = ["", "## Whole-stack fuzzing", "",
             f"{data.get('date', '?')}, {'with' if data.get('asan', True) else 'without'} ASan"
             + ("" if data.get("asan", True) else " (every kept input replayed under ASan)")
             + "; goal: 10,000,000 executions per target, 0 crashes.", "",
             "| target | executions | seconds | CPU-s | exec/CPU-s | cov | ft | replayed under ASan | crashes |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, t in data.get("targets", {}).items():
        executions, cpu = t.get("executions", 0), t.get("cpu_seconds") or 0
        rate = f"{executions / cpu:,.0f}" if cpu else "-"
        lines.append(f"| {name} | {executions:,} | {t.get('elapsed_seconds', '-')} | {cpu or '-'} | {rate} "
                     f"| {t.get('cov', '-')} | {t.get('ft', '-')} | {t.get('asan_replayed_inputs', '-')} | {t.get('crashes', 0)} |")
    return "\n".join(lines) + "\n"


header = "| suite | figure | ours | peer | ratio ours/peer | unit | speed vs peer | goal | mallocs/op | measured (UTC) |"
lines = [header, "|" + "---|" * 10]
for row in rows:
    s = speed(row)
    lines.append(f"| {row[0]} | {row[1]} | {number(row[2])} | {number(row[3])} | {number(row[4])} | {row[5]} "
                 f"| {'-' if s is None else f'{s:.2f}'}{'' if s is None or s >= goal(row) else ' (below goal)'} "
                 f"| {'-' if s is None else f'{goal(row):.1f}'} "
                 f"| {'-' if row[8] is None else row[8]} | {row[9]} |")
table = "\n".join(lines)
print(table)
below = [row for row in rows if speed(row) is not None and speed(row) < goal(row)]
below += [row for row in rows if row[5].startswith("mallocs") and (row[2] or 0) > 0]
with open(os.path.join(directory, "report.md"), "w") as out:
    out.write("# Dataplane benchmark report\n\n")
    out.write(f"Generated {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} from {directory}/*.json. "
              "Ratio is ours/peer in the figure's unit; speed vs peer is > 1 when ours is better "
              "(the inverse ratio for lower-is-better units such as cycles). Goals: speed ≥ 1.0 against DPDK; against "
              "Linux ≥ 2.0 UDP echo, ≥ 1.5 TCP goodput, ≥ 2.0 connections/s; 0 mallocs per packet.\n\n")
    out.write(table + "\n\n")
    if below:
        out.write("Below goal: " + "; ".join(f"{r[0]} {r[1]} ({'-' if speed(r) is None else f'{speed(r):.2f}'} < {goal(r):.1f})" for r in below) + ".\n\n")
    out.write("![speed relative to the peer](summary.png)\n")
    out.write(fuzz_section())
try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plotted = [row for row in rows if speed(row) is not None]
    names = [f"{row[0]}: {row[1]}" for row in plotted]
    speeds = [speed(row) for row in plotted]
    fig, ax = plt.subplots(figsize=(10, 0.4 * len(names) + 1.5))
    ax.barh(names, speeds, color=["#2a9d8f" if s >= 1 else "#e76f51" for s in speeds])
    ax.axvline(1.0, color="black", linewidth=1)
    ax.invert_yaxis()
    ax.set_xlabel("speed relative to the peer (> 1: Dataplane is better; line at 1.0)")
    ax.set_title("Dataplane vs DPDK / Linux")
    for i, s in enumerate(speeds):
        ax.text(s, i, f" {s:.2f}", va="center", fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(directory, "summary.png"), dpi=100)
    print(f"report: {directory}/report.md and {directory}/summary.png")
except ImportError:
    print(f"report: {directory}/report.md (python3-matplotlib missing: no summary.png)")
