#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Forwarding throughput, side by side: one iperf3 TCP flow from a VM through
# two gateways to a VM, for
#   - a hopmesh pair with 1 worker each (the default),
#   - a hopmesh pair with 2 workers each,
#   - a wireguard-go pair (the kernel routes, wireguard-go encrypts),
#   - two dpdk-testpmd forwarders (--forward-mode=io) in the gateways'
#     places: the same PMD (net_af_packet), the same EAL options and lcores
#     as a 1-worker gateway (tests/lib/netns.sh hm_gateway_eal), no
#     encryption, no lookup: what plain DPDK forwarding on this PMD gives.
# With --xdp, two more pairs on net_af_xdp (the ports load xdp/'s program,
# busy_budget=0 as tests/lib/netns.sh sets it; huge pages reserved for the
# run and put back after), in the same alternation:
#   - a hopmesh pair with 1 worker,
#   - two dpdk-testpmd io forwarders,
# so each PMD has its own plain-forwarding baseline: the "/ testpmd" ratios
# of an af_xdp row are against testpmd on af_xdp. About 5 more minutes.
# In the same alternating runs, packets per second (--no-pps to skip):
# perf/pktgen offers 64-, 594- and 1420-byte packets at its maximum rate for
# --pps-seconds through each pair, and counts what arrives, then each size
# at 10,000 packets a second for 2 s for its latency at light load: the
# generator's namespace is a VM in every region (a veth pR into region R's
# bridge, 10.R.0.9), sending into the source region and receiving in the
# destination region (as tests/netns/pktgen.sh). The hopmesh pair also gets
# one run over 1,000,000 flows (--flows 1000000) against its 1-flow run.
# pktgen shares the 2 CPUs with the forwarders, so its own sent rate is
# reported too: where it is close to the received rate, the generator, not
# the pair, may have been the limit.
# Prints a table of the medians of the runs and the ratios hopmesh /
# wireguard-go and hopmesh / testpmd (with testpmd / wireguard-go beside
# each target: what no encrypting forwarder can pass on this machine),
# writes it to perf/results/forward.md and into docs/PERFORMANCE.md
# (between <!-- forward:begin --> and <!-- forward:end -->), and plots
# throughput and latency against packet size (and, with --relays, against
# relays on the path) with gnuplot into perf/results/forward.png
# (--no-plot: not; --no-pps: nothing to plot).
# --no-doc: a scratch run; the table is printed, nothing in the tree is
# written, and there is no plot.
#
#   perf/run-forward.sh [BUILD_DIR] [--runs N] [--seconds S] [--parallel P] [--no-doc]
#                       [--xdp] [--relays] [--routes] [--profile DIR] [--no-pps]
#                       [--pps-seconds S] [--no-plot]
#   (under the shared lock: flock /tmp/hopmesh-netns.lock perf/run-forward.sh)
#
# --relays: then the hopmesh pair 1 -> 2 again, directly and through 1, 2
# and 3 relays (regions 9, 10, 11: hopmesh gateways, 1 worker, their ids
# registered, hop limit 4 everywhere, paths set both ways as
# tests/netns/relay_hops.sh does), the four alternating, in a second table:
# TCP, 64-byte packets at the maximum rate and their latency at 10,000 a
# second, each run failing unless pktgen's packets spent 2 + relays TTLs.
# About 8 more minutes with the defaults.
#
# --routes: then the hopmesh pair 1 -> 2 with 10 and with 1,000,000 /32
# routes at gateway 1 (the destinations' own /32s among them, the others
# from 10.128.0.0 up, loaded and removed between runs in one stream through
# the control socket), alternating: TCP and 64-byte packets at the maximum
# rate. Both go to one destination, so the route they need stays in cache;
# bench_pipeline measures lookups spread over a million routes. About 4
# more minutes.
#
# --profile DIR: after the measured runs, one more run per pair under perf(1),
# not in the table: perf stat (CPU time, context switches, system calls) and
# perf record -g of the sending side's forwarder process (hopmesh-gw,
# wireguard-go or testpmd), and its backbone port's packet counts, so that
# CPU and system calls per packet compare across the pairs. DIR gets
# PAIR.stat, PAIR.report (perf report, by symbol), PAIR.data and summary.txt.
#
# Defaults: BUILD_DIR build (set up and built if missing), 5 runs of 10 s per
# pair (iperf3 leaves the first second, slow start, out), one TCP stream.
# As root (namespaces); needs ip, wg, ethtool, ping, iperf3, python3,
# wireguard-go, dpdk-testpmd and gnuplot (scripts/install-deps.sh). About 15
# minutes with the defaults (about 6 with --no-pps); pps runs are 3 s each.
#
# Topology: the rig of tests/rig/rig.sh with eight regions, one VM each, the
# backbone ports on a kernel bridge instead of the WAN emulator (as
# perf/run-latency.sh):
#
#   vm -- br0 -- [gw A] -- bb0 ==bridge== bb0 -- [gw B] -- br0 -- vm
#
#   regions 1 -> 2  hopmesh, 1 worker       regions 3 -> 4  wireguard-go
#   regions 7 -> 8  hopmesh, 2 workers      regions 5 -> 6  dpdk-testpmd
#   (--relays) regions 9, 10, 11: hopmesh relays on the path 1 -> 2
#   (--xdp) regions 12 -> 13 hopmesh on af_xdp, 14 -> 15 testpmd on af_xdp
#
# testpmd forwards frames unchanged between vm0 and bb0, so its two VMs reach
# each other on one L2 segment: each has an on-link route to the other's
# prefix (ARP crosses both forwarders and the backbone bridge).
#
# The runs of the pairs alternate (hopmesh, hopmesh 2 workers, wireguard-go,
# testpmd, hopmesh, ...) so all see the same background load. testpmd runs
# only during its own runs: its forwarding lcore spins and would load the
# machine for the others (an idle hopmesh gateway sleeps, `idle = adaptive`).
#
# Each pair is brought up and down by functions (fwd_pair_begin,
# fwd_pair_end) and measured by fwd_iperf: another measurement (e.g. packets
# per second from a packet generator) fits in as one more function called
# between begin and end, with its own rows in the results.
set -u

. "$(dirname "$0")/lib.sh"
perf_build_dir "$@"
shift "$perf_shift"
runs=5 seconds=10 parallel=1 doc=1 profile='' relays=0 pps=1 pps_seconds=3 routes=0 plot=1 xdp=0
usage() {
	echo "usage: perf/run-forward.sh [BUILD_DIR] [--runs N] [--seconds S] [--parallel P] [--no-doc] [--xdp]" \
		"[--relays] [--routes] [--profile DIR] [--no-pps] [--pps-seconds S] [--no-plot]" >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case $1 in
	--runs) runs=${2:-}; shift 2 || usage ;;
	--seconds) seconds=${2:-}; shift 2 || usage ;;
	--parallel) parallel=${2:-}; shift 2 || usage ;;
	--no-doc) doc=0; shift ;;
	--relays) relays=1; shift ;;
	--xdp) xdp=1; shift ;;
	--routes) routes=1; shift ;;
	--no-plot) plot=0; shift ;;
	--profile) profile=${2:-}; shift 2 || usage ;;
	--no-pps) pps=0; shift ;;
	--pps-seconds) pps_seconds=${2:-}; shift 2 || usage ;;
	*) usage ;;
	esac
done
[[ $runs =~ ^[1-9][0-9]*$ && $seconds =~ ^[1-9][0-9]*$ && $parallel =~ ^[1-9][0-9]?$ &&
	$pps_seconds =~ ^[1-9][0-9]*$ ]] || usage
perf_rig_build run-forward.sh

. "$root/tests/rig/rig.sh"
hm_init forward
hm_require_root
hm_require_cmd wireguard-go ping iperf3 dpdk-testpmd
# The plot needs the packet rates; without them there is nothing to draw.
[ "$pps" = 1 ] || plot=0
[ "$plot" = 0 ] || hm_require_cmd gnuplot
PKTGEN=$HM_BUILD/perf/pktgen
[ "$pps" = 0 ] || [ -x "$PKTGEN" ] || hm_fail "no pktgen at $PKTGEN (built with DPDK?); --no-pps to skip"
[ -z "$profile" ] || { hm_require_cmd perf; mkdir -p "$profile" && profile=$(cd "$profile" && pwd); } ||
	hm_fail "cannot make $profile"

out=perf/results/forward.md
[ "$doc" = 1 ] || { out=$HM_TMP/forward.md plot=0; }
raw=$HM_TMP/raw.txt
: >"$raw"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# The pairs: label, source region, destination region.
PAIRS=(hopmesh hopmesh-w2 wireguard-go testpmd)
declare -A FROM=([hopmesh]=1 [hopmesh-w2]=7 [wireguard-go]=3 [testpmd]=5 [hopmesh-xdp]=12 [testpmd-xdp]=14)
declare -A TO=([hopmesh]=2 [hopmesh-w2]=8 [wireguard-go]=4 [testpmd]=6 [hopmesh-xdp]=13 [testpmd-xdp]=15)
[ "$xdp" = 0 ] || PAIRS+=(hopmesh-xdp testpmd-xdp)
# fwd_pmd LABEL: the PMD of a pair's forwarders.
fwd_pmd() { case $1 in *-xdp) echo af_xdp ;; *) echo af_packet ;; esac; }
declare -A TESTPMD_PID=()
for k in 0 1 2 3; do FROM[relays-$k]=1 TO[relays-$k]=2; done
FROM[routes-10]=1 TO[routes-10]=2 FROM[routes-1M]=1 TO[routes-1M]=2

# fwd_testpmd_start R [PMD]: testpmd in region R's gateway namespace, on its
# gateway's ports with a gateway's EAL options (on PMD, af_packet unless
# told); returns once it forwards.
fwd_testpmd_start() {
	local r=$1 name log
	name=$(rig_gwname "$r")
	log=$HM_TMP/testpmd-$name.log
	# --stats-period: forward until a signal (without it testpmd waits for
	# a key on stdin). Promiscuous mode is testpmd's default. stdbuf: into
	# a file testpmd's stdout is block-buffered, and the line waited for
	# below would only come out at exit.
	# shellcheck disable=SC2046
	hm_bg "$(rig_gw "$r")" "testpmd-$name" stdbuf -oL dpdk-testpmd $(HM_PMD=${2:-af_packet} hm_gateway_eal "$name" vm0 bb0 1) -- \
		--forward-mode=io --nb-cores=1 --total-num-mbufs=16384 --stats-period=3600
	TESTPMD_PID[$r]=$HM_LAST_PID
	hm_wait_for 20 grep -q 'packet forwarding - ports=' "$log" ||
		hm_fail "testpmd in region $r did not start (see $log)"
}

# fwd_pair_begin LABEL / fwd_pair_end LABEL: what a pair needs only while it
# is measured (testpmd's forwarders), and a ping until the path carries.
fwd_pair_begin() {
	local p=$1
	if [[ $p = testpmd* ]]; then
		fwd_testpmd_start "${FROM[$p]}" "$(fwd_pmd "$p")"
		fwd_testpmd_start "${TO[$p]}" "$(fwd_pmd "$p")"
	fi
	hm_wait_for 20 ip netns exec "$(rig_vm "${FROM[$p]}" 1)" ping -n -c 1 -W 1 \
		"$(rig_vm_addr "${TO[$p]}" 1)" >/dev/null || hm_fail "no ping through the $p pair"
}
fwd_pair_end() {
	local p=$1 r
	[[ $p = testpmd* ]] || return 0
	for r in "${FROM[$p]}" "${TO[$p]}"; do
		hm_stop "${TESTPMD_PID[$r]}"
	done
}

# fwd_iperf LABEL RUN: one iperf3 TCP run through a pair; appends
# "iperf LABEL RUN bits/s retransmits" to $raw (nan if the run failed).
fwd_iperf() {
	local p=$1 run=$2 json=$HM_TMP/iperf-$1-$2.json
	ip netns exec "$(rig_vm "${FROM[$p]}" 1)" iperf3 -c "$(rig_vm_addr "${TO[$p]}" 1)" \
		-t "$seconds" -O 1 -P "$parallel" -J >"$json" 2>&1
	python3 - "$p" "$run" "$json" >>"$raw" <<'EOF'
import json, sys
label, run, path = sys.argv[1:]
try:
    end = json.load(open(path))["end"]
    bps, retr = end["sum_received"]["bits_per_second"], end["sum_sent"].get("retransmits", 0)
except (ValueError, KeyError):
    bps, retr = float("nan"), 0
print("iperf", label, run, "%.0f" % bps, retr)
EOF
	tail -n 1 "$raw" | awk '{printf "run-forward.sh: %-13s run %s: %.3f Gbit/s, %s retransmits\n", $2, $3, $4 / 1e9, $5}' >&2
}

# The pps generator's namespace: a VM in every region of the pairs.
PG=$HM_PREFIX-pg
pg_mac() { ip -n "$1" -j link show dev "$2" | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["address"])'; }

# fwd_pg_up: the generator's namespace, a port pR on each region's bridge.
fwd_pg_up() {
	local p r
	hm_ns pg
	for p in "${PAIRS[@]}"; do for r in "${FROM[$p]}" "${TO[$p]}"; do
		rig_plug "$PG" "$r"
	done; done
}

# fwd_pg_dst_mac LABEL: where the generator addresses its frames: the
# source gateway's VM port (hopmesh), its bridge (wireguard-go: the kernel
# routes), or, through testpmd, which forwards frames unchanged, the
# receiving port itself.
fwd_pg_dst_mac() {
	local r=${FROM[$1]}
	case $1 in
	testpmd*) pg_mac "$PG" "p${TO[$1]}" ;;
	wireguard-go) pg_mac "$(rig_gw "$r")" br0 ;;
	*) pg_mac "$(rig_gw "$r")" vm0 ;;
	esac
}

# fwd_pg_announce LABEL: through testpmd, a broadcast from the receiving
# port, so that the bridges on the way learn where it is and do not flood
# the run's frames to every port.
fwd_pg_announce() {
	ip netns exec "$PG" python3 -c '
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
mac = bytes.fromhex(open("/sys/class/net/%s/address" % sys.argv[1]).read().strip().replace(":", ""))
s.send(b"\xff" * 6 + mac + b"\x88\xb5" + bytes(46))' "p${TO[$1]}"
}

# fwd_pg_run LABEL NAME PKTGEN-ARGS...: pktgen from the pair's source region
# to its destination, one lcore (CPU 0; the forwarders float over both), its
# report in $HM_TMP/pg-NAME.json. Fails the run if pktgen fails.
fwd_pg_run() {
	local p=$1 name=$2 pid
	shift 2
	HM_DIRS+=("/var/run/dpdk/${HM_PREFIX}pg$name")
	hm_bg "$PG" "pktgen-$name" "$PKTGEN" -l 0 --no-huge -m 256 --no-shconf \
		--file-prefix="${HM_PREFIX}pg$name" --no-pci --no-telemetry --log-level=lib.eal:warning \
		--vdev="net_af_packet0,iface=p${FROM[$p]}" --vdev="net_af_packet1,iface=p${TO[$p]}" -- \
		--tx-port 0 --rx-port 1 --out "$HM_TMP/pg-$name.json" --dst-mac "$(fwd_pg_dst_mac "$p")" \
		--src-ip "10.${FROM[$p]}.0.9" --dst-ip "10.${TO[$p]}.0.9" --dst-port 9 "$@"
	pid=$HM_LAST_PID
	wait "$pid" || hm_fail "pktgen $name exited with $? (see $HM_TMP/pktgen-$name.log)"
	hm_forget "$pid"
}

# fwd_pg_record TAG RUN: pktgen's report $HM_TMP/pg-TAG-RUN.json as the line
# "pps TAG RUN rx_mpps tx_mpps loss_ratio p50_us p99_us rx_gbps hops" of $raw
# (hops: the fewest TTLs spent on the way, pktgen's hops.min; -1 with none).
fwd_pg_record() {
	python3 - "$1" "$2" "$HM_TMP/pg-$1-$2.json" >>"$raw" <<'EOF'
import json, sys
label, run, path = sys.argv[1:]
r = json.load(open(path))
lat, hops = r["latency_ns"], r["hops"]["min"]
us = lambda k: "%.1f" % (lat[k] / 1e3) if lat["samples"] else "nan"
print("pps", label, run, "%.4f" % r["rx"]["mpps"], "%.4f" % r["tx"]["mpps"], "%.4f" % r["loss"]["ratio"],
      us("p50"), us("p99"), "%.4f" % r["rx"]["gbps"], -1 if hops is None else hops)
EOF
	tail -n 1 "$raw" | awk '{printf "run-forward.sh: %-18s run %s: %s Mpps received, %s sent, loss %s, latency p50 %s us p99 %s us\n", $2, $3, $4, $5, $6, $7, $8}' >&2
}

# The sizes (IP length) pktgen offers each pair, at its maximum rate and, for
# latency, at LAT_RATE packets a second (light load: what one packet waits
# for, not a queue's length) for LAT_SECONDS.
PPS_SIZES=(64 594 1420)
LAT_RATE=10000 LAT_SECONDS=2

# fwd_pg_warm LABEL: a slow warm-up that lets the receiving side resolve
# the generator's address (and, through testpmd, the bridges learn it).
fwd_pg_warm() {
	[[ $1 != testpmd* ]] || fwd_pg_announce "$1"
	fwd_pg_run "$1" "$1-warm" --rate 1000 --count 200 --drain-ms 300
}

# fwd_pg_max LABEL TAG RUN SIZE [FLOWS]: SIZE-byte packets at pktgen's
# maximum rate through LABEL's pair for --pps-seconds, recorded as TAG.
fwd_pg_max() {
	fwd_pg_run "$1" "$2-$3" --rate max --size "$4" --flows "${5:-1}" --seconds "$pps_seconds" --drain-ms 500
	fwd_pg_record "$2" "$3"
}

# fwd_pg_lat LABEL TAG RUN SIZE: SIZE-byte packets at LAT_RATE through
# LABEL's pair for LAT_SECONDS, for their latency, recorded as TAG.
fwd_pg_lat() {
	fwd_pg_run "$1" "$2-$3" --rate "$LAT_RATE" --size "$4" --seconds "$LAT_SECONDS" --drain-ms 300
	fwd_pg_record "$2" "$3"
}

# fwd_pps LABEL RUN: PPS_SIZES at pktgen's maximum rate through a pair (and,
# for hopmesh, 64 bytes over 1,000,000 flows), then each size at LAT_RATE
# for its latency; lines "pps LABEL-SIZE[-1M] RUN ..." and
# "pps lat-LABEL-SIZE RUN ..." of $raw (fwd_pg_record).
fwd_pps() {
	local p=$1 run=$2 size
	fwd_pg_warm "$p"
	for size in "${PPS_SIZES[@]}"; do fwd_pg_max "$p" "$p-$size" "$run" "$size"; done
	[ "$p" != hopmesh ] || fwd_pg_max "$p" "$p-64-1M" "$run" 64 1000000
	for size in "${PPS_SIZES[@]}"; do fwd_pg_lat "$p" "lat-$p-$size" "$run" "$size"; done
}

# fwd_pid LABEL: the PID of the pair's forwarder on the sending side.
fwd_pid() {
	if [[ $1 = testpmd* ]]; then echo "${TESTPMD_PID[${FROM[$1]}]}"; else echo "${RIG_GWPID[$((FROM[$1] - 1))]}"; fi
}

# fwd_bb_packets LABEL: frames received plus sent on the sending side's
# backbone port (bb0, its kernel end): what its forwarder carried both ways,
# the same measure for all pairs.
fwd_bb_packets() {
	ip -n "$(rig_gw "${FROM[$1]}")" -s -j link show dev bb0 |
		python3 -c 'import json, sys; s = json.load(sys.stdin)[0]["stats64"]; print(s["rx"]["packets"] + s["tx"]["packets"])'
}

# fwd_profile LABEL: one run through the pair with perf stat and perf record
# on its sending forwarder; a line of $profile/summary.txt.
fwd_profile() {
	local p=$1 pid pkts0 pkts1 stat_pid rec_pid
	pid=$(fwd_pid "$p")
	pkts0=$(fwd_bb_packets "$p")
	perf stat -x, -o "$profile/$p.stat" -p "$pid" -e task-clock,context-switches,raw_syscalls:sys_enter \
		-- sleep "$seconds" 2>/dev/null &
	stat_pid=$!
	perf record -q -F 999 -g -o "$profile/$p.data" -p "$pid" -- sleep "$seconds" >/dev/null 2>&1 &
	rec_pid=$!
	raw=$profile/iperf.txt fwd_iperf "$p" profile
	wait "$stat_pid" "$rec_pid"
	pkts1=$(fwd_bb_packets "$p")
	perf report -i "$profile/$p.data" --stdio --no-children --sort dso,sym --percent-limit 0.5 \
		>"$profile/$p.report" 2>/dev/null
	python3 - "$p" "$profile/$p.stat" $((pkts1 - pkts0)) "$(tail -n 1 "$profile/iperf.txt" | cut -d' ' -f4)" \
		>>"$profile/summary.txt" <<'EOF'
import sys
label, path, pkts, bps = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
v = {}
for line in open(path):
    f = line.strip().split(",")
    if len(f) > 2 and f[0] and f[0][0].isdigit():
        v[f[2]] = float(f[0])
cpu_ms, sys_n = v.get("task-clock", 0), v.get("raw_syscalls:sys_enter", 0)
print("%-13s %.2f Gbit/s, %d packets on bb0 (both ways), CPU %.0f ms = %.0f ns/packet, "
      "%.2f syscalls/packet, %d context switches" % (label, bps / 1e9, pkts, cpu_ms,
      cpu_ms * 1e6 / max(pkts, 1), sys_n / max(pkts, 1), v.get("context-switches", 0)))
EOF
	tail -n 1 "$profile/summary.txt" >&2
}

# fwd_relays K: regions 1 and 2 reach each other through K relays (9, 10,
# 11 in that order, back the other way), or directly for K = 0.
fwd_relays() {
	local k=$1 via=() back=() i
	for ((i = 9; i < 9 + k; i++)); do via+=("$i"); back=("$i" "${back[@]}"); done
	rig_path 1 2 "${via[@]}" 2 && rig_path 2 1 "${back[@]}" 1 || hm_fail "cannot set the paths through $k relays"
	}

# fwd_relayed K: the frames relays 9 .. 8+K relayed, added up.
fwd_relayed() {
	local r n=0
	for ((r = 9; r < 9 + $1; r++)); do n=$((n + $(rig_counter "$r" relayed))); done
	echo "$n"
}

# fwd_routes add|del FIRST COUNT: /32 routes to gateway 2 for the COUNT
# addresses from 10.128.0.0 + FIRST upwards, at gateway 1, in one stream
# through its control socket with `quiet on` (as meshd loads routes); fails
# on any error. Prints the seconds it took.
fwd_routes() {
	python3 - "$HM_TMP/run/$(rig_gwname 1).ctl" "$@" <<'EOF'
import ipaddress, socket, sys, threading, time
path, op, first, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
base = int(ipaddress.IPv4Address("10.128.0.0")) + first
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(path)
replies = []
def read():
    # Errors come back while we still write: read them meanwhile, or a
    # gateway blocked on a full socket stops reading us.
    buf = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        buf += b
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            replies.append(line.decode())
            if '"address"' in replies[-1]:
                return
t = threading.Thread(target=read)
t.start()
t0 = time.monotonic()
s.sendall(b"quiet on\n")
for c in range(0, count, 65536):
    ips = (str(ipaddress.IPv4Address(base + i)) for i in range(c, min(count, c + 65536)))
    if op == "add":
        s.sendall("".join("route add %s/32 2\n" % a for a in ips).encode())
    else:
        s.sendall("".join("route del %s/32\n" % a for a in ips).encode())
s.sendall(b"quiet off\nroute lookup 10.2.0.9\n")
t.join(60)
errors = [r for r in replies if '"error"' in r]
if t.is_alive() or errors:
    sys.exit("route %s: %d errors (first: %s)%s" % (op, len(errors), errors[:1],
             ", no answer" if t.is_alive() else ""))
print("%.2f" % (time.monotonic() - t0))
EOF
}

# fwd_route_to ADDRESS: the gateway gateway 1's route table gives ADDRESS
# (0: none).
fwd_route_to() {
	hm_ctl "$(rig_gwname 1)" route lookup "$1" | python3 -c 'import json, sys; print(json.load(sys.stdin)["gateway"])'
}

fwd_log() { hm_log "$(date -u +%T) $*"; }

nregions=8
[ "$relays" = 0 ] || nregions=11
[ "$xdp" = 0 ] || nregions=15
fwd_log "rig up: $nregions regions"
RIG_WGGO_REGIONS="3 4"
rig_up "$nregions" 1
rig_bridge_wan
rig_is_wggo 3 && rig_is_wggo 4 || hm_fail "regions 3 and 4 are not wireguard-go"
# Regions 5 and 6 forward with testpmd, not a gateway (rig_register leaves
# a region without a gateway process out).
hm_stop "${RIG_GWPID[4]}"
hm_stop "${RIG_GWPID[5]}"
RIG_GWPID[4]= RIG_GWPID[5]=
ip -n "$(rig_vm 5 1)" route add 10.6.0.0/24 dev eth0
ip -n "$(rig_vm 6 1)" route add 10.5.0.0/24 dev eth0
rig_restart_gw 7 "workers = 2"
rig_restart_gw 8 "workers = 2"
if [ "$xdp" = 1 ]; then
	# 2 gateways and 2 testpmds at -m 256 each, on 2-MB pages.
	hm_hugepages 640
	HM_PMD=af_xdp rig_restart_gw 12
	HM_PMD=af_xdp rig_restart_gw 13
	hm_stop "${RIG_GWPID[13]}"
	hm_stop "${RIG_GWPID[14]}"
	RIG_GWPID[13]= RIG_GWPID[14]=
	ip -n "$(rig_vm 14 1)" route add 10.15.0.0/24 dev eth0
	ip -n "$(rig_vm 15 1)" route add 10.14.0.0/24 dev eth0
fi
for p in "${PAIRS[@]}"; do
	hm_bg "$(rig_vm "${TO[$p]}" 1)" "iperf3-$p" iperf3 -s -B "$(rig_vm_addr "${TO[$p]}" 1)"
done
[ "$pps" = 0 ] || fwd_pg_up
fwd_log "pairs ready, $runs runs of $seconds s each"
for ((i = 1; i <= runs; i++)); do
	for p in "${PAIRS[@]}"; do
		fwd_pair_begin "$p"
		fwd_iperf "$p" "$i"
		[ "$pps" = 0 ] || fwd_pps "$p" "$i"
		fwd_pair_end "$p"
	done
done
[ "$relays" = 0 ] && [ "$routes" = 0 ] || rig_register || hm_fail "cannot register the gateway ids"
if [ "$relays" = 1 ]; then
	for r in 1 2 9 10 11; do
		hm_ctl "$(rig_gwname "$r")" hop_limit set 4 | grep -q '"ok"' || hm_fail "hop limit 4 at gateway $r"
	done
	fwd_log "relays: $runs runs of $seconds s each, directly and through 1, 2, 3 relays"
	for ((i = 1; i <= runs; i++)); do
		for k in 0 1 2 3; do
			fwd_relays "$k"
			fwd_pair_begin "relays-$k"
			relayed0=$(fwd_relayed "$k")
			fwd_iperf "relays-$k" "$i"
			# The flow took the path: each relay forwarded most of its frames.
			[ $(($(fwd_relayed "$k") - relayed0)) -ge $((k * 1000)) ] ||
				hm_fail "the relays did not carry the flow through $k relays"
			if [ "$pps" = 1 ]; then
				fwd_pg_warm "relays-$k"
				fwd_pg_max "relays-$k" "relays-$k-64" "$i" 64
				fwd_pg_lat "relays-$k" "lat-relays-$k-64" "$i" 64
				# Each gateway on the way spends one TTL: 2 + K.
				[ "$(tail -n 1 "$raw" | cut -d' ' -f10)" = $((2 + k)) ] ||
					hm_fail "pktgen's packets did not cross $k relays (hops: $(tail -n 1 "$raw" | cut -d' ' -f10))"
			fi
			fwd_pair_end "relays-$k"
		done
	done
	fwd_relays 0
fi
if [ "$routes" = 1 ]; then
	# The destinations' own /32s and 8 more: the 10 routes; then 999,990 more
	# for the 1,000,000, and away again for the next run's 10.
	hm_ctl "$(rig_gwname 1)" route add 10.2.0.2/32 2 | grep -q '"ok"' &&
		hm_ctl "$(rig_gwname 1)" route add 10.2.0.9/32 2 | grep -q '"ok"' &&
		fwd_routes add 0 8 >/dev/null || hm_fail "cannot add the 10 routes at gateway 1"
	fwd_log "routes: $runs runs of $seconds s each, 10 and 1,000,000 /32 routes at gateway 1"
	for ((i = 1; i <= runs; i++)); do
		for n in 10 1M; do
			if [ "$n" = 1M ]; then
				t=$(fwd_routes add 8 999990) || hm_fail "cannot load 999,990 routes at gateway 1"
				fwd_log "999,990 routes loaded in $t s"
				# 10.128.0.0 + 999,997, the last one loaded, and the next.
				[ "$(fwd_route_to 10.143.66.61)" = 2 ] && [ "$(fwd_route_to 10.143.66.62)" = 0 ] ||
					hm_fail "gateway 1 does not hold exactly the routes loaded"
			elif [ "$i" -gt 1 ]; then
				t=$(fwd_routes del 8 999990) || hm_fail "cannot remove 999,990 routes at gateway 1"
				[ "$(fwd_route_to 10.128.0.8)" = 0 ] || hm_fail "gateway 1 kept the routes removed"
			fi
			[ "$(fwd_route_to 10.2.0.9)" = 2 ] || hm_fail "gateway 1 has no route to 10.2.0.9"
			fwd_pair_begin "routes-$n"
			fwd_iperf "routes-$n" "$i"
			if [ "$pps" = 1 ]; then
				fwd_pg_warm "routes-$n"
				fwd_pg_max "routes-$n" "routes-$n-64" "$i" 64
			fi
			fwd_pair_end "routes-$n"
		done
	done
fi
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
fwd_log "runs done"
if [ -n "$profile" ]; then
	: >"$profile/summary.txt"
	for p in "${PAIRS[@]}"; do
		fwd_pair_begin "$p"
		fwd_profile "$p"
		fwd_pair_end "$p"
	done
	fwd_log "profiles in $profile"
fi

mkdir -p "$(dirname "$out")"
# Which CPU, and which AEAD the gateways timed as the faster on it (the log
# line of tunnels/crypto.c's choice): both move the hopmesh rows.
aead=$(sed -n 's/.*data-path AEAD \(.*\); wg show.*/\1/p' "$HM_TMP/$(rig_gwname 1).log" | head -n 1)
machine="$(perf_cpu), $(nproc) vCPUs; hopmesh's data-path AEAD: $aead"
python3 - "$raw" "$runs" "$seconds" "$parallel" "$pps_seconds" "$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
	"$load_before" "$load_after" "$(date -u '+%Y-%m-%d %H:%M UTC')" "$LAT_RATE" "${PPS_SIZES[*]}" \
	"$([ "$plot" = 0 ] || echo "$HM_TMP")" "${PAIRS[*]}" "$machine" >"$out" <<'EOF'
import math, statistics, sys
raw, runs, seconds, parallel, pps_seconds, commit, load0, load1, when, lat_rate, sizes, plotdir, pairs, machine = sys.argv[1:]
sizes = sizes.split()
rows, pps = {}, {}
for line in open(raw):
    f = line.split()
    if f[0] == "iperf":
        rows.setdefault(f[1], []).append((float(f[3]), int(f[4])))
    elif f[0] == "pps":
        # rx Mpps, tx Mpps, loss ratio, p50 us, p99 us, rx Gbit/s, hops
        pps.setdefault(f[1], []).append(tuple(float(x) for x in f[3:10]))
RX, TX, LOSS, P50, P99, GBPS = range(6)
def pmed(label, i):
    v = [t[i] for t in pps.get(label, []) if not math.isnan(t[i])]
    return statistics.median(v) if v else float("nan")
def med(label):
    v = [b for b, _ in rows.get(label, []) if not math.isnan(b)]
    return statistics.median(v) if v else float("nan")
def retr(label):
    return sum(r for _, r in rows.get(label, []))
PAIRS = pairs.split()
XDP = "hopmesh-xdp" in PAIRS
names = {"hopmesh": "hopmesh, 1 worker (default)", "hopmesh-w2": "hopmesh, 2 workers",
         "wireguard-go": "wireguard-go", "testpmd": "dpdk-testpmd io forwarding (no crypto)",
         "hopmesh-xdp": "hopmesh, 1 worker, net_af_xdp", "testpmd-xdp": "dpdk-testpmd io, net_af_xdp"}
# Plain forwarding on the pair's own PMD: the baseline of its "/ testpmd".
def tpof(k):
    return "testpmd-xdp" if k.endswith("-xdp") else "testpmd"
def relays_name(k):
    return "direct" if k == 0 else "%d relay%s" % (k, "s" if k > 1 else "")
wg = med("wireguard-go")
streams = "one TCP stream" if parallel == "1" else "%s TCP streams" % parallel
print("iperf3 TCP, VM -> gateway -> gateway -> VM on a directly bridged backbone, net_af_packet%s," %
      (" (net_af_xdp where the row says so)" if XDP else ""))
print("%s; %s runs of %s s per pair, alternating; medians. Commit %s, %s," % (streams, runs, seconds, commit, when))
print("load average %s before, %s after (shared machine). CPU: %s." % (load0, load1, machine))
if XDP:
    print("The \"/ testpmd\" column compares each pair with testpmd on its own PMD.")
print()
print("| pair | Gbit/s | / wireguard-go | / testpmd | retransmits (all runs) |")
print("|---|---|---|---|---|")
for k in PAIRS:
    m = med(k)
    print("| %s | %.2f | %.2f | %.2f | %d |" % (names[k], m / 1e9, m / wg, m / med(tpof(k)), retr(k)))
# Issue 14's targets, said plainly from the medians: hopmesh (1 worker) at
# least 5x wireguard-go and 0.9x testpmd on the same PMD. Plain forwarding's
# own ratio to wireguard-go, from the same runs, says how much of the first
# target any encrypting forwarder could reach on this machine.
def against(what, m, wgm, tpm, pmd="net_af_packet"):
    a, b, c = m / wgm, m / tpm, tpm / wgm
    print("%s, %s: hopmesh (1 worker) is %.2fx wireguard-go (target 5x: %s) and %.2fx testpmd (target 0.9x: %s);" %
          (what, pmd, a, "met" if a >= 5 else "**below**", b, "met" if b >= 0.9 else "**below**"))
    print("testpmd, which forwards without encrypting, is itself %.2fx wireguard-go%s." %
          (c, "" if c >= 5 else ": 5x would need hopmesh at %.2fx testpmd" % (5 / c)))
print()
against("iperf3 TCP", med("hopmesh"), wg, med("testpmd"))
if XDP:
    print()
    against("iperf3 TCP", med("hopmesh-xdp"), wg, med("testpmd-xdp"), "net_af_xdp")
print()
print("Each run in Gbit/s:")
print()
for k in PAIRS:
    print("- %s: %s" % (names[k], ", ".join("%.2f" % (b / 1e9) for b, _ in rows.get(k, []))))
if pps:
    print()
    print("Packets per second: perf/pktgen (one process, one lcore) offers UDP packets at its maximum rate")
    print("for %s s per run through each pair, in the same alternating runs, from a namespace that is a VM" % pps_seconds)
    print("in both regions; received and sent Mpps and loss (of what was sent) are medians of the runs.")
    print("The generator shares the 2 vCPUs with the forwarders: where received is close to sent, the")
    print("generator rather than the pair may have been the limit, and a pair with a lower sent rate than")
    print("the others left the generator less of the CPUs.")
    print()
    print("| pair | size | received Mpps | Gbit/s | / wireguard-go | / testpmd | sent Mpps | loss |")
    print("|---|---|---|---|---|---|---|---|")
    for size in sizes:
        wgp = pmed("wireguard-go-" + size, RX)
        for k in PAIRS:
            l = "%s-%s" % (k, size)
            m = pmed(l, RX)
            print("| %s | %s B | %.3f | %.3f | %.2f | %.2f | %.3f | %.1f %% |" % (names[k], size, m, pmed(l, GBPS),
                  m / wgp, m / pmed("%s-%s" % (tpof(k), size), RX), pmed(l, TX), 100 * pmed(l, LOSS)))
    for size in sizes:
        print()
        against("%s-byte packets per second" % size, pmed("hopmesh-" + size, RX), pmed("wireguard-go-" + size, RX),
                pmed("testpmd-" + size, RX))
        if XDP:
            print()
            against("%s-byte packets per second" % size, pmed("hopmesh-xdp-" + size, RX),
                    pmed("wireguard-go-" + size, RX), pmed("testpmd-xdp-" + size, RX), "net_af_xdp")
    print()
    print("Latency at light load: %s packets a second for a few seconds per run and size, one way, VM to VM" % lat_rate)
    print("(pktgen's TSC stamps: sender and receiver are one process); medians over the runs of each run's")
    print("p50 and p99, in microseconds:")
    print()
    print("| pair | %s |" % " | ".join("%s B p50 / p99" % s for s in sizes))
    print("|---|" + "---|" * len(sizes))
    for k in PAIRS:
        print("| %s | %s |" % (names[k], " | ".join("%.0f / %.0f" % (pmed("lat-%s-%s" % (k, s), P50),
              pmed("lat-%s-%s" % (k, s), P99)) for s in sizes)))
    if "hopmesh-64-1M" in pps:
        one = pmed("hopmesh-64", RX)
        print()
        print("The hopmesh pair (1 worker), 64 bytes, 1 flow against 1,000,000 flows (UDP source ports and")
        print("addresses; each flow sees about one packet a run):")
        print()
        print("| flows | received Mpps | / 1 flow | sent Mpps | loss |")
        print("|---|---|---|---|---|")
        for l, n in (("hopmesh-64", "1"), ("hopmesh-64-1M", "1,000,000")):
            print("| %s | %.3f | %.2f | %.3f | %.1f %% |" % (n, pmed(l, RX), pmed(l, RX) / one, pmed(l, TX),
                  100 * pmed(l, LOSS)))
if "relays-0" in rows:
    d, d64 = med("relays-0"), pmed("relays-0-64", RX)
    print()
    print("The hopmesh pair (1 worker) directly and through relays (hopmesh gateways, 1 worker each),")
    print("in the same run, alternating; 64-byte packets at pktgen's maximum rate and, for latency, at %s" % lat_rate)
    print("packets a second (every run checked that pktgen's packets spent 2 + relays TTLs):")
    print()
    print("| path | TCP Gbit/s | / direct | retransmits (all runs) | 64 B Mpps | / direct | 64 B latency p50 / p99 us |")
    print("|---|---|---|---|---|---|---|")
    for k in range(4):
        m, l = med("relays-%d" % k), "relays-%d-64" % k
        print("| %s | %.2f | %.2f | %d | %.3f | %.2f | %.0f / %.0f |" % (relays_name(k), m / 1e9, m / d,
              retr("relays-%d" % k), pmed(l, RX), pmed(l, RX) / d64, pmed("lat-" + l, P50), pmed("lat-" + l, P99)))
if "routes-10" in rows:
    d, d64 = med("routes-10"), pmed("routes-10-64", RX)
    print()
    print("The hopmesh pair (1 worker) with 10 and with 1,000,000 /32 routes at the sending gateway, in the")
    print("same run, alternating (the destinations' own /32s among them; the 999,990 others loaded and")
    print("removed between runs through the control socket). Both flows go to one destination, so the")
    print("route a packet needs stays in cache: what a table of a million costs when lookups miss the")
    print("cache is bench_pipeline's row (random destinations over 1,000,000 routes, below).")
    print()
    print("| routes | TCP Gbit/s | / 10 routes | 64 B Mpps | / 10 routes |")
    print("|---|---|---|---|---|")
    for n, label in (("10", "routes-10"), ("1,000,000", "routes-1M")):
        print("| %s | %.2f | %.2f | %.3f | %.2f |" % (n, med(label) / 1e9, med(label) / d,
              pmed(label + "-64", RX), pmed(label + "-64", RX) / d64))
print()
print("Each run: TCP Gbit/s; received Mpps (sent) of every pktgen run at the maximum rate; p50 / p99 us")
print("of every latency run:")
print()
for l in sorted(rows):
    print("- %s: %s" % (l, ", ".join("%.2f" % (b / 1e9) for b, _ in rows[l])))
for l in sorted(pps):
    if l.startswith("lat-"):
        print("- %s: %s" % (l, ", ".join("%.0f / %.0f" % (t[P50], t[P99]) for t in pps[l])))
    else:
        print("- %s: %s" % (l, ", ".join("%.3f (%.3f)" % (t[RX], t[TX]) for t in pps[l])))
if plotdir:
    # For gnuplot: one row per size, one per relay count; nan where missing.
    with open(plotdir + "/size.dat", "w") as f:
        f.write("# size " + " ".join("%s_gbps %s_p50 %s_p99" % (k, k, k) for k in PAIRS) + "\n")
        for s in sizes:
            f.write(s + " " + " ".join("%g %g %g" % (pmed("%s-%s" % (k, s), GBPS), pmed("lat-%s-%s" % (k, s), P50),
                    pmed("lat-%s-%s" % (k, s), P99)) for k in PAIRS) + "\n")
    # The two panels against size, one line per pair (columns 2 + 3i ..).
    short = {"hopmesh": "hopmesh, 1 worker", "hopmesh-w2": "hopmesh, 2 workers", "wireguard-go": "wireguard-go",
             "testpmd": "testpmd io (no crypto)", "hopmesh-xdp": "hopmesh, af_xdp", "testpmd-xdp": "testpmd io, af_xdp"}
    with open(plotdir + "/size.gp", "w") as f:
        f.write('set title "Received at the generator\'s maximum rate"\nset ylabel "Gbit/s"\nset yrange [0:*]\n')
        f.write("plot " + ", ".join('d u 1:%d w lp lc %d%s t "%s"' % (2 + 3 * i, i + 1, " lw 2" if k == "hopmesh" else "",
                short[k]) for i, k in enumerate(PAIRS)) + "\n")
        f.write('set title sprintf("Latency at %s packets/s: p50 solid, p99 dashed", rate)\n'
                'set ylabel "one way, us"\nset logscale y\nset yrange [*:*]\n')
        f.write("plot " + ", ".join('d u 1:%d w lp lc %d%s t "%s", d u 1:%d w lp dt 2 lc %d notitle' %
                (3 + 3 * i, i + 1, " lw 2" if k == "hopmesh" else "", short[k], 4 + 3 * i, i + 1)
                for i, k in enumerate(PAIRS)) + "\n")
        f.write("unset logscale y\n")
    if "relays-0" in rows:
        with open(plotdir + "/hops.dat", "w") as f:
            f.write("# relays tcp_ratio mpps64_ratio p50 p99\n")
            for k in range(4):
                l = "relays-%d-64" % k
                f.write("%d %g %g %g %g\n" % (k, med("relays-%d" % k) / med("relays-0"),
                        pmed(l, RX) / pmed("relays-0-64", RX), pmed("lat-" + l, P50), pmed("lat-" + l, P99)))
print()
print("Reproduce: `flock /tmp/hopmesh-netns.lock perf/run-forward.sh --runs %s --seconds %s%s%s%s%s%s`" %
      (runs, seconds, "" if parallel == "1" else " --parallel " + parallel, " --xdp" if XDP else "",
       " --relays" if "relays-0" in rows else "", " --routes" if "routes-10" in rows else "",
       (" --pps-seconds " + pps_seconds if pps_seconds != "3" else "") if pps else " --no-pps"))
EOF
# The plot: throughput and latency against packet size (every pair) and,
# with --relays, against relays on the path (hopmesh).
if [ "$plot" = 1 ]; then
	png=perf/results/forward.png
	{
		echo 'set terminal pngcairo size 1200,900 font "sans,10"'
		echo "set output '$png'"
		if [ -f "$HM_TMP/hops.dat" ]; then echo 'set multiplot layout 2,2'; else echo 'set multiplot layout 1,2'; fi
		cat <<'EOF'
set grid
set key top left
set xlabel "packet size (IP bytes)"
set xtics ("64" 64, "594" 594, "1420" 1420)
load sizegp
if (strlen(h) > 0) {
	set xlabel "relays on the path (hopmesh, 1 worker each)"
	set xtics 1
	set title "Throughput through relays, against direct"
	set ylabel "ratio to direct"
	set yrange [0:1.1]
	plot h u 1:2 w lp lw 2 t "TCP (iperf3)", h u 1:3 w lp t "64 B packets/s"
	set title sprintf("Latency through relays at %s packets/s, 64 B", rate)
	set ylabel "one way, us"
	set yrange [0:*]
	plot h u 1:4 w lp lw 2 t "p50", h u 1:5 w lp dt 2 t "p99"
}
unset multiplot
EOF
	} >"$HM_TMP/forward.gp"
	h=
	[ ! -f "$HM_TMP/hops.dat" ] || h=$HM_TMP/hops.dat
	gnuplot -e "d='$HM_TMP/size.dat'; h='$h'; rate='$LAT_RATE'; sizegp='$HM_TMP/size.gp'" "$HM_TMP/forward.gp" ||
		hm_fail "gnuplot failed ($HM_TMP/forward.gp)"
	echo "run-forward.sh: plot in $png" >&2
fi
cat "$out"
if [ "$doc" = 1 ]; then
	perf/update-doc.sh forward "$out"
	echo "run-forward.sh: results in $out and docs/PERFORMANCE.md" >&2
fi
