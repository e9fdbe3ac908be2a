# Guest side of the one-guest comparison (Tools/demo/paired-peer.py, run by
# ./Tools/demo.sh): both stacks in one guest at once, on NICs of the same
# kinds. dp-lab boots with --nic e1000 --nic virtio --nic e1000 --nic virtio
# --access vfio and the kernel's e1000 and virtio_net modules, which binds all
# four to vfio-pci; the third and fourth go back to their kernel drivers here.
# - Dataplane: dp-echo on 0000:00:10.0 (e1000) and 0000:00:11.0 (virtio-net),
#   10.0.0.2 and 10.0.1.2, pinned to vCPU 0, idling between its transfers
#   as it does by default (naps after 2 ms without work).
# - Linux: linux-echo on 0000:00:12.0 (e1000) and 0000:00:13.0 (virtio_net),
#   10.0.2.2 and 10.0.3.2, pinned to vCPU 1; the kernel's interrupt and
#   softirq work runs wherever the kernel puts it (both vCPUs).
# linux-echo stays off dp-echo's vCPU: sharing it slowed dp-echo's next
# transfers by about a third in the TCG guest (Docs/BENCHMARKS.md "One
# guest, both stacks"), as a DPDK core is kept apart from other tasks.
# Both serve UDP and TCP echo on 7 and the one-way sink and source on 5009
# and 5019; dp-echo stops on 'stop' to 9999, linux-echo on 'stop' to 9998,
# each after GUEST_SECONDS (default 600) at most.
seconds=${GUEST_SECONDS:-600}
dp-devbind bind --driver e1000 0000:00:12.0
dp-devbind bind --driver virtio-pci 0000:00:13.0
# The kernel's interfaces appear as the drivers probe; found by MAC (dp-lab's
# defaults for the third and fourth NIC).
for _ in $(seq 50); do
  found=0
  for dev in /sys/class/net/*; do
    case "$(cat "$dev/address")" in 52:54:00:12:34:58|52:54:00:12:34:59) found=$((found + 1)) ;; esac
  done
  [ "$found" -eq 2 ] && break
  sleep 0.2
done
for dev in /sys/class/net/*; do
  name=${dev##*/}
  case "$(cat "$dev/address")" in
    52:54:00:12:34:58) ip addr add 10.0.2.2/24 dev "$name"; ip link set "$name" up ;;
    52:54:00:12:34:59) ip addr add 10.0.3.2/24 dev "$name"; ip link set "$name" up ;;
  esac
done
ip addr | grep "inet "
taskset -c 1 linux-echo 7 "$seconds" 9998 5009 5019 &
exec taskset -c 0 dp-echo --pci 0000:00:10.0 --ip 10.0.0.2/24 --pci 0000:00:11.0 --ip 10.0.1.2/24 \
  --udp-echo 7 --tcp-echo 7 --tcp-sink 5009 --tcp-source 5019 --stop-port 9999 --seconds "$seconds"
