#!/usr/bin/env bash
# dp-devbind's binding rules, run where binding is allowed: inside a lab
# guest, on emulated e1000s that start on the kernel's e1000 driver.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" -ne 0 ]; then
  echo "21-devbind-guest: needs root for network namespaces and taps"; exit 1
fi
swift build --product dp-lab
.build/debug/dp-lab run --nic e1000 --nic e1000 --access none --module e1000 --timeout 120 \
  --include "$PWD/Tools/test.d/guest/devbind-safety.sh:/lab/devbind-safety.sh" -- sh /lab/devbind-safety.sh
