#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# meshd's netlink watch of its backbone interface (controlplane/netlink.c,
# `backbone_interface` in docs/OPERATIONS.md), on the rig: us-east (1),
# us-west (2), eu-west (3), a meshd per gateway (tests/lib/scenario.sh),
# each watching bb0, its gateway's backbone port as the kernel sees it.
#
# The documented reaction: when the interface goes down, every link of that
# gateway is marked down at once, without waiting for the probes to miss. The
# probes here would take DETECT_MS (100 intervals of 50 ms: 5 s); us-east's
# bb0 is taken down and both of us-east's links as its meshd holds them
# (meshctl link show --from us-east: what it routes on and advertises) must
# read down within BOUND_MS, with meshd logging "backbone interface bb0 is down" and no
# probe having declared a link down yet. Brought up again (before the probes
# would have missed), the links must read up within BOUND_MS and the tunnel
# carry a ping.
set -u
. "$(dirname "$0")/../rig/rig.sh"
. "$(dirname "$0")/../lib/scenario.sh"

BOUND_MS=${BOUND_MS:-2000}
DETECT_MS=5000

hm_init netlink_backbone
hm_require_root
meshd_init
rig_up 3 1
meshd_mesh_up "detect_multiplier = 100"
LOG=$HM_TMP/meshd-$(rig_gwname 1).log
GW1=$(rig_gw 1)

hm_check "meshd saw bb0 up at start" grep -q "backbone interface bb0 is up" "$LOG"
# us_east_links STATE: both of us-east's links read STATE (True/False).
us_east_links() {
	[ "$(meshd_link_field 1 2 up)" = "$1" ] && [ "$(meshd_link_field 1 3 up)" = "$1" ]
}
# ms_until STATE: ms until us_east_links STATE holds, or -1 after 10 s.
ms_until() {
	local t0 t
	t0=$(now_ms)
	while :; do
		t=$(now_ms)
		us_east_links "$1" && { echo $((t - t0)); return 0; }
		[ $((t - t0)) -lt 10000 ] || { echo -1; return 1; }
		sleep 0.05
	done
}
# metrics_links_up N: us-east's metrics page shows N of its 2 links up, as
# meshctl does (the gauge used to ignore the backbone interface).
metrics_links_up() {
	[ "$(ip netns exec "$GW1" curl -sf http://127.0.0.1:9464/metrics |
		awk '/^hopmesh_link_up\{/ { n++; up += $2 } END { print n + 0, up + 0 }')" = "2 $1" ]
}
hm_check "us-east's links up" us_east_links True
hm_check "metrics show both links up" hm_wait_for 2 metrics_links_up 2
hm_check "tunnel up before" hm_ping "$(rig_vm 1 1)" "$(rig_vm_addr 2 1)" 3

ip -n "$GW1" link set dev bb0 down || hm_fail "cannot take bb0 down"
down=$(ms_until False)
hm_log "bb0 down: us-east's links down after $down ms (probes alone: $DETECT_MS ms)"
hm_check "meshd logged the backbone down" grep -q "backbone interface bb0 is down" "$LOG"
hm_check "links down within $BOUND_MS ms" test "$down" -ge 0 -a "$down" -le "$BOUND_MS"
hm_check "metrics show both links down" hm_wait_for 2 metrics_links_up 0
hm_check "no probe had declared a link down (netlink did it)" bash -c "! grep -q 'link to gateway [0-9]* down' '$LOG'"

ip -n "$GW1" link set dev bb0 up || hm_fail "cannot bring bb0 up"
up=$(ms_until True)
hm_log "bb0 up: us-east's links up after $up ms"
hm_check "meshd logged the backbone up again" \
	test "$(grep -c "backbone interface bb0 is up" "$LOG")" -ge 2
hm_check "links up within $BOUND_MS ms" test "$up" -ge 0 -a "$up" -le "$BOUND_MS"
hm_check "tunnel carries a ping again" hm_wait_for 10 hm_ping "$(rig_vm 1 1)" "$(rig_vm_addr 2 1)" 1
for r in 1 2 3; do hm_check "meshd $r stops cleanly" meshd_stop "$r"; done
