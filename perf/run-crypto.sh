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

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

build=build
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
	build=$1
	shift
fi

doc=docs/PERFORMANCE.md
out=perf/results/crypto.md
begin='<!-- crypto:begin -->'
end='<!-- crypto:end -->'

if ! grep -qF "$begin" "$doc" || ! grep -qF "$end" "$doc"; then
	echo "run-crypto.sh: $doc lacks the $begin / $end markers" >&2
	exit 1
fi

if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build"
fi
ninja -C "$build" perf/bench_crypto

mkdir -p perf/results
"$build/perf/bench_crypto" --out "$out" "$@"

# Replace what is between the markers with the new results, keep the rest.
tmp=$(mktemp "$doc.XXXXXX")
trap 'rm -f "$tmp"' EXIT
awk -v results="$out" -v begin="$begin" -v end="$end" '
	$0 == begin {
		print
		while ((getline line < results) > 0)
			print line
		close(results)
		skipping = 1
		next
	}
	$0 == end { skipping = 0 }
	!skipping { print }
' "$doc" >"$tmp"
cat "$tmp" >"$doc" # keeps the file's owner and mode
rm -f "$tmp"
trap - EXIT
echo "run-crypto.sh: results in $out and $doc"
