# SPDX-License-Identifier: MIT
# Helpers for tests that build hosts out of network namespaces. Source it.
#
# Everything created is named with $HM_PREFIX (unique per run) and recorded, so
# cleanup removes exactly what this run made: its namespaces, the processes it
# started (by PID), their UAPI sockets and its temp dir. Cleanup runs on exit,
# on failure and on SIGINT/SIGTERM.
#
# Test traffic only ever goes to addresses inside these namespaces.

set -u

HM_BUILD=${HOPMESH_BUILD:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build}
HM_GW=$HM_BUILD/dataplane/hopmesh-gw
HM_CTL=$HM_BUILD/dataplane/hopmesh-ctl
HM_WANEM=$HM_BUILD/tests/rig/hopmesh-wanem
HM_WANEMCTL=$HM_BUILD/tests/rig/hopmesh-wanemctl
# The PMD of the gateways' ports: af_packet, or af_xdp (hm_hugepages first;
# the XDP object is built from xdp/).
HM_PMD=${HM_PMD:-af_packet}
HM_XDP_PROG=$HM_BUILD/xdp/xsk_redirect.bpf.o
HM_HUGEPAGES_WAS=
HM_NS=()
HM_PIDS=()
HM_GW_PIDS=()
HM_GW_LOGS=()
HM_SOCKS=()
HM_DIRS=()
HM_FAILED=0

hm_log() { printf '%s: %s\n' "${HM_TEST:-test}" "$*" >&2; }

hm_fail() {
	hm_log "FAIL: $*"
	HM_FAILED=1
	exit 1
}

# hm_check DESCRIPTION COMMAND...: runs the command, fails the test if it fails.
hm_check() {
	local what=$1
	shift
	if "$@"; then
		hm_log "ok: $what"
	else
		hm_fail "$what"
	fi
}

hm_require_root() {
	[ "$(id -u)" -eq 0 ] || hm_fail "needs root (network namespaces, DPDK); run the suite as root"
}

hm_require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 ||
			hm_fail "needs '$c' (scripts/install-deps.sh installs it)"
	done
}

# A gateway must exit 0 on SIGTERM and its log must hold no sanitizer report
# (builds with -Db_sanitize report leaks and undefined behaviour there).
hm_check_gateway_exit() { # PID LOG
	local rc
	kill -TERM "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	rc=$?
	if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$2" 2>/dev/null; then
		hm_log "FAIL: sanitizer report in $2"
		return 1
	fi
	if [ "$rc" -ne 0 ]; then
		hm_log "FAIL: gateway $1 exited with $rc (see $2)"
		return 1
	fi
	return 0
}

# hm_sanitized BINARY: the binary was built with AddressSanitizer (gcc links
# libasan, clang builds the runtime in: either way the name is in it). Timing
# figures the docs give for such a build are its own.
hm_sanitized() { grep -qa __asan_init "$1"; }

hm_cleanup() {
	local rc=$? pid ns i
	trap - EXIT INT TERM
	for i in "${!HM_GW_PIDS[@]}"; do
		hm_check_gateway_exit "${HM_GW_PIDS[$i]}" "${HM_GW_LOGS[$i]}" || rc=1
	done
	for pid in "${HM_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${HM_PIDS[@]}"; do
		for i in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	# Whatever else still runs inside this run's namespaces was started by
	# it too (a command a test put in the background itself): end it by PID.
	for ns in "${HM_NS[@]}"; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -TERM "$pid" 2>/dev/null
			for i in $(seq 20); do
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.1
			done
			kill -KILL "$pid" 2>/dev/null
		done
	done
	for ns in "${HM_NS[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	for i in "${HM_SOCKS[@]}"; do
		rm -f "$i"
	done
	for i in "${HM_DIRS[@]}"; do
		rm -rf "$i"
	done
	[ -z "$HM_HUGEPAGES_WAS" ] || echo "$HM_HUGEPAGES_WAS" >/proc/sys/vm/nr_hugepages
	if [ "$rc" -ne 0 ] || [ "$HM_FAILED" -ne 0 ]; then
		hm_log "logs kept in $HM_TMP"
		[ -n "${HM_SHOW_LOGS:-1}" ] && for i in "$HM_TMP"/*.log; do
			[ -f "$i" ] || continue
			echo "----- $i (last 30 lines)" >&2
			tail -n 30 "$i" >&2
		done
	else
		rm -rf "$HM_TMP"
	fi
	exit "$rc"
}

# hm_prefix_free PREFIX: no namespace, UAPI socket or rig state of this name.
hm_prefix_free() {
	! ip netns list 2>/dev/null | grep -q "^$1-" &&
		! compgen -G "/var/run/wireguard/$1*" >/dev/null &&
		! compgen -G "/run/hopmesh-rig/$1.state" >/dev/null
}

# hm_init TESTNAME [--no-gateway]: sets HM_PREFIX (short: interface and
# socket names are limited to 15 characters) and HM_TMP, and arms cleanup.
# The prefix is never one a leftover of an earlier run still uses. With
# --no-gateway the test needs no hopmesh-gw binary.
hm_init() {
	local i
	HM_TEST=$1
	HM_PREFIX=hm$(printf '%04x' $(($$ % 65536)))
	for i in $(seq 20); do
		hm_prefix_free "$HM_PREFIX" && break
		HM_PREFIX=hm$(printf '%04x' $((RANDOM % 65536)))
	done
	HM_TMP=$(mktemp -d "/tmp/hopmesh-$HM_TEST.XXXXXX")
	trap hm_cleanup EXIT
	trap 'hm_log "interrupted"; exit 130' INT TERM
	[ "${2:-}" = --no-gateway ] ||
		[ -x "$HM_GW" ] || hm_fail "no gateway binary at $HM_GW (build first, or set HOPMESH_BUILD)"
}

# hm_ns NAME: a namespace $HM_PREFIX-NAME with loopback up; prints its name.
hm_ns() {
	local ns=$HM_PREFIX-$1
	ip netns add "$ns" || hm_fail "cannot create namespace $ns"
	HM_NS+=("$ns")
	ip -n "$ns" link set lo up
}

# hm_veth NS1 IF1 NS2 IF2: a veth pair between two namespaces, both ends up.
# Transmit checksum offload is off: frames a PMD reads from a veth must carry
# finished checksums.
hm_veth() {
	ip link add "$2" netns "$1" type veth peer name "$4" netns "$3" ||
		hm_fail "cannot create veth $2/$4"
	ip netns exec "$1" ethtool -K "$2" tx off >/dev/null
	ip netns exec "$3" ethtool -K "$4" tx off >/dev/null
	ip -n "$1" link set dev "$2" up
	ip -n "$3" link set dev "$4" up
}

# hm_dataplane_if NS IF: an interface the gateway owns through a PMD; the
# namespace's own stack must stay silent on it.
hm_dataplane_if() {
	ip netns exec "$1" sysctl -qw "net.ipv6.conf.$2.disable_ipv6=1"
}

# hm_bg NS LOGNAME CMD...: runs CMD in NS in the background, logging to
# $HM_TMP/LOGNAME.log; its PID is recorded for cleanup and left in HM_LAST_PID.
hm_bg() {
	local ns=$1 log=$2
	shift 2
	ip netns exec "$ns" "$@" >"$HM_TMP/$log.log" 2>&1 &
	HM_LAST_PID=$!
	HM_PIDS+=("$HM_LAST_PID")
}

# hm_forget PID: a process of this run that is ending, or has, by the
# caller's hand: cleanup leaves that PID alone (it may be another's by then).
hm_forget() {
	local i
	for i in "${!HM_PIDS[@]}"; do
		[ "${HM_PIDS[$i]}" = "$1" ] && unset "HM_PIDS[$i]"
	done
	return 0
}

# hm_stop PID: ends one process this run started (a gateway is also checked
# for a clean exit); cleanup then leaves that PID alone.
hm_stop() {
	local i
	hm_forget "$1"
	for i in "${!HM_GW_PIDS[@]}"; do
		if [ "${HM_GW_PIDS[$i]}" = "$1" ]; then
			hm_check_gateway_exit "$1" "${HM_GW_LOGS[$i]}" || hm_fail "gateway did not stop cleanly"
			unset "HM_GW_PIDS[$i]" "HM_GW_LOGS[$i]"
			return 0
		fi
	done
	kill -TERM "$1" 2>/dev/null
	for i in $(seq 50); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

# hm_kill9 PID: SIGKILL for a process this run started (a crash, on purpose);
# cleanup then leaves that PID alone, and no clean exit is asked of it.
hm_kill9() {
	local i
	hm_forget "$1"
	for i in "${!HM_GW_PIDS[@]}"; do
		[ "${HM_GW_PIDS[$i]}" = "$1" ] && unset "HM_GW_PIDS[$i]" "HM_GW_LOGS[$i]"
	done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

hm_wait_socket() {
	local i
	for i in $(seq 100); do
		[ -S "$1" ] && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# hm_hugepages N: at least N 2-MB huge pages reserved (net_af_xdp's UMEM
# needs them) until the run ends, when the count it found is put back.
hm_hugepages() {
	local f=/proc/sys/vm/nr_hugepages have
	have=$(cat "$f")
	[ -n "$HM_HUGEPAGES_WAS" ] || HM_HUGEPAGES_WAS=$have
	[ "$have" -ge "$1" ] && return 0
	echo "$1" >"$f"
	[ "$(cat "$f")" -ge "$1" ] || hm_fail "cannot reserve $1 huge pages (got $(cat "$f"))"
}

# hm_port NAME SIDE: the ethdev name of gateway NAME's port SIDE (vm or bb)
# on HM_PMD.
hm_port() { echo "net_${HM_PMD}_${1}_$2"; }

# hm_gateway_eal NAME VM_IF BB_IF WORKERS: the EAL options of a gateway NAME
# with WORKERS workers (WORKERS+1 lcores floating on both CPUs, a queue pair
# per worker on both ports: port 0 the VM side, port 1 the backbone).
# perf/run-forward.sh gives dpdk-testpmd the same ones. On af_packet,
# HM_AF_PACKET_ARGS adds devargs to both ports (e.g. ",qdisc_bypass=1"). On
# af_xdp the ports load xdp/'s program, without preferred busy polling
# (busy_budget=0: the kernel would hold frames while an idle worker sleeps),
# memory is huge pages (--in-memory: no files in hugetlbfs) and each
# interface needs WORKERS queues (hm_gateway sets them). HM_AF_XDP_BUSY_BUDGET
# sets busy_budget (0 unless told).
hm_gateway_eal() {
	local mem="--no-huge -m 256 --no-shconf" qp=",framecnt=4096,qpairs=$4${HM_AF_PACKET_ARGS:-}"
	if [ "$HM_PMD" = af_xdp ]; then
		mem="--in-memory -m 256"
		qp=",start_queue=0,queue_count=$4,busy_budget=${HM_AF_XDP_BUSY_BUDGET:-0},xdp_prog=$HM_XDP_PROG"
	fi
	echo "--lcores=(0-$4)@(0,1) $mem --file-prefix=$1 --no-pci" \
		"--no-telemetry --log-level=lib.eal:warning" \
		"--vdev=$(hm_port "$1" vm),iface=$2$qp --vdev=$(hm_port "$1" bb),iface=$3$qp"
}

# hm_pmd_if NS IF QUEUES: IF ready for HM_PMD with QUEUES queues (af_xdp
# binds one socket per queue; a veth has one of each unless told).
hm_pmd_if() {
	[ "$HM_PMD" = af_xdp ] || return 0
	[ -f "$HM_XDP_PROG" ] || hm_fail "no XDP program at $HM_XDP_PROG (needs clang and libbpf-dev: scripts/install-deps.sh, then rebuild)"
	[ "$3" -le 1 ] || ip netns exec "$1" ethtool -L "$2" rx "$3" tx "$3" ||
		hm_fail "cannot give $2 $3 queues for af_xdp"
}

# hm_gateway NS NAME VM_IF VM_ADDR/LEN BB_IF BB_ADDR/LEN [GATEWAY_LINES] [VM_LINES] [BB_LINES]
# Writes a config and key (mode 0600) for a hopmesh gateway and starts it. The
# optional lines go into the [gateway], [vm] and [backbone] sections (e.g.
# "workers = 2", "address6 = fd00:1::1/64"); "workers = N" also gets the
# gateway N+1 lcores and N queue pairs per port.
# Sets HM_LAST_PID; the public key is in $HM_TMP/NAME.pub.
hm_gateway() {
	local ns=$1 name=$2 vmif=$3 vmaddr=$4 bbif=$5 bbaddr=$6 extra=${7:-} vmextra=${8:-} bbextra=${9:-}
	local conf=$HM_TMP/$name.conf key=$HM_TMP/$name.key workers
	workers=$(sed -n 's/.*workers *= *\([0-9]*\).*/\1/p' <<<"$extra")
	workers=${workers:-1}
	[ -f "$key" ] || { (umask 077 && wg genkey >"$key") && wg pubkey <"$key" >"$HM_TMP/$name.pub"; }
	hm_dataplane_if "$ns" "$vmif"
	hm_dataplane_if "$ns" "$bbif"
	hm_pmd_if "$ns" "$vmif" "$workers"
	hm_pmd_if "$ns" "$bbif" "$workers"
	cat >"$conf" <<-EOF
	[gateway]
	name = $name
	private_key_file = $key
	listen_port = 51820
	run_dir = $HM_TMP/run
	eal = $(hm_gateway_eal "$name" "$vmif" "$bbif" "$workers")
	$extra
	[vm]
	port = $(hm_port "$name" vm)
	address = $vmaddr
	$vmextra
	[backbone]
	port = $(hm_port "$name" bb)
	address = $bbaddr
	$bbextra
	EOF
	HM_SOCKS+=("/var/run/wireguard/$name.sock")
	HM_DIRS+=("/var/run/dpdk/$name") # DPDK's runtime directory, even with --no-shconf
	hm_bg "$ns" "$name" "$HM_GW" -c "$conf"
	HM_GW_PIDS+=("$HM_LAST_PID")
	HM_GW_LOGS+=("$HM_TMP/$name.log")
	hm_wait_socket "/var/run/wireguard/$name.sock" "$HM_LAST_PID" ||
		hm_fail "gateway $name did not start (see $HM_TMP/$name.log)"
}

# hm_ctl NAME COMMAND: the gateway's control socket, its JSON reply.
hm_ctl() {
	"$HM_CTL" --json -d "$HM_TMP/run" "$@"
}

# hm_counter NAME PATH: one number from the counters JSON, e.g. drops.replayed
hm_counter() {
	hm_ctl "$1" counters | python3 -c '
import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    v = v[int(k)] if isinstance(v, list) else v[k]
print(v)' "$2"
}

# hm_wireguard_go NS NAME [LOG_LEVEL]: a wireguard-go interface NAME in NS
# (foreground process, so its PID is ours to stop), logging to
# $HM_TMP/NAME.log at LOG_LEVEL (error, the default, or verbose).
# Sets HM_LAST_PID.
hm_wireguard_go() {
	HM_SOCKS+=("/var/run/wireguard/$2.sock")
	hm_bg "$1" "$2" env WG_PROCESS_FOREGROUND=1 LOG_LEVEL="${3:-error}" wireguard-go -f "$2"
	hm_wait_socket "/var/run/wireguard/$2.sock" "$HM_LAST_PID" ||
		hm_fail "wireguard-go $2 did not start (see $HM_TMP/$2.log)"
}

# hm_ping NS ADDR COUNT [INTERVAL]: succeeds if every echo is answered.
hm_ping() {
	ip netns exec "$1" ping -q -n -c "$3" -i "${4:-0.2}" -W 2 "$2" >"$HM_TMP/ping.out" 2>&1 &&
		grep -q " 0% packet loss" "$HM_TMP/ping.out"
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# hm_wait_for SECONDS COMMAND...: polls (every 0.1 s) until the command
# succeeds, for SECONDS of wall time at most: a slow command on a busy
# machine does not stretch the bound.
hm_wait_for() {
	local end=$(($(now_ms) + $1 * 1000))
	shift
	until "$@"; do
		[ "$(now_ms)" -lt "$end" ] || return 1
		sleep 0.1
	done
}

# hm_wanem NS SOCKET IF... [-- OPTIONS]: starts the WAN emulator (tests/rig/
# wanem.c) in NS, switching between the interfaces, controlled on SOCKET.
# Sets HM_LAST_PID. Options after -- go to the emulator (e.g. --seed 1).
hm_wanem() {
	local ns=$1 sock=$2 ifs=() opts=()
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do ifs+=("$1"); shift; done
	[ $# -gt 0 ] && shift && opts=("$@")
	[ -x "$HM_WANEM" ] || hm_fail "no WAN emulator at $HM_WANEM (build first, or set HOPMESH_BUILD)"
	HM_SOCKS+=("$sock")
	hm_bg "$ns" wanem "$HM_WANEM" --ctl "$sock" "${opts[@]}" "${ifs[@]}"
	hm_wait_socket "$sock" "$HM_LAST_PID" ||
		hm_fail "WAN emulator did not start (see $HM_TMP/wanem.log)"
}

# hm_wanemctl SOCKET COMMAND...: one command to the emulator; fails on an
# error answer. Prints the answer unless it is "ok".
hm_wanemctl() {
	local out rc
	out=$("$HM_WANEMCTL" "$@")
	rc=$?
	[ "$out" = ok ] || printf '%s\n' "$out"
	return $rc
}
