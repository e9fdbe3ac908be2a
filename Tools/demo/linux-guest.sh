# Guest side of the Linux comparison (./Tools/demo.sh): the lab NICs on their
# kernel drivers get dp-echo's addresses (found by MAC), then linux-echo
# serves UDP and TCP echo on port 7 until the peer sends 'stop' to 9999.
. /lab/guest-addresses.sh
ip addr | grep "inet "
exec linux-echo 7 360 9999
