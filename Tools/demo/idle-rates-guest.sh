# In the lab guest (busybox sh), the guest half of Tools/demo/idle-rates.sh:
# turns of dp-echo with --idle interrupt and --idle poll, alternating
# (interrupt first in even rounds, poll first in odd ones), per NIC, all in
# one boot so that a loaded host's swings fall on both modes alike. Each
# turn: dp-echo on one NIC, UDP echo on port 7100+TURN (a port of its own,
# so the peer's probe for a turn never meets the previous turn's server),
# stop datagram on 9100+TURN (a late stop never ends the next turn); once it is up, one second, then IDLE seconds of
# quiet whose CPU (utime + stime from /proc/PID/stat) is printed; then the
# peer (idle-rates-peer.py, same schedule) pings, loads and stops it.
# Prints "TURN N NIC MODE IDLE-CPU PERCENT" and "TURN-END N NIC MODE STATUS ECHOED".
# Usage: sh idle-rates-guest.sh ROUNDS IDLE_SECONDS NAME=PCI=IP/LEN...
rounds=$1; idle=$2; shift 2
echo "CLOCKSOURCE $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
turn=0; round=0
while [ "$round" -lt "$rounds" ]; do
  modes="interrupt poll"; [ $((round % 2)) = 1 ] && modes="poll interrupt"
  for spec in "$@"; do
    nic=${spec%%=*}; rest=${spec#*=}; pci=${rest%%=*}; ip=${rest#*=}
    for mode in $modes; do
      log=/tmp/idle-rates-$turn.log
      : >"$log"
      # --seconds bounds a turn whose peer never comes (its stop datagram ends it normally).
      dp-echo --pci "$pci" --ip "$ip" --udp-echo $((7100 + turn)) --stop-port $((9100 + turn)) --idle "$mode" \
        --seconds $((idle + 120)) --no-telemetry >"$log" 2>&1 &
      pid=$!
      n=0
      while ! grep -q "udp echo on" "$log" && kill -0 "$pid" 2>/dev/null && [ "$n" -lt 600 ]; do sleep 0.1; n=$((n + 1)); done
      sleep 1
      if kill -0 "$pid" 2>/dev/null; then
        before=$(ticks "$pid"); start=$(cut -d' ' -f1 /proc/uptime)
        sleep "$idle"
        after=$(ticks "$pid"); end=$(cut -d' ' -f1 /proc/uptime)
        # ticks are 1/100 s: ticks per second = percent of one vCPU
        awk -v t="$turn" -v n="$nic" -v m="$mode" -v b="$before" -v a="$after" -v s="$start" -v e="$end" \
          'BEGIN { printf "TURN %d %s %s IDLE-CPU %.1f\n", t, n, m, (a - b) / (e - s) }'
      fi
      wait "$pid"; status=$?
      echoed=$(sed -n 's/.*s, \([0-9]*\) datagrams echoed.*/\1/p' "$log" | head -1)
      echo "TURN-END $turn $nic $mode $status ${echoed:-0}"
      grep -E "idle interrupt:|idle sleep:|rror" "$log" | sed "s|^|  turn $turn $nic $mode: |"
      turn=$((turn + 1))
    done
  done
  round=$((round + 1))
done
sleep 2   # the peer's last lines reach dp-lab before the guest powers off
echo "RATES-DONE"
