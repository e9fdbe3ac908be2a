#!/usr/bin/env bash
# The guest lab's access checks: every NIC kind (e1000, virtio, virtio-legacy)
# under VFIO and UIO, in QEMU guests (TCG) inside namespaces made per run.
# Needs root (namespaces, taps) and the lab's packages (Tools/bootstrap.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" -ne 0 ]; then
  echo "20-lab-check: needs root for network namespaces and taps"; exit 1
fi
swift build --product dp-lab
.build/debug/dp-lab check
