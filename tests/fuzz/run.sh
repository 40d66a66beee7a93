#!/bin/bash
# SPDX-License-Identifier: MIT
# Run the libFuzzer targets of tests/fuzz for a while each, in parallel.
#
#   tests/fuzz/run.sh BUILD_DIR SECONDS [TARGET...]
#
# BUILD_DIR is a build configured with CC=clang meson setup BUILD_DIR -Dfuzz=true.
# Each target starts from a copy of its committed seed corpus in a temporary
# directory (the committed corpus is never written to); what it finds, its log
# and any crash, leak, timeout or OOM artifact stay there. Prints executions,
# coverage and corpus growth per target, and the artifact paths of any that
# failed. Exits 1 if any target failed, 2 on bad usage.
#
# Sanitizer options can be added through the environment as usual; UBSan halts
# on the first report unless UBSAN_OPTIONS says otherwise (e.g. to suppress a
# known report: UBSAN_OPTIONS=suppressions=FILE).
set -u

usage() {
	echo "usage: $0 BUILD_DIR SECONDS [fuzz_messages|fuzz_handshake|fuzz_uapi|fuzz_gateway ...]" >&2
	exit 2
}

[ $# -ge 2 ] || usage
build=$1
secs=$2
shift 2
case $secs in '' | *[!0-9]*) usage ;; esac
[ "$secs" -gt 0 ] || usage
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	targets=(fuzz_messages fuzz_handshake fuzz_uapi)
	# fuzz_gateway is built only where DPDK and its ring PMD are.
	[ -x "$build/tests/fuzz/fuzz_gateway" ] && targets+=(fuzz_gateway)
fi

here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/hopmesh-fuzz.XXXXXX") || exit 2

for t in "${targets[@]}"; do
	if [ ! -x "$build/tests/fuzz/$t" ]; then
		echo "$0: $build/tests/fuzz/$t not built (CC=clang meson setup BUILD_DIR -Dfuzz=true)" >&2
		exit 2
	fi
	if [ ! -d "$here/corpus/$t" ]; then
		echo "$0: no seed corpus $here/corpus/$t" >&2
		exit 2
	fi
done

export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export ASAN_OPTIONS="detect_leaks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"

# As many at a time as there are CPUs (FUZZ_JOBS to choose): each is one process.
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
case $jobs in '' | *[!0-9]* | 0) jobs=1 ;; esac

echo "fuzzing ${targets[*]} for ${secs}s each, $jobs at a time, in $work"
pids=()
for t in "${targets[@]}"; do
	if [ ${#pids[@]} -ge "$jobs" ]; then
		# All run equally long: the oldest finishes first.
		wait "${pids[${#pids[@]} - jobs]}" 2>/dev/null
	fi
	d=$work/$t
	mkdir -p "$d/corpus" "$d/artifacts"
	cp "$here/corpus/$t/"* "$d/corpus/"
	extra=()
	[ -f "$here/$t.dict" ] && extra+=("-dict=$here/$t.dict")
	# UAPI lines may be 4095 bytes: let inputs be longer than one.
	[ "$t" = fuzz_uapi ] && extra+=(-max_len=8192)
	# A few full-size frames in one input.
	[ "$t" = fuzz_gateway ] && extra+=(-max_len=8192)
	(
		"$build/tests/fuzz/$t" \
			-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
			-print_final_stats=1 -artifact_prefix="$d/artifacts/" \
			"${extra[@]}" "$d/corpus" >"$d/log" 2>&1
		echo $? >"$d/rc"
	) &
	pids+=($!)
done

failed=0
failures=()
printf '\n%-16s %-6s %12s %9s %7s %7s %12s %8s\n' target result execs exec/s cov ft corpus rss_mb
for i in "${!targets[@]}"; do
	t=${targets[$i]}
	d=$work/$t
	wait "${pids[$i]}" 2>/dev/null
	rc=$(cat "$d/rc" 2>/dev/null || echo 255)
	statval() { sed -n "s/^stat::$1: *//p" "$d/log" | tail -n 1; }
	last=$(grep -E '^#[0-9]+.*cov: ' "$d/log" | tail -n 1)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9]*[a-zA-Z]*\).*/\1/p' <<<"$last")
	result=ok
	if [ $rc -ne 0 ]; then
		result="FAIL($rc)"
		failed=1
		failures+=("$t")
	fi
	printf '%-16s %-6s %12s %9s %7s %7s %12s %8s\n' "$t" "$result" \
		"$(statval number_of_executed_units)" "$(statval average_exec_per_sec)" \
		"${cov:-?}" "${ft:-?}" "${corp:-?}" "$(statval peak_rss_mb)"
done

for t in "${failures[@]}"; do
	d=$work/$t
	arts=$(find "$d/artifacts" -type f | sort)
	echo
	if [ -n "$arts" ]; then
		echo "== $t failed; artifacts (reproduce: $build/tests/fuzz/$t ARTIFACT):"
		echo "$arts" | sed 's/^/  /'
	else
		echo "== $t failed without an artifact (before or outside any input?)"
	fi
	echo "-- from $d/log:"
	grep -nE 'ERROR: |runtime error|SUMMARY|fuzz invariant|deadly signal|Test unit written' \
		"$d/log" | head -n 20 | sed 's/^/  /'
done
echo
echo "logs and grown corpora: $work/<target>/{log,corpus}"
exit $failed
