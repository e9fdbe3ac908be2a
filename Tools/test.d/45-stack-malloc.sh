#!/usr/bin/env bash
# The stack's fast path allocates nothing: UDP echo between two stacks over
# Loopback, and TCP echo through the socket layer (send/recv on an
# established connection, 64 B and 64 KiB writes, both directions), mallocs
# counted by ordo-one's malloc interposer after a warm-up; the TCP echo
# also with the server in an epoll set (EpollSet, as the C API and the
# LD_PRELOAD library use it) writing with writev, and with the client's
# writes lent to the send ring instead of copied (DataplaneNIO's path), also
# with the received payloads kept in their packet buffers (receive lending,
# TCPConfiguration.receiveLending, as DataplaneNIO's stacks run). Release build, as
# applications run it (a debug build keeps some literals as arrays).
# Fails when any malloc is counted (or datagrams are lost).
set -euo pipefail
cd "$(dirname "$0")/../.."
swift build -c release --product dp-stack-bench >/dev/null
for size in 64 1472 8000; do
  .build/release/dp-stack-bench --packets 20000 --warmup 5000 --size "$size" --burst 8 --require-zero
done
for write in 64 65536; do
  .build/release/dp-stack-bench --tcp-write "$write" --megabytes 4 --require-zero
  # The epoll server's path: an edge-triggered set with a kernel pipe beside the socket, writev.
  .build/release/dp-stack-bench --tcp-write "$write" --megabytes 4 --epoll --require-zero
  # The client's writes lent to the send ring (SocketCore.send(_:borrowing:), DataplaneNIO's path).
  .build/release/dp-stack-bench --tcp-write "$write" --megabytes 4 --lend --require-zero
  # Both stacks keep received payloads in their packet buffers (receive lending, as DataplaneNIO's stacks do).
  .build/release/dp-stack-bench --tcp-write "$write" --megabytes 4 --lend --receive-lending --require-zero
done
echo "45-stack-malloc: 0 mallocs per UDP echo and per TCP segment through sockets (also through epoll and writev, and with lent writes) in the steady state"
