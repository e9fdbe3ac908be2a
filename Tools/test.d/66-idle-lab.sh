#!/usr/bin/env bash
# Interrupt-driven idle in the lab guest, short: one boot per NIC (e1000
# on INTx; then virtio-net with 2 queue pairs and dp-echo --cores 2, each
# receive queue on an MSI-X vector of its own), dp-echo under VFIO with
# --idle interrupt; after 4 s of
# quiet its CPU must be under 20% of a vCPU (the full demo,
# Tools/demo/idle.sh, measures 10 s, both modes and accesses, and the
# rates), the core must really wait on the NIC's interrupt (not fall back
# to naps), the first ping after the quiet span is answered and the UDP
# echo load gets answers.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" -ne 0 ]; then echo "66-idle-lab: needs root for network namespaces and taps"; exit 1; fi
swift build --product dp-lab >/dev/null
log=$(mktemp /tmp/idle-lab.XXXXXX)
trap 'rm -f "$log"' EXIT
idle=4 load=2
for nic in e1000 virtio; do
  # What must signal each core: e1000's INTx; virtio's MSI-X, one vector per queue.
  extra=(); flags=""; kind=intx; cores=1; flows=1
  [ "$nic" = virtio ] && { extra=(--queue-pairs 2 --rss); flags="--cores 2"; kind=msi-x; cores=2; flows=8; }
  # A TCG guest's kernel now and then panics at boot on a loaded host: boot again once.
  for attempt in 1 2; do
    .build/debug/dp-lab run --nic "$nic" "${extra[@]}" --access vfio --peer-ip 10.119.7.1/24 --product dp-echo --timeout 150 \
      --include "$PWD/Tools/demo/idle-guest.sh:/lab/idle-guest.sh" \
      --peer "/usr/bin/python3 -u $PWD/Tools/demo/idle-peer.py $((idle + 3)) $load 8 $flows" \
      -- "sh /lab/idle-guest.sh interrupt $idle $((idle + load + 10)) $flags" >"$log" 2>&1 && break
    grep -q "before the guest command reported" "$log" && [ "$attempt" = 1 ] && continue
    cat "$log"; exit 1
  done
  grep -E "IDLE-CPU|FIRST-PING|ROUND-TRIPS|GUEST-DONE|idle interrupt:|idle sleep:" "$log" | sed "s/^/$nic: /"
  cpu=$(sed -n 's/.*IDLE-CPU [a-z]* \([0-9.]*\).*/\1/p' "$log" | head -1)
  waited=$(grep -c "idle interrupt:.*signalled by $kind" "$log")
  [ "$waited" -eq "$cores" ] || { echo "66-idle-lab: $nic: $waited of $cores cores waited on $kind (fell back to sleep?)"; exit 1; }
  # Every core's own interrupt woke it at least once (virtio: the 8 flows reach both queues).
  woken=$(grep -c "idle interrupt: [0-9]* interrupt waits, [1-9][0-9]* woken" "$log")
  [ "$woken" -eq "$cores" ] || { echo "66-idle-lab: $nic: only $woken of $cores cores were woken by their interrupt"; exit 1; }
  grep -q "FIRST-PING ok" "$log" || { echo "66-idle-lab: $nic: the first ping after idling was lost"; exit 1; }
  awk -v c="$cpu" 'BEGIN { exit !(c != "" && c < 20) }' || { echo "66-idle-lab: $nic: idle CPU $cpu% with --idle interrupt"; exit 1; }
  rate=$(sed -n 's/.*ROUND-TRIPS\/S \([0-9]*\).*/\1/p' "$log" | head -1)
  [ "${rate:-0}" -gt 0 ] || { echo "66-idle-lab: $nic: no UDP echo answered"; exit 1; }
  echo "66-idle-lab: $nic ok ($cores core(s) on $kind, idle CPU $cpu%, $rate round trips/s)"
done
