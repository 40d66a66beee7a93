#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The lossy four-region mesh of issue 11, with meshd: us-east (1), us-west (2),
# eu-west (3), ap-northeast (4), the default delays, and loss on three links,
# each way: us-east - ap-northeast 30 %, us-east - us-west 16 %, eu-west -
# ap-northeast 5 %. Before source routing, us-east sent to ap-northeast
# through eu-west, eu-west forwarded by its own table through us-west, which
# dropped every packet at the hop limit: 200 of 200 pings lost.
#
#  - meshd pushes the policy's hop limit (2) to every gateway;
#  - the pings us-east -> ap-northeast lose about what the legs of the paths
#    in use lose (expected from the emulated loss of each leg both ways, read
#    from the paths the gateways have installed), at most 10 points more:
#    never 100 %;
#  - no gateway counts a hop-limit drop.
set -u
. "$(dirname "$0")/../rig/rig.sh"
. "$(dirname "$0")/../lib/scenario.sh"

PINGS=${PINGS:-200}
MARGIN_PCT=${MARGIN_PCT:-10}

hm_init meshd_lossy
hm_require_root
meshd_init
rig_up 4 1
for r in 1 2 3 4; do
	hm_check "meshctl gateway add $(rig_region_name "$r")" meshd_add_gateway "$r"
done
for r in 1 2 3 4; do
	hm_check "meshctl vm add ($(rig_region_name "$r"))" meshd_add_vms "$r"
done
for r in 1 2 3 4; do meshd_start "$r"; done
hm_check "all 12 links measured" hm_wait_for 40 meshd_links_settled 4

pushed() { # R N: region R's gateway has the hop limit N pushed and in force
	hm_ctl "$(rig_gwname "$1")" hop_limit show |
		grep -q "\"hop_limit\":$2,\"hop_limit_ceiling\":4,\"hop_limit_pushed\":$2"
}
for r in 1 2 3 4; do
	hm_check "meshd pushed the policy's hop limit 2 to $(rig_region_name "$r")" hm_wait_for 10 pushed "$r" 2
done

# The loss of each leg, per cent, each way (rig_link sets both directions).
declare -A LOSS=([1-4]=30 [4-1]=30 [1-2]=16 [2-1]=16 [3-4]=5 [4-3]=5)
rig_link 1 4 loss=30% >/dev/null
rig_link 1 2 loss=16% >/dev/null
rig_link 3 4 loss=5% >/dev/null
# The links' loss figures and the routes follow within a few probe windows.
sleep 15

limit_drops() {
	local r n=0
	for r in 1 2 3 4; do n=$((n + $(rig_counter "$r" drops.hop_limit))); done
	echo "$n"
}
# path_of A B: A's installed path to gateway B, "A G1 .. B".
path_of() {
	hm_ctl "$(rig_gwname "$1")" dump gateways | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(sys.argv[1], *[g["path"] for g in d["gateways"] if g["id"] == int(sys.argv[2])][0])' "$1" "$2"
}
# survive PATH...: per mille of frames that cross every leg of the path.
survive() {
	local p=1000 prev= g k
	for g in "$@"; do
		if [ -n "$prev" ]; then
			k="$prev-$g"
			p=$((p * (100 - ${LOSS[$k]:-0}) / 100))
		fi
		prev=$g
	done
	echo "$p"
}

there=$(path_of 1 4) back=$(path_of 4 1)
hm_log "paths in use: us-east -> ap-northeast $there; back $back"
meshctl route show >&2
expect_pct=$(( (1000 - $(survive $there) * $(survive $back) / 1000) / 10 ))
drops0=$(limit_drops)
ip netns exec "$(rig_vm 1 1)" ping -q -n -c "$PINGS" -i 0.05 -W 2 10.4.0.2 >"$HM_TMP/lossy.txt" 2>&1
cat "$HM_TMP/lossy.txt" >&2
got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$HM_TMP/lossy.txt")
got=${got:-0}
lost_pct=$(( (PINGS - got) * 100 / PINGS ))
drops=$(($(limit_drops) - drops0))
hm_log "lossy mesh: $((PINGS - got)) of $PINGS pings lost ($lost_pct %); the legs of the paths lose $expect_pct %; hop-limit drops $drops"
hm_check "the paths still end at ap-northeast and us-east" \
	bash -c "[ '${there##* }' = 4 ] && [ '${back##* }' = 1 ]"
hm_check "loss $lost_pct % is about the legs' $expect_pct % (at most $MARGIN_PCT points more)" \
	test "$lost_pct" -le $((expect_pct + MARGIN_PCT))
hm_check "no gateway counted a hop-limit drop" test "$drops" -eq 0
for r in 1 2 3 4; do
	hm_check "meshd $(rig_region_name "$r") stops cleanly" meshd_stop "$r"
done
