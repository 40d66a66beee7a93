#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Residency checked by the gateways, on the rig with meshd: A us-east (1) and
# C eu-west (3) in zone z1, B us-west (2) in zone z2, the registry policy's
# residency on.
#
#  - meshd pushes the policy and every gateway's zone to its gateway (dump
#    gateways shows them on all three), and pushes the change when the policy
#    goes off and on again.
#  - residency off and a slow A-C link: meshd routes A -> C through B, and a
#    capture on B's port of the WAN sees those frames; residency on: direct
#    again, and while link delays change under a ping flow, the capture on
#    B's port holds not one relay frame between A and C.
#  - A's meshd stopped, A's gateway keeps a stale table: residency off and
#    its path to C through B. B, by its own copy of the policy and zones,
#    relays none of A's pings to C: each is counted `residency` at B, C gets
#    none of them.
#  - A's residency on again, same stale path: A sends none of them (counted
#    `residency` at A), B sees nothing.
#  - A path between the zones (A to B through C) is relayed and answered.
set -u
. "$(dirname "$0")/../rig/rig.sh"
. "$(dirname "$0")/../lib/scenario.sh"

PINGS=10

hm_init residency
hm_require_root
meshd_init
rig_up 3 1
meshd_mesh_up

A=$(rig_gwname 1) B=$(rig_gwname 2) C=$(rig_gwname 3)
VMA=$(rig_vm 1 1)

# zone_of R: the registry's zone for region R.
zone_of() { [ "$1" -eq 2 ] && echo z2 || echo z1; }

# pushed G R: gateway G's dump names region R's gateway with its zone, and
# residency is as the policy says ($WANT: true or false).
pushed() {
	hm_ctl "$1" dump gateways | python3 -c '
import json, sys
d = json.load(sys.stdin)
want = {int(k): v for k, v in (a.split("=") for a in sys.argv[2:])}
zones = {g["id"]: g["zone"] for g in d["gateways"]}
sys.exit(not (d["residency"] == (sys.argv[1] == "true") and
	      all(zones.get(i) == z for i, z in want.items())))' "$WANT" 1="$(zone_of 1)" 2="$(zone_of 2)" 3="$(zone_of 3)"
}

all_pushed() { pushed "$A" && pushed "$B" && pushed "$C"; }

# ---- meshd pushes zones and the policy ----
for r in 1 2 3; do
	meshd_peer_args "$r"
	hm_check "zone $(zone_of "$r") for $(rig_region_name "$r")" \
		meshctl "${MESHD_ARGS[@]}" --zone "$(zone_of "$r")" >/dev/null
done
hm_check "policy residency=on" meshctl policy set residency=on >/dev/null
WANT=true
hm_check "every gateway holds the zones and residency on" hm_wait_for 15 all_pushed
hm_check "policy residency=off" meshctl policy set residency=off >/dev/null
WANT=false
hm_check "residency off pushed to every gateway" hm_wait_for 15 all_pushed
meshctl policy set residency=on >/dev/null
WANT=true
hm_check "residency on pushed again" hm_wait_for 15 all_pushed

# ---- z1's traffic on B's port of the WAN ----
# z1_at_b PCAP: the relay frames between z1's gateways (1 and 3: source and
# destination) in a capture of B's port, either way.
z1_at_b() {
	tshark -r "$1" -T fields -e udp.payload -Y "udp.port == 51820" 2>/dev/null |
		python3 -c '
import sys
n = 0
for line in sys.stdin:
    p = bytes.fromhex(line.strip().replace(":", ""))
    if len(p) >= 32 and p[0] == 0xF0 and 2 <= p[4] <= 4:
        src, dst = int.from_bytes(p[6:8], "big"), int.from_bytes(p[8 + 2 * (p[4] - 1):10 + 2 * (p[4] - 1)], "big")
        n += src in (1, 3) and dst in (1, 3)
print(n)'
}
capture_b() {
	rm -f "$HM_TMP/$1.pcap"
	hm_bg "$RIG_WAN" "tshark-$1" tshark -Q -i "${RIG_REGIONS[1]}" -s 128 -w "$HM_TMP/$1.pcap" -f "udp port 51820"
	CAPTURE=$HM_LAST_PID
	hm_wait_for 10 test -s "$HM_TMP/$1.pcap"
}
capture_end() {
	sleep 0.5
	hm_stop "$CAPTURE"
}

# Residency off and a slow A-C link: the cheapest path between z1's two
# gateways is through B, and the capture on B's port sees it.
meshctl policy set residency=off >/dev/null
WANT=false
hm_check "residency off pushed" hm_wait_for 15 all_pushed
rig_link 1 3 delay=150ms >/dev/null
hm_check "residency off, A-C slow: A -> C through B" hm_wait_for 30 meshd_route_is 1 10.3.0.2 3 2 2
hm_check "capture on B's port listening" capture_b off
hm_check "ping A -> C through B" hm_ping "$VMA" 10.3.0.2 "$PINGS" 0.1
capture_end
n=$(z1_at_b "$HM_TMP/off.pcap")
hm_log "residency off: $n z1 relay frames on B's port"
hm_check "the capture on B's port sees z1's traffic (>= $PINGS frames)" test "$n" -ge "$PINGS"

# Residency on: back to direct, and while the links change under a ping
# every 50 ms (A-C fast, slow again, A-B and B-C fast: meshd recomputes
# every time), not one z1 frame on B's port.
meshctl policy set residency=on >/dev/null
WANT=true
hm_check "residency on pushed" hm_wait_for 15 all_pushed
hm_check "A -> C direct again" hm_wait_for 30 meshd_route_is 1 10.3.0.2 3 3 1
hm_check "C -> A direct again" hm_wait_for 30 meshd_route_is 3 10.1.0.2 1 1 1
hm_check "capture on B's port listening" capture_b on
ip netns exec "$VMA" ping -n -q -c 160 -i 0.05 -W 1 10.3.0.2 >"$HM_TMP/moving.txt" 2>&1 &
ping_pid=$!
for d in "1 3 delay=10ms" "1 3 delay=150ms" "1 2 delay=5ms" "2 3 delay=5ms"; do
	sleep 2
	# shellcheck disable=SC2086 # "A B SETTING" as three words
	rig_link $d >/dev/null
done
wait "$ping_pid"
capture_end
n=$(z1_at_b "$HM_TMP/on.pcap")
hm_log "residency on: $n z1 relay frames on B's port; ping: $(grep -o '[0-9]* received' "$HM_TMP/moving.txt")"
hm_check "no z1 frame on B's port while paths moved" test "$n" -eq 0
hm_check "A -> C still direct" meshd_route_is 1 10.3.0.2 3 3 1
rig_set_default_delays >/dev/null

# ---- a stale source: the relay stops it ----
hm_check "meshd of us-east stops" meshd_stop 1
hm_ctl "$A" residency off | grep -q '"ok"' || hm_fail "residency off at A"
hm_check "A's stale path to C through B" rig_path 1 3 2
b_res=$(rig_counter 2 drops.residency) b_rel=$(rig_counter 2 relayed)
c_hops2=$(rig_counter 3 delivered_by_hops.2)
ip netns exec "$VMA" ping -n -c "$PINGS" -i 0.1 -W 1 10.3.0.2 >"$HM_TMP/stale.txt" 2>&1
b_res=$(($(rig_counter 2 drops.residency) - b_res)) b_rel=$(($(rig_counter 2 relayed) - b_rel))
hm_log "B counted $b_res residency drop(s), relayed $b_rel"
hm_check "B dropped A's $PINGS pings to C as residency" test "$b_res" -ge "$PINGS"
hm_check "B relayed none of them" test "$b_rel" -eq 0
hm_check "C got none of them through B" test "$(rig_counter 3 delivered_by_hops.2)" -eq "$c_hops2"
hm_check "no answer came back" grep -q " 100% packet loss" "$HM_TMP/stale.txt"

# ---- the source stops it itself ----
hm_ctl "$A" residency on | grep -q '"ok"' || hm_fail "residency on at A"
a_res=$(rig_counter 1 drops.residency) b_res=$(rig_counter 2 drops.residency)
b_rel=$(rig_counter 2 relayed)
ip netns exec "$VMA" ping -n -c "$PINGS" -i 0.1 -W 1 10.3.0.2 >/dev/null 2>&1
a_res=$(($(rig_counter 1 drops.residency) - a_res))
hm_log "A counted $a_res residency drop(s)"
hm_check "A sent none of its $PINGS pings on the stale path (residency at A)" test "$a_res" -ge "$PINGS"
hm_check "B saw none of them" test "$(rig_counter 2 drops.residency)" -eq "$b_res" -a \
	"$(rig_counter 2 relayed)" -eq "$b_rel"

# ---- between zones: relayed ----
hm_check "A reaches B through C" rig_path 1 2 3
c_rel=$(rig_counter 3 relayed)
hm_check "ping A -> B through C, z1 -> z2" hm_ping "$VMA" 10.2.0.2 "$PINGS"
hm_check "C relayed them (>= $PINGS)" test $(($(rig_counter 3 relayed) - c_rel)) -ge "$PINGS"
hm_check "A reaches C directly" rig_path 1 3 3
hm_check "ping A -> C directly" hm_ping "$VMA" 10.3.0.2 3

for r in 2 3; do
	hm_check "meshd of $(rig_region_name "$r") exits 0 on SIGTERM" meshd_stop "$r"
done
hm_log "passed"
