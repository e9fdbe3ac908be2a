#!/usr/bin/env bash
# Smoke run of the Wire fuzz targets: each for 10 s (fails on any crash).
set -euo pipefail
cd "$(dirname "$0")/../.."
./Tools/fuzz.sh 10
