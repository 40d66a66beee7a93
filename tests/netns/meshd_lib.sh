# SPDX-License-Identifier: MIT
# Helpers for the meshd tests on the rig (tests/netns/meshd_*.sh). Source it
# after tests/rig/rig.sh and hm_init.
#
# The registry is the embedded one, a directory in $HM_TMP. Gateways are
# named in the registry after their region (us-east, ...), with the region's
# number as their id; each gateway's meshd runs in the gateway's namespace
# (hm_bg: ended by PID on exit) with its config in $HM_TMP.

MESHD=$HM_BUILD/controlplane/meshd
MESHCTL=$HM_BUILD/controlplane/meshctl
MESHD_PIDS=()

meshd_init() {
	[ -x "$MESHD" ] && [ -x "$MESHCTL" ] ||
		hm_fail "no meshd/meshctl in $HM_BUILD/controlplane (build first, or set HOPMESH_BUILD)"
	hm_require_cmd curl
	MESHD_REG=$HM_TMP/registry
	mkdir -p "$MESHD_REG"
	export HOPMESH_REGISTRY=dir:$MESHD_REG
}

meshctl() { "$MESHCTL" "$@"; }

rig_region_name() { echo "${RIG_REGIONS[$(($(rig_index "$1") - 1))]}"; }

# meshd_peer_args R: MESHD_ARGS = `meshctl peer add`'s arguments for region
# R's gateway (public key from $HM_TMP, never the private one).
meshd_peer_args() {
	local r name
	r=$(rig_index "$1") || return 1
	name=$(rig_region_name "$r")
	MESHD_ARGS=(peer add "$name" --id "$r" --public-key "$(cat "$HM_TMP/$(rig_gwname "$r").pub")"
		--endpoint "192.168.50.$r:51820" --endpoint6 "[fd00:50::$r]:51820"
		--prefix "10.$r.0.0/24" --prefix "fd00:$r::/64"
		--overlay4 "10.$r.0.1" --overlay6 "fd00:$r::1" --region "$name")
}

# meshd_add_gateway R: region R's gateway, with meshctl.
meshd_add_gateway() {
	meshd_peer_args "$1" || return 1
	meshctl "${MESHD_ARGS[@]}" >/dev/null
}

meshd_add_vms() {
	local r k name
	r=$(rig_index "$1") || return 1
	name=$(rig_region_name "$r")
	for ((k = 1; k <= RIG_K; k++)); do
		meshctl vm add "vm$k.$name" --address "$(rig_vm_addr "$r" "$k")" --gateway "$name" \
			>/dev/null || return 1
	done
}

# meshd_start R [LINES...]: region R's meshd, LINES added to [meshd].
meshd_start() {
	local r g conf
	r=$(rig_index "$1") || return 1
	shift
	g=$(rig_gwname "$r")
	conf=$HM_TMP/meshd-$g.conf
	cat >"$conf" <<-EOF
	[meshd]
	gateway = $(rig_region_name "$r")
	registry = dir:$MESHD_REG
	interface = $g
	control = $HM_TMP/run/$g.ctl
	metrics = 127.0.0.1:9464
	backbone_interface = bb0
	probe_interval_ms = 50
	EOF
	printf '%s\n' "$@" >>"$conf"
	hm_bg "$(rig_gw "$r")" "meshd-$g" "$MESHD" -c "$conf"
	MESHD_PIDS[$r]=$HM_LAST_PID
}

# meshd_stop R: SIGTERM; meshd must exit 0 with no sanitizer report.
meshd_stop() {
	local r pid rc log
	r=$(rig_index "$1") || return 1
	pid=${MESHD_PIDS[$r]}
	log=$HM_TMP/meshd-$(rig_gwname "$r").log
	hm_forget "$pid"
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rc=$?
	if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$log"; then
		hm_log "sanitizer report in $log"
		return 1
	fi
	[ "$rc" -eq 0 ] || { hm_log "meshd $pid exited with $rc (see $log)"; return 1; }
}

# meshd_route R ADDR: "GATEWAY VIA HOPS" of gateway R's route lookup (no
# python here: the timed loop polls with it).
meshd_route() {
	local out
	out=$(hm_ctl "$(rig_gwname "$1")" route lookup "$2") || return 1
	if [[ $out =~ \"gateway\":([0-9]+),\"via\":([0-9]+),\"hops\":([0-9]+) ]]; then
		echo "${BASH_REMATCH[1]} ${BASH_REMATCH[2]} ${BASH_REMATCH[3]}"
	elif [[ $out =~ \"gateway\":0 ]]; then
		echo "0 0 0"
	else
		return 1
	fi
}

# meshd_route_is R ADDR GATEWAY [VIA HOPS]
meshd_route_is() {
	local got
	got=$(meshd_route "$1" "$2") || return 1
	[ "${got%% *}" = "$3" ] || return 1
	[ $# -lt 5 ] || [ "$got" = "$3 $4 $5" ]
}

# meshd_link_json FROM TO FIELD: one field of a published link, or nothing.
meshd_link_field() {
	meshctl --json link show | python3 -c '
import json, sys
a, b, f = sys.argv[1:]
for l in json.load(sys.stdin)["links"]:
    if l["from"] == a and l["to"] == b:
        print(l[f])' "$(rig_region_name "$1")" "$(rig_region_name "$2")" "$3"
}

# meshd_links_settled N: every ordered pair of the first N regions has a
# published link, up, with an RTT within 10 % + 5 ms of the emulated one.
meshd_links_settled() {
	local n=$1 a b want
	for ((a = 1; a <= n; a++)); do
		for ((b = 1; b <= n; b++)); do
			[ "$a" -ne "$b" ] || continue
			want=$(rig_rtt "$a" "$b") || return 1
			meshd_link_close "$a" "$b" "$want" || return 1
		done
	done
}

# meshd_link_close A B RTT_MS: A's published link to B is up, RTT close.
meshd_link_close() {
	meshctl --json link show | python3 -c '
import json, sys
a, b, want = sys.argv[1], sys.argv[2], float(sys.argv[3])
for l in json.load(sys.stdin)["links"]:
    if l["from"] == a and l["to"] == b:
        sys.exit(not (l["up"] and abs(l["rtt_ms"] - want) <= 5 + 0.1 * want and l["loss"] < 0.05))
sys.exit(1)' "$(rig_region_name "$1")" "$(rig_region_name "$2")" "$3"
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# ping_loss FILE: "LOST LOSS_MS GAP_MS ANSWERED" of a ping -D -i 0.01 log.
# LOSS_MS is the time the lost pings stand for (lost x the interval ping
# really kept, which a busy machine stretches); GAP_MS the longest time
# between two answers, less that interval: it also holds the extra latency
# of a longer path, so it is printed, not bounded.
ping_loss() {
	python3 - "$1" <<'PY'
import re, sys
got = {}
for line in open(sys.argv[1]):
    m = re.match(r"\[(\d+\.\d+)\] .* icmp_seq=(\d+) ", line)
    if m:
        got.setdefault(int(m.group(2)), float(m.group(1)))
seqs = sorted(got)
if len(seqs) < 2:
    print(-1, -1, -1, len(seqs))
    sys.exit()
interval = (got[seqs[-1]] - got[seqs[0]]) / (seqs[-1] - seqs[0])
lost = seqs[-1] - seqs[0] + 1 - len(seqs)
gap = max(got[b] - got[a] for a, b in zip(seqs, seqs[1:]))
print(lost, int(round(lost * interval * 1000)), int(round((gap - interval) * 1000)), len(seqs))
PY
}

# meshd_time_region3 T0_MS: waits (10 s at most) until regions 1 and 2 route
# region 3's VM and region 3 routes theirs; logs when each did, and prints
# the slowest, in ms since T0 (99999: not within 10 s).
meshd_time_region3() {
	local t0=$1 now r v worst=0
	local -A seen=()
	while :; do
		now=$(now_ms)
		for r in 1 2; do
			[ -n "${seen[$r]:-}" ] || ! meshd_route_is "$r" 10.3.0.2 3 || seen[$r]=$(($(now_ms) - t0))
		done
		[ -n "${seen[3]:-}" ] || ! { meshd_route_is 3 10.1.0.2 1 && meshd_route_is 3 10.2.0.2 2; } ||
			seen[3]=$(($(now_ms) - t0))
		[ ${#seen[@]} -eq 3 ] && break
		[ $((now - t0)) -lt 10000 ] || break
		sleep 0.01
	done
	for r in 1 2 3; do
		v=${seen[$r]:-99999}
		hm_log "route to/from eu-west on $(rig_region_name "$r") after $v ms"
		[ "$v" -gt "$worst" ] && worst=$v
	done
	echo "$worst"
}

# meshd_mesh_up [LINES...]: the first three regions in the registry (gateways,
# then VMs), a meshd for each (LINES added to [meshd]), and all six links
# measured.
meshd_mesh_up() {
	local r
	for r in 1 2 3; do
		hm_check "meshctl peer add $(rig_region_name "$r")" meshd_add_gateway "$r"
	done
	for r in 1 2 3; do
		hm_check "meshctl vm add ($(rig_region_name "$r"))" meshd_add_vms "$r"
	done
	for r in 1 2 3; do meshd_start "$r" "$@"; done
	hm_check "all 6 links measured" hm_wait_for 30 meshd_links_settled 3
}
