# Guest side of the Linux comparison (./Tools/demo.sh): the lab NICs on their
# kernel drivers get dp-echo's addresses (found by MAC), then linux-echo
# serves UDP and TCP echo on port 7 and the one-way sink and source on 5009
# and 5019 (tcp_oneway.py) until the peer sends 'stop' to 9999 (or
# GUEST_SECONDS, default 360, pass).
. /lab/guest-addresses.sh
ip addr | grep "inet "
exec linux-echo 7 "${GUEST_SECONDS:-360}" 9999 5009 5019
