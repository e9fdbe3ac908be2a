# Sourced by the guest scripts that serve on the guest kernel's own stack
# (linux-guest.sh, Tools/preload/guest-apps.sh, Tools/nio-lab/guest-nio.sh):
# the lab NICs on their kernel drivers get the data plane's addresses, found
# by MAC (dp-lab's defaults for the first and second NIC). GUEST_NET0 and
# GUEST_NET1 (/24 prefixes) override the subnets.
for dev in /sys/class/net/*; do
  name=${dev##*/}
  case "$(cat "$dev/address")" in
    52:54:00:12:34:56) ip addr add "${GUEST_NET0:-10.0.0}.2/24" dev "$name"; ip link set "$name" up ;;
    52:54:00:12:34:57) ip addr add "${GUEST_NET1:-10.0.1}.2/24" dev "$name"; ip link set "$name" up ;;
  esac
done
