#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Bad input on the backbone port while the tunnel carries a ping
# (tests/lib/pair.sh topology): truncated and oversized messages, unknown
# types, wrong mac1, replayed data, data for an unknown index, data whose inner
# source is outside the peer's allowed-ips, and a handshake flood with valid
# mac1. Each must be a drop counted under its reason; nothing may crash, the
# peer's endpoint must not move, and the ping must lose nothing.
set -u
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/../lib/pair.sh"

hm_init badinput
hm_require_root
hm_require_cmd wireguard-go wg ethtool python3

CRAFT=$(dirname "$0")/../lib/wgcraft.py
hm_pair_setup
hm_pair_peer_up
hm_check "tunnel up" hm_ping "$VM" 10.2.0.1 3

snapshot() { hm_ctl "$GWN" counters >"$HM_TMP/$1.json"; }
delta() { # REASON: how much drops.REASON grew between the snapshots
	python3 -c '
import json, sys
a = json.load(open(sys.argv[1]))["drops"]; b = json.load(open(sys.argv[2]))["drops"]
print(b[sys.argv[3]] - a[sys.argv[3]])' "$HM_TMP/before.json" "$HM_TMP/after.json" "$1"
}

# 30 s of pings, every 100 ms, through everything below.
hm_bg "$VM" ping ping -n -c 300 -i 0.1 -W 2 10.2.0.1
PING_PID=$HM_LAST_PID
sleep 1

declare -A expect
for kind in $(python3 "$CRAFT" kinds | cut -d' ' -f1); do
	snapshot before
	counter=$(ip netns exec "$WG" python3 "$CRAFT" send 192.168.50.1 51820 "$kind" 20)
	sleep 0.3
	snapshot after
	hm_check "$kind: 20 sent, counted as $counter" test "$(delta "$counter")" -eq 20
done

snapshot before
ip netns exec "$WG" python3 "$CRAFT" replay wg-bb 192.168.50.1 51820 50 ||
	hm_fail "could not capture a data message to replay"
sleep 0.3
snapshot after
hm_check "replayed data: 50 counted as replayed" test "$(delta replayed)" -eq 50

# wireguard-go encrypts for us a packet whose source we never allowed it.
snapshot before
ip -n "$WG" addr add 10.3.0.5/32 dev "$WGN"
ip netns exec "$WG" ping -q -c 5 -i 0.1 -W 1 -I 10.3.0.5 10.1.0.2 >/dev/null 2>&1
sleep 0.3
snapshot after
hm_check "inner source outside allowed-ips: 5 counted" test "$(delta source_not_allowed)" -eq 5

# A paced flood of initiations with a valid mac1 (garbage inside): every one
# that reaches the port is accounted for by reason, and all reach it.
flood_counted() {
	echo $(($(delta handshake_invalid) + $(delta cookie_required) + \
		$(delta handshake_ratelimited) + $(delta slowpath_full)))
}
port_delta() {
	python3 -c '
import json, sys
a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
print(b["ports"]["backbone"][sys.argv[3]] - a["ports"]["backbone"][sys.argv[3]])' \
		"$HM_TMP/before.json" "$HM_TMP/after.json" "$1"
}
snapshot before
ip netns exec "$WG" python3 "$CRAFT" flood 192.168.50.1 51820 "$GWPUB" 3000
sleep 2
snapshot after
hm_log "paced flood of 3000: invalid $(delta handshake_invalid), cookie $(delta cookie_required), queue full $(delta slowpath_full)"
hm_check "paced flood: all 3000 counted by reason" test "$(flood_counted)" -eq 3000

# The same at once: the main lcore's backlog puts it under load, so it answers
# with cookie replies instead of spending Curve25519 on each. Some datagrams
# may die in the sending kernel's veth backlog, but every one the port saw is
# counted.
snapshot before
ip netns exec "$WG" python3 "$CRAFT" flood 192.168.50.1 51820 "$GWPUB" 10000 0
sleep 3
snapshot after
hm_log "burst of 10000: port saw $(port_delta rx_packets); invalid $(delta handshake_invalid), cookie $(delta cookie_required), rate limited $(delta handshake_ratelimited), queue full $(delta slowpath_full)"
hm_check "burst: under load the gateway answered with cookies" test "$(delta cookie_required)" -gt 0
# What else crossed the port meanwhile: the ping's data, keepalives, frames not
# for us, and a few ARP.
other=$(python3 -c '
import json, sys
a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
d = lambda k: b[k] - a[k]
print(d("decrypted") + d("keepalives_received") + b["drops"]["not_for_us"] - a["drops"]["not_for_us"])' \
	"$HM_TMP/before.json" "$HM_TMP/after.json")
hm_check "burst: nothing the port saw went uncounted ($other other frames)" \
	test "$(flood_counted)" -ge $(($(port_delta rx_packets) - other - 10))

wait "$PING_PID"
grep -E "packet loss" "$HM_TMP/ping.log" >&2
hm_check "the tunnel carried every ping during the attack" grep -q " 0% packet loss" "$HM_TMP/ping.log"
hm_check "gateway still running" kill -0 "$GW_PID"
hm_check "peer endpoint did not move" \
	bash -c "wg show $GWN endpoints | grep -q '192.168.50.2:51820'"
hm_check "tunnel still up" hm_ping "$VM" 10.2.0.1 3
