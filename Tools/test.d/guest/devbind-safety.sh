#!/bin/sh
# dp-devbind's rules, checked inside a lab guest whose two e1000s start on
# the kernel's e1000 driver (dp-lab run --access none --module e1000):
# an idle device rebinds, an active one only with --force, the device
# carrying the default route never.
A=0000:00:10.0
B=0000:00:11.0
fail() { echo "devbind-safety: FAIL: $*"; dp-devbind status; exit 1; }
driver() { basename "$(readlink /sys/bus/pci/devices/$1/driver)"; }
interface() { ls /sys/bus/pci/devices/$1/net 2>/dev/null; }

dp-devbind status
[ "$(driver $A)" = e1000 ] && [ "$(driver $B)" = e1000 ] || fail "the e1000s are not on the kernel driver"

# Idle (down, no address, no route): binds, and goes back.
dp-devbind bind --driver uio_pci_generic $B || fail "idle $B did not bind"
[ "$(driver $B)" = uio_pci_generic ] || fail "$B is on $(driver $B)"
ls /dev/uio0 >/dev/null || fail "no /dev/uio0"
dp-devbind bind --driver e1000 $B || fail "$B did not go back to e1000"
[ -n "$(interface $B)" ] || fail "$B has no interface after going back"
dp-devbind unbind $B || fail "unbind of idle $B"
[ ! -e /sys/bus/pci/devices/$B/driver ] || fail "$B still bound after unbind"

# Active (up): refused, then forced.
ip link set "$(interface $A)" up
dp-devbind bind --driver uio_pci_generic $A && fail "bound active $A without --force"
[ "$(driver $A)" = e1000 ] || fail "a refused bind moved $A"
dp-devbind bind --force --driver uio_pci_generic $A || fail "--force did not bind active $A"
dp-devbind bind --driver e1000 $A || fail "$A did not go back to e1000"

# The default route's device: never, even forced.
IA=$(interface $A)
ip link set "$IA" up
ip addr add 10.99.0.2/24 dev "$IA"
ip route add default via 10.99.0.1 dev "$IA"
dp-devbind status | grep -q "$A.*default-route" || fail "status does not mark $A as the default-route device"
dp-devbind bind --force --driver uio_pci_generic $A && fail "bound the default-route device"
dp-devbind unbind --force $A && fail "unbound the default-route device"
[ "$(driver $A)" = e1000 ] || fail "the default-route device moved"
echo "devbind-safety: all passed"
