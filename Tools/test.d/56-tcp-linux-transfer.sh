#!/usr/bin/env bash
# 100 MiB each way between the Linux kernel and our TCP over IPv4 (dp-echo's
# echo port), clean and under impairment (loss 4%, reordering 22%,
# duplication 1%, through dp-impair), sha256 of what was sent and what came
# back compared. The topology and the runs: tcp_linux_transfer.sh, which
# suite 68 and the demo also run over IPv6.
exec bash "$(dirname "$0")/tcp_linux_transfer.sh" 4 "$@"
