#!/usr/bin/env bash
# The soak (Tools/demo/soak.sh) for 5 minutes (SOAK_SHORT_SECONDS), issue
# 21's CI version: mixed TCP bulk, short connections and UDP against
# dp-echo on a tap through the impairment relay; every
# transfer sha256-equal, resident memory and pool occupancy without a growth
# trend, every buffer back after the load, no crash. The 1-hour run is a demo
# step (Docs/ROBUSTNESS.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" != 0 ]; then echo "soak-short: needs root for network namespaces; skipped"; exit 0; fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
SOAK_INTERVAL=5 Tools/demo/soak.sh "${SOAK_SHORT_SECONDS:-300}" "$out"
