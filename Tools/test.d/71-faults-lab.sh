#!/usr/bin/env bash
# Device faults in the lab guest, driven from the host through QMP
# (Docs/ROBUSTNESS.md, "Device faults"): per boot one NIC behind a PCIe
# root port (dp-lab --hotplug), dp-echo --watch-devices on it in the guest
# (Tools/test.d/guest/faults-guest.sh) and faults_peer.py in the namespace:
#   link flap  set_link off/on under 2 TCP echo transfers and a UDP stream:
#              the driver reports link down then up, UDP stops and resumes,
#              the transfers end sha256-equal;
#   reset      (virtio) the guest resets the function (PCIe FLR through
#              sysfs) under the same transfers: the driver finds DRIVER_OK
#              gone, re-initialises, the transfers still end sha256-equal;
#   unplug     device_del under traffic: the driver sees the removal (VFIO
#              request / UIO sysfs entry gone), releases the device, the
#              stack fails its TCP connections with ENETDOWN, dp-echo exits 0.
# One pass/fail line per fault and boot, with what the application saw.
# Needs root (namespaces, taps). FAULTS_LAB_BOOTS picks boots (default all).
set -uo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" -ne 0 ]; then echo "71-faults-lab: needs root for network namespaces and taps"; exit 1; fi
swift build --product dp-lab >/dev/null 2>&1 || { echo "71-faults-lab: building dp-lab failed"; exit 1; }
log=$(mktemp /tmp/faults-lab.XXXXXX)
trap 'rm -f "$log"' EXIT
failed=0
results=()

check() {  # boot, fault, pattern (grep -E on the log), what the application saw
  if grep -qE "$3" "$log"; then results+=("$1 $2: pass ($4)"); else results+=("$1 $2: FAIL (no '$3'; $4)"); failed=1; fi
}
saw() { grep -E "$1" "$log" | head -1 | sed -E 's/^(peer: )?//' | cut -c1-160; }

boot() {  # name, nic kind, access, reset yes|no
  local name=$1 nic=$2 access=$3 reset=$4 attempt status
  echo "--- $name"
  for attempt in 1 2; do
    timeout 420 .build/debug/dp-lab run --nic "$nic" --access "$access" --hotplug --peer-ip 10.121.1.1/24 \
      --product dp-echo --timeout 400 --include "$PWD/Tools/test.d/guest/faults-guest.sh:/lab/faults-guest.sh" \
      --peer "/usr/bin/python3 -u $PWD/Tools/test.d/faults_peer.py 10.121.1.2 0" \
      -- "sh /lab/faults-guest.sh 0000:01:00.0 10.121.1.2/24 $reset 300" >"$log" 2>&1
    status=$?
    # A TCG guest's kernel now and then panics at boot on a loaded host: boot again once.
    grep -q "guest ready" "$log" || [ "$attempt" -eq 2 ] || { echo "--- $name: the guest did not boot, once more"; continue; }
    break
  done
  grep -E "DP-FAULT|PEER|GUEST-|tcp connection|every watched|dp-echo: [0-9.]+ s" "$log" | sed 's/^/  /'
  check "$name" "link flap" "PEER link-flap PASS" "$(saw 'DP-FAULT .*link down') / $(saw 'PEER link-flap')"
  check "$name" "driver saw link down, then up" "DP-FAULT .*link down" "$(saw 'DP-FAULT .*link down')"
  if [ "$reset" = yes ]; then
    check "$name" "device reset recovered" "DP-FAULT .*recovered:" "$(saw 'DP-FAULT .*recovered')"
  fi
  check "$name" "unplug: QEMU deleted the device" "PEER unplug PASS" "$(saw 'PEER unplug')"
  check "$name" "unplug: driver saw the removal" "DP-FAULT .*removed:" "$(saw 'DP-FAULT .*removed')"
  check "$name" "unplug: sockets got ENETDOWN" "failed: .*errno 100" "$(saw 'tcp connection .*failed')"
  check "$name" "unplug: dp-echo exited cleanly" "GUEST-DONE 0" "$(saw 'every watched'), $(saw 'GUEST-DONE'), dp-lab status $status"
}

want() { [ -z "${FAULTS_LAB_BOOTS:-}" ] || [[ ",$FAULTS_LAB_BOOTS," == *",$1,"* ]]; }
want e1000-vfio && boot "e1000 x vfio" e1000 vfio no
want virtio-vfio && boot "virtio x vfio" virtio vfio yes
want virtio-uio && boot "virtio x uio" virtio uio yes

echo "=== device faults"
for line in "${results[@]}"; do echo "  $line"; done
exit $failed
