#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# wireguard-go under real load sends hopmesh a cookie reply; hopmesh takes it
# and completes the handshake with mac2. On the rig (tests/rig/rig.sh): region
# 1 (us-east) hopmesh, region 2 (us-west) wireguard-go, 1 ms each way.
#
#   [vm 10.1.0.2] - [hopmesh Pg1] 192.168.50.1 -- wanem -- 192.168.50.2 [wireguard-go Pg2] - [vm 10.2.0.2]
#                                                                       flood of initiations <-'
#
# wireguard-go is "under load" while its handshake queue holds 128 messages
# or more (1/8 of its 1024) and for 1 s after; under load, an initiation
# without a valid mac2 gets a cookie reply instead of a response, and one with
# a valid mac2 is processed (rate-limited per source address). Its VM floods
# it with initiations that carry a valid mac1 (tests/lib/wgcraft.py), bursts
# larger than the threshold, from an address that is not hopmesh's, while
# hopmesh's VM pings across: hopmesh's first initiation is answered with a
# cookie, and its retry (after REKEY_TIMEOUT, 5 s) must carry the mac2 made
# with that cookie and be accepted while wireguard-go is still under load.
#
# Evidence, each checked: wireguard-go's log (LOG_LEVEL=verbose) names the
# cookie replies it sent to hopmesh and to the flood; the capture on hopmesh's
# side of the WAN has the cookie reply arriving and hopmesh's initiations
# first without and then with mac2; hopmesh counts no invalid cookie; the
# handshake completes and pings cross both ways.
set -u
. "$(dirname "$0")/../rig/rig.sh"

hm_init interop_cookie
hm_require_root
hm_require_cmd wireguard-go wg tshark ethtool python3

CRAFT=$(dirname "$0")/../lib/wgcraft.py
# The flood: FLOOD_BURST initiations at once every FLOOD_PAUSE_MS, for about
# FLOOD_N / FLOOD_BURST * FLOOD_PAUSE_MS ms (20 s: four of hopmesh's retries).
FLOOD_N=${FLOOD_N:-60000} FLOOD_BURST=${FLOOD_BURST:-300} FLOOD_PAUSE_MS=${FLOOD_PAUSE_MS:-100}

RIG_WGGO_REGIONS=2
rig_up 2 1
rig_link 1 2 delay=1ms >/dev/null || hm_fail "cannot set the WAN delay"
GWN=$(rig_gwname 1) WGN=$(rig_gwname 2)
WGPUB=$(cat "$HM_TMP/$WGN.pub")
WGLOG=$HM_TMP/$WGN.log
VM=$(rig_vm 1 1) VMW=$(rig_vm 2 1)
A=$(rig_vm_addr 1 1) B=$(rig_vm_addr 2 1)
HM=$(rig_underlay 1) WG=$(rig_underlay 2)

# Two captures: on wireguard-go's side of the WAN, every handshake message
# both ways (the flood reaches wireguard-go from its VM, not across the WAN);
# on hopmesh's, what reached hopmesh (its own transmissions bypass the
# kernel's capture there).
hm_bg "$(rig_gw 2)" tshark-wg tshark -Q -i bb0 -s 256 -w "$HM_TMP/wg.pcap" -f "udp port 51820"
TSHARK_PIDS=("$HM_LAST_PID")
hm_bg "$(rig_gw 1)" tshark-hm tshark -Q -i bb0 -s 256 -w "$HM_TMP/hm.pcap" -f "udp port 51820"
TSHARK_PIDS+=("$HM_LAST_PID")
sleep 2

# No session yet on either side: nothing has crossed.
hm_check "no handshake before the flood" test "$(rig_counter 1 peers.0.handshakes)" -eq 0

hm_bg "$VMW" flood python3 "$CRAFT" flood "$WG" 51820 "$WGPUB" "$FLOOD_N" "$FLOOD_PAUSE_MS" "$FLOOD_BURST"
FLOOD_PID=$HM_LAST_PID
# wireguard-go is under load once it answers the flood with cookies.
cookies_to() { grep -c "Sending cookie response for denied handshake message for $1:" "$WGLOG"; }
flood_answered() { [ "$(cookies_to "$B")" -ge 1 ]; }
hm_check "wireguard-go is under load (cookie replies to the flood)" hm_wait_for 10 flood_answered
hm_log "cookie replies to the flood so far: $(cookies_to "$B")"

# hopmesh initiates now; it completes only through a cookie while the flood lasts.
t0=$(date +%s%N)
hm_check "hopmesh's handshake completes while wireguard-go is under load" \
	hm_wait_for 25 hm_ping "$VM" "$B" 1
t1=$(date +%s%N)
hm_log "handshake completed after $(((t1 - t0) / 1000000)) ms"
flood_running=0
kill -0 "$FLOOD_PID" 2>/dev/null && flood_running=1
hm_check "the flood was still running when the handshake completed" test "$flood_running" -eq 1
# Two more seconds of flood: wireguard-go, answering it with cookies after
# it accepted hopmesh's initiation too, shows it was still under load then
# (it stays so for 1 s after each burst, and the bursts are 100 ms apart).
sleep 2
kill -0 "$FLOOD_PID" 2>/dev/null || hm_fail "the flood ended too early (FLOOD_N)"
hm_stop "$FLOOD_PID"
sleep 1
for pid in "${TSHARK_PIDS[@]}"; do hm_stop "$pid"; done

# wireguard-go's side.
tohm=$(cookies_to "$HM")
hm_log "wireguard-go's cookie replies: $tohm to hopmesh, $(cookies_to "$B") to the flood"
hm_check "wireguard-go sent hopmesh a cookie reply" test "$tohm" -ge 1
# Under load when it accepted hopmesh's initiation: cookie replies to the
# flood both before and after that line of its log (the flood's bursts come
# every 100 ms; one may end just before the accepted initiation).
accept=$(grep -n 'Received handshake initiation' "$WGLOG" | head -n 1 | cut -d: -f1)
hm_check "wireguard-go accepted hopmesh's initiation" test -n "$accept"
before=$(head -n "$accept" "$WGLOG" | grep -c "cookie response for denied handshake message for $B:")
after=$(tail -n +"$accept" "$WGLOG" | grep -c "cookie response for denied handshake message for $B:")
hm_log "cookie replies to the flood: $before before the accepted initiation, $after after"
hm_check "wireguard-go was under load when it accepted it" test "$before" -ge 1 -a "$after" -ge 1

# On the wire: hopmesh's initiations go from mac2 zero to mac2 set after the
# cookie, and the cookie reached hopmesh.
# handshake_seq PCAP: one line per message between the two gateways, in order.
handshake_seq() {
	tshark -r "$1" -T fields -e ip.src -e ip.dst -e wg.type -e wg.mac2 -Y wg 2>/dev/null |
		awk -v hm="$HM" -v wg="$WG" -v z=00000000000000000000000000000000 '
		{ gsub(":", "", $4) }
		$1 == wg && $2 == hm && $3 == 3 { print "cookie" }
		$1 == hm && $2 == wg && $3 == 1 { print ($4 == z ? "init-nomac2" : "init-mac2") }
		$1 == wg && $2 == hm && $3 == 2 { print "response" }'
}
handshake_seq "$HM_TMP/wg.pcap" >"$HM_TMP/seq.txt"
handshake_seq "$HM_TMP/hm.pcap" >"$HM_TMP/seq-hm.txt"
hm_log "handshake messages on the WAN: $(uniq -c "$HM_TMP/seq.txt" | tr -s ' \n' ' ')"
hm_check "a cookie reply reached hopmesh" grep -q '^cookie' "$HM_TMP/seq-hm.txt"
hm_check "hopmesh's first initiation had no mac2" test "$(head -n 1 "$HM_TMP/seq.txt")" = init-nomac2
# After the first cookie: an initiation with mac2, then wireguard-go's response.
hm_check "after the cookie, an initiation with mac2 and then a response" \
	bash -c "sed -n '/^cookie/,\$p' '$HM_TMP/seq.txt' | tr '\n' ' ' | grep -q 'init-mac2 .*response'"
hm_check "hopmesh counted no invalid cookie" test "$(rig_counter 1 drops.cookie_invalid)" -eq 0
hm_check "hopmesh counted one handshake" test "$(rig_counter 1 peers.0.handshakes)" -ge 1

hm_check "ping hopmesh's VM -> wireguard-go's VM after the flood" hm_ping "$VM" "$B" 5
hm_check "ping wireguard-go's VM -> hopmesh's VM after the flood" hm_ping "$VMW" "$A" 5
hm_check "hopmesh gateway still running" kill -0 "${RIG_GWPID[0]}"
hm_check "wireguard-go still running" kill -0 "${RIG_GWPID[1]}"
