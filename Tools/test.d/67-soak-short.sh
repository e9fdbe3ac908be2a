#!/usr/bin/env bash
# The soak (Tools/demo/soak.sh) for 60 s: mixed TCP bulk, short connections
# and UDP against dp-echo on a tap through the impairment relay; every
# transfer sha256-equal, resident memory and pool occupancy without a growth
# trend, every buffer back after the load, no crash. The 5-minute and
# 1-hour runs are demo steps (Docs/ROBUSTNESS.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" != 0 ]; then echo "soak-short: needs root for network namespaces; skipped"; exit 0; fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
SOAK_INTERVAL=5 Tools/demo/soak.sh 60 "$out"
