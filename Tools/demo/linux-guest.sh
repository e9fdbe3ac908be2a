# Guest side of the Linux comparison (./Tools/demo.sh): the lab NICs on their
# kernel drivers get dp-echo's addresses (found by MAC), then linux-echo
# serves UDP and TCP echo on port 7 until the peer sends 'stop' to 9999.
for dev in /sys/class/net/*; do
  name=${dev##*/}
  case "$(cat "$dev/address")" in
    52:54:00:12:34:56) ip addr add 10.0.0.2/24 dev "$name"; ip link set "$name" up ;;
    52:54:00:12:34:57) ip addr add 10.0.1.2/24 dev "$name"; ip link set "$name" up ;;
  esac
done
ip addr | grep "inet "
exec linux-echo 7 360 9999
