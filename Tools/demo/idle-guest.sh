# In the lab guest (busybox sh): dp-echo on the first lab NIC with
# --idle MODE for IDLE seconds of quiet, then the peer's ping and load.
# Prints "IDLE-CPU MODE PERCENT" (utime + stime of dp-echo over the quiet
# span, from /proc/PID/stat, in percent of one vCPU).
# Usage: sh idle-guest.sh MODE IDLE_SECONDS RUN_SECONDS [DP-ECHO FLAGS...]
#   (ECHO=PATH runs another dp-echo binary, e.g. an older build for a before/after)
mode=$1; idle=$2; run=$3; shift 3
${ECHO:-dp-echo} --pci 0000:00:10.0 --ip 10.119.7.2/24 --udp-echo 7 --idle "$mode" --seconds "$run" --no-telemetry "$@" &
pid=$!
sleep 2
ticks() { awk '{ print $14 + $15 }' /proc/$pid/stat; }
before=$(ticks); start=$(cat /proc/uptime | cut -d' ' -f1)
sleep "$idle"
after=$(ticks); end=$(cat /proc/uptime | cut -d' ' -f1)
awk -v m="$mode" -v b="$before" -v a="$after" -v s="$start" -v e="$end" \
  'BEGIN { printf "IDLE-CPU %s %.1f\n", m, (a - b) / (e - s) }'   # ticks are 1/100 s: per second = percent
wait "$pid"
echo "GUEST-DONE $mode $?"
