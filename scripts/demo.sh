#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Two regions on network namespaces, each a VM behind a hopmesh gateway, the
# gateways joined by one backbone link:
#
#   [vm-a] 10.1.0.2 --- [gw-a] ===== backbone ===== [gw-b] --- 10.2.0.2 [vm-b]
#              10.1.0.1   192.168.50.1      192.168.50.2   10.2.0.1
#
# Peers are configured with wg(8), as with any WireGuard implementation. The
# demo pings across, runs a short iperf3 each way, shows both gateways with
# `wg show` and their drop counters, and removes everything it made.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tests/lib/netns.sh"

hm_init demo
hm_require_root
hm_require_cmd wg iperf3 ethtool python3

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "namespaces: two VMs, two gateways, one backbone link"
for n in vm-a gw-a gw-b vm-b; do hm_ns "$n"; done
VMA=$HM_PREFIX-vm-a GWA=$HM_PREFIX-gw-a GWB=$HM_PREFIX-gw-b VMB=$HM_PREFIX-vm-b
hm_veth "$VMA" eth0 "$GWA" vm0
hm_veth "$VMB" eth0 "$GWB" vm0
hm_veth "$GWA" bb0 "$GWB" bb0
# Like any overlay, the VMs get the tunnel's MTU (1420: 1500 minus outer IPv4,
# UDP and WireGuard headers and tag). Larger packets are counted as too_big.
ip -n "$VMA" link set eth0 mtu 1420
ip -n "$VMB" link set eth0 mtu 1420
ip -n "$VMA" addr add 10.1.0.2/24 dev eth0
ip -n "$VMA" route add default via 10.1.0.1
ip -n "$VMB" addr add 10.2.0.2/24 dev eth0
ip -n "$VMB" route add default via 10.2.0.1

step "gateways: hopmesh-gw on DPDK net_af_packet ports"
A=${HM_PREFIX}a
B=${HM_PREFIX}b
hm_gateway "$GWA" "$A" vm0 10.1.0.1/24 bb0 192.168.50.1/24
hm_gateway "$GWB" "$B" vm0 10.2.0.1/24 bb0 192.168.50.2/24
echo "started $A and $B"

step "peers: wg set on each gateway"
wg set "$A" peer "$(cat "$HM_TMP/$B.pub")" allowed-ips 10.2.0.0/24 endpoint 192.168.50.2:51820
wg set "$B" peer "$(cat "$HM_TMP/$A.pub")" allowed-ips 10.1.0.0/24 endpoint 192.168.50.1:51820
echo "wg set $A peer <$B> allowed-ips 10.2.0.0/24 endpoint 192.168.50.2:51820"
echo "wg set $B peer <$A> allowed-ips 10.1.0.0/24 endpoint 192.168.50.1:51820"

step "ping vm-a -> vm-b through the tunnel"
ip netns exec "$VMA" ping -n -c 5 -i 0.2 10.2.0.2 || hm_fail "ping vm-a -> vm-b"
step "ping vm-b -> vm-a"
ip netns exec "$VMB" ping -n -c 3 -i 0.2 10.1.0.2 || hm_fail "ping vm-b -> vm-a"

for dir in "" -R; do
	step "iperf3 TCP vm-a -> vm-b ${dir:+(reverse)}, 3 s"
	hm_bg "$VMB" iperf3 iperf3 -s -1 -B 10.2.0.2
	sleep 0.5
	ip netns exec "$VMA" iperf3 -c 10.2.0.2 -t 3 $dir | grep -E 'sender|receiver' ||
		hm_fail "iperf3 $dir"
done

step "wg show $A"
wg show "$A"
step "wg show $B"
wg show "$B"

step "drops by reason (non-zero only), from the gateways' control sockets"
for g in "$A" "$B"; do
	hm_ctl "$g" counters | python3 -c '
import json, sys
d = json.load(sys.stdin)
drops = {k: v for k, v in d["drops"].items() if v}
print("%s: encrypted %d, decrypted %d, drops %s" % (d["gateway"], d["encrypted"], d["decrypted"], drops or "none"))'
done
step "done; removing namespaces and processes"
