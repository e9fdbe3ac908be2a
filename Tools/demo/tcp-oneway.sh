#!/usr/bin/env bash
# Bulk one-way TCP goodput beside the Linux kernel stack (issue 17): lab
# boots alternating ours/Linux, as the demo's echo rows (dp-echo on an e1000
# and a virtio-net NIC under VFIO, then linux-echo on the kernel's e1000 and
# virtio_net drivers in the same kind of guest). In each boot the peer
# (Tools/demo/tcp_oneway.py) moves TRANSFERS x BYTES each way per NIC, sha256
# compared at the receiving end. Prints the rows (guest-compare.py: medians
# per side, ratio ours/Linux) and writes RESULTS_DIR/tcp-guest.json.
# The full demo runs the same transfers inside its own echo boots
# (demo-peer.py --oneway); this script measures them alone.
# Usage: Tools/demo/tcp-oneway.sh [RESULTS_DIR [BYTES [TRANSFERS [ROUNDS]]]]
#   defaults: results/oneway, 100000000, 3, 1 (one boot per side)
# Environment: ONEWAY_NET0/ONEWAY_NET1 (the two NICs' /24s, default 10.0.0/10.0.1;
# each boot has a namespace of its own).
set -uo pipefail
cd "$(dirname "$0")/../.."
results=${1:-results/oneway}
bytes=${2:-100000000}
transfers=${3:-3}
rounds=${4:-1}
net0=${ONEWAY_NET0:-10.0.0}
net1=${ONEWAY_NET1:-10.0.1}
mkdir -p "$results" .build/demo
cc -O2 -Wall -o .build/demo/linux-echo Tools/demo/linux-echo.c || exit 1
swift build -j 1 --product dp-lab >/dev/null || exit 1
# Long enough for 4 x TRANSFERS transfers at 10 Mbit/s plus the guest's digests.
seconds=$(( 120 + 4 * transfers * (bytes * 8 / 10000000 + 20) ))
peer="/usr/bin/python3 -u $PWD/Tools/demo/tcp_oneway.py 9999 $bytes $transfers e1000=$net0.2 virtio=$net1.2"
ours() {
  .build/debug/dp-lab run --nic e1000 --nic virtio --access vfio --product dp-echo --timeout $((seconds + 120)) \
    --peer-ip "$net0.1/24" --peer-ip "$net1.1/24" --peer "$peer" \
    -- "dp-echo --pci 0000:00:10.0 --ip $net0.2/24 --pci 0000:00:11.0 --ip $net1.2/24 --tcp-sink 5009 --tcp-source 5019 --stop-port 9999 --seconds $seconds"
}
linux() {
  .build/debug/dp-lab run --nic e1000 --nic virtio --access none --module e1000 --module virtio_pci --module virtio_net \
    --timeout $((seconds + 120)) --peer-ip "$net0.1/24" --peer-ip "$net1.1/24" \
    --include "$PWD/.build/demo/linux-echo:/usr/local/bin/linux-echo" \
    --include "$PWD/Tools/demo/linux-guest.sh:/lab/linux-guest.sh" --include "$PWD/Tools/demo/guest-addresses.sh:/lab/guest-addresses.sh" \
    --peer "$peer" -- "GUEST_NET0=$net0 GUEST_NET1=$net1 GUEST_SECONDS=$seconds sh /lab/linux-guest.sh"
}
ours_logs=() linux_logs=() failed=0
for round in $(seq "$rounds"); do
  for side in ours linux; do
    log="$results/oneway-$side-$round.log"
    echo "tcp-oneway: round $round, $side (log $log)"
    $side > "$log" 2>&1
    grep -E "DEMO-FIGURE|DEMO-NOTE|DEMO-PEER-DONE| fail " "$log" | sed 's/^.*DEMO/  DEMO/'
    if grep -q "DEMO-PEER-DONE failures=0" "$log" && ! grep -qE "DEMO \S+ \S+ fail " "$log"; then
      if [ $side = ours ]; then ours_logs+=("$log"); else linux_logs+=("$log"); fi
    else
      echo "tcp-oneway: $side round $round failed (see $log)"; failed=1
    fi
  done
done
[ ${#ours_logs[@]} -gt 0 ] && [ ${#linux_logs[@]} -gt 0 ] || exit 1
/usr/bin/python3 Tools/demo/guest-compare.py "$results" "${ours_logs[@]}" -- "${linux_logs[@]}" || exit 1
exit $failed
