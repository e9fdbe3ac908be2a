#!/usr/bin/env bash
# virtio-net driver in the guest lab: for modern x VFIO (iommu_platform=on),
# modern x UIO, legacy x UIO and legacy x VFIO (IOVA = physical address),
# one boot each with two virtio ports: link status, txonly (exact count and
# content at the tap), rxonly (exact count, 60-1514-byte frames, 64-1518 on
# the wire), io forwarding between the two ports with and without
# MRG_RXBUF (the run without it also takes EVENT_IDX), transmit checksum offload checked at the tap and receive
# checksum flags for the namespace kernel's UDP. Then one boot with a
# 2-queue-pair device (mq=on) forwarding on two cores.
# The peer (virtio_peer.py) runs in the lab's namespace on its taps only.
# Needs root (namespaces, taps). VIRTIO_LAB_COUNT sets frames per phase.
set -uo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" -ne 0 ]; then
  echo "30-virtio-lab: needs root for network namespaces and taps"; exit 1
fi
swift build --product dp-lab || exit 1
count=${VIRTIO_LAB_COUNT:-1455}
peer="/usr/bin/python3 $PWD/Tools/test.d/virtio_peer.py --taps tap0,tap1 --timeout 400"
ports=0000:00:10.0,0000:00:11.0
log=$(mktemp /tmp/virtio-lab.XXXXXX)
trap 'rm -f "$log"' EXIT
failed=0
results=()

run() {  # name, extra dp-lab options..., -- guest command
  local name=$1; shift
  echo "--- $name"
  local attempt status
  for attempt in 1 2; do
    .build/debug/dp-lab run --hugepages 256 --peer-ip 10.0.0.1/24 --product dp-virtio-test \
        --timeout 420 --peer "$peer" "$@" 2>&1 | tee "$log"
    status=${PIPESTATUS[0]}
    # 125: the guest ended before running the command (a failed boot, seen
    # once in a few dozen boots here); boot once more, then count it.
    [ "$status" -eq 125 ] && [ "$attempt" -eq 1 ] && ! grep -q "guest ready" "$log" || break
    echo "--- $name: the guest did not boot, once more"
  done
  local passes fails
  passes=$(grep -c '^VIRTIO-TEST .* PASS' "$log")
  fails=$(grep -c '^VIRTIO-TEST .* FAIL' "$log")
  if [ "$status" -ne 0 ] || [ "$fails" -ne 0 ] || [ "$passes" -eq 0 ]; then
    failed=1
    results+=("$name: FAIL (status $status, $passes passed, $fails failed)")
  else
    results+=("$name: pass ($passes phases)")
  fi
}

guest="dp-virtio-test --ports $ports --count $count --tag mrg info link txonly rxonly io csum-tx csum-rx; a=\$?; \
dp-virtio-test --ports $ports --count $count --no-mergeable --event-index --tag no-mrg+event-idx --first-id 100 info rxonly io; b=\$?; \
[ \$a -eq 0 ] && [ \$b -eq 0 ]"

run "modern x vfio" --nic virtio --nic virtio --access vfio -- "$guest"
run "modern x uio" --nic virtio --nic virtio --access uio -- "$guest"
run "legacy x uio" --nic virtio-legacy --nic virtio-legacy --access uio -- "$guest"
run "legacy x vfio" --nic virtio-legacy --nic virtio-legacy --access vfio -- "$guest"
run "modern x vfio, 2 queue pairs on 2 cores" --nic virtio --nic virtio --access vfio --queue-pairs 2 -- \
  "dp-virtio-test --ports $ports --count $count --queues 2 --tag mq info link io"

echo "=== virtio lab results"
for line in "${results[@]}"; do echo "  $line"; done
exit $failed
