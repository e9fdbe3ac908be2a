#!/usr/bin/env bash
# Smoke run of the whole-stack fuzz targets (Tools/fuzz-stack.sh): a fixed
# number of executions per target (FUZZ_SMOKE_RUNS, default 3,000, about
# 2-4 s each at ~1,000 exec/s) over the seed corpus and what earlier runs
# kept, at most 60 s each; fails on any crash, broken invariant, leak or
# hang. A count rather than a time, so the smoke does the same work on a
# fast or a loaded machine; most of its time is the ASan build.
set -euo pipefail
cd "$(dirname "$0")/../.."
FUZZ_RUNS="${FUZZ_SMOKE_RUNS:-3000}" ./Tools/fuzz-stack.sh 60
