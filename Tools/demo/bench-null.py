#!/usr/bin/env python3
"""Host forwarding: dp-testpmd io over two null ports vs DPDK's
dpdk-testpmd --no-huge --no-pci --vdev net_null0 --vdev net_null1
--forward-mode=io, one forwarding core each, alternating ours/DPDK for
--rounds rounds of --seconds; the median rate of each side and the median of
the per-round ratios go to results/testpmd-null.json (Docs/BENCHMARKS.md
schema). Every run is bounded by timeout.
Usage: bench-null.py [--rounds N] [--seconds S] [--results DIR]
"""
import argparse, json, os, platform, re, statistics, subprocess, sys, tempfile, time

parser = argparse.ArgumentParser()
parser.add_argument("--rounds", type=int, default=3)
parser.add_argument("--seconds", type=float, default=5)
parser.add_argument("--results", default="results")
parser.add_argument("--dp-testpmd", default=".build/release/dp-testpmd")
args = parser.parse_args()


def ours():
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run([args.dp_testpmd, "--null", "--null", "--forward-mode", "io", "--cores", "1",
                        "--seconds", str(args.seconds), "--json", out.name],
                       check=True, stdout=subprocess.DEVNULL, timeout=args.seconds + 60)
        report = json.load(open(out.name))
    forwarded = sum(port["tx_packets"] for port in report["ports"])
    return forwarded / report["seconds"]


def dpdk():
    # testpmd forwards until Enter; the clock starts at its
    # "Press enter to exit" (ports started), as ours counts from its start.
    process = subprocess.Popen(
        ["stdbuf", "-oL", "dpdk-testpmd", "--no-huge", "-m", "1024", "--no-pci", "-l", "0,1", "--vdev", "net_null0", "--vdev", "net_null1",
         f"--file-prefix=dpdemo{os.getpid()}", "--", "--forward-mode=io", "--nb-cores=1", "--total-num-mbufs=8192"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = []
    deadline = time.monotonic() + 60
    started = None
    for line in process.stdout:
        output.append(line)
        if "Press enter to exit" in line:
            started = time.monotonic()
            break
        if time.monotonic() > deadline:
            break
    if started is None:
        process.kill()
        sys.exit("dpdk-testpmd did not start forwarding:\n" + "".join(output[-30:]))
    time.sleep(args.seconds)
    seconds = time.monotonic() - started
    try:
        rest, _ = process.communicate(input="\n", timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        sys.exit("dpdk-testpmd did not stop within 30 s of its stdin closing")
    accumulated = rest.split("Accumulated forward statistics")
    if len(accumulated) < 2:
        sys.exit(f"dpdk-testpmd printed no statistics (exit {process.returncode}):\n{rest[-2000:]}")
    forwarded = int(re.search(r"TX-packets:\s*(\d+)", accumulated[1]).group(1))
    return forwarded / seconds


rounds = []
for n in range(args.rounds):
    a = ours()
    b = dpdk()
    rounds.append((a, b))
    print(f"round {n + 1}: ours {a / 1e6:.2f} Mpps, DPDK {b / 1e6:.2f} Mpps, ours/DPDK {a / b:.2f}", flush=True)
ours_median = statistics.median(a for a, _ in rounds)
peer_median = statistics.median(b for _, b in rounds)
ratio = statistics.median(a / b for a, b in rounds)
print(f"io forwarding over 2 null ports, 1 core: ours {ours_median / 1e6:.2f} Mpps, DPDK {peer_median / 1e6:.2f} Mpps, ours/DPDK {ratio:.2f}")
os.makedirs(args.results, exist_ok=True)
document = {
    "suite": "testpmd-null",
    "environment": {"host": platform.node(), "cpus": os.cpu_count(), "kernel": platform.release(),
                    "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
    "figures": [{
        "name": "host io forwarding, 2 null ports, 1 core",
        "unit": "Mpps", "better": "higher",
        "ours": round(ours_median / 1e6, 3), "peer": round(peer_median / 1e6, 3),
        "peerName": "dpdk-testpmd net_null io", "ratio": round(ratio, 3),
        "note": f"{args.rounds} rounds of {args.seconds} s, alternating; ratios " + ", ".join(f"{a / b:.2f}" for a, b in rounds),
    }],
    "notes": ["Forwarded packets (both directions) per second, each side timed from its ports starting; the null ports differ: ours copies a 64-byte template into each received buffer, DPDK's net_null (copy off) only sets the length."],
}
with open(os.path.join(args.results, "testpmd-null.json"), "w") as out:
    json.dump(document, out, indent=2)
