# Guest side of the SwiftNIO runs (Tools/test.d/61-nio-lab.sh, ./Tools/demo.sh):
# dp-nio-http (NIO's HTTP/1.1 server pipeline) and dp-hb-http (a Hummingbird
# 2 router) serve GET / (1 KiB) on each NIC in turn, on the data plane
# (--pci, the NIC under VFIO) or on NIOPosix over the guest kernel's stack
# (--kernel, the NIC on its driver): the same programs, only the event loop
# group and bootstrap differ.
#
#   sh guest-nio.sh dataplane|linux SECONDS [CORES]
#
# CORES (default 1) is --cores of both programs: data-plane cores (loops
# over software RSS on the NIC's one queue) or NIOPosix event loop threads.
#
# Each server runs SECONDS and exits; nio-peer.py follows the same order:
# dp-nio-http on 10.0.0.2 (e1000, 0000:00:10.0), dp-hb-http on 10.0.0.2,
# then both on 10.0.1.2 (virtio-net, 0000:00:11.0).
mode=$1 seconds=$2 cores=${3:-1}
if [ "$mode" = linux ]; then
  . /lab/guest-addresses.sh
fi
for nic in "0000:00:10.0 10.0.0.2" "0000:00:11.0 10.0.1.2"; do
  set -- $nic
  for server in dp-nio-http dp-hb-http; do
    echo "NIO start $server $2 ($mode, $cores core(s))"
    if [ "$mode" = linux ]; then
      $server --kernel --ip "$2" --port 80 --size 1024 --seconds "$seconds" --cores "$cores"
    else
      $server --pci "$1" --ip "$2/24" --port 80 --size 1024 --seconds "$seconds" --cores "$cores"
    fi
    echo "NIO stop $server $2 status $?"
  done
done
echo "NIO guest done"
