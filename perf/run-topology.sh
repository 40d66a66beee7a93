#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Build perf/bench_topology, run it, and put a short section with its results
# into docs/PERFORMANCE.md between <!-- topology:begin --> and
# <!-- topology:end --> (appended at the end of the file if the markers are
# not there yet). Nothing else in the file is changed.
#
#   perf/run-topology.sh [BUILD_DIR] [bench_topology options...]
#
# BUILD_DIR is relative to the repository root (default: build); it is set up
# with `meson setup` if it does not exist yet, otherwise only the benchmark
# target is rebuilt in it. Options after it go to bench_topology unchanged,
# e.g. `perf/run-topology.sh build-topo --gateways 2000`. The raw table also
# stays in perf/results/topology.md.
set -eu

. "$(dirname "$0")/lib.sh"
perf_build_dir "$@"
shift "$perf_shift"

out=perf/results/topology.md

perf_build perf/bench_topology

mkdir -p perf/results
"$build/perf/bench_topology" --out "$out" "$@"

section=$(mktemp)
trap 'rm -f "$section"' EXIT
{
	cat <<'TEXT'
## Route computation (topology/)

What one gateway's routing costs on a large mesh, measured by
`perf/bench_topology`: `topo_router_update()` of one router over a full mesh
(1,000 gateways by default: every ordered pair linked, RTTs of 5 to 300 ms,
one link in five with up to 5 % loss, one in a hundred down), every
destination recomputed within the hop bound, hysteresis included. Before each
update every link gets a new RTT sample (its base +-10 %, untimed). A run is a
number of updates (10) and its figure their mean; the table gives the median
of the runs (5), and "per gateway" is that divided by the number of
destinations. With residency the gateways are spread over 4 zones and the
router also searches its own zone. The search is Bellman-Ford limited to the
hop bound, each level relaxing the links out of the gateways improved at the
level before: O(hop limit x N^2) link relaxations per update.

```sh
perf/run-topology.sh build-topo
```

(sets up the build directory if needed, rebuilds `perf/bench_topology`, runs
it in a few seconds and rewrites this section; `--gateways N`, `--runs R`,
`--updates U`, `--seed S` go to the benchmark.)

TEXT
	cat "$out"
} >"$section"

perf/update-doc.sh topology "$section"
echo "run-topology.sh: results in $out and docs/PERFORMANCE.md"
