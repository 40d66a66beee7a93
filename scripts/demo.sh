#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The demo: four regions of hopmesh on one machine (tests/rig/rig.sh), joined
# by the project's WAN emulator with realistic delays (docs/RIG.md):
#
#        us-east (1) ------ 70 ms ------ us-west (2)
#            |   \                      /   |
#         100 ms  \---- 200 ms ----\  140 ms |
#            |     /---- 150 ms ---/ \      |
#        eu-west (3) ----- 250 ms ----- ap-northeast (4)
#
#   each region: a gateway (hopmesh-gw) with two VMs behind it, 10.R.0.2-3
#
# 1. brings the rig up; 2. installs gateway ids and routes through the
# gateways' control sockets (the control plane does not exist yet); 3. pings
# between VMs of every pair of regions, IPv4 and IPv6, and a short iperf3;
# 4. prints the mesh: each link's emulated underlay RTT next to the measured
# overlay RTT, loss and overhead, and each route's hop count; 5. degrades
# eu-west <-> ap-northeast to 30 % loss; 6. moves that traffic to the best
# relay as the control plane would, and shows it (traceroute, counters);
# 7. heals the link and moves the traffic back. Everything is removed on exit.
#
# It is also a test (tests/meson.build, 'demo'): it exits non-zero when
# something that should work does not, including an overlay RTT that is not
# the emulated underlay RTT plus the gateways' small overhead.
#
#   scripts/demo.sh                         # as root, from a built tree
#   HOPMESH_BUILD=/path/to/build scripts/demo.sh
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tests/rig/rig.sh"

# A median overlay RTT must lie within [underlay + OVH_MIN, underlay +
# OVH_MAX] ms. 5 ms is half the smallest difference between two paths of this
# mesh (us-east -> ap-northeast: 200 ms direct, 210 via us-west), so a packet
# on the wrong path cannot pass.
OVH_MIN=0
OVH_MAX=5
PINGS=30          # per pair and family, every 0.2 s
LOSSY=eu-west     # the link that degrades: LOSSY <-> LOSSY_TO
LOSSY_TO=ap-northeast
LOSS=30%

hm_init demo
hm_require_root
hm_require_cmd wg iperf3 ethtool python3 traceroute ping

if [ -t 1 ]; then B=$'\033[1m' N=$'\033[0m'; else B='' N=''; fi
step() { printf '\n%s== %s%s\n' "$B" "$*" "$N"; }
say() { printf '  %s\n' "$*"; }
FAILS=()
# expect DESCRIPTION COMMAND...: a check whose failure is reported at the end
# of the section (so the tables still print), then ends the demo.
expect() {
	local what=$1
	shift
	"$@" || FAILS+=("$what")
}
end_section() {
	[ ${#FAILS[@]} -eq 0 ] && return 0
	local f
	for f in "${FAILS[@]}"; do hm_log "FAIL: $f"; done
	hm_fail "${#FAILS[@]} check(s) failed"
}
t0=$SECONDS

# ---- small helpers (the rig's are in tests/rig/rig.sh) ----

# ping_to FILE NS ADDR COUNT INTERVAL [-6]: pings, output in FILE.
ping_to() {
	ip netns exec "$2" ping ${6:+"$6"} -n -c "$4" -i "$5" -W 1 "$3" >"$1" 2>&1
}

# ping_stats FILE: "sent received median min max" (ms; "-" without replies).
ping_stats() {
	python3 - "$1" <<-'PY'
	import re, statistics, sys
	text = open(sys.argv[1]).read()
	t = sorted(float(x) for x in re.findall(r"time=([0-9.]+) ms", text))
	m = re.search(r"(\d+) packets transmitted, (\d+) received", text)
	sent, recv = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
	if t:
	    print(sent, recv, "%.1f %.1f %.1f" % (statistics.median(t), t[0], t[-1]))
	else:
	    print(sent, recv, "- - -")
	PY
}

# within LOW X HIGH: LOW <= X <= HIGH (decimals).
within() { awk -v l="$1" -v x="$2" -v h="$3" 'BEGIN { exit !(x != "-" && x >= l && x <= h) }'; }
calc() { awk "BEGIN { printf \"%.1f\", $* }"; }

# route_of A B: "gateway via hops" of A's gateway for B's VM 2, IPv4 and IPv6
# (both must agree, else "mismatch").
route_of() {
	local g v4 v6
	g=$(rig_gwname "$1")
	v4=$(hm_ctl "$g" route lookup "$(rig_vm_addr "$2" 2)" |
		sed -n 's/.*"gateway":\([0-9]*\),"via":\([0-9]*\),"hops":\([0-9]*\).*/\1 \2 \3/p')
	v6=$(hm_ctl "$g" route lookup "$(rig_vm_addr6 "$2" 2)" |
		sed -n 's/.*"gateway":\([0-9]*\),"via":\([0-9]*\),"hops":\([0-9]*\).*/\1 \2 \3/p')
	[ -n "$v4" ] && [ "$v4" = "$v6" ] && echo "$v4" || echo mismatch
}

# print_routes: every route of every gateway with its hop count.
print_routes() {
	local a b r cell
	say "routes: \`route lookup\` on each gateway for each other region's VMs (IPv4 = IPv6);"
	say "1 = direct, 2 = one relay"
	printf '  %-14s' "from \\ to"
	for b in "${RIG_REGIONS[@]}"; do printf '%-17s' "$b"; done
	echo
	for a in "${RIG_REGIONS[@]}"; do
		printf '  %-14s' "$a"
		for b in "${RIG_REGIONS[@]}"; do
			if [ "$a" = "$b" ]; then
				cell=-
			else
				read -r -a r <<<"$(route_of "$a" "$b")"
				if [ "${r[0]}" = mismatch ] || [ "${r[0]}" != "$(rig_index "$b")" ]; then
					cell="NO ROUTE"
					FAILS+=("route $a -> $b: $(route_of "$a" "$b")")
				elif [ "${r[2]}" = 1 ]; then
					cell="1 direct"
				else
					cell="${r[2]} via ${RIG_REGIONS[$((r[1] - 1))]}"
				fi
			fi
			printf '%-17s' "$cell"
		done
		echo
	done
}

# expect_path A B VIA: A's route to B goes through VIA (VIA = B: direct).
expect_path() {
	local want=1
	[ "$3" = "$2" ] || want=2
	[ "$(route_of "$1" "$2")" = "$(rig_index "$2") $(rig_index "$3") $want" ]
}

# trace FROM_REGION TO_REGION: traceroute VM 1 -> VM 2, each hop named.
trace() {
	local out=$HM_TMP/trace-$1-$2.txt dst hop addr rest r
	dst=$(rig_vm_addr "$2" 2)
	ip netns exec "$(rig_vm "$2" 2)" sysctl -qw net.ipv4.icmp_ratelimit=0
	ip netns exec "$(rig_vm "$1" 1)" traceroute -n -q 3 -w 2 "$dst" >"$out" 2>&1
	say "traceroute -n $dst   (from $1 vm1 to $2 vm2)"
	sed 1d "$out" | while read -r hop addr rest; do
		r=
		case "$addr" in
		10.*.0.1) r="gateway of ${RIG_REGIONS[$(($(cut -d. -f2 <<<"$addr") - 1))]}" ;;
		"$dst") r="$2 vm2" ;;
		esac
		printf '    %2s  %-10s %-28s %s\n' "$hop" "$addr" "$rest" "$r"
	done
	TRACE_HOPS=$(sed 1d "$out" | awk '{ print $2 }' | tr '\n' ' ')
}

# counter_row R PATH LABEL: prints a counter, keeps its value in CNT[R.PATH].
declare -A CNT=()
counter_row() {
	local v
	v=$(rig_counter "$1" "$2")
	printf '    %-14s %-22s %8s' "$1" "$3" "$v"
	if [ -n "${CNT[$1.$2]:-}" ]; then printf '  %+8d' $((v - ${CNT[$1.$2]})); fi
	echo
	CNT[$1.$2]=$v
}

echo "${B}hopmesh demo: four regions, one machine${N}"
say "Each region is a gateway (hopmesh-gw, DPDK on af_packet) and two VMs, each in"
say "its own network namespace; the gateways' backbone ports meet in hopmesh-wanem,"
say "the project's WAN emulator, which delays and drops between each pair of regions."

# ---------------------------------------------------------------------------
step "1. Set-up: 4 regions x (1 gateway + 2 VMs), WAN emulator, WireGuard mesh"
rig_up 4 2
rig_check 15 || hm_fail "the mesh does not carry traffic between every pair of regions"
printf '  %-14s %-10s %-14s %-14s %s\n' region gateway "underlay" "VMs" "wg name"
for r in "${RIG_REGIONS[@]}"; do
	printf '  %-14s %-10s %-14s %-14s %s\n' "$r" "id $(rig_index "$r")" "$(rig_underlay "$r")" \
		"$(rig_vm_addr "$r" 1)-$(rig_vm_addr "$r" 2 | cut -d. -f4)" "$(rig_gwname "$r")"
done
say "WireGuard: a full mesh configured with wg(8); every region reaches every other"
say "(IPv4 and IPv6). Up in $((SECONDS - t0)) s."

# ---------------------------------------------------------------------------
step "2. Routes, installed by this script"
say "The control plane (meshd) does not exist yet. This script does its job through"
say "each gateway's control socket (hopmesh-ctl NAME ..., docs/CONTROL.md):"
say "  gateway self ID; gateway set ID PUBKEY overlay4=10.ID.0.1 ...   (all 4 gateways)"
say "  route add 10.B.0.0/24 B; route add fd00:B::/64 B; nexthop del B (direct)"
rig_register || hm_fail "gateway ids refused"
n=0
for a in "${RIG_REGIONS[@]}"; do
	for b in "${RIG_REGIONS[@]}"; do
		[ "$a" = "$b" ] && continue
		rig_path "$a" "$b" "$b" || hm_fail "route $a -> $b refused"
	done
	n=$((n + $(hm_ctl "$(rig_gwname "$a")" dump routes | grep -o '"prefix"' | wc -l)))
done
[ "$n" -eq 24 ] || hm_fail "expected 24 routes on the 4 gateways, found $n"
say "Installed: 4 gateway ids on each gateway, $n routes (3 regions x 2 families x 4)."

# ---------------------------------------------------------------------------
step "3. Traffic between every pair of regions"
say "$PINGS pings per pair and family every 0.2 s, the 6 pairs at once: IPv4 from"
say "vm1 of one region to vm2 of the other, IPv6 the other way round."
PAIRS=() pids=()
for ((i = 1; i <= 4; i++)); do
	for ((j = i + 1; j <= 4; j++)); do
		PAIRS+=("$i:$j")
		ping_to "$HM_TMP/p4-$i-$j" "$(rig_vm $i 1)" "$(rig_vm_addr $j 2)" "$PINGS" 0.2 &
		pids+=($!)
		ping_to "$HM_TMP/p6-$i-$j" "$(rig_vm $j 1)" "$(rig_vm_addr6 $i 2)" "$PINGS" 0.2 -6 &
		pids+=($!)
	done
done
wait "${pids[@]}" # (not a bare wait: the rig's processes are children too)
# iperf3 over the shortest link, after the pings so as not to disturb them.
hm_bg "$(rig_vm us-west 2)" iperf3 iperf3 -s -1 -B "$(rig_vm_addr us-west 2)"
sleep 0.3
ip netns exec "$(rig_vm us-east 1)" iperf3 -c "$(rig_vm_addr us-west 2)" -t 3 -J \
	>"$HM_TMP/iperf3.json" 2>&1 || hm_fail "iperf3 us-east -> us-west (see $HM_TMP/iperf3.json)"
read -r mbits retr < <(python3 -c '
import json, sys
e = json.load(open(sys.argv[1]))["end"]
print("%.0f" % (e["sum_received"]["bits_per_second"] / 1e6), e["sum_sent"].get("retransmits", 0))' \
	"$HM_TMP/iperf3.json")
say "iperf3 TCP, 3 s, us-east vm1 -> us-west vm2: $mbits Mbit/s received, $retr retransmits"
[ "${mbits:-0}" -gt 0 ] || hm_fail "iperf3 moved nothing"

# ---------------------------------------------------------------------------
step "4. The mesh"
printf '  %-27s %9s  %-19s %-15s %s\n' "" underlay "overlay RTT" "overhead" "loss"
printf '  %-27s %9s  %-9s %-9s %-7s %-7s %s\n' link RTT "IPv4" "IPv6" "IPv4" "IPv6" ""
omin=999 omax=-999
for p in "${PAIRS[@]}"; do
	i=${p%:*} j=${p#*:}
	a=${RIG_REGIONS[$((i - 1))]} b=${RIG_REGIONS[$((j - 1))]}
	u=$(rig_rtt "$i" "$j")
	read -r s4 r4 m4 _ _ < <(ping_stats "$HM_TMP/p4-$i-$j")
	read -r s6 r6 m6 _ _ < <(ping_stats "$HM_TMP/p6-$i-$j")
	o4=- o6=-
	[ "$m4" = - ] || o4=$(calc "$m4 - $u")
	[ "$m6" = - ] || o6=$(calc "$m6 - $u")
	printf '  %-27s %6.1f ms  %-9s %-9s %-7s %-7s %d/%d lost\n' "$a <-> $b" "$u" "$m4 ms" \
		"$m6 ms" "+$o4" "+$o6" $((s4 + s6 - r4 - r6)) $((s4 + s6))
	for o in "$o4" "$o6"; do
		[ "$o" = - ] && continue
		omin=$(awk -v a="$omin" -v b="$o" 'BEGIN { print (b < a ? b : a) }')
		omax=$(awk -v a="$omax" -v b="$o" 'BEGIN { print (b > a ? b : a) }')
	done
	expect "$a <-> $b: all $((s4 + s6)) pings answered" test $((r4 + r6)) -eq $((s4 + s6)) -a "$s4" -gt 0
	expect "$a <-> $b: IPv4 RTT $m4 ms not within $u + $OVH_MIN..$OVH_MAX ms" \
		within "$(calc "$u + $OVH_MIN")" "$m4" "$(calc "$u + $OVH_MAX")"
	expect "$a <-> $b: IPv6 RTT $m6 ms not within $u + $OVH_MIN..$OVH_MAX ms" \
		within "$(calc "$u + $OVH_MIN")" "$m6" "$(calc "$u + $OVH_MAX")"
done
say "underlay RTT: the emulator's two one-way delays; overlay RTT: median of $PINGS pings"
say "VM -> VM. Overlay RTT = underlay RTT + $omin to $omax ms here (the two gateways each"
say "way: encryption, decryption, af_packet hops, wake-ups from adaptive idle)."
say "Checked: every median within underlay + $OVH_MIN to $OVH_MAX ms, no ping lost."
echo
print_routes
end_section

# ---------------------------------------------------------------------------
step "5. $LOSSY <-> $LOSSY_TO degrades: $LOSS loss each way"
rig_ctl seed 1 # the emulator's losses repeat from run to run
rig_link "$LOSSY" "$LOSSY_TO" loss="$LOSS" || hm_fail "the emulator refused loss=$LOSS"
say "emulator: link $LOSSY $LOSSY_TO loss=$LOSS"
u=$(rig_rtt "$LOSSY" "$LOSSY_TO")
ping_to "$HM_TMP/lossy" "$(rig_vm "$LOSSY" 1)" "$(rig_vm_addr "$LOSSY_TO" 2)" 40 0.1
read -r s r m _ _ < <(ping_stats "$HM_TMP/lossy")
printf '  %-27s underlay %.0f ms, overlay %s ms, %d/%d pings lost (%d%%)\n' \
	"$LOSSY <-> $LOSSY_TO" "$u" "$m" $((s - r)) "$s" $((100 * (s - r) / s))
say "($LOSS each way: about 1 - 0.7^2 = 51 % of round trips lost)"
expect "loss is visible: $((s - r))/$s lost" test $((100 * (s - r) / s)) -ge 20
end_section

# ---------------------------------------------------------------------------
step "6. The control plane's move, by hand: $LOSSY <-> $LOSSY_TO through a relay"
say "relay candidates: the sum of the two legs' emulated underlay RTT"
# The decision: the region with the lowest sum of the two legs' RTT.
relay='' best=''
for r in "${RIG_REGIONS[@]}"; do
	[ "$r" = "$LOSSY" ] || [ "$r" = "$LOSSY_TO" ] && continue
	l1=$(rig_rtt "$LOSSY" "$r") l2=$(rig_rtt "$r" "$LOSSY_TO") sum=$(calc "$l1 + $l2")
	printf '    via %-14s %5.0f + %5.0f = %5.0f ms\n' "$r" "$l1" "$l2" "$sum"
	if [ -z "$relay" ] || within 0 "$sum" "$(calc "$best - 0.001")"; then relay=$r best=$sum; fi
done
say "-> relay: $relay ($best ms, against $u ms direct at ${LOSS} loss each way)"
# The move: each end reaches the other through the relay, in 2 backbone hops.
rig_path "$LOSSY" "$LOSSY_TO" "$relay" && rig_path "$LOSSY_TO" "$LOSSY" "$relay" ||
	hm_fail "nexthop refused"
say "on $LOSSY's gateway:  nexthop set $(rig_index "$LOSSY_TO") $(rig_index "$relay") 2"
say "on $LOSSY_TO's gateway:  nexthop set $(rig_index "$LOSSY") $(rig_index "$relay") 2"
echo
print_routes
expect "$LOSSY -> $LOSSY_TO goes through $relay" expect_path "$LOSSY" "$LOSSY_TO" "$relay"
expect "$LOSSY_TO -> $LOSSY goes through $relay" expect_path "$LOSSY_TO" "$LOSSY" "$relay"
echo
trace "$LOSSY" "$LOSSY_TO"
want="10.$(rig_index "$LOSSY").0.1 10.$(rig_index "$relay").0.1 10.$(rig_index "$LOSSY_TO").0.1 $(rig_vm_addr "$LOSSY_TO" 2) "
expect "traceroute lists $relay's gateway: got '$TRACE_HOPS', want '$want'" test "$TRACE_HOPS" = "$want"
echo
say "counters"
printf '    %-14s %-22s %8s\n' gateway counter before
counter_row "$relay" relayed "relayed"
counter_row "$LOSSY_TO" delivered_by_hops.2 "delivered_by_hops[2]"
counter_row "$LOSSY" delivered_by_hops.2 "delivered_by_hops[2]"
ping_to "$HM_TMP/relayed" "$(rig_vm "$LOSSY" 1)" "$(rig_vm_addr "$LOSSY_TO" 2)" 40 0.1
read -r s r m lo hi < <(ping_stats "$HM_TMP/relayed")
say "$s pings $LOSSY vm1 -> $LOSSY_TO vm2: $((s - r)) lost, median $m ms (min $lo, max $hi)"
printf '    %-14s %-22s %8s  %8s\n' gateway counter after change
c0=${CNT[$relay.relayed]} d0=${CNT[$LOSSY_TO.delivered_by_hops.2]} e0=${CNT[$LOSSY.delivered_by_hops.2]}
counter_row "$relay" relayed "relayed"
counter_row "$LOSSY_TO" delivered_by_hops.2 "delivered_by_hops[2]"
counter_row "$LOSSY" delivered_by_hops.2 "delivered_by_hops[2]"
expect "no ping lost through the relay ($((s - r))/$s)" test "$r" -eq "$s"
expect "RTT through $relay $m ms not within $best + $OVH_MIN..$OVH_MAX ms" \
	within "$(calc "$best + $OVH_MIN")" "$m" "$(calc "$best + $OVH_MAX")"
expect "$relay relayed both ways (>= $((2 * s)))" test $((${CNT[$relay.relayed]} - c0)) -ge $((2 * s))
expect "$LOSSY_TO delivered the pings as 2 hops (>= $s)" \
	test $((${CNT[$LOSSY_TO.delivered_by_hops.2]} - d0)) -ge "$s"
expect "$LOSSY delivered the replies as 2 hops (>= $s)" \
	test $((${CNT[$LOSSY.delivered_by_hops.2]} - e0)) -ge "$s"
end_section

# ---------------------------------------------------------------------------
step "7. The link heals; traffic moves back to the direct path"
rig_link "$LOSSY" "$LOSSY_TO" loss=0 || hm_fail "the emulator refused loss=0"
say "emulator: link $LOSSY $LOSSY_TO loss=0"
rig_path "$LOSSY" "$LOSSY_TO" "$LOSSY_TO" && rig_path "$LOSSY_TO" "$LOSSY" "$LOSSY" ||
	hm_fail "nexthop del refused"
say "on both gateways: nexthop del (direct)"
expect "$LOSSY -> $LOSSY_TO is direct again" expect_path "$LOSSY" "$LOSSY_TO" "$LOSSY_TO"
expect "$LOSSY_TO -> $LOSSY is direct again" expect_path "$LOSSY_TO" "$LOSSY" "$LOSSY"
trace "$LOSSY" "$LOSSY_TO"
want="10.$(rig_index "$LOSSY").0.1 10.$(rig_index "$LOSSY_TO").0.1 $(rig_vm_addr "$LOSSY_TO" 2) "
expect "traceroute is direct: got '$TRACE_HOPS', want '$want'" test "$TRACE_HOPS" = "$want"
c0=$(rig_counter "$relay" relayed)
ping_to "$HM_TMP/healed" "$(rig_vm "$LOSSY" 1)" "$(rig_vm_addr "$LOSSY_TO" 2)" 40 0.1
read -r s r m lo hi < <(ping_stats "$HM_TMP/healed")
c1=$(rig_counter "$relay" relayed)
say "$s pings $LOSSY vm1 -> $LOSSY_TO vm2: $((s - r)) lost, median $m ms (underlay $u ms);"
say "$relay relayed $((c1 - c0)) messages meanwhile"
expect "no ping lost on the healed link ($((s - r))/$s)" test "$r" -eq "$s"
expect "direct RTT $m ms not within $u + $OVH_MIN..$OVH_MAX ms" \
	within "$(calc "$u + $OVH_MIN")" "$m" "$(calc "$u + $OVH_MAX")"
expect "$relay relays nothing any more" test "$c1" -eq "$c0"
end_section

# ---------------------------------------------------------------------------
step "Done in $((SECONDS - t0)) s; removing every namespace and process of the rig"
