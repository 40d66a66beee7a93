#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# meshd on a real etcd cluster inside the rig: three regions, us-east (1),
# us-west (2), eu-west (3), and a management network (a bridge in P-mgmt) that
# joins the gateways' namespaces (mgmt0, 172.31.0.R) to three etcd members,
# each in a namespace of its own (P-etcdN, 172.31.0.1N, Debian's etcd-server).
# meshctl runs in P-mgmt; every meshd has all three members as endpoints, the
# leader first, so that killing it makes every meshd move to another.
#
#  - regions 1 and 2 are registered and routed; a ping from us-east's VM to
#    us-west's every 10 ms runs from here to the end (the established flow);
#  - the leader is killed (SIGKILL): nothing changes; region 3 is then added
#    with meshctl through the two members left, timed as in meshd_region: a
#    route on every gateway within ETCD_ROUTE_MS (docs/OPERATIONS.md: 2 s
#    with the leader just killed, 2.5 s with ASan);
#  - the remaining members are stopped for 30 s: meshd keeps the last good
#    state (routes and peers unchanged, not one ping lost), and link state
#    still travels between the meshds (it never goes through etcd): every
#    meshd holds all 6 links, advertised during the outage;
#  - all three are started again (same data): every meshd says the registry
#    is back, and a change made now (a new prefix for eu-west) reaches every
#    gateway through the re-established watch;
#  - idle for 10 s: etcd's revision does not move (no meshd writes to it),
#    and every meshd holds the registry at that revision (`meshctl status`).
#  - etcd slow: the leader (moved to the member first in meshd's endpoints)
#    stopped with SIGSTOP for 10 s, its connections open and silent, and the
#    direct link us-east - us-west cut 100 ms into it: us-east's traffic to
#    us-west moves to the relay through eu-west with under CUT_LOSS_MS of
#    loss (docs/OPERATIONS.md: 500 ms), as with the registry well: meshd's
#    loop never waits on the registry.
set -u
. "$(dirname "$0")/../rig/rig.sh"
. "$(dirname "$0")/../lib/scenario.sh"

OUTAGE_S=${OUTAGE_S:-30}
CUT_LOSS_MS=500
CUT_PINGS=500 # every 10 ms: the cut 2 s in, the flow past the 10 s stop
ETCD_ROUTE_MS=2000
hm_sanitized "$MESHD" && ETCD_ROUTE_MS=2500

hm_init meshd_etcd
hm_require_root
command -v etcd >/dev/null 2>&1 ||
	hm_fail "needs etcd (Debian package etcd-server; scripts/install-deps.sh installs it)"
hm_require_cmd etcdctl curl python3
export ETCDCTL_API=3
meshd_init
rig_up 3 1

# ---- the management network and the etcd members ----
MGMT=$HM_PREFIX-mgmt
hm_ns mgmt
ip -n "$MGMT" link add br0 type bridge && ip -n "$MGMT" addr add 172.31.0.254/24 dev br0 &&
	ip -n "$MGMT" link set br0 up || hm_fail "cannot make the management bridge"
mgmt_port() { # NS ADDR PORT: NS joins the management bridge (port PORT) with ADDR on mgmt0
	hm_veth "$1" mgmt0 "$MGMT" "$3"
	ip -n "$MGMT" link set dev "$3" master br0 &&
		ip -n "$1" addr add "$2/24" dev mgmt0
}
for r in 1 2 3; do
	mgmt_port "$(rig_gw "$r")" "172.31.0.$r" "m-gw$r" || hm_fail "no management port for region $r"
done
declare -A ETCD_PID ETCD_URL
MEMBERS=""
for m in 1 2 3; do
	hm_ns "etcd$m"
	mgmt_port "$HM_PREFIX-etcd$m" "172.31.0.1$m" "m-etcd$m" || hm_fail "no management port for etcd$m"
	ETCD_URL[$m]=http://172.31.0.1$m:2379
	MEMBERS=${MEMBERS:+$MEMBERS,}e$m=http://172.31.0.1$m:2380
done
ALL_URLS="${ETCD_URL[1]},${ETCD_URL[2]},${ETCD_URL[3]}"

# etcd_start M: member M, in its namespace, on its data dir (which, once it
# exists, is all a restarted member needs). Log: etcdM-START.log.
ETCD_STARTS=0
etcd_start() {
	local m=$1
	ETCD_STARTS=$((ETCD_STARTS + 1))
	hm_bg "$HM_PREFIX-etcd$m" "etcd$m-$ETCD_STARTS" etcd --name "e$m" --data-dir "$HM_TMP/etcd$m" \
		--listen-client-urls "${ETCD_URL[$m]}" --advertise-client-urls "${ETCD_URL[$m]}" \
		--listen-peer-urls "http://172.31.0.1$m:2380" \
		--initial-advertise-peer-urls "http://172.31.0.1$m:2380" \
		--initial-cluster "$MEMBERS" --initial-cluster-token "$HM_PREFIX-registry"
	ETCD_PID[$m]=$HM_LAST_PID
}
etcd_healthy() { # URL
	ip netns exec "$MGMT" etcdctl --endpoints="$1" --dial-timeout=1s endpoint health >/dev/null 2>&1
}
etcd_leader() { # prints the member number of the leader
	ip netns exec "$MGMT" etcdctl --endpoints="$ALL_URLS" endpoint status -w json 2>/dev/null |
		python3 -c '
import json, sys
for st in json.load(sys.stdin):
    if st["Status"]["header"]["member_id"] == st["Status"]["leader"]:
        print(st["Endpoint"].split(":")[1][-1])'
}
for m in 1 2 3; do etcd_start "$m"; done
for m in 1 2 3; do
	hm_check "etcd member $m up on ${ETCD_URL[$m]}" hm_wait_for 20 etcd_healthy "${ETCD_URL[$m]}"
done
LEADER=""
for i in $(seq 50); do
	LEADER=$(etcd_leader)
	[ -n "$LEADER" ] && break
	sleep 0.2
done
[ -n "$LEADER" ] || hm_fail "the cluster has no leader"
MESHD_URLS=${ETCD_URL[$LEADER]}
for m in 1 2 3; do
	[ "$m" = "$LEADER" ] || MESHD_URLS=$MESHD_URLS,${ETCD_URL[$m]}
done
hm_log "etcd leader: member $LEADER; meshd's endpoints: $MESHD_URLS"

# meshctl from the management network; meshd from each gateway's namespace.
meshctl() { ip netns exec "$MGMT" "$MESHCTL" --registry "etcd:$MESHD_URLS" "$@"; }

# ---- regions 1 and 2, then the established flow ----
for r in 1 2; do
	hm_check "meshctl gateway add $(rig_region_name "$r")" meshd_add_gateway "$r"
	hm_check "meshctl vm add ($(rig_region_name "$r"))" meshd_add_vms "$r"
done
# Region 3 comes later: nobody knows it yet, and it knows nobody.
rig_peer_down 1 3 && rig_peer_down 2 3 && rig_peer_down 3 1 && rig_peer_down 3 2 ||
	hm_fail "cannot remove the rig's peer entries for region 3"
for r in 1 2 3; do meshd_start "$r" "registry = etcd:$MESHD_URLS"; done
hm_check "us-east routes us-west's VMs" hm_wait_for 15 meshd_route_is 1 10.2.0.2 2
hm_check "us-west routes us-east's VMs" hm_wait_for 15 meshd_route_is 2 10.1.0.2 1
VMA=$(rig_vm 1 1)
hm_check "us-east vm1 -> us-west vm1" hm_wait_for 10 hm_ping "$VMA" 10.2.0.2 1
hm_check "links us-east <-> us-west measured" hm_wait_for 20 meshd_link_close 1 2 70

# The flow: pings every 10 ms until the end of the test, counted at the end.
meshd_flow_start flow "$VMA" 10.2.0.2 0.01
sleep 1

# ---- the leader dies ----
kill -KILL "${ETCD_PID[$LEADER]}"
wait "${ETCD_PID[$LEADER]}" 2>/dev/null
hm_forget "${ETCD_PID[$LEADER]}"
hm_log "killed etcd member $LEADER, the leader (SIGKILL)"
others=()
for m in 1 2 3; do [ "$m" = "$LEADER" ] || others+=("$m"); done
hm_check "the two members left elect a leader" hm_wait_for 15 etcd_healthy "${ETCD_URL[${others[0]}]}"

t0=$(now_ms)
meshd_add_gateway 3 || hm_fail "meshctl gateway add eu-west, one member down"
meshctl vm add vm1.eu-west --address 10.3.0.2 --gateway eu-west >/dev/null ||
	hm_fail "meshctl vm add, one member down"
worst=$(meshd_time_region3 "$t0")
echo "meshd_etcd: with the leader dead, region 3 routed on every gateway after $worst ms" \
	"(bound $ETCD_ROUTE_MS ms)" >&2
hm_check "route on every gateway within $ETCD_ROUTE_MS ms ($worst ms)" test "$worst" -le "$ETCD_ROUTE_MS"
hm_check "eu-west vm1 -> us-east vm1" hm_wait_for 10 hm_ping "$(rig_vm 3 1)" 10.1.0.2 1
hm_check "all 6 links in every meshd's link-state database" hm_wait_for 20 meshd_links_settled 3
if grep -q 'registry unreachable' "$HM_TMP"/meshd-*.log; then
	grep -h 'registry unreachable' "$HM_TMP"/meshd-*.log >&2
	hm_fail "a meshd lost the registry when one member of three died"
fi

# ---- every member stopped for OUTAGE_S seconds ----
state() { # R: the gateway's routes and peers (keys, endpoints, allowed IPs)
	local g
	g=$(rig_gwname "$1")
	hm_ctl "$g" dump routes && wg show "$g" peers && wg show "$g" endpoints && wg show "$g" allowed-ips
}
for r in 1 2 3; do state "$r" >"$HM_TMP/state-$r.before" || hm_fail "cannot read region $r's state"; done
t_outage=$(now_ms)
for m in "${others[@]}"; do
	hm_stop "${ETCD_PID[$m]}"
done
hm_log "all etcd members stopped; waiting $OUTAGE_S s"
hm_check "every meshd noticed the registry is gone" hm_wait_for 10 \
	bash -c "[ \$(grep -l 'registry unreachable' '$HM_TMP'/meshd-*.log | wc -l) -eq 3 ]"
sleep "$OUTAGE_S"
for r in 1 2 3; do
	state "$r" >"$HM_TMP/state-$r.during" || hm_fail "cannot read region $r's state"
	hm_check "$(rig_region_name "$r")'s routes and peers unchanged through the outage" \
		cmp -s "$HM_TMP/state-$r.before" "$HM_TMP/state-$r.during"
done
hm_check "us-west vm1 -> eu-west vm1 during the outage" hm_ping "$(rig_vm 2 1)" 10.3.0.2 3
links_fresh() { # R T0: region R's meshd holds all 6 links, up, each advertised since T0
	meshctl --json link show --from "$(rig_region_name "$1")" | python3 -c '
import json, sys
t0 = int(sys.argv[1])
links = json.load(sys.stdin)["links"]
sys.exit(not (len(links) == 6 and all(l["up"] and l["updated_unix_ms"] >= t0 for l in links)))' "$2"
}
for r in 1 2 3; do
	hm_check "$(rig_region_name "$r")'s meshd holds all 6 links, advertised during the outage" \
		links_fresh "$r" "$t_outage"
done

# ---- the members return ----
for m in 1 2 3; do etcd_start "$m"; done
for m in 1 2 3; do
	hm_check "etcd member $m back" hm_wait_for 20 etcd_healthy "${ETCD_URL[$m]}"
done
hm_check "every meshd says the registry is back" hm_wait_for 15 \
	bash -c "[ \$(grep -l 'registry reachable again' '$HM_TMP'/meshd-*.log | wc -l) -eq 3 ]"
t1=$(now_ms)
meshctl gateway add eu-west --id 3 --public-key "$(cat "$HM_TMP/$(rig_gwname 3).pub")" \
	--endpoint 192.168.50.3:51820 --endpoint6 "[fd00:50::3]:51820" \
	--prefix 10.3.0.0/24 --prefix fd00:3::/64 --prefix 10.33.0.0/24 \
	--overlay4 10.3.0.1 --overlay6 fd00:3::1 --region eu-west >/dev/null || hm_fail "meshctl gateway add (new prefix)"
hm_check "the new prefix is routed on us-east" hm_wait_for 10 meshd_route_is 1 10.33.0.9 3
hm_check "and on us-west" hm_wait_for 10 meshd_route_is 2 10.33.0.9 3
echo "meshd_etcd: members back: a change routed on every gateway after" \
	"$(($(now_ms) - t1)) ms" >&2

# ---- idle: the meshds write nothing (links go between them) ----
etcd_revision() {
	ip netns exec "$MGMT" etcdctl --endpoints="$ALL_URLS" endpoint status -w json | python3 -c '
import json, sys
print(max(s["Status"]["header"]["revision"] for s in json.load(sys.stdin)))'
}
rev0=$(etcd_revision) || hm_fail "no revision from etcd"
sleep 10
rev1=$(etcd_revision) || hm_fail "no revision from etcd"
echo "meshd_etcd: idle with 3 meshds: $((rev1 - rev0)) etcd writes in 10 s" >&2
hm_check "no etcd write in 10 s of idle ($((rev1 - rev0)))" test $((rev1 - rev0)) -eq 0
meshd_revision() { # R: the registry revision region R's meshd holds, as `meshctl status` shows it
	meshctl --json status "$(rig_gwname "$1")" --run-dir "$HM_TMP/run" |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["meshd"]["registry_revision"])'
}
for r in 1 2 3; do
	hm_check "$(rig_region_name "$r")'s meshd holds the registry at etcd's revision $rev1" \
		test "$(meshd_revision "$r")" = "$rev1"
done

# ---- the flow ----
meshd_flow_end
echo "meshd_etcd: established flow us-east -> us-west over $FLOW_S s: $FLOW_SENT pings sent" \
	"in $FLOW_SPAN_MS ms, $FLOW_LOST lost, longest gap between answers $FLOW_GAP_MS ms, between" \
	"sends $FLOW_SENDGAP_MS ms (across the leader's death and a ${OUTAGE_S} s registry outage)" >&2
meshd_flow_checks

# ---- etcd slow: the leader stopped while a backbone link is cut ----
member_id() { # M: etcd's hex id of member M
	ip netns exec "$MGMT" etcdctl --endpoints="${ETCD_URL[$1]}" endpoint status -w json 2>/dev/null |
		python3 -c 'import json, sys; print("%x" % json.load(sys.stdin)[0]["Status"]["header"]["member_id"])'
}
now_leader=$(etcd_leader)
if [ "$now_leader" != "$LEADER" ]; then
	hm_check "leadership moved to member $LEADER (first in meshd's endpoints)" \
		ip netns exec "$MGMT" etcdctl --endpoints="${ETCD_URL[$now_leader]}" \
		move-leader "$(member_id "$LEADER")"
fi
leader_is() { [ "$(etcd_leader)" = "$1" ]; }
hm_check "member $LEADER leads" hm_wait_for 10 leader_is "$LEADER"
hm_check "us-east -> us-west direct" meshd_route_is 1 10.2.0.2 2 2 1
meshd_flow_start cut "$VMA" 10.2.0.2 0.01 "$CUT_PINGS"
sleep 2
kill -STOP "${ETCD_PID[$LEADER]}"
stopped=$(now_ms)
hm_log "etcd member $LEADER, the leader, stopped (SIGSTOP)"
sleep 0.1
t0=$(now_ms)
rig_link 1 2 down >/dev/null || hm_fail "cannot cut the link"
moved=$(meshd_watch_route 1 10.2.0.2 2 3 2 "$t0")
sleep $(((10000 - ($(now_ms) - stopped)) / 1000)).5
kill -CONT "${ETCD_PID[$LEADER]}"
hm_log "etcd member $LEADER continued after $(($(now_ms) - stopped)) ms"
meshd_flow_end
echo "meshd_etcd: etcd leader stopped, link cut: us-east's route through eu-west after $moved ms;" \
	"$FLOW_LOST of $FLOW_SENT pings sent lost = $FLOW_LOSS_MS ms of loss (bound $CUT_LOSS_MS ms)" >&2
hm_check "us-east moved to the relay ($moved ms)" test "$moved" -ge 0
hm_check "ping sent all $CUT_PINGS ($FLOW_SENT)" test "$FLOW_SENT" -eq "$CUT_PINGS"
hm_check "loss under $CUT_LOSS_MS ms with the leader stopped ($FLOW_LOSS_MS ms)" \
	test "$FLOW_LOSS_MS" -ge 0 -a "$FLOW_LOSS_MS" -lt "$CUT_LOSS_MS"
rig_link 1 2 up >/dev/null || hm_fail "cannot heal the link"

for r in 1 2 3; do
	hm_check "meshd of $(rig_region_name "$r") exits 0 on SIGTERM" meshd_stop "$r"
done
hm_log "passed"
