#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# A rekey started by wireguard-go under traffic, with hopmesh the responder,
# on the rig (tests/rig/rig.sh): region 1 (us-east) hopmesh, region 2
# (us-west) wireguard-go, 1 ms each way.
#
#   [vm 10.1.0.2] - [hopmesh Pg1] 192.168.50.1 -- wanem -- 192.168.50.2 [wireguard-go Pg2] - [vm 10.2.0.2]
#
# Only the initiator of a session renews it on time (REKEY_AFTER_TIME, 120 s,
# fixed in wireguard-go): its first data sent after that starts a handshake
# while the old session still carries traffic. So wireguard-go's VM sends the
# first packet (wireguard-go initiates the session), then both VMs ping each
# other every 100 ms for REKEY_WINDOW_S (135 s): wireguard-go must start a
# second handshake 120 s after the first (hopmesh, the responder, none), and
# the pings must lose at most MAX_LOST each way, counted from what ping sent.
set -u
. "$(dirname "$0")/../rig/rig.sh"

hm_init interop_rekey
hm_require_root
hm_require_cmd wireguard-go wg tshark ethtool python3

REKEY_WINDOW_S=${REKEY_WINDOW_S:-135}
MAX_LOST=2 # per direction, of 10 pings a second for REKEY_WINDOW_S

RIG_WGGO_REGIONS=2
rig_up 2 1
rig_link 1 2 delay=1ms >/dev/null || hm_fail "cannot set the WAN delay"
VM=$(rig_vm 1 1) VMW=$(rig_vm 2 1)
A=$(rig_vm_addr 1 1) B=$(rig_vm_addr 2 1)
HM=$(rig_underlay 1) WG=$(rig_underlay 2)

# Every handshake message, on wireguard-go's side of the WAN.
hm_bg "$(rig_gw 2)" tshark tshark -Q -i bb0 -s 256 -w "$HM_TMP/rekey.pcap" -f "udp port 51820"
TSHARK_PID=$HM_LAST_PID
sleep 2

hm_check "no handshake yet" test "$(rig_counter 1 peers.0.handshakes)" -eq 0
hm_check "wireguard-go initiates: ping its VM -> hopmesh's VM" hm_wait_for 10 hm_ping "$VMW" "$A" 1
hm_check "one handshake" test "$(rig_counter 1 peers.0.handshakes)" -eq 1

count=$((REKEY_WINDOW_S * 10))
hm_log "pinging both ways, $count each, every 100 ms"
hm_bg "$VM" ping-hm ping -n -c "$count" -i 0.1 -W 2 "$B"
P1=$HM_LAST_PID
hm_bg "$VMW" ping-wg ping -n -c "$count" -i 0.1 -W 2 "$A"
P2=$HM_LAST_PID
wait "$P1" "$P2"
hm_forget "$P1"
hm_forget "$P2"
hm_stop "$TSHARK_PID"

# lost LOG: packets ping sent minus replies it received.
lost() {
	sed -n 's/^\([0-9]*\) packets transmitted, \([0-9]*\) received.*/\1 \2/p' "$1" |
		{ read -r tx rx && [ "$tx" -eq "$count" ] && echo $((tx - rx)); }
}
l1=$(lost "$HM_TMP/ping-hm.log") l2=$(lost "$HM_TMP/ping-wg.log")
hm_log "lost: hopmesh's VM -> wireguard-go's VM ${l1:-?} of $count, the other way ${l2:-?} of $count"
hm_check "hopmesh's VM -> wireguard-go's VM: at most $MAX_LOST lost" test -n "$l1" -a "${l1:-1000}" -le "$MAX_LOST"
hm_check "wireguard-go's VM -> hopmesh's VM: at most $MAX_LOST lost" test -n "$l2" -a "${l2:-1000}" -le "$MAX_LOST"

# Initiations and responses, with their times: every initiation is
# wireguard-go's, the second about 120 s after the first, and answered.
tshark -r "$HM_TMP/rekey.pcap" -T fields -e frame.time_relative -e ip.src -e ip.dst -e wg.type \
	-Y "wg.type == 1 || wg.type == 2" 2>/dev/null >"$HM_TMP/hs.txt"
hm_log "handshake messages: $(awk '{ printf "%s%s>%s type %s at %.1f s", (NR > 1 ? "; " : ""), $2, $3, $4, $1 }' "$HM_TMP/hs.txt")"
hm_check "hopmesh sent no initiation" bash -c "! awk '\$2 == \"$HM\" && \$4 == 1' '$HM_TMP/hs.txt' | grep -q ."
inits=$(awk -v wg="$WG" '$2 == wg && $4 == 1 { print $1 }' "$HM_TMP/hs.txt")
hm_check "wireguard-go initiated at least twice" test "$(wc -l <<<"$inits")" -ge 2
gap=$(awk 'NR == 1 { a = $1 } NR == 2 { printf "%d", $1 - a }' <<<"$inits")
hm_log "wireguard-go's rekey came ${gap} s after its first handshake"
hm_check "the rekey came after REKEY_AFTER_TIME (120 s), not before 130 s" test "$gap" -ge 119 -a "$gap" -le 130
hm_check "hopmesh answered every initiation" \
	test "$(awk -v hm="$HM" '$2 == hm && $4 == 2' "$HM_TMP/hs.txt" | wc -l)" -ge "$(wc -l <<<"$inits")"
hm_check "hopmesh counted the second handshake" test "$(rig_counter 1 peers.0.handshakes)" -ge 2
hm_check "hopmesh gateway still running" kill -0 "${RIG_GWPID[0]}"
hm_check "wireguard-go still running" kill -0 "${RIG_GWPID[1]}"
