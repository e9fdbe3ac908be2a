# The guest side of the e1000 lab suite (30-e1000-lab.sh): dp-testpmd on
# e1000 ports 0 and 1; port 2 only announces phases to the peer with beacon
# frames, sent once the ports under test run (frames reaching a port that is
# down are lost, as on hardware).
# Prints `CHECK name pass|fail detail` for what the guest itself checks.
P0=0000:00:10.0
P1=0000:00:11.0
P2=0000:00:12.0
TXONLY_COUNT=$1 OFFLOAD_COUNT=$2 RX_COUNT=$3 RX_BYTES=$4 IO_COUNT=$5

check() { # name, status (0 = pass), detail
  if [ "$2" -eq 0 ]; then echo "CHECK $1 pass $3"; else echo "CHECK $1 fail $3"; fi
}
beacon() { dp-testpmd --pci $P2 --forward-mode txonly --count 1 --eth-peer "$1" --seconds 20 > /dev/null; }
await_ready() { # file: bounded wait for dp-testpmd --ready-file
  i=0
  while [ ! -e "$1" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
}

sleep 2
echo "== txonly: $TXONLY_COUNT frames of 64 bytes"
dp-testpmd --pci $P0 --forward-mode txonly --count "$TXONLY_COUNT" --frame-size 64 --seconds 30
echo "== txonly with checksum offload: $OFFLOAD_COUNT frames of 300 bytes, 4 flows"
dp-testpmd --pci $P0 --forward-mode txonly --count "$OFFLOAD_COUNT" --frame-size 300 --flows 4 --tx-checksum-offload --seconds 30

echo "== rxonly: $RX_COUNT frames from Linux"
dp-testpmd --pci $P0 --forward-mode rxonly --count "$RX_COUNT" --seconds 60 --ready-file /tmp/rx.ready > /tmp/rx.out 2>&1 &
rx=$!
await_ready /tmp/rx.ready
beacon 02:00:00:00:00:99
wait $rx
cat /tmp/rx.out
grep -q "rx $RX_COUNT pkts $RX_BYTES bytes" /tmp/rx.out
check rxonly-count $? "expected rx $RX_COUNT pkts $RX_BYTES bytes on port 0"

echo "== io forwarding: port 0 -> port 1"
dp-testpmd --pci $P0 --pci $P1 --forward-mode io --count "$IO_COUNT" --seconds 60 --ready-file /tmp/io.ready > /tmp/io.out 2>&1 &
io=$!
await_ready /tmp/io.ready
beacon 02:00:00:00:00:98
wait $io
cat /tmp/io.out
beacon 02:00:00:00:00:97

echo "== bad input"
out=$(dp-testpmd --pci $P0 --rxd 100 --seconds 1 2>&1); status=$?
echo "$out"
[ $status -ne 0 ] && echo "$out" | grep -q "multiples of 8"
check bad-ring-size $? "--rxd 100 refused with a message naming multiples of 8"
out=$(dp-testpmd --pci $P0 --rxd 256 --pool-size 64 --seconds 1 2>&1); status=$?
echo "$out"
[ $status -ne 0 ] && echo "$out" | grep -q "fewer than the receive ring"
check pool-too-small $? "--pool-size 64 with --rxd 256 refused"
dp-devbind unbind $P2 > /dev/null 2>&1
out=$(dp-testpmd --pci $P2 --info 2>&1); status=$?
echo "$out"
[ $status -ne 0 ] && echo "$out" | grep -q "bound to no driver"
check not-bound $? "an unbound device is refused with how to bind it"
sleep 3
