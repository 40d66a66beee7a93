#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Link damping with meshd on the rig: the four regions with the default
# delays but us-west - ap-northeast at 190 ms, every region in the registry, a
# meshd per gateway. us-east (1) - ap-northeast (4) is direct (200 ms); the
# best relay is us-west (70 + 190 ms). With the default 140 ms the relay
# (210 ms) would sit inside the router's hysteresis (better by 10 % and 5 ms):
# whichever path a meshd found first it would keep, and a gateway that
# measured the direct link late, or high while the host was loaded, stayed on
# the relay from the start.
#
#  - 30 % loss each way on us-east - ap-northeast for 60 s (51 % of round
#    trips lost, enough to trip the 250 ms detection every few seconds):
#    both ends' installed paths (the gateways' `route lookup`) move to the
#    relay through us-west within MOVE_BOUND_MS (2 s) of the onset, and stay
#    on a relay in at least 95 % of polls (a gateway stalled on the loaded
#    host has no path for a moment, and then sends direct); each meshd logs at most 2 link-state changes for the link
#    ("link to gateway N up/down", its own log, the damped state it routes
#    on), while its metrics count the detection tripping (flaps);
#  - pings us-east vm1 -> ap-northeast vm2, counted from what was sent: one
#    every 20 ms over the onset loses under MOVE_BOUND_MS of traffic, and
#    one every 50 ms for the rest of the minute under 5 % (the relay's legs
#    are clean; a loaded machine costs a few, the direct link would 51 %);
#  - healed, the link is up again within the longest hold-down (8 s) and
#    2 s of margin.
#
# A cut link still moving traffic to a relay with under 500 ms of loss is
# tests/netns/meshd_failover.sh.
set -u
. "$(dirname "$0")/../rig/rig.sh"
. "$(dirname "$0")/../lib/scenario.sh"

MOVE_BOUND_MS=${MOVE_BOUND_MS:-2000}
LOSSY_S=${LOSSY_S:-60}
MAX_CHANGES=2
UP_BOUND_MS=10000 # healed: the 8 s cap of the hold-down, and 2 s
FLOW_MAX_LOSS_PCT=5

hm_init meshd_damping
hm_require_root
hm_require_cmd curl
meshd_init
rig_up 4 1
rig_link 2 4 delay=95ms >/dev/null || hm_fail "cannot set us-west - ap-northeast to 95 ms"
for r in 1 2 3 4; do
	hm_check "meshctl gateway add $(rig_region_name "$r")" meshd_add_gateway "$r"
	hm_check "meshctl vm add ($(rig_region_name "$r"))" meshd_add_vms "$r"
done
for r in 1 2 3 4; do meshd_start "$r"; done
hm_check "all 12 links measured" hm_wait_for 30 meshd_links_settled 4
hm_check "us-east -> ap-northeast direct" hm_wait_for 10 meshd_route_is 1 10.4.0.2 4 4 1
hm_check "ap-northeast -> us-east direct" hm_wait_for 10 meshd_route_is 4 10.1.0.2 1 1 1
LOG1=$HM_TMP/meshd-$(rig_gwname 1).log
LOG4=$HM_TMP/meshd-$(rig_gwname 4).log
VMA=$(rig_vm 1 1)

# changes LOG ID FROM_LINE: the "link to gateway ID up/down" lines of LOG
# after line FROM_LINE.
changes() { tail -n +"$(($3 + 1))" "$1" | grep -cE "link to gateway $2 (up|down)"; }
# metric R NAME TO: the value of meshd R's NAME{to=TO}, or nothing.
metric() {
	ip netns exec "$(rig_gw "$1")" curl -sf http://127.0.0.1:9464/metrics |
		awk -v m="$2" -v to="$3" 'index($0, m "{") == 1 && index($0, "to=\"" to "\"") { print $2 }'
}

# ---- the onset: both ends on the relay within MOVE_BOUND_MS ----
rig_ctl seed 1 >/dev/null # the emulator's losses repeat from run to run
meshd_flow_start onset "$VMA" 10.4.0.2 0.02 250 # 5 s: the loss 1 s in
sleep 1
from1=$(wc -l <"$LOG1") from4=$(wc -l <"$LOG4")
t0=$(now_ms)
rig_link 1 4 loss=30% >/dev/null || hm_fail "the emulator refused loss=30%"
moved1=-1 moved4=-1
while :; do
	t=$(now_ms)
	[ "$moved1" -ge 0 ] || [ "$(meshd_route 1 10.4.0.2)" != "4 2 2" ] || moved1=$((t - t0))
	[ "$moved4" -ge 0 ] || [ "$(meshd_route 4 10.1.0.2)" != "1 2 2" ] || moved4=$((t - t0))
	[ "$moved1" -ge 0 ] && [ "$moved4" -ge 0 ] && break
	[ $((t - t0)) -lt 10000 ] || break
	sleep 0.01
done
meshd_flow_end
echo "meshd_damping: 30 % loss each way: us-east's path through us-west after $moved1 ms," \
	"ap-northeast's after $moved4 ms; onset flow: $FLOW_LOST of $FLOW_SENT pings lost" \
	"($FLOW_LOSS_MS ms of traffic)" >&2
grep -h 'path to gateway\|link to gateway' "$LOG1" "$LOG4" | tail -n 8 >&2
hm_check "us-east on the relay within $MOVE_BOUND_MS ms ($moved1 ms)" \
	test "$moved1" -ge 0 -a "$moved1" -le "$MOVE_BOUND_MS"
hm_check "ap-northeast on the relay within $MOVE_BOUND_MS ms ($moved4 ms)" \
	test "$moved4" -ge 0 -a "$moved4" -le "$MOVE_BOUND_MS"
hm_check "ping sent all 250 over the onset ($FLOW_SENT)" test "$FLOW_SENT" -eq 250
hm_check "the onset lost under $MOVE_BOUND_MS ms of traffic ($FLOW_LOSS_MS ms)" \
	test "$FLOW_LOSS_MS" -ge 0 -a "$FLOW_LOSS_MS" -lt "$MOVE_BOUND_MS"
hm_check "the loss was real before the move ($FLOW_LOST lost)" test "$FLOW_LOST" -gt 0

# ---- the rest of the minute: paths stay, traffic loses nothing ----
meshd_flow_start lossy "$VMA" 10.4.0.2 0.05
polls=0 direct=0 other=0
while [ "$(now_ms)" -lt $((t0 + LOSSY_S * 1000)) ]; do
	a=$(meshd_route 1 10.4.0.2) b=$(meshd_route 4 10.1.0.2)
	polls=$((polls + 1))
	if [ "$a" = "4 4 1" ] || [ "$b" = "1 1 1" ]; then
		direct=$((direct + 1))
		hm_log "back on the lossy link: us-east '$a', ap-northeast '$b'"
	elif [ "$a" != "4 2 2" ] || [ "$b" != "1 2 2" ]; then
		other=$((other + 1))
	fi
	sleep 0.2
done
meshd_flow_end
c1=$(changes "$LOG1" 4 "$from1") c4=$(changes "$LOG4" 1 "$from4")
f1=$(metric 1 hopmesh_link_flaps_total ap-northeast) f4=$(metric 4 hopmesh_link_flaps_total us-east)
s1=$(metric 1 hopmesh_link_state_changes_total ap-northeast)
s4=$(metric 4 hopmesh_link_state_changes_total us-east)
h1=$(metric 1 hopmesh_link_holddown_seconds ap-northeast)
l1=$(metric 1 hopmesh_link_loss_ratio ap-northeast)
echo "meshd_damping: $LOSSY_S s at 30 % loss each way: link-state changes logged us-east -> ap-northeast" \
	"$c1, back $c4 (metrics: flaps $f1 and $f4, state changes in all $s1 and $s4, hold-down now" \
	"${h1} s, loss ${l1}); of $polls polls of both gateways' paths, $direct found one back on" \
	"the lossy link, $other on another relay; flow: $FLOW_LOST of $FLOW_SENT pings lost" >&2
grep -hE 'link to gateway (1|4) ' "$LOG1" "$LOG4" >&2
hm_check "us-east logged at most $MAX_CHANGES link-state changes ($c1)" test "$c1" -le "$MAX_CHANGES"
hm_check "ap-northeast logged at most $MAX_CHANGES link-state changes ($c4)" test "$c4" -le "$MAX_CHANGES"
hm_check "the detection tripped meanwhile (flaps $f1 and $f4): damping was exercised" \
	test "${f1:-0}" -ge 1 -a "${f4:-0}" -ge 1
# Direct only for moments when a gateway had no path at all: every link of
# one side silent at once (a gateway stalled on the loaded host) leaves it
# unreachable, and unreachable is sent direct (reconcile.c).
hm_check "paths on a relay in at least 95 % of polls (direct in $direct of $polls)" \
	test $((direct * 100)) -le $((polls * 5)) -a "$polls" -ge "$LOSSY_S"
hm_check "the flow ran throughout" test "$FLOW_RUNNING" -eq 1
# The relay's legs are clean: what is lost is what a loaded machine costs
# (a stalled gateway trips a detection too), far from the direct link's 51 %.
hm_check "the flow lost under $FLOW_MAX_LOSS_PCT % of its pings ($FLOW_LOST of $FLOW_SENT)" \
	test "$FLOW_SENT" -gt 0 -a $((FLOW_LOST * 100)) -lt $((FLOW_SENT * FLOW_MAX_LOSS_PCT))

# ---- healed: up again within the longest hold-down ----
t0=$(now_ms)
rig_link 1 4 loss=0 >/dev/null || hm_fail "the emulator refused loss=0"
# last_up LOG ID: the last "link to gateway ID up/down" line of LOG says up.
last_up() { grep -E "link to gateway $2 (up|down)" "$1" | tail -n 1 | grep -q "up$"; }
up() { [ "$(metric 1 hopmesh_link_up ap-northeast)" = 1 ] && [ "$(metric 4 hopmesh_link_up us-east)" = 1 ]; }
hm_wait_for 15 last_up "$LOG1" 4 && hm_wait_for 15 last_up "$LOG4" 1
healed=$(($(now_ms) - t0))
echo "meshd_damping: healed: both ends log the link up after $healed ms" >&2
hm_check "the link up again at both ends within $UP_BOUND_MS ms of healing ($healed ms)" \
	test "$healed" -le "$UP_BOUND_MS"
hm_check "metrics: hopmesh_link_up 1 at both ends" hm_wait_for 3 up

for r in 1 2 3 4; do
	hm_check "meshd of $(rig_region_name "$r") exits 0 on SIGTERM" meshd_stop "$r"
done
hm_log "passed"
