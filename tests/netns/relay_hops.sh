#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Source-routed paths of 3 and 4 backbone hops on the rig, five regions A..E
# (1..5), so that a 4-hop path needs no gateway twice:
#
#   hop limit 3 (pushed to every gateway, as meshd would from the policy):
#     A -> B -> C -> E and back E -> C -> B -> A carry ping and an iperf3
#     TCP flow; E counts the packets as 3-hop deliveries, B and C relay them
#     and decrypt nothing; a 4-hop path is refused at A; a relay whose own
#     limit is lower (C at 2) drops the frames, counted hop_limit there.
#   hop limit 4:
#     A -> B -> C -> D -> E and back E -> D -> C -> B -> A, the same, and
#     traceroute lists every gateway of the 4-hop path (the source counts
#     each relay's hop and answers in its name).
# Outside the deliberate drop at C, no gateway counts a hop-limit drop.
# (The control plane is not running: paths and limits are set by hand, as
# meshd sets them; meshd_region, meshd_failover show meshd doing it.)
set -u
. "$(dirname "$0")/../rig/rig.sh"

hm_init relay_hops
hm_require_root
hm_require_cmd iperf3 traceroute
rig_up 5 1
# Near WAN delays: four hops of the default ones would make a slow test of
# what is the path logic, not the WAN.
for a in 1 2 3 4 5; do
	for b in 1 2 3 4 5; do
		[ "$a" -lt "$b" ] && rig_link "$a" "$b" delay=1ms >/dev/null
	done
done
hm_check "rig up" rig_check 20
hm_check "gateway ids registered" rig_register

VMA=$(rig_vm 1 1) VME=$(rig_vm 5 1)
ip netns exec "$VME" sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0

hop_limit_all() { # N: pushed to every gateway
	local r
	for r in 1 2 3 4 5; do
		hm_ctl "$(rig_gwname "$r")" hop_limit set "$1" | grep -q '"ok"' || return 1
	done
}
limit_drops() { # the hop_limit drops of every gateway together
	local r n=0
	for r in 1 2 3 4 5; do n=$((n + $(rig_counter "$r" drops.hop_limit))); done
	echo "$n"
}
relayed() { echo "$(rig_counter "$1" relayed)"; }

# iperf3_ok NAME: a 3-s TCP flow VM A -> VM E moved data in every second.
iperf3_ok() {
	hm_bg "$VME" "iperf3-$1" iperf3 -s -1 -B 10.5.0.2
	sleep 0.5
	ip netns exec "$VMA" iperf3 -c 10.5.0.2 -t 3 -J >"$HM_TMP/$1.json" || return 1
	python3 - "$HM_TMP/$1.json" <<'PY' >&2
import json, sys
d = json.load(open(sys.argv[1]))
iv = d["intervals"]
print("TCP per second (Mbit/s):", " ".join("%.1f" % (i["sum"]["bits_per_second"] / 1e6) for i in iv))
sys.exit(not iv or any(i["sum"]["bytes"] == 0 for i in iv) or d["end"]["sum_received"]["bytes"] == 0)
PY
}

# run_path HOPS: ping and iperf3 over the paths set, counted at every gateway.
# RELAYS: the relays of A's path to E.
run_path() {
	local hops=$1 r before_e rel_before=() dec_before=() i
	shift
	before_e=$(rig_counter 5 "delivered_by_hops.$hops")
	for r in "$@"; do
		rel_before+=("$(relayed "$r")")
		dec_before+=("$(rig_counter "$r" decrypted)")
	done
	hm_check "ping A -> E over $hops hops" hm_ping "$VMA" 10.5.0.2 20 0.05
	hm_check "ping6 A -> E over $hops hops" hm_ping "$VMA" fd00:5::2 10 0.05
	hm_check "E delivered the 30 pings as $hops-hop packets" \
		test $(($(rig_counter 5 "delivered_by_hops.$hops") - before_e)) -ge 30
	i=0
	for r in "$@"; do
		hm_check "relay $r relayed both ways (>= 60)" \
			test $(($(relayed "$r") - ${rel_before[$i]})) -ge 60
		hm_check "relay $r decrypted nothing of it" \
			test "$(rig_counter "$r" decrypted)" -eq "${dec_before[$i]}"
		i=$((i + 1))
	done
	hm_check "iperf3 TCP A -> E over $hops hops" iperf3_ok "tcp$hops"
}

limit0=$(limit_drops)

# ---- hop limit 3 ----
hm_check "hop limit 3 on every gateway" hop_limit_all 3
A=$(rig_gwname 1)
dump_says() { hm_ctl "$A" dump gateways | python3 -c '
import json, sys
d = json.load(sys.stdin)
want = json.loads(sys.argv[1])
got = {k: d[k] for k in want if k != "path5"}
if "path5" in want:
    got["path5"] = [g["path"] for g in d["gateways"] if g["id"] == 5][0]
sys.exit(got != want)' "$1"; }
hm_check "A's dump: limit 3 (ceiling 4, pushed 3)" \
	dump_says '{"hop_limit":3,"hop_limit_ceiling":4,"hop_limit_pushed":3}'
out=$(hm_ctl "$A" path set 5 2 3 4 5)
hm_log "A: path set 5 2 3 4 5 -> $out"
hm_check "A refuses a 4-hop path at limit 3" grep -q "over the hop limit 3" <<<"$out"
hm_check "A -> E through B, C" rig_path 1 5 2 3
hm_check "E -> A through C, B" rig_path 5 1 3 2
hm_check "A's dump shows the path [2,3,5]" dump_says '{"path5":[2,3,5]}'
run_path 3 2 3
hm_check "no hop-limit drop on 3-hop paths at limit 3" test "$(limit_drops)" -eq "$limit0"

# A relay applies the lower of the header's limit and its own.
c_limit=$(rig_counter 3 drops.hop_limit)
hm_ctl "$(rig_gwname 3)" hop_limit set 2 >/dev/null
ip netns exec "$VMA" ping -q -n -c 10 -i 0.05 -W 1 10.5.0.2 >/dev/null 2>&1
hm_check "C, at limit 2, dropped A's 3-hop frames (>= 10, hop_limit)" \
	test $(($(rig_counter 3 drops.hop_limit) - c_limit)) -ge 10
hm_ctl "$(rig_gwname 3)" hop_limit set 3 >/dev/null
limit0=$(limit_drops)

# ---- hop limit 4 ----
hm_check "hop limit 4 on every gateway" hop_limit_all 4
hm_check "A -> E through B, C, D" rig_path 1 5 2 3 4
hm_check "E -> A through D, C, B" rig_path 5 1 4 3 2
hm_check "A's dump shows the path [2,3,4,5]" dump_says '{"path5":[2,3,4,5]}'
run_path 4 2 3 4
ip netns exec "$VMA" traceroute -n -w 2 10.5.0.2 >"$HM_TMP/trace4.txt" 2>&1
cat "$HM_TMP/trace4.txt" >&2
hm_check "traceroute over 4 hops lists A, B, C, D, E, VM E" \
	python3 - "$HM_TMP/trace4.txt" 10.1.0.1 10.2.0.1 10.3.0.1 10.4.0.1 10.5.0.1 10.5.0.2 <<'PY'
import sys
hops = [l.split()[1] for l in open(sys.argv[1]).read().splitlines()[1:] if len(l.split()) > 1]
sys.exit(hops != sys.argv[2:])
PY
hm_check "no hop-limit drop on 4-hop paths at limit 4" test "$(limit_drops)" -eq "$limit0"
for r in 1 2 3 4 5; do
	hm_check "gateway $r still running" kill -0 "${RIG_GWPID[$((r - 1))]}"
done

