#!/usr/bin/env bash
# Socket limits through the C API (issue 18; Tools/c-limits/limits-check.c):
# on the loopback port with 2 cores, core 0 opens 100,000 UDP sockets with
# dp_socket (EMFILE at --max-sockets), binds 64,000 of them (EMFILE at
# --max-udp-endpoints); core 1 then meets
# the group's limit (--max-sockets-total, ENFILE) and gets a slot back when
# core 0 closes one; everything is closed. Never ENOMEM. A few seconds.
set -euo pipefail
cd "$(dirname "$0")/../.."
swift build --product dataplane >/dev/null
lib=$(swift build --show-bin-path)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cc -Wall -Wextra -Werror -O2 -o "$work/limits-check" Tools/c-limits/limits-check.c -I Sources/CDataplane/include \
  -L "$lib" -ldataplane -Wl,-rpath,"$lib" -Wl,-rpath,"$(dirname "$(command -v swift)")/../lib/swift/linux"
timeout 120 "$work/limits-check" --loopback --ip 10.130.9.1/24 --cores 2 --idle-sleep-us 0 --no-telemetry \
  --privileged-ports allowed --max-sockets 100000 --max-sockets-total 100010 --max-udp-endpoints 64000
