#!/usr/bin/env bash
# Demo step (issue 20): TCP over IPv6, 100 MiB each way against Linux,
# clean and through the impairment relay, sha256 equal (suite 68 runs the
# same script with 4 MiB). About 2-4 minutes on a debug build.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec bash Tools/test.d/tcp_linux_transfer.sh 6 $((100 * 1024 * 1024))
