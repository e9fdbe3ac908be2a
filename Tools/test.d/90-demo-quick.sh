#!/usr/bin/env bash
# The README's main command, short version: ./Tools/demo.sh --quick boots the
# lab with an e1000 and a virtio-net NIC (VFIO), serves UDP and TCP echo from
# dp-echo on both to a Linux peer (ping, fragmented ping, UDP echo, TCP with a
# sha256 check) and runs a short benchmark smoke. Fails when any step fails.
# Needs root (namespaces, taps, QEMU) like the other lab suites.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" -ne 0 ]; then
  echo "90-demo-quick: needs root for network namespaces and taps"; exit 1
fi
# Its results go to a temporary directory, not results/ (a full run's).
results=$(mktemp -d /tmp/dp-demo-quick-results.XXXXXX)
trap 'rm -rf "$results"' EXIT
DP_DEMO_RESULTS=$results timeout -s INT 600 ./Tools/demo.sh --quick
