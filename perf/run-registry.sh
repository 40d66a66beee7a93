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

What meshd does with the registry on each reload, at the sizes of a large
mesh, without I/O, measured by `perf/bench_registry`: the stored entries
(gateways with their claims, VMs, a full mesh of links) are made in memory,
then `reg_assemble` (with the last snapshot, as meshd reads) and
`topofeed_registry` (the snapshot into meshd's graph) are timed; median of 5
runs. Before 2026-12-06 (the same benchmark on this machine, the same day)
the topology feed looked each link up by a linear
scan (O(G^4): 1,925 ms at 200 gateways) and assembly each record in the last
snapshot likewise (O(V^2): 212 ms at 100 gateways and 10,000 VMs, 602 ms at
20,000); both are lookups by name in sorted arrays now. What remains is the
parsing of every stored record on every reload (jansson: most of the time
below), which only an incremental snapshot, and link state outside the
registry, take away.

```sh
perf/run-registry.sh build
```

TEXT
	cat "$out"
} >"$section"

perf/update-doc.sh registry "$section"
echo "run-registry.sh: results in $out and docs/PERFORMANCE.md"
