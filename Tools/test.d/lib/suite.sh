# The preamble the namespace suites of Tools/test.d share. Sourced, never run
# (test.sh runs only Tools/test.d/NN-*.sh), after `set -euo pipefail`:
#
#   source "$(dirname "$0")/lib/suite.sh"
#   suite_begin NAME [PRODUCT...]   cd to the checkout; without root, say so
#                                   and skip (exit 0); build the products
#                                   (debug, -j 1) into $bin; a temporary
#                                   folder $work; cleanup at exit
#   suite_namespace PREFIX          namespace $ns (PREFIX-PID-RANDOM), lo up
#   tap_ready TAP LOG PATTERN ADDR  wait (10 s at most) until the server's
#                                   tap exists in $ns and LOG shows PATTERN,
#                                   then give the tap ADDR on the namespace's
#                                   side and bring it up
#
# Cleanup ends the processes whose pids are in the variables named by
# $suite_processes (default "server"; later names first, so a peer goes
# before its server), deletes the namespaces in $suite_namespaces (suite_namespace
# adds to it) and removes $work. A suite with more to undo defines
# suite_cleanup_first, which runs before all of that.

suite_processes="server"
suite_namespaces=""
server=""

suite_begin() {
  local name=$1 product
  shift
  cd "$(dirname "${BASH_SOURCE[0]}")/../../.."
  if [ "$(id -u)" != 0 ]; then echo "$name: needs root for network namespaces; skipped"; exit 0; fi
  for product in "$@"; do swift build -j 1 --product "$product" >/dev/null; done
  bin=$(swift build -j 1 --show-bin-path)
  work=$(mktemp -d)
  trap suite_cleanup EXIT
}

suite_namespace() {
  ns="$1-$$-$RANDOM"
  ip netns add "$ns"
  suite_namespaces="$suite_namespaces $ns"
  ip netns exec "$ns" ip link set lo up
}

tap_ready() {
  local tap=$1 log=$2 pattern=$3 address=$4
  for _ in $(seq 100); do
    ip netns exec "$ns" ip link show "$tap" >/dev/null 2>&1 && grep -q "$pattern" "$log" && break
    sleep 0.1
  done
  ip netns exec "$ns" ip addr add "$address" dev "$tap"
  ip netns exec "$ns" ip link set "$tap" up
}

suite_cleanup() {
  local name pid namespace
  if declare -F suite_cleanup_first >/dev/null; then suite_cleanup_first || true; fi
  for name in $(echo "$suite_processes" | tr ' ' '\n' | tac); do
    for pid in ${!name:-}; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  done
  for namespace in $suite_namespaces; do ip netns delete "$namespace" 2>/dev/null || true; done
  rm -rf "$work"
}
