# In the lab guest (busybox sh), for Tools/test.d/71-faults-lab.sh: dp-echo
# with --watch-devices on one NIC (TCP and UDP echo on 7, stop datagram on
# 9) while the host's peer (faults_peer.py) flaps the link and unplugs the
# NIC through QMP. With RESET=yes the guest itself resets the function once
# the link came back (sysfs reset: a PCIe function-level reset behind the
# NIC's root port), so the driver finds its device reset under it.
# Prints dp-echo's lines and "GUEST-DONE STATUS".
# Usage: sh faults-guest.sh ADDR IP/PREFIX RESET(yes|no) SECONDS
addr=$1; ip=$2; reset=$3; run=$4
log=/tmp/dp-echo.log
# The file exists before tail starts: the background job's redirection may
# run after this shell reaches tail, and busybox tail -f gives up on a
# missing file (CI of 2026-12-07 then saw none of dp-echo's lines).
: >"$log"
dp-echo --pci "$addr" --ip "$ip" --udp-echo 7 --tcp-echo 7 --stop-port 9 --watch-devices \
  --seconds "$run" --no-telemetry >"$log" 2>&1 &
pid=$!
tail -f "$log" &
tailer=$!
if [ "$reset" = yes ]; then
  # After the link came back up: wait for "link down" then "link up".
  i=0
  while [ $i -lt 600 ] && ! sed -n '/link down/,$p' "$log" | grep -q "link up"; do sleep 0.1; i=$((i + 1)); done
  sleep 1.5
  if echo 1 > "/sys/bus/pci/devices/$addr/reset"; then echo "GUEST-RESET $addr function reset"; else echo "GUEST-RESET $addr failed"; fi
fi
wait "$pid"
status=$?
sleep 1.5   # tail -f shows the last lines (it looks once a second)
kill "$tailer" 2>/dev/null
echo "GUEST-DONE $status"
sleep 5     # the peer's last report (QEMU dropping the unplugged device) comes after dp-echo ended
