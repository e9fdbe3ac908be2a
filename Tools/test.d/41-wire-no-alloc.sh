#!/usr/bin/env bash
# Wire's parse and emit paths allocate nothing: counted with malloc-interposer
# in a release build (fails on any malloc, or if the counter is not active).
set -euo pipefail
cd "$(dirname "$0")/../.."
swift build -c release --product dp-wire-alloc
.build/release/dp-wire-alloc
