#!/usr/bin/env python3
"""Judges a soak run (Tools/demo/soak.sh): fits a least-squares line to
dp-echo's resident memory and to its pools' buffers in use over the loaded
samples, and fails on growth beyond noise, on any transfer that differed,
on a crash, or on buffers not back after the load stopped. Writes the
figures as JSON (and a PNG beside it when matplotlib is installed)."""
import argparse, json, os, statistics, sys

parser = argparse.ArgumentParser()
for name in ("samples", "peer", "echo-log", "out"):
    parser.add_argument("--" + name, required=True)
parser.add_argument("--peer-status", type=int, required=True)
parser.add_argument("--echo-alive", type=int, required=True)
parser.add_argument("--duration", type=int, required=True)
args = parser.parse_args()

def in_use(pools):
    if isinstance(pools, dict):
        pools = pools.get("pools", [])
    if not isinstance(pools, list) or not pools:
        return None
    return sum(int(p.get("inUse", 0)) for p in pools)

samples = [json.loads(line) for line in open(args.samples) if line.strip()]
for s in samples:
    s["inUse"] = in_use(s.get("pools"))
loaded = [s for s in samples if s["phase"] == "load" and s["rssKiB"] > 0 and s["inUse"] is not None]
before = next((s for s in samples if s["phase"] == "before"), None)
after = next((s for s in samples if s["phase"] == "after"), None)

def fit(xs, ys):
    """Slope per second, intercept, residual standard deviation."""
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx if sxx else 0.0
    residuals = [y - (my + slope * (x - mx)) for x, y in zip(xs, ys)]
    return slope, my - slope * mx, statistics.pstdev(residuals) if len(residuals) > 1 else 0.0

failures = []
# The first minute (or first fifth of a short run) warms up: caches, pools, TCP buffers.
warmup = min(60, args.duration // 5)
steady = [s for s in loaded if s["t"] >= warmup]
figures = {}
if len(steady) < 3:
    failures.append(f"only {len(steady)} samples after the warm-up: nothing to fit")
else:
    xs = [s["t"] for s in steady]
    span = xs[-1] - xs[0]
    for key, floor, unit in (("rssKiB", 2048, "KiB"), ("inUse", 64, "buffers")):
        ys = [s[key] for s in steady]
        slope, intercept, noise = fit(xs, ys)
        growth = slope * span
        # Beyond noise: more than three residual deviations and more than a floor.
        limit = max(3 * noise, floor, 0.02 * statistics.fmean(ys) if key == "rssKiB" else 0)
        figures[key] = {"slopePerHour": slope * 3600, "growthOverRun": growth, "noise": noise, "limit": limit,
                        "min": min(ys), "max": max(ys), "mean": statistics.fmean(ys), "unit": unit}
        if growth > limit:
            failures.append(f"{key} grows {growth:.0f} {unit} over {span} s (limit {limit:.0f}): a leak")
if before and after and before["inUse"] is not None and after["inUse"] is not None:
    figures["buffersBefore"], figures["buffersAfter"] = before["inUse"], after["inUse"]
    if after["inUse"] > before["inUse"] + 8:
        failures.append(f"{after['inUse']} buffers in use after the load, {before['inUse']} before: not all came back")
peer = json.load(open(args.peer)) if os.path.exists(args.peer) else {}
if args.peer_status != 0:
    failures.append(f"the peer failed (status {args.peer_status}): {peer.get('failures')}")
if not args.echo_alive:
    failures.append("dp-echo was not running at the end (crash):\n" + open(args.echo_log).read()[-2000:])

result = {"duration": args.duration, "samples": len(samples), "figures": figures, "peer": peer,
          "failures": failures, "series": [{k: s[k] for k in ("phase", "t", "rssKiB", "inUse")} for s in samples]}
json.dump(result, open(args.out, "w"), indent=1)
for key, f in figures.items():
    if isinstance(f, dict):
        print(f"soak: {key}: mean {f['mean']:.0f} {f['unit']} (min {f['min']}, max {f['max']}), "
              f"slope {f['slopePerHour']:+.1f}/h, growth over run {f['growthOverRun']:+.1f} (limit {f['limit']:.0f})")
print(f"soak: buffers in use before {figures.get('buffersBefore')}, after {figures.get('buffersAfter')}")
print(f"soak: peer: bulk {peer.get('bulk')} transfers ({peer.get('bulkBytes', 0) / 2**20:.0f} MiB back), "
      f"mismatches {peer.get('bulkMismatches')}; short {peer.get('short')} (failures {peer.get('shortFailures')}); "
      f"udp {peer.get('udpEchoed')}/{peer.get('udpSent')} echoed, mismatches {peer.get('udpMismatches')}")
try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (a, b) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    a.plot([s["t"] for s in loaded], [s["rssKiB"] / 1024 for s in loaded]); a.set_ylabel("dp-echo RSS (MiB)")
    b.plot([s["t"] for s in loaded], [s["inUse"] for s in loaded]); b.set_ylabel("pool buffers in use")
    b.set_xlabel("seconds"); fig.suptitle(f"soak, {args.duration} s")
    fig.savefig(os.path.splitext(args.out)[0] + ".png", dpi=100)
except ImportError:
    print("soak: python3-matplotlib missing, no PNG")
print(f"soak: wrote {args.out}")
if failures:
    print("soak: FAILED\n  " + "\n  ".join(failures))
    sys.exit(1)
print("soak: ok")
