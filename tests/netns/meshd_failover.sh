#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Failover with meshd on the rig: us-east (1), us-west (2), eu-west (3) with
# the default delays, every region in the registry, a meshd per gateway, and a
# ping from us-east's VM to us-west's every 10 ms.
#
#  - the direct link us-east - us-west is cut in the WAN emulator: traffic
#    moves to the relay through eu-west with under 500 ms of loss (the pings
#    sent and never answered, x their interval);
#  - healed, the path returns to direct after the hold time (within 3 s: the
#    outage is down-time, not loss held against the link);
#  - 200 ms more delay on the direct link moves traffic to the relay within
#    2 s, and loses no ping;
#  - +-10 ms of jitter on every link for 60 s, with the direct path and the
#    relay of equal cost, moves no route (hysteresis).
set -u
. "$(dirname "$0")/../rig/rig.sh"
. "$(dirname "$0")/../lib/scenario.sh"

LOSS_BOUND_MS=${LOSS_BOUND_MS:-500}
DELAY_BOUND_MS=${DELAY_BOUND_MS:-2000}
CUT_PINGS=500   # every 10 ms (ping keeps about 15 ms here): the cut 2 s in
DELAY_PINGS=400

hm_init meshd_failover
hm_require_root
meshd_init
rig_up 3 1
meshd_mesh_up
hm_check "us-east -> us-west direct" meshd_route_is 1 10.2.0.2 2 2 1
hm_check "us-west -> us-east direct" meshd_route_is 2 10.1.0.2 1 1 1
VMA=$(rig_vm 1 1)

# ---- the direct link cut ----
meshd_flow_start cut "$VMA" 10.2.0.2 0.01 "$CUT_PINGS"
sleep 2
t0=$(now_ms)
rig_link 1 2 down >/dev/null || hm_fail "cannot cut the link"
moved=$(meshd_watch_route 1 10.2.0.2 2 3 2 "$t0")
back=$(meshd_watch_route 2 10.1.0.2 1 3 2 "$t0")
meshd_flow_end
echo "meshd_failover: link cut: us-east's route through eu-west after $moved ms, us-west's after $back ms;" \
	"$FLOW_LOST of $FLOW_SENT pings sent lost = $FLOW_LOSS_MS ms of loss, longest gap between" \
	"answers $FLOW_GAP_MS ms" >&2
hm_check "the routes moved to the relay" test "$moved" -ge 0 -a "$back" -ge 0
hm_check "ping sent all $CUT_PINGS ($FLOW_SENT)" test "$FLOW_SENT" -eq "$CUT_PINGS"
hm_check "loss under $LOSS_BOUND_MS ms ($FLOW_LOSS_MS ms)" \
	test "$FLOW_LOSS_MS" -ge 0 -a "$FLOW_LOSS_MS" -lt "$LOSS_BOUND_MS"
hm_check "eu-west relayed" test "$(rig_counter 3 relayed)" -gt 0
meshctl trace 10.2.0.2 --from us-east >&2

# ---- healed: back to direct after the hold time ----
t0=$(now_ms)
rig_link 1 2 up >/dev/null
healed=$(meshd_watch_route 1 10.2.0.2 2 2 1 "$t0")
echo "meshd_failover: link healed: us-east's route direct again after $healed ms" >&2
hm_check "direct again within 3 s of healing (hold time 1 s)" test "$healed" -ge 0 -a "$healed" -le 3000
hm_check "us-west direct again" hm_wait_for 5 meshd_route_is 2 10.1.0.2 1 1 1

# ---- 200 ms more delay on the direct link ----
hm_wait_for 10 meshd_link_close 1 2 70
meshd_flow_start delay "$VMA" 10.2.0.2 0.01 "$DELAY_PINGS"
sleep 1
t0=$(now_ms)
rig_link 1 2 delay=235ms >/dev/null
moved=$(meshd_watch_route 1 10.2.0.2 2 3 2 "$t0")
meshd_flow_end
echo "meshd_failover: +200 ms delay: us-east's route through eu-west after $moved ms;" \
	"$FLOW_LOST of $FLOW_SENT pings sent lost ($FLOW_LOSS_MS ms), longest gap between answers" \
	"$FLOW_GAP_MS ms" >&2
hm_check "moved within $DELAY_BOUND_MS ms ($moved ms)" test "$moved" -ge 0 -a "$moved" -le "$DELAY_BOUND_MS"
hm_check "ping sent all $DELAY_PINGS ($FLOW_SENT)" test "$FLOW_SENT" -eq "$DELAY_PINGS"
hm_check "a slower link loses nothing ($FLOW_LOST lost)" test "$FLOW_LOST" -eq 0
grep -h 'link to gateway' "$HM_TMP"/meshd-*.log >&2

# ---- +-10 ms of jitter for 60 s: no route change ----
# Two paths of the same cost: direct us-east - us-west 100 ms, and through
# eu-west 40 + 60 ms. Without hysteresis the jitter would flip the route on
# every probe interval; with it, whichever path is in use stays.
rig_link 1 2 delay=50ms >/dev/null && rig_link 1 3 delay=20ms >/dev/null &&
	rig_link 2 3 delay=30ms >/dev/null || hm_fail "cannot set the delays"
settled_equal() { meshd_link_close 1 2 100 && meshd_link_close 1 3 40 && meshd_link_close 3 2 60 1; }
hm_check "links settle at 100, 40 and 60 ms" hm_wait_for 20 settled_equal
sleep 3 # past the hold time: the route in use is settled
route12=$(meshd_route 1 10.2.0.2) && route21=$(meshd_route 2 10.1.0.2) || hm_fail "no routes"
for p in "1 2" "1 3" "2 3"; do
	rig_link $p jitter=10ms >/dev/null || hm_fail "cannot set jitter"
done
JITTER_S=${JITTER_S:-60}
moves_before=$(cat "$HM_TMP"/meshd-*.log | grep -c 'path to gateway')
t_end=$(($(now_ms) + JITTER_S * 1000))
polls=0 changes=0
while [ "$(now_ms)" -lt "$t_end" ]; do
	a=$(meshd_route 1 10.2.0.2) && b=$(meshd_route 2 10.1.0.2) || { changes=$((changes + 1)); continue; }
	polls=$((polls + 1))
	if [ "$a" != "$route12" ] || [ "$b" != "$route21" ]; then
		hm_log "route changed: us-east '$route12' -> '$a', us-west '$route21' -> '$b'"
		changes=$((changes + 1))
		route12=$a route21=$b
	fi
	sleep 0.05
done
moves=$(($(cat "$HM_TMP"/meshd-*.log | grep -c 'path to gateway') - moves_before))
jit=$(meshd_link_field 1 2 jitter_ms)
echo "meshd_failover: +-10 ms jitter for $JITTER_S s on paths of equal cost (routes:" \
	"us-east->us-west '$route12', us-west->us-east '$route21'): $changes route changes in" \
	"$polls polls of both gateways, $moves path moves logged by the meshds; measured jitter" \
	"us-east->us-west ${jit} ms" >&2
hm_check "the jitter is there (measured ${jit} ms)" python3 -c "import sys; sys.exit(not float('$jit') >= 2)"
hm_check "no route change in $JITTER_S s ($changes)" test "$changes" -eq 0 -a "$moves" -eq 0
hm_check "the gateways were polled throughout ($polls)" test "$polls" -ge "$JITTER_S"

for r in 1 2 3; do
	hm_check "meshd of $(rig_region_name "$r") exits 0 on SIGTERM" meshd_stop "$r"
done
hm_log "passed"
