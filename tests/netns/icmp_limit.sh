#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The ICMP error limit is per source, on the rig (two regions, two VMs in the
# first): VM A (10.1.0.2) floods pings with TTL 1 across its gateway, about
# 500 a second for 25 s, while VM B (10.1.0.3) does path MTU discovery and a
# traceroute to a VM of the other region. Checked:
#  - during the flood, each of B's DF probes over the overlay MTU gets
#    "fragmentation needed (mtu 1420)", each IPv6 one "packet too big", then
#    the smaller size goes through; tracepath learns 1420 and traceroute
#    lists both gateways;
#  - A gets time-exceeded errors at its own rate throughout (200 a second
#    after a burst of 100, counted from what it sent), not only the burst,
#    and the gateway counts the rest as icmp_ratelimited.
set -u
. "$(dirname "$0")/../rig/rig.sh"

hm_init icmp_limit
hm_require_root
hm_require_cmd traceroute tracepath
rig_up 2 2
rig_link 1 2 delay=1ms >/dev/null
hm_check "rig up" rig_check 15
hm_check "gateway ids registered" rig_register

VMA=$(rig_vm 1 1) VMB=$(rig_vm 1 2) REMOTE=$(rig_vm 2 1)
# 25 s at 500 a second. (Not ping -w: with a deadline ping stops at its first
# error.)
FLOOD_N=12500
# traceroute's parallel probes reach the remote VM all at once: its kernel
# would rate limit its port-unreachable answers, which is not tested here.
ip netns exec "$REMOTE" sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0
# B's own MTU is raised so the overlay's (1420) is what limits.
ip -n "$VMB" link set dev eth0 mtu 1500
hm_check "B reaches the remote VM" hm_ping "$VMB" 10.2.0.2 3

limited0=$(rig_counter 1 drops.icmp_ratelimited) ttl0=$(rig_counter 1 drops.ttl_exceeded)
start=$(now_ms)
hm_bg "$VMA" flood ping -n -q -t 1 -i 0.002 -c "$FLOOD_N" 10.2.0.2
FLOOD=$HM_LAST_PID
sleep 2  # A's burst is spent: its bucket is empty from here on

# ---- B, during the flood ----
probes=20 got=0 got6=0
for _ in $(seq "$probes"); do
	ip -n "$VMB" route flush cache
	ip -n "$VMB" -6 route flush cache
	ip netns exec "$VMB" ping -n -c 1 -W 1 -M 'do' -s 1450 10.2.0.2 >"$HM_TMP/df.txt" 2>&1
	grep -q "Frag needed and DF set (mtu = 1420)" "$HM_TMP/df.txt" && got=$((got + 1))
	ip netns exec "$VMB" ping -6 -n -c 1 -W 1 -s 1450 fd00:2::2 >"$HM_TMP/ptb.txt" 2>&1
	grep -q "Packet too big: mtu=1420" "$HM_TMP/ptb.txt" && got6=$((got6 + 1))
	sleep 0.1
done
hm_log "during the flood: B got fragmentation needed for $got of $probes probes, packet too big for $got6 of $probes"
hm_check "B: every DF probe got fragmentation needed (mtu 1420)" test "$got" -eq "$probes"
hm_check "B: every IPv6 probe got packet too big (mtu 1420)" test "$got6" -eq "$probes"
df_ok() {
	ip netns exec "$VMB" ping -q -n -c 5 -i 0.1 -W 2 -M 'do' -s 1392 10.2.0.2 >"$HM_TMP/df-ok.txt" 2>&1 &&
		grep -q " 0% packet loss" "$HM_TMP/df-ok.txt"
}
hm_check "B: then 1420-byte DF packets go through" df_ok
ip -n "$VMB" route flush cache
ip netns exec "$VMB" tracepath -n 10.2.0.2 >"$HM_TMP/tracepath.txt" 2>&1
cat "$HM_TMP/tracepath.txt" >&2
hm_check "B: tracepath learns the overlay MTU (1420)" grep -q "Resume: pmtu 1420" "$HM_TMP/tracepath.txt"
ip netns exec "$VMB" traceroute -n -w 2 10.2.0.2 >"$HM_TMP/trace.txt" 2>&1
cat "$HM_TMP/trace.txt" >&2
hm_check "B: traceroute lists both gateways and the VM" \
	python3 - "$HM_TMP/trace.txt" 10.1.0.1 10.2.0.1 10.2.0.2 <<'PY'
import sys
hops = [l.split()[1] for l in open(sys.argv[1]).read().splitlines()[1:] if len(l.split()) > 1]
sys.exit(hops != sys.argv[2:])
PY
hm_check "the flood lasted through B's checks" kill -0 "$FLOOD"

# ---- A's own errors ----
wait "$FLOOD"
hm_forget "$FLOOD"
elapsed_ms=$(($(now_ms) - start))
cat "$HM_TMP/flood.log" >&2
sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$HM_TMP/flood.log")
errors=$(sed -n 's/.* +\([0-9]*\) errors.*/\1/p' "$HM_TMP/flood.log")
limited=$(($(rig_counter 1 drops.icmp_ratelimited) - limited0))
ttl=$(($(rig_counter 1 drops.ttl_exceeded) - ttl0))
hm_log "A sent ${sent:-?} with TTL 1 in ${elapsed_ms} ms; got ${errors:-0} time exceeded;" \
	"the gateway counted $ttl expired, $limited rate limited"
[ -n "$sent" ] || hm_fail "no summary from A's ping"
errors=${errors:-0}
# A's quota over the flood: the burst and 200 a second (the wall time above
# bounds the flood's own).
quota=$((100 + 200 * elapsed_ms / 1000))
# The old arithmetic gave the burst (100) and nothing after it: at least 150
# a second of the flood (or all of it, had A sent fewer).
floor=$((150 * elapsed_ms / 1000 - 300))
[ "$floor" -le "$sent" ] || floor=$sent
# That the limit was reached is judged on ping's own sending time (shorter
# than the wall time, so the quota is smaller): a slow machine stretches both.
ping_ms=$(sed -n 's/.* time \([0-9]*\)ms.*/\1/p' "$HM_TMP/flood.log")
[ -n "$ping_ms" ] || ping_ms=$elapsed_ms
hm_check "A sent more than its quota over its own ${ping_ms} ms (the limit was reached)" \
	test "$sent" -gt $((100 + 200 * ping_ms / 1000 + 500))
hm_check "the gateway saw every expired packet" test "$ttl" -ge "$sent"
hm_check "A got no more than its quota ($quota)" test "$errors" -le "$quota"
hm_check "A got errors throughout, at least $floor" test "$errors" -ge "$floor"
# What A did not get, the gateway refused and counted (2% slack for errors
# lost on the way back to A's socket).
hm_check "the rest were counted as rate limited" \
	test $((limited * 100)) -ge $(((sent - errors) * 98)) -a "$limited" -le $((sent - errors))
hm_check "gateway 1 still running" kill -0 "${RIG_GWPID[0]}"
