#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Latency at light load: a ping every 10 ms (100 packets/s) from a VM through
# two gateways to a VM and back, for a hopmesh pair with the default idle mode
# (`idle = adaptive`), a wireguard-go pair in the same run and the same
# topology, and then the hopmesh pair again with `idle = poll` (spinning, the
# reference). Prints a table of p50/p99 round trips (medians of the runs) and
# the ratio hopmesh/wireguard-go, writes it to perf/results/latency.md and
# into docs/PERFORMANCE.md (between <!-- latency:begin --> and
# <!-- latency:end -->).
#
#   perf/run-latency.sh [BUILD_DIR] [--runs N] [--seconds S] [--no-doc]
#
# Defaults: BUILD_DIR build (set up and built if missing), 5 runs of 20 s each
# per pair. As root (namespaces); needs ip, wg, ethtool, ping, python3 and
# wireguard-go. Takes about 6 minutes with the defaults.
#
# Topology: the rig of tests/rig/rig.sh with four regions, 1-2 hopmesh and
# 3-4 wireguard-go, one VM each, but with the backbone ports on a kernel
# bridge instead of the WAN emulator (no emulated delay, no userspace hop):
#
#   vm -- br0 -- [gw 1] -- bb0 ==bridge== bb0 -- [gw 2] -- br0 -- vm
#
# The runs of the two pairs alternate (hopmesh, wireguard-go, hopmesh, ...) so
# both see the same background load; the idle = poll runs come last (its
# spinning workers would load the machine for the others).
set -u

. "$(dirname "$0")/lib.sh"
perf_build_dir "$@"
shift "$perf_shift"
runs=5 seconds=20 doc=1
while [ $# -gt 0 ]; do
	case $1 in
	--runs) runs=$2; shift 2 ;;
	--seconds) seconds=$2; shift 2 ;;
	--no-doc) doc=0; shift ;;
	*) echo "usage: perf/run-latency.sh [BUILD_DIR] [--runs N] [--seconds S] [--no-doc]" >&2; exit 2 ;;
	esac
done
perf_rig_build run-latency.sh

. "$root/tests/rig/rig.sh"
hm_init latency
hm_require_root
hm_require_cmd wireguard-go ping

out=perf/results/latency.md
[ "$doc" = 1 ] || out=$HM_TMP/latency.md # a scratch run: printed, nothing in the tree written
raw=$HM_TMP/raw.txt
: >"$raw"

# lat_run LABEL FROM TO RUN: one run of pings from region FROM's VM to region
# TO's; appends "LABEL RUN sent received p50 p99" (ms) to $raw.
lat_run() {
	local label=$1 from=$2 to=$3 run=$4 count=$((seconds * 100))
	ip netns exec "$(rig_vm "$from" 1)" ping -n -i 0.01 -W 1 -c "$count" "$(rig_vm_addr "$to" 1)" \
		>"$HM_TMP/ping.txt" 2>&1
	python3 - "$label" "$run" "$count" "$HM_TMP/ping.txt" >>"$raw" <<'EOF'
import re, sys
label, run, count, path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
t = sorted(float(m) for m in re.findall(r"time=([0-9.]+) ms", open(path).read()))
def pct(p):
    return t[min(len(t) - 1, int(p / 100 * len(t)))] if t else float("nan")
print(label, run, count, len(t), "%.3f" % pct(50), "%.3f" % pct(99))
EOF
	tail -n 1 "$raw" | awk '{printf "run-latency.sh: %-13s run %s: %s sent, %s received, p50 %s ms, p99 %s ms\n", $1, $2, $3, $4, $5, $6}' >&2
}

# lat_warm FROM TO: until a ping goes through (handshakes, neighbours).
lat_warm() {
	hm_wait_for 20 ip netns exec "$(rig_vm "$1" 1)" ping -n -c 1 -W 1 "$(rig_vm_addr "$2" 1)" >/dev/null ||
		hm_fail "no ping from region $1 to region $2"
	ip netns exec "$(rig_vm "$1" 1)" ping -n -q -i 0.01 -c 100 "$(rig_vm_addr "$2" 1)" >/dev/null
}

RIG_WGGO_REGIONS="3 4"
rig_up 4 1
rig_bridge_wan
lat_warm 1 2
lat_warm 3 4
for ((i = 1; i <= runs; i++)); do
	lat_run adaptive 1 2 "$i"
	lat_run wireguard-go 3 4 "$i"
done
rig_restart_gw 1 "idle = poll"
rig_restart_gw 2 "idle = poll"
lat_warm 1 2
for ((i = 1; i <= runs; i++)); do
	lat_run poll 1 2 "$i"
done

mkdir -p "$(dirname "$out")"
python3 - "$raw" "$runs" "$seconds" "$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
	>"$out" <<'EOF'
import statistics, sys
raw, runs, seconds, commit = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
rows = {}
for line in open(raw):
    label, run, sent, got, p50, p99 = line.split()
    rows.setdefault(label, []).append((int(sent), int(got), float(p50), float(p99)))
med = {k: (statistics.median(r[2] for r in v), statistics.median(r[3] for r in v)) for k, v in rows.items()}
names = {"adaptive": "hopmesh, `idle = adaptive` (default)", "wireguard-go": "wireguard-go",
         "poll": "hopmesh, `idle = poll` (reference)"}
wg = med["wireguard-go"]
print("Round trip VM -> gateway -> gateway -> VM and back, ping every 10 ms (100 packets/s),")
print("%s runs of %s s per pair, commit %s; medians of the runs' p50 and p99." % (runs, seconds, commit))
print()
print("| pair | p50 ms | p99 ms | p50 / wireguard-go | p99 / wireguard-go | lost |")
print("|---|---|---|---|---|---|")
for k in ("adaptive", "wireguard-go", "poll"):
    p50, p99 = med[k]
    lost = sum(r[0] - r[1] for r in rows[k])
    sent = sum(r[0] for r in rows[k])
    print("| %s | %.3f | %.3f | %.2f | %.2f | %d of %d |" % (names[k], p50, p99, p50 / wg[0], p99 / wg[1], lost, sent))
print()
print("Each run's p50 / p99 in ms:")
print()
for k in ("adaptive", "wireguard-go", "poll"):
    print("- %s: %s" % (names[k], ", ".join("%.3f / %.3f" % (r[2], r[3]) for r in rows[k])))
EOF
cat "$out"
if [ "$doc" = 1 ]; then
	perf/update-doc.sh latency "$out"
	echo "run-latency.sh: results in $out and docs/PERFORMANCE.md" >&2
fi
