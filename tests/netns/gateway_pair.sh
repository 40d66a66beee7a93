#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# VM A -> gateway A -> gateway B -> VM B on the rig (two regions): ping and
# iperf3 TCP both ways, for the IPv4 and the IPv6 overlay, over the underlay
# given as the argument (4 or 6), with two workers per gateway.
set -u
. "$(dirname "$0")/../rig/rig.sh"

UNDERLAY=${1:?usage: gateway_pair.sh 4|6}
hm_init "gateway_pair_v$UNDERLAY"
hm_require_root
hm_require_cmd iperf3
[ "$UNDERLAY" = 6 ] && RIG_UNDERLAY6=1
RIG_GW_LINES="workers = 2"
rig_up 2 1
rig_link 1 2 delay=1ms
hm_check "every region reaches every other" rig_check 15

for overlay in 4 6; do
	if [ "$overlay" = 4 ]; then a=$(rig_vm_addr 1 1) b=$(rig_vm_addr 2 1); else a=$(rig_vm_addr6 1 1) b=$(rig_vm_addr6 2 1); fi
	hm_check "IPv$overlay over IPv$UNDERLAY: ping A -> B" hm_ping "$(rig_vm 1 1)" "$b" 5
	hm_check "IPv$overlay over IPv$UNDERLAY: ping B -> A" hm_ping "$(rig_vm 2 1)" "$a" 5
	for dir in "" -R; do
		hm_bg "$(rig_vm 2 1)" iperf3-server iperf3 -s -1 -B "$b"
		sleep 0.5
		ip netns exec "$(rig_vm 1 1)" iperf3 -c "$b" -t 3 $dir -J >"$HM_TMP/iperf.json" ||
			hm_fail "iperf3 IPv$overlay $dir failed"
		bps=$(python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"]))' "$HM_TMP/iperf.json")
		hm_log "iperf3 IPv$overlay over IPv$UNDERLAY ${dir:-forward}: $((bps / 1000000)) Mbit/s"
		hm_check "iperf3 IPv$overlay ${dir:-forward} carried traffic" test "$bps" -gt 1000000
	done
done
for r in 1 2; do
	hm_check "gateway $r: no replay or decryption drops" \
		test "$(rig_counter "$r" drops.replayed)" -eq 0 -a "$(rig_counter "$r" drops.decrypt_failed)" -eq 0
done
