#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# A hopmesh gateway against wireguard-go, on the rig (tests/rig/rig.sh): region
# 1 (us-east) has hopmesh for its gateway, region 2 (us-west) wireguard-go,
# a kernel-routed WireGuard gateway; 1 ms each way across the emulated WAN.
#
#   [vm 10.1.0.2] - [hopmesh Pg1] 192.168.50.1 -- wanem -- 192.168.50.2 [wireguard-go Pg2] - [vm 10.2.0.2]
#
# Checks, in order: wireguard-go initiates; hopmesh initiates; pings both
# ways (IPv4 and IPv6); rekeys under traffic with no loss; a PSK peer (and a
# wrong PSK fails); cookie replies when hopmesh is forced under load; tshark
# decodes every captured message as WireGuard; iperf3 TCP both ways.
set -u
. "$(dirname "$0")/../rig/rig.sh"

hm_init interop
hm_require_root
hm_require_cmd wireguard-go wg iperf3 tshark ethtool python3

# hopmesh renews its sessions every 10 s, for the rekey check.
RIG_GW_LINES="rekey_after_time = 10"
RIG_WGGO_REGIONS=2
rig_up 2 1
rig_link 1 2 delay=1ms >/dev/null || hm_fail "cannot set the WAN delay"
GWN=$(rig_gwname 1)                 # hopmesh
VM=$(rig_vm 1 1) VMW=$(rig_vm 2 1)  # a VM behind each gateway
A=$(rig_vm_addr 1 1) B=$(rig_vm_addr 2 1)
handshakes() { rig_counter 1 peers.0.handshakes; }
# peers_afresh [GATEWAY-PEER-ARGS] [WIREGUARD-GO-PEER-ARGS]: both sides drop
# their peer entry (and sessions) and configure it again.
peers_afresh() {
	rig_peer_down 1 2 2>/dev/null
	rig_peer_down 2 1 2>/dev/null
	rig_peer_up 1 2 ${1:+preshared-key "$1"} &&
		rig_peer_up 2 1 ${2:+preshared-key "$2"} || hm_fail "cannot configure the peers"
}

# The capture, on wireguard-go's side of the WAN.
hm_bg "$(rig_gw 2)" tshark tshark -Q -i bb0 -s 256 -w "$HM_TMP/interop.pcap" -f "udp port 51820"
TSHARK_PID=$HM_LAST_PID
sleep 2

# (a) wireguard-go initiates: the first packet comes from its side.
hm_check "wireguard-go initiates, ping its VM -> hopmesh's VM" hm_ping "$VMW" "$A" 3
hm_check "ping hopmesh's VM -> wireguard-go's VM" hm_ping "$VM" "$B" 3

# (b) hopmesh initiates: fresh peers on both sides, first packet from its VM.
peers_afresh
hm_check "hopmesh initiates, ping its VM -> wireguard-go's VM" hm_ping "$VM" "$B" 3
hm_check "ping wireguard-go's VM -> hopmesh's VM" hm_ping "$VMW" "$A" 3
hm_check "both ways, IPv4 and IPv6 (rig_check)" rig_check 10
hm_check "ping wireguard-go's gateway (its kernel) from hopmesh's VM" hm_ping "$VM" 10.2.0.1 3

# Rekey under traffic: hopmesh renews every 10 s (rekey_after_time); 25 s of
# pings every 100 ms must lose nothing across the renewals.
before=$(handshakes)
hm_check "25 s of pings across rekeys lose nothing" hm_ping "$VM" "$B" 250 0.1
after=$(handshakes)
hm_log "handshakes during the ping: $((after - before))"
hm_check "at least two rekeys happened" test $((after - before)) -ge 2

# A PSK peer. A wrong PSK on one side must not work.
(umask 077 && wg genpsk >"$HM_TMP/psk" && wg genpsk >"$HM_TMP/wrong.psk")
peers_afresh "$HM_TMP/wrong.psk" "$HM_TMP/psk"
hm_check "mismatched PSK carries nothing" bash -c "! ip netns exec $VM ping -q -c 3 -i 0.3 -W 1 $B >/dev/null"
peers_afresh "$HM_TMP/psk" "$HM_TMP/psk"
hm_check "PSK peer: ping hopmesh's VM -> wireguard-go's VM" hm_ping "$VM" "$B" 3
hm_check "PSK peer: ping wireguard-go's VM -> hopmesh's VM" hm_ping "$VMW" "$A" 3

# Cookie replies: a gateway forced under load answers the first initiation
# with a cookie; wireguard-go retries with mac2 after its 5 s rekey timeout.
# The gateway restarts with its key, without the short rekey time.
RIG_GW_LINES=
rig_restart_gw 1 "force_cookie = true"
peers_afresh "$HM_TMP/psk" "$HM_TMP/psk"
hm_check "handshake completes through a cookie reply" \
	hm_wait_for 20 hm_ping "$VMW" "$A" 1
hm_check "cookie replies were sent" test "$(rig_counter 1 drops.cookie_required)" -ge 1
hm_check "ping hopmesh's VM -> wireguard-go's VM after cookie" hm_ping "$VM" "$B" 3

hm_stop "$TSHARK_PID"
# Every captured datagram on the port decodes as WireGuard, nothing malformed,
# and all four message types appear: initiations and responses from both sides.
tshark -r "$HM_TMP/interop.pcap" -T fields -e ip.src -e wg.type -Y wg >"$HM_TMP/types.txt" 2>/dev/null
udp=$(tshark -r "$HM_TMP/interop.pcap" -Y "udp.port == 51820" 2>/dev/null | wc -l)
wgc=$(wc -l <"$HM_TMP/types.txt")
bad=$(tshark -r "$HM_TMP/interop.pcap" -Y "_ws.malformed || _ws.expert.severity == error" 2>/dev/null | wc -l)
hm_log "capture: $udp datagrams, $wgc decoded as WireGuard, $bad malformed"
hm_check "every datagram decodes as WireGuard" test "$udp" -gt 0 -a "$udp" -eq "$wgc"
hm_check "no malformed packet in the capture" test "$bad" -eq 0
hm_check "the first message was wireguard-go's initiation" \
	test "$(head -n 1 "$HM_TMP/types.txt")" = "192.168.50.2	1"
for t in "192.168.50.2	1" "192.168.50.1	1" "192.168.50.2	2" "192.168.50.1	2" \
	"192.168.50.1	3" "192.168.50.1	4" "192.168.50.2	4"; do
	hm_check "capture has type ${t#*	} from ${t%	*}" grep -qF "$t" "$HM_TMP/types.txt"
done

# iperf3 TCP both directions through the tunnel, VM to VM.
for dir in "" -R; do
	hm_bg "$VMW" iperf3-server iperf3 -s -1 -B "$B"
	sleep 0.5
	ip netns exec "$VM" iperf3 -c "$B" -t 5 $dir -J >"$HM_TMP/iperf$dir.json" ||
		hm_fail "iperf3 $dir failed"
	bps=$(python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"]))' "$HM_TMP/iperf$dir.json")
	hm_log "iperf3 ${dir:-forward}: $((bps / 1000000)) Mbit/s"
	hm_check "iperf3 ${dir:-forward} carried traffic" test "$bps" -gt 1000000
done
hm_check "hopmesh gateway still running" kill -0 "${RIG_GWPID[0]}"
hm_check "wireguard-go still running" kill -0 "${RIG_GWPID[1]}"
