# SPDX-License-Identifier: MIT
# What every perf/run-*.sh does first (POSIX sh, sourced): to the
# repository root ($root), the build directory from the first argument when
# it is not an option ($build, default "build"; $perf_shift says whether the
# caller shifts it off), and a target built in it, the directory set up with
# meson when it is new.
#
#   . "$(dirname "$0")/lib.sh"
#   perf_build_dir "$@"; shift "$perf_shift"
#   perf_build perf/bench_x
root=$(cd "$(dirname "$0")/.." && pwd) || exit 1
cd "$root" || exit 1

perf_build_dir() {
	build=build perf_shift=0
	if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
		build=$1 perf_shift=1
	fi
}

perf_build() {
	if [ ! -f "$build/build.ninja" ]; then
		meson setup "$build" || return 1
	fi
	ninja -C "$build" "$@"
}

# perf_rig_build NAME: what a script that runs the rig (tests/rig/rig.sh)
# does before sourcing it: root or exit, its build made, HOPMESH_BUILD the
# build's absolute path.
perf_rig_build() {
	if [ "$(id -u)" != 0 ]; then
		echo "$1: needs root (network namespaces)" >&2
		exit 1
	fi
	perf_build || exit 1
	HOPMESH_BUILD=$root/$build
	[ "${build#/}" = "$build" ] || HOPMESH_BUILD=$build
	export HOPMESH_BUILD
}

# perf_cpu: "MODEL NAME (family F, model M)" of the first CPU, as bench_env.c
# names it for the C benchmarks.
perf_cpu() {
	awk -F': *' '$1 ~ /^model name/ && !n { n = $2 } $1 ~ /^cpu family/ && !f { f = $2 }
		$1 ~ /^model[ \t]*$/ && m == "" { m = $2 }
		END { printf "%s (family %s, model %s)\n", n, f, m }' /proc/cpuinfo
}
