#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Bad input on the backbone port while the tunnel carries a ping, on the rig
# (tests/rig/rig.sh): region 1 (us-east) has hopmesh for its gateway, region 2
# (us-west) wireguard-go, a kernel-routed WireGuard gateway whose namespace
# owns the underlay address 192.168.50.2; the crafted datagrams
# (tests/lib/wgcraft.py) leave from there, across the emulated WAN (1 ms each
# way) to hopmesh at 192.168.50.1: truncated and oversized messages, unknown
# types, wrong mac1, replayed data, data for an unknown index, data whose inner
# source is outside the peer's allowed-ips, and a handshake flood with valid
# mac1. Each must be a drop counted under its reason; nothing may crash, the
# peer's endpoint must not move, and the ping must lose nothing.
set -u
. "$(dirname "$0")/../rig/rig.sh"

hm_init badinput
hm_require_root
hm_require_cmd wireguard-go wg ethtool python3

CRAFT=$(dirname "$0")/../lib/wgcraft.py
RIG_WGGO_REGIONS=2
rig_up 2 1
rig_link 1 2 delay=1ms >/dev/null || hm_fail "cannot set the WAN delay"
GWN=$(rig_gwname 1) GWPUB=$(cat "$HM_TMP/$(rig_gwname 1).pub")   # hopmesh
WG=$(rig_gw 2) WGN=$(rig_gwname 2)                            # wireguard-go's namespace
VM=$(rig_vm 1 1) B=$(rig_vm_addr 2 1)
HOST=$(rig_underlay 1)
hm_check "tunnel up" hm_ping "$VM" "$B" 3

snapshot() { hm_ctl "$GWN" counters >"$HM_TMP/$1.json"; }
delta() { # REASON: how much drops.REASON grew between the snapshots
	python3 -c '
import json, sys
a = json.load(open(sys.argv[1]))["drops"]; b = json.load(open(sys.argv[2]))["drops"]
print(b[sys.argv[3]] - a[sys.argv[3]])' "$HM_TMP/before.json" "$HM_TMP/after.json" "$1"
}

# 30 s of pings, every 100 ms, through everything below; -D stamps each reply
# so that a loss can be placed in time.
hm_bg "$VM" ping ping -D -n -c 300 -i 0.1 -W 2 "$B"
PING_PID=$HM_LAST_PID
sleep 1

for kind in $(python3 "$CRAFT" kinds | cut -d' ' -f1); do
	snapshot before
	counter=$(ip netns exec "$WG" python3 "$CRAFT" send "$HOST" 51820 "$kind" 20)
	sleep 0.3
	snapshot after
	hm_check "$kind: 20 sent, counted as $counter" test "$(delta "$counter")" -eq 20
done

# wireguard-go's data to hopmesh crosses bb0: one message, sent 50 times more.
snapshot before
ip netns exec "$WG" python3 "$CRAFT" replay bb0 "$HOST" 51820 50 ||
	hm_fail "could not capture a data message to replay"
sleep 0.3
snapshot after
hm_check "replayed data: 50 counted as replayed" test "$(delta replayed)" -eq 50

# wireguard-go encrypts for us a packet whose source we never allowed it.
snapshot before
ip -n "$WG" addr add 10.3.0.5/32 dev "$WGN"
ip netns exec "$WG" ping -q -c 5 -i 0.1 -W 1 -I 10.3.0.5 "$(rig_vm_addr 1 1)" >/dev/null 2>&1
sleep 0.3
snapshot after
hm_check "inner source outside allowed-ips: 5 counted" test "$(delta source_not_allowed)" -eq 5

# A paced flood of initiations with a valid mac1 (garbage inside): every one
# that reaches the port is accounted for by reason, and all reach it.
flood_counted() {
	echo $(($(delta handshake_invalid) + $(delta cookie_required) + \
		$(delta handshake_ratelimited) + $(delta slowpath_full_handshake)))
}
port_delta() {
	python3 -c '
import json, sys
a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
print(b["ports"]["backbone"][sys.argv[3]] - a["ports"]["backbone"][sys.argv[3]])' \
		"$HM_TMP/before.json" "$HM_TMP/after.json" "$1"
}
wan_drops() { # dropped anywhere by the emulator on the way to hopmesh
	"$HM_WANEMCTL" "$RIG_SOCK" show "${RIG_REGIONS[1]}" "${RIG_REGIONS[0]}" | python3 -c '
import json, sys
p = json.load(sys.stdin)["pairs"][0]
print(p["dropped_loss"] + p["dropped_down"] + p["dropped_queue"] + p["dropped_tx"])'
}
snapshot before
ip netns exec "$WG" python3 "$CRAFT" flood "$HOST" 51820 "$GWPUB" 3000
sleep 2
snapshot after
hm_log "paced flood of 3000: invalid $(delta handshake_invalid), cookie $(delta cookie_required), queue full $(delta slowpath_full_handshake); emulator drops so far $(wan_drops)"
hm_check "paced flood: all 3000 counted by reason" test "$(flood_counted)" -eq 3000

# The same at once: the main lcore's backlog puts it under load, so it answers
# with cookie replies instead of spending Curve25519 on each. Some datagrams
# may die in the sending kernel's veth backlog or the emulator's socket, but
# every one the port saw is counted.
snapshot before
burst_start=$(date +%s.%N)
ip netns exec "$WG" python3 "$CRAFT" flood "$HOST" 51820 "$GWPUB" 10000 0
burst_end=$(date +%s.%N)
sleep 3
snapshot after
hm_log "burst of 10000: port saw $(port_delta rx_packets), emulator drops so far $(wan_drops); invalid $(delta handshake_invalid), cookie $(delta cookie_required), rate limited $(delta handshake_ratelimited), queue full $(delta slowpath_full_handshake)"
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
# A burst sent at once overflows the sending kernel's veth backlog before
# anything of ours sees it, and takes with it whatever else was queued there,
# perhaps a ping. So: no ping lost outside the burst (plus a second for the
# backlog to drain), and at most 3 during it.
lost=$(python3 -c '
import re, sys
start, end = float(sys.argv[2]), float(sys.argv[3]) + 1.0
seen = {}
for line in open(sys.argv[1]):
    m = re.match(r"\[([0-9.]+)\].*icmp_seq=([0-9]+) ", line)
    if m:
        seen[int(m.group(2))] = float(m.group(1))
def when(seq):  # between the replies around it, as ping paces its sends
    before = [s for s in seen if s < seq]
    after = [s for s in seen if s > seq]
    if not before and not after:
        return None
    if not after:  # the last pings: on from the last reply at the interval
        return seen[max(before)] + 0.1 * (seq - max(before))
    if not before:
        return seen[min(after)] - 0.1 * (min(after) - seq)
    a, b = max(before), min(after)
    return seen[a] + (seen[b] - seen[a]) * (seq - a) / (b - a)
inside = outside = 0
for seq in range(1, 301):
    if seq in seen:
        continue
    t = when(seq)
    if t is None:
        outside += 1
        continue
    if start - 0.5 <= t <= end:
        inside += 1
    else:
        outside += 1
print(inside, outside)' "$HM_TMP/ping.log" "$burst_start" "$burst_end")
hm_log "pings lost during the burst: ${lost% *}, outside it: ${lost#* } (burst from $burst_start to $burst_end)"
hm_check "the tunnel carried every ping outside the burst" test "${lost#* }" -eq 0
hm_check "the burst cost at most 3 pings" test "${lost% *}" -le 3
hm_check "hopmesh gateway still running" kill -0 "${RIG_GWPID[0]}"
hm_check "wireguard-go still running" kill -0 "${RIG_GWPID[1]}"
hm_check "peer endpoint did not move" \
	bash -c "wg show $GWN endpoints | grep -q '$(rig_underlay 2):51820'"
hm_check "tunnel still up" hm_ping "$VM" "$B" 3
