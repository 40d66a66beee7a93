#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Rotating a gateway's WireGuard key under traffic, exactly as
# docs/OPERATIONS.md ("Rotate a key") tells the operator to: us-east (1),
# us-west (2), eu-west (3) in the embedded registry, a meshd per gateway, and
# a ping from us-west's VM to us-east's every 20 ms throughout.
#
# us-east's key is rotated: a new key file (mode 0600), `wg set NAME
# private-key` from it, the file renamed over private_key_file, and
# `meshctl gateway add` of the same record with the new public key. Then:
#  - the pings went on: the loss (pings sent and never answered, x their
#    interval) is printed and must stay under LOSS_BOUND_MS;
#  - every gateway's wg show lists us-east's new public key and not the old
#    one, the others' gateway entries for it are bound to the new key, and the
#    old key is nowhere in the registry;
#  - traffic flows both ways between us-east and the other regions;
#  - us-east's gateway restarted (rig_restart_gw: it loads private_key_file
#    again) still has the new key and carries traffic.
set -u
. "$(dirname "$0")/../rig/rig.sh"
. "$(dirname "$0")/../lib/scenario.sh"

LOSS_BOUND_MS=${LOSS_BOUND_MS:-1500}
PINGS=500 # every 20 ms (ping keeps about 25 ms here): the rotation 3 s in

hm_init meshd_rotate
hm_require_root
meshd_init
rig_up 3 1
meshd_mesh_up
hm_check "us-west -> us-east direct" meshd_route_is 2 10.1.0.2 1 1 1
hm_check "eu-west -> us-east direct" meshd_route_is 3 10.1.0.2 1 1 1

G1=$(rig_gwname 1)
KEY=$HM_TMP/$G1.key                 # us-east's private_key_file
OLD=$(cat "$HM_TMP/$G1.pub")
VM1=$(rig_vm 1 1)
VM2=$(rig_vm 2 1)
VM3=$(rig_vm 3 1)

# rotate_key R: docs/OPERATIONS.md, "Rotate a key", step for step. The
# registry record is the same as before (meshd_add_gateway gives every
# option again) with the public key of the new file.
rotate_key() {
	local g key pub
	g=$(rig_gwname "$1")
	key=$HM_TMP/$g.key
	pub=$HM_TMP/$g.pub
	(umask 077 && wg genkey >"$key.new") || return 1
	wg pubkey <"$key.new" >"$pub.new" || return 1
	wg set "$g" private-key "$key.new" || return 1
	mv "$key.new" "$key" && mv "$pub.new" "$pub" || return 1
	meshd_add_gateway "$1"
}

# peers_have R KEY [NOT-KEY]: gateway R's wg peers hold KEY (and not NOT-KEY).
peers_have() {
	local peers
	peers=$(wg show "$(rig_gwname "$1")" peers) || return 1
	grep -qxF -- "$2" <<<"$peers" || return 1
	[ $# -lt 3 ] || ! grep -qxF -- "$3" <<<"$peers"
}

# handshake_with R KEY: gateway R has completed a handshake with peer KEY.
handshake_with() {
	wg show "$(rig_gwname "$1")" latest-handshakes |
		awk -v k="$2" '$1 == k && $2 > 0 { ok = 1 } END { exit !ok }'
}

# bound_to R ID KEY: gateway R's entry for gateway ID has KEY and is bound to
# the WireGuard peer of that key (no python: the timed loop polls with it).
bound_to() {
	local out
	out=$(hm_ctl "$(rig_gwname "$1")" dump gateways) || return 1
	[[ $out =~ \{\"id\":$2,\"name\":\"[a-z0-9-]*\",\"public_key\":\"([^\"]*)\",\"bound\":(true|false) ]] &&
		[ "${BASH_REMATCH[1]}" = "$3" ] && [ "${BASH_REMATCH[2]}" = true ]
}

# ---- the rotation, under a ping every 20 ms ----
meshd_flow_start rotate "$VM2" 10.1.0.2 0.02 "$PINGS"
sleep 3
drops_before=$(rig_counter 2 drops.handshake_invalid)
t0=$(now_ms)
rotate_key 1 || hm_fail "the rotation procedure failed"
t_done=$(now_ms)
NEW=$(cat "$HM_TMP/$G1.pub")
hm_check "the new key differs from the old" test "$NEW" != "$OLD"
declare -A seen=()
while :; do
	now=$(now_ms)
	for r in 2 3; do
		[ -n "${seen[p$r]:-}" ] || ! peers_have "$r" "$NEW" "$OLD" || seen[p$r]=$(($(now_ms) - t0))
		[ -n "${seen[h$r]:-}" ] || ! handshake_with "$r" "$NEW" || seen[h$r]=$(($(now_ms) - t0))
		[ -n "${seen[b$r]:-}" ] || ! bound_to "$r" 1 "$NEW" || seen[b$r]=$(($(now_ms) - t0))
	done
	[ ${#seen[@]} -eq 6 ] && break
	[ $((now - t0)) -lt 10000 ] || break
	sleep 0.01
done
meshd_flow_end
echo "meshd_rotate: procedure took $((t_done - t0)) ms; new key in wg show on us-west after" \
	"${seen[p2]:--1} ms, eu-west ${seen[p3]:--1} ms; handshake with it ${seen[h2]:--1} / ${seen[h3]:--1} ms;" \
	"bound ${seen[b2]:--1} / ${seen[b3]:--1} ms; pings: $FLOW_LOST of $FLOW_SENT sent lost =" \
	"$FLOW_LOSS_MS ms of loss, longest gap between answers $FLOW_GAP_MS ms" >&2
echo "meshd_rotate: us-west refused $(($(rig_counter 2 drops.handshake_invalid) - drops_before))" \
	"handshake(s) meanwhile (us-east's new key before it reached the registry)" >&2
grep -hE 'peer us-east|gateway us-east|link to gateway 1 ' "$HM_TMP"/meshd-*.log >&2

hm_check "ping sent all $PINGS ($FLOW_SENT)" test "$FLOW_SENT" -eq "$PINGS"
hm_check "loss under $LOSS_BOUND_MS ms ($FLOW_LOSS_MS ms)" \
	test "$FLOW_LOSS_MS" -ge 0 -a "$FLOW_LOSS_MS" -lt "$LOSS_BOUND_MS"
for r in 2 3; do
	hm_check "$(rig_region_name "$r")'s wg show: us-east's new key, not the old" peers_have "$r" "$NEW" "$OLD"
	hm_check "$(rig_region_name "$r") completed a handshake with the new key" handshake_with "$r" "$NEW"
	hm_check "$(rig_region_name "$r")'s gateway 1 is bound to the new key" bound_to "$r" 1 "$NEW"
	hm_check "$(rig_region_name "$r") routes 10.1.0.2 to us-east" meshd_route_is "$r" 10.1.0.2 1
done
hm_check "us-east's wg show: the new public key" test "$(wg show "$G1" public-key)" = "$NEW"
hm_check "us-east runs the key of its private_key_file" test "$(wg show "$G1" private-key)" = "$(cat "$KEY")"
hm_check "the key file is mode 0600" test "$(stat -c %a "$KEY")" = 600
hm_check "no key file left beside it" test ! -e "$KEY.new"
hm_check "the registry has the new key" test "$(meshctl --json gateway list | python3 -c '
import json, sys
print([g["public_key"] for g in json.load(sys.stdin)["gateways"] if g["name"] == "us-east"][0])')" = "$NEW"
hm_check "the old key is nowhere in the registry" bash -c "! grep -rqF -- '$OLD' '$MESHD_REG'"
hm_check "the private key is nowhere in the registry" bash -c "! grep -rqF -- \"\$(cat '$KEY')\" '$MESHD_REG'"

hm_check "us-east vm1 -> us-west vm1" hm_ping "$VM1" 10.2.0.2 3
hm_check "us-west vm1 -> us-east vm1" hm_ping "$VM2" 10.1.0.2 3
hm_check "us-east vm1 -> eu-west vm1" hm_ping "$VM1" 10.3.0.2 3
hm_check "eu-west vm1 -> us-east vm1" hm_ping "$VM3" 10.1.0.2 3
hm_check "us-east vm1 -> us-west vm1 (IPv6)" hm_ping "$VM1" fd00:2::2 3
hm_check "links from and to us-east up again" hm_wait_for 20 meshd_links_settled 3
meshctl trace 10.1.0.2 >&2

# ---- a restart loads the new key from private_key_file ----
rig_restart_gw 1
hm_check "restarted, us-east's wg show: the new public key" test "$(wg show "$G1" public-key)" = "$NEW"
hm_check "us-west vm1 -> us-east vm1 after the restart" hm_wait_for 20 hm_ping "$VM2" 10.1.0.2 1
hm_check "us-east vm1 -> eu-west vm1 after the restart" hm_wait_for 20 hm_ping "$VM1" 10.3.0.2 1
hm_check "us-west's gateway 1 still bound to the new key" hm_wait_for 10 bound_to 2 1 "$NEW"

for r in 1 2 3; do
	hm_check "meshd of $(rig_region_name "$r") exits 0 on SIGTERM" meshd_stop "$r"
done
hm_log "passed"
