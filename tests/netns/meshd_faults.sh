#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# meshd on the rig when things go wrong: us-east (1), us-west (2), eu-west (3),
# embedded registry, a meshd per gateway.
#
#  - bad entries written straight into the registry's directory (as a broken
#    tool or a careless hand would): truncated JSON, a bad public key, a
#    newcomer whose prefix overlaps us-west's (its name sorts first), us-west's
#    own record truncated, a VM moved outside its gateway, a policy out of
#    range. Every meshd logs each of them, and nothing else changes: the
#    gateways' peers, ids and routes are as before, and a flow of pings
#    between us-west and eu-west loses nothing. Mended with meshctl, still
#    nothing changes.
#  - us-east's gateway and meshd die (SIGKILL) under a flow between us-west
#    and eu-west: that flow loses nothing. Both are started again as a
#    service manager would, with nothing else done: meshd gives the fresh
#    gateway its peers and routes from the registry, and us-east's VM reaches
#    the others again (time printed);
#  - us-east's gateway alone dies and comes back: its meshd, still running,
#    gives it its peers and routes as soon as it answers (< 1.5 s).
set -u
. "$(dirname "$0")/../rig/rig.sh"
. "$(dirname "$0")/../lib/scenario.sh"

hm_init meshd_faults
hm_require_root
meshd_init
rig_up 3 1
meshd_mesh_up
for r in 1 2 3; do
	for s in 1 2 3; do
		[ "$r" = "$s" ] || hm_check "$(rig_region_name "$r") -> $(rig_region_name "$s") direct" \
			hm_wait_for 10 meshd_route_is "$r" "10.$s.0.2" "$s" "$s" 1
	done
done
VM2=$(rig_vm 2 1)

# state R: the gateway's routes, gateway ids and peers (keys, endpoints,
# allowed IPs): the configuration meshd installs. wg lists peers in the order
# they were added, which a restart may change: sorted. Not the link states
# meshd pushes ("link"): they follow the probes, and a dead gateway's goes
# down (checked on its own below).
state() {
	local g
	g=$(rig_gwname "$1")
	hm_ctl "$g" dump routes && hm_ctl "$g" dump gateways | sed 's/,"link":"[a-z]*"//g' &&
		{ wg show "$g" endpoints && wg show "$g" allowed-ips; } | sort
}
save_state() { # TAG
	local r
	for r in 1 2 3; do state "$r" >"$HM_TMP/state-$r.$1" || return 1; done
}
same_state() { # TAG_A TAG_B
	local r ok=0
	for r in 1 2 3; do
		cmp -s "$HM_TMP/state-$r.$1" "$HM_TMP/state-$r.$2" && continue
		hm_log "$(rig_region_name "$r")'s state changed:"
		diff "$HM_TMP/state-$r.$1" "$HM_TMP/state-$r.$2" >&2
		ok=1
	done
	return "$ok"
}
# flow_start NAME: pings every 10 ms from us-west's VM to eu-west's.
flow_start() { meshd_flow_start "$1" "$VM2" 10.3.0.2 0.01; }
# flow_end WHAT: stops it, prints and checks what it lost of what it sent.
flow_end() {
	meshd_flow_end
	echo "meshd_faults: $1: us-west -> eu-west flow over $FLOW_S s: $FLOW_SENT pings sent" \
		"in $FLOW_SPAN_MS ms, $FLOW_LOST lost, longest gap between answers $FLOW_GAP_MS ms," \
		"between sends $FLOW_SENDGAP_MS ms" >&2
	meshd_flow_checks
}

# ---- bad entries straight into the registry ----
save_state before || hm_fail "cannot read the gateways' state"
flow_start corrupt
sleep 1
key=$(wg genkey | wg pubkey)
REG=$MESHD_REG
printf '{"name":"ap-south","id":9,"region":"ap-south","public_key":"%s","endpoint4":"192.168.50.9:51820","pref' \
	"$key" >"$REG/gateways/ap-south.json"
printf '{"name":"aa-badkey","id":10,"region":"x","public_key":"not-a-key","endpoint4":"192.168.50.10:51820","prefixes":["10.10.0.0/24"]}' \
	>"$REG/gateways/aa-badkey.json"
printf '{"name":"aa-overlap","id":11,"region":"x","public_key":"%s","endpoint4":"192.168.50.11:51820","prefixes":["10.2.0.0/16"]}' \
	"$key" >"$REG/gateways/aa-overlap.json"
head -c 60 "$REG/gateways/us-west.json" >"$REG/gateways/us-west.json.cut" &&
	mv "$REG/gateways/us-west.json.cut" "$REG/gateways/us-west.json"
printf '{"name":"vm1.us-east","address":"10.3.0.77","gateway":"us-east"}' >"$REG/vms/vm1.us-east.json"
printf '{"hop_limit":0}' >"$REG/policy.json"
BAD=(gateways/ap-south.json gateways/aa-badkey.json gateways/aa-overlap.json
	gateways/us-west.json vms/vm1.us-east.json policy.json)
logged_everywhere() { # ENTRY: every meshd logged it as ignored
	local r
	for r in 1 2 3; do
		grep -q "registry entry ignored: $REG/$1" "$HM_TMP/meshd-$(rig_gwname "$r").log" || return 1
	done
}
for b in "${BAD[@]}"; do
	hm_check "every meshd logged $b" hm_wait_for 10 logged_everywhere "$b"
done
grep -h 'registry entry ignored' "$HM_TMP/meshd-$(rig_gwname 1).log" >&2
sleep 3 # several reloads and path updates
save_state corrupt || hm_fail "cannot read the gateways' state"
hm_check "peers, ids and routes unchanged on every gateway" same_state before corrupt
hm_check "all 6 links still published" meshd_links_settled 3
hm_check "us-east vm1 -> us-west vm1" hm_ping "$(rig_vm 1 1)" 10.2.0.2 3 0.05

# Mended with meshctl (and the unknowns removed): still nothing changes.
rm -f "$REG/gateways/ap-south.json" "$REG/gateways/aa-badkey.json" "$REG/gateways/aa-overlap.json"
hm_check "meshctl gateway add us-west (mends it)" meshd_add_gateway 2
hm_check "meshctl vm add (mends vm1.us-east)" meshd_add_vms 1
hm_check "meshctl policy set (mends it)" meshctl policy set hop_limit=2 >/dev/null
sleep 2
save_state mended || hm_fail "cannot read the gateways' state"
hm_check "still unchanged after the mending" same_state before mended
flow_end "bad registry entries"
grep -q 'panic\|Sanitizer\|runtime error' "$HM_TMP"/meshd-*.log && hm_fail "a meshd reported an error"

# ---- us-east's gateway and meshd killed ----
flow_start kill
sleep 1
hm_kill9 "${MESHD_PIDS[1]}"
hm_kill9 "${RIG_GWPID[0]}"
hm_log "killed us-east's gateway and meshd (SIGKILL)"
hm_check "the others see the link down" hm_wait_for 10 \
	bash -c "grep -q 'link to gateway 1 down' '$HM_TMP/meshd-$(rig_gwname 2).log'"
sleep 3
for r in 2 3; do
	state "$r" >"$HM_TMP/state-$r.killed"
	hm_check "$(rig_region_name "$r")'s peers and gateway ids kept" bash -c \
		"diff <(grep -v '^{\"routes\"' '$HM_TMP/state-$r.before') <(grep -v '^{\"routes\"' '$HM_TMP/state-$r.killed')"
	hm_check "$(rig_region_name "$r")'s gateway holds its link to us-east as down" meshd_link_is "$r" 1 down
done
hm_check "us-west -> eu-west still direct" meshd_route_is 2 10.3.0.2 3 3 1
flow_end "us-east's gateway and meshd killed"

# Started again, as systemd's Restart= would: the same config and key, and
# nothing else.
t0=$(now_ms)
rig_hopmesh_start 1
meshd_start 1
gw_answers() { hm_ctl "$(rig_gwname 1)" version >/dev/null 2>&1; }
hm_check "us-east's gateway answers again" hm_wait_for 15 gw_answers
t_gw=$(($(now_ms) - t0))
hm_check "us-east routes us-west's VMs again" hm_wait_for 15 meshd_route_is 1 10.2.0.2 2 2 1
hm_check "and eu-west's" hm_wait_for 15 meshd_route_is 1 10.3.0.2 3 3 1
t_routes=$(($(now_ms) - t0))
hm_check "us-east vm1 -> us-west vm1" hm_wait_for 20 hm_ping "$(rig_vm 1 1)" 10.2.0.2 1 0.05
t_ping=$(($(now_ms) - t0))
hm_check "us-east vm1 -> eu-west vm1" hm_wait_for 20 hm_ping "$(rig_vm 1 1)" 10.3.0.2 1 0.05
hm_check "us-west vm1 -> us-east vm1 (IPv6)" hm_wait_for 20 hm_ping "$VM2" fd00:1::2 1 0.05
echo "meshd_faults: us-east restarted: its gateway up after $t_gw ms, routes from the registry" \
	"after $t_routes ms, first ping to us-west answered after $t_ping ms" >&2
hm_check "links measured again" hm_wait_for 30 meshd_links_settled 3
save_state restarted || hm_fail "cannot read the gateways' state"
hm_check "every gateway's state as before the crash" same_state before restarted

# ---- the gateway alone dies; its meshd stays ----
# meshd sees the gateway answer again and gives it everything at once, not
# at its next periodic pass.
hm_kill9 "${RIG_GWPID[0]}"
hm_check "meshd notices the gateway is gone" hm_wait_for 5 \
	bash -c "grep -q 'the gateway does not answer' '$HM_TMP/meshd-$(rig_gwname 1).log'"
rig_hopmesh_start 1
hm_check "us-east's gateway answers again" hm_wait_for 15 gw_answers
t0=$(now_ms)
hm_check "us-east routes us-west's VMs again" hm_wait_for 10 meshd_route_is 1 10.2.0.2 2 2 1
t_routes=$(($(now_ms) - t0))
hm_check "us-east vm1 -> us-west vm1" hm_wait_for 20 hm_ping "$(rig_vm 1 1)" 10.2.0.2 1 0.05
echo "meshd_faults: us-east's gateway alone restarted: routes from its meshd $t_routes ms after" \
	"it answered" >&2
hm_check "routes within 1.5 s of the gateway answering ($t_routes ms)" test "$t_routes" -le 1500

for r in 1 2 3; do
	hm_check "meshd of $(rig_region_name "$r") exits 0 on SIGTERM" meshd_stop "$r"
done
hm_log "passed"
