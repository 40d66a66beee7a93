#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Relays, hop limits and ICMP on the rig, four regions:
#   A us-east (1), B us-west (2), C eu-west (3), D ap-northeast (4).
#
#  - A -> C -> B: C's relay counter grows while it decrypts nothing, B counts
#    the packets as 2 backbone hops, and B's endpoint for A stays A's address;
#    with the direct A-B link cut, a fresh handshake between A and B completes
#    over C.
#  - an answer goes back the way the message came: A's initiation came direct,
#    so B's response goes direct, though B's own path to A (through C) is cut.
#  - tables that disagree (A: D via B, B: D via C, C: D via A), which made a
#    loop while relays forwarded by their own tables: B forwards A's frames
#    for D to D as the header says, C and A relay none of them, the pings
#    answer and no gateway counts a hop-limit drop.
#  - traceroute lists the gateways on the path, direct and through C; tracepath
#    learns the overlay MTU; a DF packet over it gets ICMP fragmentation needed
#    (ICMPv6 packet too big).
set -u
. "$(dirname "$0")/../rig/rig.sh"

hm_init relay
hm_require_root
hm_require_cmd traceroute tracepath
rig_up 4 1
# Near WAN delays keep traceroute quick; the path logic is what is tested here.
for a in 1 2 3 4; do
	for b in 1 2 3 4; do
		[ "$a" -lt "$b" ] && rig_link "$a" "$b" delay=1ms >/dev/null
	done
done
hm_check "rig up" rig_check 15
hm_check "gateway ids registered" rig_register

A=$(rig_gwname 1) B=$(rig_gwname 2) C=$(rig_gwname 3)
VMA=$(rig_vm 1 1) VMB=$(rig_vm 2 1)
# traceroute's parallel probes reach VM B all at once; its kernel would rate
# limit its port-unreachable answers, which is not what this test is about.
ip netns exec "$VMB" sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0

# ---- A -> C -> B ----
hm_check "A reaches B through C" rig_path 1 2 3
hm_check "B reaches A through C" rig_path 2 1 3
c_relayed=$(rig_counter 3 relayed) c_decrypted=$(rig_counter 3 decrypted)
b_hops2=$(rig_counter 2 delivered_by_hops.2)
hm_check "ping A -> B through C" hm_ping "$VMA" 10.2.0.2 10
hm_check "ping6 A -> B through C" hm_ping "$VMA" fd00:2::2 10
relayed=$(($(rig_counter 3 relayed) - c_relayed))
hm_log "C relayed $relayed messages; decrypted $(($(rig_counter 3 decrypted) - c_decrypted))"
hm_check "C relayed both directions (>= 40 messages)" test "$relayed" -ge 40
hm_check "C decrypted nothing" test "$(rig_counter 3 decrypted)" -eq "$c_decrypted"
hm_check "B delivered 20 packets that made 2 backbone hops" \
	test $(($(rig_counter 2 delivered_by_hops.2) - b_hops2)) -eq 20
hm_check "B's endpoint for A is still A's address" \
	bash -c "wg show $B endpoints | grep -q '$(cat "$HM_TMP/$A.pub")	192.168.50.1:51820'"

# A fresh handshake between A and B with the direct link cut.
rig_link 1 2 down >/dev/null
apub=$(cat "$HM_TMP/$A.pub") bpub=$(cat "$HM_TMP/$B.pub")
# renew_ab: A and B forget each other and start afresh (no session).
renew_ab() {
	wg set "$A" peer "$bpub" remove
	wg set "$B" peer "$apub" remove
	wg set "$A" peer "$bpub" allowed-ips 10.2.0.0/24,fd00:2::/64 endpoint 192.168.50.2:51820
	wg set "$B" peer "$apub" allowed-ips 10.1.0.0/24,fd00:1::/64 endpoint 192.168.50.1:51820
}
renew_ab
hs_before=$(rig_counter 3 relayed)
hm_check "handshake A <-> B completes over C with the direct link down" \
	hm_wait_for 15 hm_ping "$VMA" 10.2.0.2 1
hm_check "A has a session with B" \
	bash -c "wg show $A latest-handshakes | grep '$bpub' | awk '{exit !(\$2 > 0)}'"
hm_check "the handshake went through C" test $(($(rig_counter 3 relayed) - hs_before)) -ge 4

# ---- traceroute and MTU through C ----
ip netns exec "$VMA" traceroute -n -w 2 10.2.0.2 >"$HM_TMP/trace-relay.txt" 2>&1
cat "$HM_TMP/trace-relay.txt" >&2
hm_check "traceroute through C lists A, C, B, VM B" \
	python3 - "$HM_TMP/trace-relay.txt" 10.1.0.1 10.3.0.1 10.2.0.1 10.2.0.2 <<'PY'
import sys
hops = [l.split()[1] for l in open(sys.argv[1]).read().splitlines()[1:] if len(l.split()) > 1]
sys.exit(hops != sys.argv[2:])
PY
ip netns exec "$VMA" traceroute -6 -n -w 2 fd00:2::2 >"$HM_TMP/trace6.txt" 2>&1
cat "$HM_TMP/trace6.txt" >&2
hm_check "traceroute6 through C lists A, C, B, VM B" \
	python3 - "$HM_TMP/trace6.txt" fd00:1::1 fd00:3::1 fd00:2::1 fd00:2::2 <<'PY'
import sys
hops = [l.split()[1] for l in open(sys.argv[1]).read().splitlines()[1:] if len(l.split()) > 1]
sys.exit(hops != sys.argv[2:])
PY

# Back to the direct path.
rig_link 1 2 up >/dev/null
hm_check "A reaches B directly" rig_path 1 2 2
hm_check "B reaches A directly" rig_path 2 1 1
ip netns exec "$VMA" traceroute -n -w 2 10.2.0.2 >"$HM_TMP/trace-direct.txt" 2>&1
cat "$HM_TMP/trace-direct.txt" >&2
hm_check "traceroute direct lists A, B, VM B" \
	python3 - "$HM_TMP/trace-direct.txt" 10.1.0.1 10.2.0.1 10.2.0.2 <<'PY'
import sys
hops = [l.split()[1] for l in open(sys.argv[1]).read().splitlines()[1:] if len(l.split()) > 1]
sys.exit(hops != sys.argv[2:])
PY

# ---- an answer goes back the way the message came ----
# B's path to A runs through C, and C no longer gets through to A, while A's
# path to B is direct (as in a key rotation, when the responder's path runs
# through a relay that does not know the new key yet). A's fresh initiation
# comes direct, so B's response goes direct too. Sent by B's path it would
# be lost at C, and A would try again only after REKEY_TIMEOUT (5 s).
hm_check "B reaches A through C" rig_path 2 1 3
rig_link 1 3 down >/dev/null
renew_ab
ip netns exec "$VMA" ping -n -c 1 -W 1 10.2.0.2 >/dev/null 2>&1 &
ping_pid=$!
hm_check "A's fresh handshake with B completes within 3 s, B's path through C notwithstanding" \
	hm_wait_for 3 bash -c "wg show $A latest-handshakes | grep '$bpub' | awk '{exit !(\$2 > 0)}'"
wait "$ping_pid"
rig_link 1 3 up >/dev/null
hm_check "B reaches A directly" rig_path 2 1 1
hm_check "ping A -> B" hm_wait_for 10 hm_ping "$VMA" 10.2.0.2 1

# Path MTU: the VM's own MTU is raised to 1500 so the overlay's is what limits.
# (The VM's kernel caches what it learns: flush it between checks.)
ip -n "$VMA" link set dev eth0 mtu 1500
ip netns exec "$VMA" ping -n -c 1 -W 2 -M do -s 1450 10.2.0.2 >"$HM_TMP/df.txt" 2>&1
hm_check "a DF packet over the MTU gets fragmentation needed (mtu 1420)" \
	grep -q "Frag needed and DF set (mtu = 1420)" "$HM_TMP/df.txt"
ip netns exec "$VMA" ping -6 -n -c 1 -W 2 -s 1450 fd00:2::2 >"$HM_TMP/ptb.txt" 2>&1
hm_check "an IPv6 packet over the MTU gets packet too big (mtu 1420)" \
	grep -q "Packet too big: mtu=1420" "$HM_TMP/ptb.txt"
ip -n "$VMA" route flush cache
ip -n "$VMA" -6 route flush cache
ip netns exec "$VMA" tracepath -n 10.2.0.2 >"$HM_TMP/tracepath.txt" 2>&1
cat "$HM_TMP/tracepath.txt" >&2
hm_check "tracepath learns the overlay MTU (1420)" grep -q "Resume: pmtu 1420" "$HM_TMP/tracepath.txt"
ip -n "$VMA" route flush cache
rig_path 1 2 3 >/dev/null
ip netns exec "$VMA" ping -n -c 1 -W 2 -M do -s 1400 10.2.0.2 >"$HM_TMP/df2.txt" 2>&1
hm_check "through C a 1428-byte DF packet gets fragmentation needed (mtu 1388: the 32-byte relay header)" \
	grep -q "mtu = 1388" "$HM_TMP/df2.txt"
ip -n "$VMA" route flush cache
# One 1500-byte datagram with DF clear: the gateway cuts it for the 1388-byte
# path. (Not a larger one the VM fragments itself: net_af_packet's fanout
# reassembles fragments in the kernel before we see them, docs/OPERATIONS.md.)
c_frag=$(rig_counter 1 encrypted)
ip netns exec "$VMA" ping -n -c 3 -W 2 -M dont -s 1472 10.2.0.2 >"$HM_TMP/frag.txt" 2>&1
hm_check "a 1500-byte packet without DF is fragmented and answered" \
	grep -q " 0% packet loss" "$HM_TMP/frag.txt"
hm_check "each such packet left A as two encrypted fragments" \
	test $(($(rig_counter 1 encrypted) - c_frag)) -ge 6
rig_path 1 2 2 >/dev/null

# ---- tables that disagree: the header's path is followed ----
hm_check "A -> D via B" rig_path 1 4 2
hm_check "B -> D via C" rig_path 2 4 3
hm_check "C -> D via A" rig_path 3 4 1
# What the earlier part sent through C may still be on the emulated links:
# the counters are read once it has landed.
sleep 1
limit_total() { echo $(($(rig_counter 1 drops.hop_limit) + $(rig_counter 2 drops.hop_limit) + $(rig_counter 3 drops.hop_limit) + $(rig_counter 4 drops.hop_limit))); }
limit_before=$(limit_total)
a_rel=$(rig_counter 1 relayed) b_rel=$(rig_counter 2 relayed) c_rel=$(rig_counter 3 relayed)
d_hops2=$(rig_counter 4 delivered_by_hops.2)
hm_check "20 pings A -> D through B, B's own path to D notwithstanding" \
	hm_ping "$VMA" 10.4.0.2 20
b_rel=$(($(rig_counter 2 relayed) - b_rel))
hm_log "B relayed $b_rel; A $(($(rig_counter 1 relayed) - a_rel)), C $(($(rig_counter 3 relayed) - c_rel))"
hm_check "B relayed A's 20 pings (>= 20)" test "$b_rel" -ge 20
# B's own messages to D (a handshake, a keepalive) do take B's path via C,
# and C's take its path via A: a couple at most each; A's 20 pings, followed
# by each relay's own table or looping back, would be 20 at C or at A.
hm_check "C relayed none of them, 2 at most of B's own (B did not follow its own table)" \
	test "$(rig_counter 3 relayed)" -le $((c_rel + 2))
hm_check "A relayed none of them either, 2 at most of C's own (no loop back)" \
	test "$(rig_counter 1 relayed)" -le $((a_rel + 2))
hm_check "D delivered the 20 as 2-hop packets" \
	test $(($(rig_counter 4 delivered_by_hops.2) - d_hops2)) -ge 20
hm_check "no gateway counted a hop-limit drop" test "$(limit_total)" -eq "$limit_before"
for r in 1 2 3 4; do
	hm_check "gateway $r still running" kill -0 "${RIG_GWPID[$((r - 1))]}"
done
