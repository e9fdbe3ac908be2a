#!/usr/bin/env bash
# IPv6 multicast sockets against Linux (issue 20) in a namespace this
# script makes: Tools/preload/mcast6.c, plain libc calls under the preload
# library (so the data plane's sockets), on a tap enslaved to a Linux bridge
# with MLD snooping and a fast querier.
#  1. The multicast options' errnos equal the kernel's (mcast6 errnos, run
#     natively in the namespace and under the preload library, diffed).
#  2. Two sockets on [::]:P (SO_REUSEADDR) join ff12::f42:1; a Linux
#     sender's datagrams reach both; the bridge's MDB lists the group on
#     our port; after IPV6_LEAVE_GROUP nothing more arrives.
#  3. Our sendto to ff12::f42:2 reaches a Linux socket that joined it.
#  4. On the wire (AF_PACKET on the tap): MLDv2 reports to ff02::16, hop
#     limit 1, hop-by-hop Router Alert, TO_EX on join, TO_IN on leave, and
#     MODE_IS_EX answers to the bridge's queries.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" != 0 ]; then echo "ipv6-multicast: needs root for network namespaces; skipped"; exit 0; fi
swift build --product dataplane-preload >/dev/null
preload="$(swift build --show-bin-path)/libdataplane-preload.so"
work=$(mktemp -d)
ns="v6s-mc-$$-$RANDOM"
tap=v6s0
bridge=v6sbr
app=""
cleanup() {
  if [ -n "$app" ]; then kill "$app" 2>/dev/null || true; wait "$app" 2>/dev/null || true; fi
  ip netns delete "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
cc -Wall -Wextra -Werror -O2 -o "$work/mcast6" Tools/preload/mcast6.c
ip netns add "$ns"
ip netns exec "$ns" ip link set lo up
ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.accept_dad=0
# Snooping with a querier every second (intervals in centiseconds).
ip netns exec "$ns" ip link add "$bridge" type bridge mcast_snooping 1 mcast_querier 1 mcast_query_interval 100 \
  mcast_query_response_interval 50 mcast_startup_query_interval 100 mcast_last_member_interval 20 mcast_last_member_count 1
ip netns exec "$ns" ip addr add fd42::1/64 dev "$bridge" nodad
ip netns exec "$ns" ip link set "$bridge" up

# 1. errnos: Linux's (on the bridge) against ours.
ip netns exec "$ns" "$work/mcast6" errnos ff12::f42:1 >"$work/errnos.linux"
ip netns exec "$ns" timeout 30 env LD_PRELOAD="$preload" DP_ARGS="--tap v6s1 --ip 10.142.1.2/24 --ip fd42:1::2/64" \
  "$work/mcast6" errnos ff12::f42:1 >"$work/errnos.ours" 2>"$work/errnos.log" || { cat "$work/errnos.log"; exit 1; }
if ! diff "$work/errnos.linux" "$work/errnos.ours"; then echo "ipv6-multicast: the options' errnos differ from Linux (< Linux, > ours)"; exit 1; fi
echo "ipv6-multicast: $(wc -l <"$work/errnos.ours") multicast option calls give Linux's errnos"

# 2-4. Our sockets on a bridge port.
ip netns exec "$ns" timeout 60 env LD_PRELOAD="$preload" DP_ARGS="--tap $tap --ip 10.142.0.2/24 --ip fd42::2/64" \
  "$work/mcast6" listen 7420 ff12::f42:1 ff12::f42:2 7421 "$work/go" >"$work/app.log" 2>&1 &
app=$!
for _ in $(seq 100); do ip netns exec "$ns" ip link show "$tap" >/dev/null 2>&1 && break; sleep 0.1; done
ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$tap.disable_ipv6=1"
ip netns exec "$ns" ip link set "$tap" master "$bridge"
ip netns exec "$ns" ip link set "$tap" up
# The peer opens its capture, then creates $work/go: the application joins after that.
ip netns exec "$ns" timeout 50 python3 Tools/test.d/ipv6_multicast_peer.py "$tap" "$bridge" "$work" &
peer=$!
status=0
wait "$peer" || status=$?
wait "$app" || status=$?
app=""
cat "$work/app.log"
[ "$status" = 0 ] || { echo "ipv6-multicast: failed ($status)"; exit 1; }
echo "ipv6-multicast: ok"
