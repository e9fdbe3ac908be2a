#!/usr/bin/env bash
# dp-testpmd on the host over null ports (no device, no root): every mode
# runs, counts packets, writes its JSON, and bad options fail clearly.
set -euo pipefail
cd "$(dirname "$0")/../.."
swift build --product dp-testpmd
bin=.build/debug/dp-testpmd
json=$(mktemp /tmp/testpmd-null.XXXXXX.json)
trap 'rm -f "$json"' EXIT
for mode in io macswap rxonly txonly; do
  out=$($bin --null --null --forward-mode $mode --seconds 1 --json "$json")
  total=$(echo "$out" | sed -n 's/^total: rx \([0-9]*\) tx \([0-9]*\).*/\1 \2/p')
  rx=${total% *}; tx=${total#* }
  case $mode in
    rxonly) [ "$rx" -gt 0 ] && [ "$tx" -eq 0 ] ;;
    txonly) [ "$tx" -gt 0 ] ;;
    *) [ "$rx" -gt 0 ] && [ "$tx" -gt 0 ] ;;
  esac || { echo "31-testpmd-null: $mode moved rx $rx tx $tx"; echo "$out"; exit 1; }
  grep -q "\"mode\": \"$mode\"" "$json" || { echo "31-testpmd-null: $mode JSON lacks its mode"; exit 1; }
  echo "  $mode: rx $rx tx $tx"
done
# txonly --count is exact per port.
out=$($bin --null --forward-mode txonly --count 1000 --seconds 5)
echo "$out" | grep -q "^total: rx 0 tx 1000 " || { echo "31-testpmd-null: txonly --count 1000 sent otherwise"; echo "$out"; exit 1; }
# --rxq/--txq 2 on 2 cores: each core owns queue k of both ports, every queue forwards.
out=$($bin --null --null --rxq 2 --txq 2 --cores 2 --forward-mode io --seconds 1)
for port in 0 1; do for queue in 0 1; do
  echo "$out" | grep -A6 "^port $port " | grep -qE "^  queue $queue \(core stream of port $port\): rx [1-9]" \
    || { echo "31-testpmd-null: port $port queue $queue did not forward"; echo "$out"; exit 1; }
done; done
if $bin --null --rxq 2 --txq 1 --seconds 1 2>/tmp/testpmd-null.err; then echo "31-testpmd-null: --rxq 2 --txq 1 accepted"; exit 1; fi
grep -q "equal" /tmp/testpmd-null.err || { echo "31-testpmd-null: no clear message for unequal queue counts"; exit 1; }
echo "  io with 2 queue pairs per port on 2 cores: every queue forwarded"
# Bad input fails with a message.
if $bin --null --frame-size 20 2>/tmp/testpmd-null.err; then echo "31-testpmd-null: --frame-size 20 accepted"; exit 1; fi
grep -q "frame-size" /tmp/testpmd-null.err || { echo "31-testpmd-null: no clear message for --frame-size 20"; exit 1; }
if $bin --null --rxd 0 --seconds 1 2>/tmp/testpmd-null.err; then echo "31-testpmd-null: --rxd 0 accepted"; exit 1; fi
grep -q "ring size" /tmp/testpmd-null.err || { echo "31-testpmd-null: no clear message for --rxd 0"; cat /tmp/testpmd-null.err; exit 1; }
echo "31-testpmd-null: all modes ran"
