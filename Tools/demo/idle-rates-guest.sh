# In the lab guest (busybox sh): UDP echo rates of dp-echo builds and idle
# modes taken in turns within one boot, so a loaded host's swings fall on
# every variant alike. Each turn runs one variant for SECONDS while the
# peer (idle-rates-peer.py) keeps datagrams in flight, and prints
# "RATE BIN MODE ROUND DATAGRAMS SECONDS".
# Usage: sh idle-rates-guest.sh ROUNDS SECONDS BIN:MODE...   (e.g. dp-echo:poll dp-echo:interrupt)
rounds=$1; seconds=$2; shift 2
echo "CLOCKSOURCE $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
[ -x /lab/clockbench ] && /lab/clockbench   # optional: DP_LAB_INCLUDE=/path/to/clockbench:/lab/clockbench
round=0
while [ "$round" -lt "$rounds" ]; do
  for spec in "$@"; do
    bin=${spec%%:*}; mode=${spec##*:}
    out=$("$bin" --pci 0000:00:10.0 --ip 10.119.7.2/24 --udp-echo 7 --idle "$mode" --seconds "$seconds" --no-telemetry 2>&1)
    echoed=$(echo "$out" | sed -n 's/.*s, \([0-9]*\) datagrams echoed.*/\1/p' | head -1)
    echo "RATE $bin $mode $round ${echoed:-0} $seconds"
    echo "$out" | grep "idle interrupt:" | sed "s|^|  $bin $mode: |"
  done
  round=$((round + 1))
done
echo "RATES-DONE"
