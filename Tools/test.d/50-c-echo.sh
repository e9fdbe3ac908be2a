#!/usr/bin/env bash
# The C example (Tools/c-echo/echo.c): built with the system cc against
# libdataplane, run on a tap in a network namespace this script makes, and
# served to Linux TCP and UDP clients in that namespace. The namespace is
# deleted and the server stopped at the end, also on failure.
set -euo pipefail
source "$(dirname "$0")/lib/suite.sh"
suite_begin c-echo dataplane
lib=$bin  # libdataplane.so
cc -Wall -Wextra -Werror -O2 -o "$work/echo" Tools/c-echo/echo.c -I Sources/CDataplane/include \
  -L "$lib" -ldataplane -Wl,-rpath,"$lib" -Wl,-rpath,"$(dirname "$(command -v swift)")/../lib/swift/linux"
cc -Wall -Wextra -Werror -O2 -DKERNEL_SOCKETS -o "$work/echo-kernel" Tools/c-echo/echo.c  # the BSD original still builds

# run_echo CORES CONNECTIONS: the server on CORES cores, Linux clients, checks.
run_echo() {
  local cores=$1 connections=$2
  suite_namespace dpc
  ip netns exec "$ns" "$work/echo" --tap dpc0 --ip 10.77.0.2/24 --port 7007 --seconds 60 --idle-sleep-us 50 \
    --cores "$cores" >"$work/server.log" 2>&1 &
  server=$!
  tap_ready dpc0 "$work/server.log" serving 10.77.0.1/24
  ip netns exec "$ns" timeout 60 python3 Tools/c-echo/echo-client.py 10.77.0.2 7007 "$connections"
  kill -INT "$server"
  wait "$server"
  server=""
  ip netns delete "$ns"
  cat "$work/server.log"
  grep -q "echo: $connections connections" "$work/server.log"
  grep -q "20 datagrams echoed" "$work/server.log"
  # Every core served a share of the connections (software RSS spread them).
  local idle
  idle=$(grep -c "^echo: core [0-9]*: 0 connections" "$work/server.log" || true)
  [ "$idle" -eq 0 ] || { echo "c-echo: $idle of $cores cores served no connection"; exit 1; }
}
run_echo 1 4
run_echo 2 32
echo "c-echo: 1 and 2 cores served Linux clients"
