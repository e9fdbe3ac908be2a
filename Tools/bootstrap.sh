#!/usr/bin/env bash
# Installs what Dataplane needs on a fresh Debian 12 machine of this kind.
# Idempotent: installs only what is missing, runs `apt-get update` once.
# Later parts of the project add their packages to PACKAGES.
set -euo pipefail

PACKAGES=(
  pkg-config libnuma-dev libpci-dev pciutils   # system libraries of the design
  dpdk dpdk-dev                                 # the peer in benchmarks (dpdk-test, dpdk-testpmd)
  valgrind                                      # instruction counts
  iproute2 iptables ethtool iputils-ping arping socat tcpdump tshark python3-scapy
  python3-matplotlib                            # benchmark plots
  gcc python3                                   # the C socket example and its Linux clients (Tools/test.d)
  qemu-system-x86 busybox-static cpio           # the guest lab
  redis-server redis-tools nginx wrk strace     # unmodified programs on the LD_PRELOAD library (and their load)
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # tshark asks whether non-root users may capture: answer no, quietly.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v swift >/dev/null || { echo "bootstrap: swift is not on PATH (expected /opt/swift)"; exit 1; }
