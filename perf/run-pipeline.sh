#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Build perf/bench_pipeline, run it (the gateway with 1 worker, then with 2),
# and put its results into docs/PERFORMANCE.md (between
# <!-- pipeline:begin --> and <!-- pipeline:end -->).
#
#   perf/run-pipeline.sh [BUILD_DIR] [bench_pipeline options...]
#
# BUILD_DIR is relative to the repository root (default: build); it is set up
# with `meson setup` if it does not exist yet, otherwise only the benchmark
# target is rebuilt in it. Options after it go to bench_pipeline unchanged, e.g.
#   perf/run-pipeline.sh build-pipe --routes 100000
# Needs root: the gateway's UAPI socket is /var/run/wireguard/NAME.sock. Takes
# about three minutes. The raw results
# also stay in perf/results/pipeline.md.
set -eu

. "$(dirname "$0")/lib.sh"
perf_build_dir "$@"
shift "$perf_shift"

out=perf/results/pipeline.md

if [ "$(id -u)" != 0 ]; then
	echo "run-pipeline.sh: needs root (the gateway's UAPI socket is in /var/run/wireguard)" >&2
	exit 1
fi

perf_build perf/bench_pipeline

mkdir -p perf/results
"$build/perf/bench_pipeline" --workers 1,2 --out "$out" "$@"

perf/update-doc.sh pipeline "$out"
echo "run-pipeline.sh: results in $out and docs/PERFORMANCE.md"
