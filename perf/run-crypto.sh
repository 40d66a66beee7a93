#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Build perf/bench_crypto, run it, and put its results table into
# docs/PERFORMANCE.md (between <!-- crypto:begin --> and <!-- crypto:end -->).
#
#   perf/run-crypto.sh [BUILD_DIR] [bench_crypto options...]
#
# BUILD_DIR is relative to the repository root (default: build); it is set up
# with `meson setup` if it does not exist yet, otherwise only the benchmark
# target is rebuilt in it. Options after it go to bench_crypto unchanged, e.g.
#   perf/run-crypto.sh build-perf --cpu 1
# The raw results also stay in perf/results/crypto.md.
set -eu

. "$(dirname "$0")/lib.sh"
perf_build_dir "$@"
shift "$perf_shift"

out=perf/results/crypto.md

perf_build perf/bench_crypto

mkdir -p perf/results
"$build/perf/bench_crypto" --out "$out" "$@"

perf/update-doc.sh crypto "$out"
echo "run-crypto.sh: results in $out and docs/PERFORMANCE.md"
