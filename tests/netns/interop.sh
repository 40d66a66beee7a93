#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# A hopmesh gateway against wireguard-go, on namespaces (tests/lib/pair.sh).
#
# Checks, in order: wireguard-go initiates; hopmesh initiates; pings both
# ways; rekeys under traffic with no loss; a PSK peer (and a wrong PSK fails);
# cookie replies when hopmesh is forced under load; tshark decodes every
# captured message as WireGuard; iperf3 TCP both ways.
set -u
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/pair.sh"

hm_init interop
hm_require_root
hm_require_cmd wireguard-go wg iperf3 tshark ethtool python3

hm_pair_setup "rekey_after_time = 10"
handshakes() { hm_counter "$GWN" peers.0.handshakes; }

hm_bg "$WG" tshark tshark -Q -i wg-bb -s 256 -w "$HM_TMP/interop.pcap" -f "udp port 51820"
TSHARK_PID=$HM_LAST_PID
sleep 2

# (a) wireguard-go initiates: the first packet comes from its side.
hm_pair_peer_up
hm_check "wireguard-go initiates, ping wg -> vm" hm_ping "$WG" 10.1.0.2 3
hm_check "ping vm -> wg" hm_ping "$VM" 10.2.0.1 3

# (b) hopmesh initiates: fresh peers on both sides, first packet from the VM.
hm_pair_peer_down
hm_pair_peer_up
hm_check "hopmesh initiates, ping vm -> wg" hm_ping "$VM" 10.2.0.1 3
hm_check "ping wg -> vm" hm_ping "$WG" 10.1.0.2 3

# Rekey under traffic: hopmesh renews every 10 s (rekey_after_time); 25 s of
# pings every 100 ms must lose nothing across the renewals.
before=$(handshakes)
hm_check "25 s of pings across rekeys lose nothing" hm_ping "$VM" 10.2.0.1 250 0.1
after=$(handshakes)
hm_log "handshakes during the ping: $((after - before))"
hm_check "at least two rekeys happened" test $((after - before)) -ge 2

# A PSK peer. A wrong PSK on one side must not work.
(umask 077 && wg genpsk >"$HM_TMP/psk" && wg genpsk >"$HM_TMP/wrong.psk")
hm_pair_peer_down
hm_pair_peer_up "$HM_TMP/wrong.psk" "$HM_TMP/psk"
hm_check "mismatched PSK carries nothing" bash -c "! ip netns exec $VM ping -q -c 3 -i 0.3 -W 1 10.2.0.1 >/dev/null"
hm_pair_peer_down
hm_pair_peer_up "$HM_TMP/psk" "$HM_TMP/psk"
hm_check "PSK peer: ping vm -> wg" hm_ping "$VM" 10.2.0.1 3
hm_check "PSK peer: ping wg -> vm" hm_ping "$WG" 10.1.0.2 3

# Cookie replies: a gateway forced under load answers the first initiation
# with a cookie; wireguard-go retries with mac2 after its 5 s rekey timeout.
hm_stop "$GW_PID"
hm_pair_start_gateway "force_cookie = true"
hm_pair_peer_down 2>/dev/null
hm_pair_peer_up "$HM_TMP/psk" "$HM_TMP/psk"
hm_check "handshake completes through a cookie reply" \
	hm_wait_for 20 hm_ping "$WG" 10.1.0.2 1
hm_check "cookie replies were sent" test "$(hm_counter "$GWN" drops.cookie_required)" -ge 1
hm_check "ping vm -> wg after cookie" hm_ping "$VM" 10.2.0.1 3

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
for t in "192.168.50.2	1" "192.168.50.1	1" "192.168.50.2	2" "192.168.50.1	2" \
	"192.168.50.1	3" "192.168.50.1	4" "192.168.50.2	4"; do
	hm_check "capture has type ${t#*	} from ${t%	*}" grep -qF "$t" "$HM_TMP/types.txt"
done

# iperf3 TCP both directions through the tunnel.
for dir in "" -R; do
	hm_bg "$WG" iperf3-server iperf3 -s -1 -B 10.2.0.1
	sleep 0.5
	ip netns exec "$VM" iperf3 -c 10.2.0.1 -t 5 $dir -J >"$HM_TMP/iperf$dir.json" ||
		hm_fail "iperf3 $dir failed"
	bps=$(python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"]))' "$HM_TMP/iperf$dir.json")
	hm_log "iperf3 ${dir:-forward}: $((bps / 1000000)) Mbit/s"
	hm_check "iperf3 ${dir:-forward} carried traffic" test "$bps" -gt 1000000
done
hm_check "gateway still running" kill -0 "$GW_PID"
