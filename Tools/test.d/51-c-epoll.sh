#!/usr/bin/env bash
# epoll semantics (Tools/c-epoll/epoll-check.c): level- and edge-triggered,
# one-shot, data as given, a kernel pipe beside the sockets, RDHUP/HUP, the
# errno values of epoll(7). Built twice, on dp_epoll_* over the loopback
# port and on Linux's sockets (-DKERNEL_SOCKETS); both must print the same.
set -euo pipefail
cd "$(dirname "$0")/../.."
swift build --product dataplane >/dev/null
lib=$(swift build --show-bin-path)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cc -Wall -Wextra -Werror -O2 -o "$work/dp" Tools/c-epoll/epoll-check.c -I Sources/CDataplane/include \
  -L "$lib" -ldataplane -Wl,-rpath,"$lib" -Wl,-rpath,"$(dirname "$(command -v swift)")/../lib/swift/linux"
cc -Wall -Wextra -Werror -O2 -DKERNEL_SOCKETS -o "$work/kernel" Tools/c-epoll/epoll-check.c
"$work/kernel" >"$work/kernel.out" || { cat "$work/kernel.out"; echo "c-epoll: the kernel build failed its own checks"; exit 1; }
timeout 120 "$work/dp" --loopback --ip 10.5.0.1/24 --idle-sleep-us 0 >"$work/dp.out" 2>&1 || true
if ! diff "$work/kernel.out" "$work/dp.out"; then
  echo "c-epoll: the data plane and Linux disagree (diff above: < Linux, > data plane)"
  exit 1
fi
echo "c-epoll: $(grep -c '^ok' "$work/dp.out") checks, the same on the data plane and on Linux"
