#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Build perf/bench_registry, run it, and put a short section with its results
# into docs/PERFORMANCE.md between <!-- registry:begin --> and
# <!-- registry:end --> (appended at the end of the file if the markers are
# not there yet). Nothing else in the file is changed.
#
#   perf/run-registry.sh [BUILD_DIR] [bench_registry options...]
#
# BUILD_DIR is relative to the repository root (default: build); it is set up
# with `meson setup` if it does not exist yet, otherwise only the benchmark
# target is rebuilt in it. Options after it go to bench_registry unchanged,
# e.g. `perf/run-registry.sh build --runs 9`. The raw table also stays in
# perf/results/registry.md.
set -eu

. "$(dirname "$0")/lib.sh"
perf_build_dir "$@"
shift "$perf_shift"

out=perf/results/registry.md

perf_build perf/bench_registry

mkdir -p perf/results
"$build/perf/bench_registry" --out "$out" "$@"

section=$(mktemp)
trap 'rm -f "$section"' EXIT
{
	cat <<'TEXT'
## A registry reload (controlplane/)

What meshd does with the registry on each change, at the sizes of a large
mesh, without I/O, measured by `perf/bench_registry`: the stored entries
(gateways with their claims, VMs) and a link-state database with a full mesh
of links are made in memory, then `reg_assemble` (with the last snapshot, as
meshd assembles after each watch event or read) and the topology feed
(`topofeed_gateways` and `topofeed_lsdb`: the snapshot and the links into
meshd's graph) are timed; median of 5 runs. Assembly parses every stored
record again (jansson: most of its time); the feed is what a reload costs
the topology. On 2026-12-06 07:41, with link records still in the registry
(999,000 at 1,000 gateways) and the claims judged over a copy of the
gateway list, assembly took 6.3 s at 1,000 gateways and 100,000 VMs.

```sh
perf/run-registry.sh build
```

TEXT
	cat "$out"
} >"$section"

perf/update-doc.sh registry "$section"
echo "run-registry.sh: results in $out and docs/PERFORMANCE.md"
