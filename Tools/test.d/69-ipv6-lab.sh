#!/usr/bin/env bash
# IPv6 in the QEMU lab guest on both NICs (e1000 and virtio-net under VFIO):
# dp-echo with fd20:0::2/64 on the e1000 and fd20:1::2/64 on the virtio NIC;
# the peer in dp-lab's namespace (ipv6_lab_peer.py) gives the taps
# fd20:N::1/64 and checks ping -6 (56 and 4000 bytes, fragments both ways),
# NDP (Linux's neighbour entry) and UDP echo of 1..8000 bytes over IPv6 on
# each NIC, then stops dp-echo over IPv6. The NICs run all-multicast for NDP
# (e1000 RCTL.MPE, virtio CTRL_RX). The TCP echo over IPv6 runs with the
# ports' offloads: checksums on both NICs, TSO6 and GUEST_TSO6 on virtio
# (dp-echo's "gso frames" line, checked nonzero). Needs root (namespaces, taps).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" -ne 0 ]; then echo "69-ipv6-lab: needs root for network namespaces and taps"; exit 1; fi
swift build --product dp-lab >/dev/null
log=$(mktemp /tmp/ipv6-lab.XXXXXX)
trap 'rm -f "$log"' EXIT
status=0
for attempt in 1 2; do
  set +e
  .build/debug/dp-lab run --nic e1000 --nic virtio --access vfio --product dp-echo --timeout 900 \
    --peer-ip 10.120.0.1/24 --peer-ip 10.120.1.1/24 \
    --peer "/usr/bin/python3 -u $PWD/Tools/test.d/ipv6_lab_peer.py tap0 tap1" \
    -- "dp-echo --pci 0000:00:10.0 --ip 10.120.0.2/24 --ip fd20:0::2/64 --pci 0000:00:11.0 --ip 10.120.1.2/24 --ip fd20:1::2/64 --udp-echo 7 --tcp-echo 7 --stop-port 9999 --seconds 600" \
    >"$log" 2>&1
  status=$?
  set -e
  # 125: the guest ended before running the command (a failed boot): once more.
  [ "$status" -eq 125 ] && [ "$attempt" -eq 1 ] && ! grep -q "guest ready" "$log" || break
done
grep -E "IPV6LAB|dp-echo:|dp-lab:" "$log" | sed 's/^/  /'
grep -q "IPV6LAB peer pass" "$log" || { echo "69-ipv6-lab: the peer failed or did not finish (dp-lab exit $status)"; exit 1; }
# The virtio NIC's TCP over IPv6 went through TSO6 and GUEST_TSO6: frames the
# host cut (gso_type TCPV6) and coalesced frames it handed in, both nonzero.
grep -qE "dp-echo: .* gso frames: [1-9][0-9]* sent, [1-9][0-9]* received" "$log" \
  || { echo "69-ipv6-lab: no TSO6/GUEST_TSO6 frames on the virtio NIC"; exit 1; }
echo "69-ipv6-lab: ping -6, UDP and a TCP transfer over IPv6 on the e1000 and the virtio NIC (virtio with TSO6 both ways)"
