#!/usr/bin/env bash
# Smoke test of dp-bench: the ring and pool suites run, write their JSON,
# and the measured loops allocate nothing (mallocs per operation = 0).
set -euo pipefail
cd "$(dirname "$0")/../.."
swift build -c release --product dp-bench >/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for suite in ring pool; do
  .build/release/dp-bench "$suite" --quick --no-peer --repetitions 1 --results "$out" >/dev/null
  python3 - "$out/$suite.json" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
assert data["figures"], "no figures"
bad = [f["name"] for f in data["figures"] if f.get("mallocsPerOperation") != 0]
assert not bad, "allocations in the measured loop: %s" % bad
for f in data["figures"]:
    assert f["ours"] > 0, f
print("%s: %d figures, 0 mallocs per operation" % (data["suite"], len(data["figures"])))
PY
done
