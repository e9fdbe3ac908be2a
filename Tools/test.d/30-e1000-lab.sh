#!/usr/bin/env bash
# The e1000 driver in the QEMU lab, under VFIO and under UIO: one guest boot
# each with three e1000 ports (0 and 1 under test, 2 for phase beacons)
# running dp-testpmd, and a Linux peer in the run's namespace
# (e1000-lab-peer.py) that captures and sends on their taps.
# Checks: txonly N frames arrive exactly, content as sent; N frames of
# 60..1514 bytes (64..1518 with FCS) from Linux counted by rxonly with
# matching bytes; io forwarding tap0 -> tap1 unchanged; UDP/IPv4 checksums
# filled in by the device; ring size not a multiple of 8, pool too small and
# an unbound device refused with clear errors.
# Needs root (namespaces, taps) and the lab's packages (Tools/bootstrap.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" -ne 0 ]; then
  echo "30-e1000-lab: needs root for network namespaces and taps"; exit 1
fi
TXONLY=500 OFFLOAD=200 RX=300 IO=300
# Frame sizes the peer cycles through (e1000-lab-peer.py SIZES).
RX_BYTES=$(/usr/bin/python3 -c "s=[60,64,65,127,128,256,511,512,1000,1023,1024,1500,1514]; print(sum(s[i % len(s)] for i in range($RX)))")
EXPECTED="txonly-count txonly-content tx-checksum-offload rxonly-count io-forward bad-ring-size pool-too-small not-bound"
swift build --product dp-lab
failed=0
for access in vfio uio; do
  log=$(mktemp /tmp/e1000-lab-$access.XXXXXX)
  echo "--- e1000 under $access (log $log)"
  set +e
  .build/debug/dp-lab run --nic e1000 --nic e1000 --nic e1000 --access "$access" --product dp-testpmd --timeout 240 \
    --include "$PWD/Tools/test.d/guest/e1000-lab-guest.sh:/lab/e1000-guest.sh" \
    --peer "/usr/bin/python3 -u $PWD/Tools/test.d/e1000-lab-peer.py $TXONLY $OFFLOAD $RX $IO 200" \
    -- "sh /lab/e1000-guest.sh $TXONLY $OFFLOAD $RX $RX_BYTES $IO" > "$log" 2>&1
  status=$?
  set -e
  grep -E "CHECK|summary|^ *(rx|tx) |dp-lab:" "$log" | sed "s/^/  /"
  [ "$status" -eq 0 ] || { echo "e1000 $access: dp-lab exited $status"; failed=1; }
  for check in $EXPECTED; do
    if ! grep -qE "CHECK $check pass" "$log"; then
      echo "e1000 $access: check $check did not pass"; failed=1
    fi
  done
  if grep -q "CHECK .* fail" "$log"; then failed=1; fi
done
[ "$failed" -eq 0 ] && echo "30-e1000-lab: all checks passed under vfio and uio"
exit "$failed"
