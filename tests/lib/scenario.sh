# SPDX-License-Identifier: MIT
# The scenario of the control plane on the rig, shared by the meshd tests
# (tests/netns/meshd_*.sh) and the demo (scripts/demo.sh), which narrates
# over the same helpers. Source it after tests/rig/rig.sh; call meshd_init
# after hm_init.
#
# Its flow: the registry (meshd_init, meshd_add_gateway, meshd_add_vms), a
# meshd per gateway (meshd_start, meshd_stop, meshd_mesh_up), what they made
# of it (meshd_route*, meshd_link*), and flows of pings counted from what was
# sent (meshd_flow_*, ping_loss).
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
	# Where meshd_start puts the gateways' and meshds' sockets: meshctl's
	# route show and trace read the installed paths there.
	export HOPMESH_RUN_DIR=$HM_TMP/run
}

meshctl() { "$MESHCTL" "$@"; }

rig_region_name() { echo "${RIG_REGIONS[$(($(rig_index "$1") - 1))]}"; }

# meshd_peer_args R: MESHD_ARGS = `meshctl gateway add`'s arguments for region
# R's gateway (public key from $HM_TMP, never the private one).
meshd_peer_args() {
	local r name
	r=$(rig_index "$1") || return 1
	name=$(rig_region_name "$r")
	MESHD_ARGS=(gateway add "$name" --id "$r" --public-key "$(cat "$HM_TMP/$(rig_gwname "$r").pub")"
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

# meshd_route_of A B: "GATEWAY VIA HOPS" of region A's gateway for region B's
# VM 2, IPv4 and IPv6 (both must agree, else "mismatch").
meshd_route_of() {
	local v4 v6
	v4=$(meshd_route "$1" "$(rig_vm_addr "$2" 2)") &&
		v6=$(meshd_route "$1" "$(rig_vm_addr6 "$2" 2)") &&
		[ "$v4" = "$v6" ] && echo "$v4" || echo mismatch
}

# meshd_route_is R ADDR GATEWAY [VIA HOPS]
meshd_route_is() {
	local got
	got=$(meshd_route "$1" "$2") || return 1
	[ "${got%% *}" = "$3" ] || return 1
	[ $# -lt 5 ] || [ "$got" = "$3 $4 $5" ]
}

# meshd_watch_route R ADDR GATEWAY VIA HOPS T0_MS: prints the ms from T0
# until gateway R's route shows that path (or -1 after 15 s).
meshd_watch_route() {
	local t
	while :; do
		t=$(now_ms)
		meshd_route_is "$1" "$2" "$3" "$4" "$5" && { echo $((t - $6)); return 0; }
		[ $((t - $6)) -lt 15000 ] || { echo -1; return 1; }
		sleep 0.01
	done
}

# meshd_link_is R ID STATE: gateway R's entry for gateway ID says its link
# is STATE (up or down, as meshd pushed it).
meshd_link_is() {
	hm_ctl "$(rig_gwname "$1")" dump gateways | python3 -c '
import json, sys
sys.exit(not any(g["id"] == int(sys.argv[1]) and g["link"] == sys.argv[2]
                 for g in json.load(sys.stdin)["gateways"]))' "$2" "$3"
}

# meshd_link_field FROM TO FIELD: one field of link FROM -> TO as FROM's meshd
# holds it (its own measurement), or nothing.
meshd_link_field() {
	meshctl --json link show --from "$(rig_region_name "$1")" | python3 -c '
import json, sys
a, b, f = sys.argv[1:]
for l in json.load(sys.stdin)["links"]:
    if l["from"] == a and l["to"] == b:
        print(l[f])' "$(rig_region_name "$1")" "$(rig_region_name "$2")" "$3"
}

# meshd_links_settled N: in the link-state database of every meshd of the
# first N regions, every ordered pair of them has a link, up, with an RTT
# within 10 % + 5 ms of the emulated one and loss under 5 % (one meshctl call
# per meshd: it is polled).
meshd_links_settled() {
	local want r
	want=$("$HM_WANEMCTL" "$RIG_SOCK" show | python3 -c '
import json, sys
d = {(p["src"], p["dst"]): p["delay_ms"] for p in json.load(sys.stdin)["pairs"]}
r = sys.argv[1:]
print(" ".join("%s %s %g" % (a, b, d[a, b] + d[b, a]) for a in r for b in r if a != b))' \
		"${RIG_REGIONS[@]:0:$1}") || return 1
	for ((r = 1; r <= $1; r++)); do
		# shellcheck disable=SC2086 # want: FROM TO RTT triplets, words
		meshctl --json link show --from "$(rig_region_name "$r")" | meshd_links_close $want || return 1
	done
}

# meshd_link_close A B RTT_MS [VIEW]: A's link to B is up, RTT close, as the
# meshd of region VIEW (default A) holds it.
meshd_link_close() {
	meshctl --json link show --from "$(rig_region_name "${4:-$1}")" |
		meshd_links_close "$(rig_region_name "$1")" "$(rig_region_name "$2")" "$3"
}

# meshd_links_close FROM TO RTT_MS...: `meshctl --json link show` on stdin has
# each link FROM -> TO up, its RTT within 10 % + 5 ms of RTT_MS, loss < 5 %.
meshd_links_close() {
	python3 -c '
import json, sys
w = sys.argv[1:]
want = {(w[i], w[i + 1]): float(w[i + 2]) for i in range(0, len(w), 3)}
got = {(l["from"], l["to"]): l for l in json.load(sys.stdin)["links"]}
sys.exit(not all(k in got and got[k]["up"] and got[k]["loss"] < 0.05 and
                 abs(got[k]["rtt_ms"] - rtt) <= 5 + 0.1 * rtt for k, rtt in want.items()))' "$@"
}

# ---- flows of pings, counted from what was sent ----
#
# meshd_flow_start NAME NS ADDR INTERVAL [COUNT]: pings from NS to ADDR every
# INTERVAL s (ping -D -O: every answer and every ping still unanswered when
# the next goes out is logged with its time), log $HM_TMP/ping-NAME.txt.
# With COUNT, ping sends that many and then waits for the last answers by
# itself (twice the longest RTT it saw); without, it runs until
# meshd_flow_end. One flow at a time.
meshd_flow_start() {
	FLOW_NAME=$1 FLOW_COUNT=${5:-}
	ip netns exec "$2" ping -D -O -n -i "$4" -W 1 ${FLOW_COUNT:+-c "$FLOW_COUNT"} "$3" \
		>"$HM_TMP/ping-$1.txt" 2>&1 &
	FLOW_PID=$!
	FLOW_T0=$(now_ms)
	HM_PIDS+=("$FLOW_PID")
}

# meshd_flow_end: ends the flow and counts it. A flow with a COUNT is waited
# for; one without is given one second (ping's -W) for the answers to what it
# sent until now, then stopped, and only what it sent until now is judged.
# Sets FLOW_MS and FLOW_S (from start to end), FLOW_RUNNING (0 if ping had
# exited before the end: a flow without COUNT must not) and ping_loss's
# figures as FLOW_SENT FLOW_LOST FLOW_LOSS_MS FLOW_GAP_MS FLOW_SPAN_MS
# FLOW_SENDGAP_MS.
meshd_flow_end() {
	local end_s
	if [ -n "$FLOW_COUNT" ]; then
		wait "$FLOW_PID"
		FLOW_RUNNING=1
		FLOW_MS=$(($(now_ms) - FLOW_T0))
		end_s=
	else
		end_s=$(date +%s.%N)
		FLOW_MS=$(($(now_ms) - FLOW_T0))
		sleep 1
		FLOW_RUNNING=0
		kill -INT "$FLOW_PID" 2>/dev/null && FLOW_RUNNING=1
		wait "$FLOW_PID"
	fi
	FLOW_S=$((FLOW_MS / 1000))
	hm_forget "$FLOW_PID"
	read -r FLOW_SENT FLOW_LOST FLOW_LOSS_MS FLOW_GAP_MS FLOW_SPAN_MS FLOW_SENDGAP_MS \
		< <(ping_loss "$HM_TMP/ping-$FLOW_NAME.txt" $end_s)
}

# meshd_flow_checks: an open-ended flow lost nothing it sent and ran
# throughout: ping still running at the end, its pings spanning the flow but
# for ping's start (300 ms at most), never more than 250 ms between two.
meshd_flow_checks() {
	hm_check "the flow still ran at its end" test "$FLOW_RUNNING" -eq 1
	hm_check "the flow lost nothing ($FLOW_LOST of $FLOW_SENT sent)" \
		test "$FLOW_SENT" -gt 0 -a "$FLOW_LOST" -eq 0
	hm_check "the flow's pings span it ($FLOW_SPAN_MS of $FLOW_MS ms, longest wait $FLOW_SENDGAP_MS ms)" \
		test "$FLOW_SPAN_MS" -ge $((FLOW_MS - 300)) -a "$FLOW_SENDGAP_MS" -le 250
}

# ping_loss FILE [END]: "SENT LOST LOSS_MS GAP_MS SPAN_MS SENDGAP_MS" of a
# ping -D -O log. SENT: the pings judged: every one ping says it
# transmitted, or with END (epoch seconds) those sent by then; LOST: those of
# them never answered, wherever they fall (after the last answer too);
# LOSS_MS: LOST x the interval ping really kept (a busy machine stretches
# it); GAP_MS: the longest time between two answers less that interval (it
# also holds the extra latency of a longer path: printed, not bounded);
# SPAN_MS: from the first judged ping sent to the last; SENDGAP_MS: the
# longest time between two pings sent (ping itself stalled). A ping's send
# time: its answer's time less its RTT, else the time of the "no answer yet"
# line of the ping before it (printed as this one went out), else between
# its neighbours'. -1s: nothing to judge.
ping_loss() {
	python3 - "$@" <<'PY'
import bisect, re, sys
at, answered, transmitted = {}, {}, None
for line in open(sys.argv[1]):
    m = re.match(r"\[(\d+\.\d+)\] .* icmp_seq=(\d+) .*time=([0-9.]+) ms", line)
    if m:
        seq, t = int(m.group(2)), float(m.group(1))
        answered.setdefault(seq, t)
        at[seq] = t - float(m.group(3)) / 1000
        continue
    m = re.match(r"\[(\d+\.\d+)\] no answer yet for icmp_seq=(\d+)", line)
    if m:  # printed as the next ping goes out
        at.setdefault(int(m.group(2)) + 1, float(m.group(1)))
        continue
    m = re.match(r"(\d+) packets transmitted", line)
    if m:
        transmitted = int(m.group(1))
known = sorted(s for s in at if transmitted and s <= transmitted)
if transmitted is None or len(known) < 2:
    print(-1, -1, -1, -1, -1, -1)
    sys.exit()
def sent(s):  # a ping with no time of its own: between its neighbours'
    if s in at:
        return at[s]
    i = bisect.bisect(known, s)
    if i == 0 or i == len(known):
        return None
    a, b = known[i - 1], known[i]
    return at[a] + (at[b] - at[a]) * (s - a) / (b - a)
every = range(1, transmitted + 1)
if len(sys.argv) > 2:  # by END; one with no time went out after the last timed one
    judged = [s for s in every if sent(s) is not None and sent(s) <= float(sys.argv[2])]
else:
    judged = list(every)
timed = [s for s in judged if sent(s) is not None]
if len(timed) < 2:
    print(-1, -1, -1, -1, -1, -1)
    sys.exit()
t0, t1 = sent(timed[0]), sent(timed[-1])
interval = (t1 - t0) / (timed[-1] - timed[0])
lost = sum(1 for s in judged if s not in answered)
got = sorted(answered[s] for s in judged if s in answered)
gap = max((b - a for a, b in zip(got, got[1:])), default=t1 - t0)
sendgap = max(sent(b) - sent(a) for a, b in zip(timed, timed[1:]))
print(len(judged), lost, round(lost * interval * 1000), round((gap - interval) * 1000),
      round((t1 - t0) * 1000), round(sendgap * 1000))
PY
}

# MESHD_ROUTE_MS: the bound of docs/OPERATIONS.md ("Add a region") on the
# time from `meshctl gateway add` of a region to its route on every gateway:
# 2 s; 2.5 s for a build with AddressSanitizer. The new region's own gateway
# is the last: it binds the older gateways at their first handshake with it
# or after 1 s, and since relays are source-routed that handshake often comes
# later than the second (measured 1.33-1.40 s; cause open).
MESHD_ROUTE_MS=2000
hm_sanitized "$MESHD" && MESHD_ROUTE_MS=2500

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
		hm_check "meshctl gateway add $(rig_region_name "$r")" meshd_add_gateway "$r"
	done
	for r in 1 2 3; do
		hm_check "meshctl vm add ($(rig_region_name "$r"))" meshd_add_vms "$r"
	done
	for r in 1 2 3; do meshd_start "$r" "$@"; done
	hm_check "all 6 links measured" hm_wait_for 30 meshd_links_settled 3
}
