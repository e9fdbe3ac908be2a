#!/usr/bin/env bash
# Smoke run of the whole-stack fuzz targets (Tools/fuzz-stack.sh): each for
# 10 s over its seed corpus; fails on any crash, broken invariant or hang.
set -euo pipefail
cd "$(dirname "$0")/../.."
./Tools/fuzz-stack.sh 10
