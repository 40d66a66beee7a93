#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Put a benchmark's results into docs/PERFORMANCE.md: replace what is between
# the lines <!-- NAME:begin --> and <!-- NAME:end -->, or append that block if
# the markers are not there yet. Nothing else in the file changes; the file is
# read only now, so edits to other sections made meanwhile are kept.
#
#   perf/update-doc.sh NAME RESULTS_FILE
set -eu

name=$1
results=$2
doc=$(cd "$(dirname "$0")/.." && pwd)/docs/PERFORMANCE.md
begin="<!-- $name:begin -->"
end="<!-- $name:end -->"

tmp=$(mktemp "$doc.XXXXXX")
trap 'rm -f "$tmp"' EXIT
if grep -qxF "$begin" "$doc" && grep -qxF "$end" "$doc"; then
	awk -v results="$results" -v begin="$begin" -v end="$end" '
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
else
	{
		cat "$doc"
		printf '\n%s\n' "$begin"
		cat "$results"
		printf '%s\n' "$end"
	} >"$tmp"
fi
cat "$tmp" >"$doc" # keeps the file's owner and mode
