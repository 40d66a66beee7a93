#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Ownership of prefixes on the rig: us-east (1), us-west (2), eu-west (3),
# embedded registry, a meshd per gateway. eu-west owns 10.3.0.0/24, where
# its VM 10.3.0.2 is, under a flow of pings from us-east's VM.
#
#  - meshctl refuses a new gateway "aaa" claiming 10.3.0.0/25, and refuses
#    us-west's record changed to claim it.
#  - Written around meshctl, straight into the registry's directory: a new
#    record "aaa" (a name that sorts before eu-west) and us-west's own record,
#    each claiming 10.3.0.0/25, and a claim file of aaa's own for it.
#  - meshctl, reading afresh, lists eu-west with its prefixes and neither
#    offender, and warns of both. us-east's meshd is restarted (a reader
#    without a last good snapshot, as after a reboot): it too keeps eu-west's
#    prefix, and us-east's gateway routes 10.3.0.2 to eu-west throughout.
#  - The flow loses nothing it sent.
#  - us-west's record put right with meshctl: us-west is back, with its
#    claims as old as before (its route from us-east again).
set -u
. "$(dirname "$0")/../rig/rig.sh"
. "$(dirname "$0")/../lib/scenario.sh"

hm_init registry_owner
hm_require_root
meshd_init
rig_up 3 1
meshd_mesh_up
hm_check "us-east routes 10.3.0.2 to eu-west" hm_wait_for 10 meshd_route_is 1 10.3.0.2 3
hm_check "us-east routes us-west's VM" hm_wait_for 10 meshd_route_is 1 10.2.0.2 2

# a record file as JSON, edited by a python expression on g, written back
# the way a hand or a tool outside the library would: in place.
edit_record() {
	python3 -c '
import json, sys
g = json.load(open(sys.argv[1]))
exec(sys.argv[2])
json.dump(g, open(sys.argv[1], "w"))' "$@"
}
# listed_prefixes NAME: the prefixes meshctl lists for gateway NAME ("" none).
listed_prefixes() {
	meshctl --json gateway list 2>/dev/null | python3 -c '
import json, sys
for g in json.load(sys.stdin)["gateways"]:
    if g["name"] == sys.argv[1]:
        print(" ".join(g["prefixes"]))' "$1"
}

meshd_flow_start owner "$(rig_vm 1 1)" 10.3.0.2 0.01

# ---- through meshctl: refused on write ----
KEY=$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')
hm_check "meshctl refuses aaa claiming 10.3.0.0/25" bash -c '
	out=$("$0" gateway add aaa --id 9 --public-key "$1" --endpoint 192.168.50.9:51820 \
		--prefix 10.3.0.0/25 2>&1); rc=$?
	echo "$out"; [ $rc -ne 0 ] && grep -q "overlaps gateway eu-west" <<<"$out"' "$MESHCTL" "$KEY"
meshd_peer_args 2
hm_check "meshctl refuses us-west claiming it" bash -c '
	out=$("$0" "$@" --prefix 10.3.0.0/25 2>&1); rc=$?
	echo "$out"; [ $rc -ne 0 ] && grep -q "overlaps gateway eu-west" <<<"$out"' \
	"$MESHCTL" "${MESHD_ARGS[@]}"

# ---- around meshctl: ignored on every read ----
US_WEST=$MESHD_REG/gateways/us-west.json
cp "$US_WEST" "$HM_TMP/us-west.json.orig"
hm_check "us-west's own record made to claim 10.3.0.0/25" \
	edit_record "$US_WEST" 'g["prefixes"].append("10.3.0.0/25")'
python3 -c '
import json, sys
json.dump({"name": "aaa", "id": 9, "region": "aaa", "public_key": sys.argv[2],
           "endpoint4": "192.168.50.9:51820", "prefixes": ["10.3.0.0/25"]},
          open(sys.argv[1] + "/gateways/aaa.json", "w"))
import os
os.makedirs(sys.argv[1] + "/claims/aaa", exist_ok=True)
json.dump({"gateway": "aaa", "claim": "10.3.0.0/25", "seq": 1000000},
          open(sys.argv[1] + "/claims/aaa/10.3.0.0_25.json", "w"))' "$MESHD_REG" "$KEY"
hm_check "meshctl lists eu-west with its prefixes" \
	test "$(listed_prefixes eu-west)" = "10.3.0.0/24 fd00:3::/64"
hm_check "meshctl lists neither aaa nor us-west" \
	test -z "$(listed_prefixes aaa)$(listed_prefixes us-west)"
hm_check "meshctl warns of both" bash -c '
	w=$("$0" gateway list 2>&1 >/dev/null)
	echo "$w"
	grep -q "aaa.json: gateway aaa: prefix 10.3.0.0/25 overlaps gateway eu-west.s 10.3.0.0/24 (the other.s claim is older); skipped" <<<"$w" &&
	grep -q "us-west.json: gateway us-west: prefix 10.3.0.0/25 overlaps gateway eu-west.s 10.3.0.0/24 (it has no claim" <<<"$w"' \
	"$MESHCTL"

hm_check "us-east's meshd stopped" meshd_stop 1
meshd_start 1
hm_check "the restarted meshd logs aaa's record ignored" \
	hm_wait_for 10 grep -q "aaa.json.*overlaps gateway eu-west" "$HM_TMP/meshd-$(rig_gwname 1).log"
# Give the fresh meshd a few reloads and reconciliations to act on what it read.
sleep 3
hm_check "us-east still routes 10.3.0.2 to eu-west" meshd_route_is 1 10.3.0.2 3
# route_not R ADDR ID: gateway R's route for ADDR is not to gateway ID.
route_not() { local got; got=$(meshd_route "$1" "$2") && [ "${got%% *}" != "$3" ]; }
hm_check "us-east no longer routes us-west's VM to us-west (left out)" \
	hm_wait_for 10 route_not 1 10.2.0.2 2
meshd_flow_end
hm_log "flow us-east -> 10.3.0.2: $FLOW_SENT sent, $FLOW_LOST lost, longest gap $FLOW_GAP_MS ms"
meshd_flow_checks

# ---- put right with meshctl ----
hm_check "us-west's record put right with meshctl" meshctl "${MESHD_ARGS[@]}"
hm_check "us-west listed again" test "$(listed_prefixes us-west)" = "10.2.0.0/24 fd00:2::/64"
hm_check "us-east routes us-west's VM again" hm_wait_for 15 meshd_route_is 1 10.2.0.2 2
rm -rf "$MESHD_REG/gateways/aaa.json" "$MESHD_REG/claims/aaa"
hm_check "no warnings left" bash -c '[ -z "$("$0" gateway list 2>&1 >/dev/null)" ]' "$MESHCTL"

for r in 1 2 3; do
	hm_check "meshd of $(rig_region_name "$r") exits 0 on SIGTERM" meshd_stop "$r"
done
hm_log "passed"
