#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The rig's two gateways on net_af_xdp (the PMD loads xdp/xsk_redirect.bpf.c)
# instead of net_af_packet, with the default `idle = adaptive`:
#   - each worker sleeps on its ports' AF_XDP sockets (the gateway says so),
#     so a ping every 10 ms (100 packets/s, docs/PERFORMANCE.md's light load)
#     crosses the pair without waiting out sleeps: none of 300 lost, median
#     round trip at most LAT_P50_MS (0.3 ms measured; a worker that only
#     woke on its timeout made it 2 ms);
#   - iperf3 TCP both ways carries traffic, with no replay or decryption drop;
#   - idle, each gateway uses at most 5 % of a core (as tests/netns/idle.sh);
#   - a gateway whose af_xdp port prefers busy polling (busy_budget not 0)
#     warns at start that frames will wait (docs/OPERATIONS.md).
# Backbone on a plain bridge: the emulator's queueing is not the subject.
set -u
. "$(dirname "$0")/../rig/rig.sh"

LAT_P50_MS=1.0
IDLE_PERCENT=5
hm_init af_xdp
hm_require_root
hm_require_cmd iperf3 ping
HM_PMD=af_xdp
hm_hugepages 512 # 2 gateways x 256 MB (-m 256); put back at the end

# light_p50 FILE: the median round trip of a ping -n output, ms.
light_p50() {
	python3 -c '
import re, statistics, sys
t = [float(m) for m in re.findall(r"time=([0-9.]+) ms", open(sys.argv[1]).read())]
print(statistics.median(t) if t else 1e9)' "$1"
}

rig_up 2 1
rig_bridge_wan
hm_check "sessions established" rig_check 15
for r in 1 2; do
	hm_check "gateway $r: its worker waits on both ports' AF_XDP sockets" \
		grep -q "worker 0: idle waits on 2 port sockets" "$HM_TMP/$(rig_gwname "$r").log"
	hm_check "gateway $r: no busy-polling warning" \
		bash -c "! grep -q 'without busy_budget=0' '$HM_TMP/$(rig_gwname "$r").log'"
done

# ---- light load ----
ip netns exec "$(rig_vm 1 1)" ping -n -i 0.01 -W 1 -c 300 "$(rig_vm_addr 2 1)" >"$HM_TMP/light.txt" 2>&1
p50=$(light_p50 "$HM_TMP/light.txt")
hm_log "light load: median $p50 ms; $(tail -2 "$HM_TMP/light.txt" | tr '\n' ' ')"
hm_check "light load: none of 300 pings lost" grep -q " 0% packet loss" "$HM_TMP/light.txt"
hm_check "light load: median round trip at most $LAT_P50_MS ms" \
	python3 -c "import sys; sys.exit(not $p50 <= $LAT_P50_MS)"

# ---- TCP both ways ----
b=$(rig_vm_addr 2 1)
for dir in "" -R; do
	hm_bg "$(rig_vm 2 1)" iperf3-server iperf3 -s -1 -B "$b"
	sleep 0.5
	ip netns exec "$(rig_vm 1 1)" iperf3 -c "$b" -t 3 $dir -J >"$HM_TMP/iperf.json" ||
		hm_fail "iperf3 $dir failed"
	bps=$(python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"]))' "$HM_TMP/iperf.json")
	hm_log "iperf3 ${dir:-forward}: $((bps / 1000000)) Mbit/s"
	hm_check "iperf3 ${dir:-forward} carried traffic" test "$bps" -gt 1000000
done
for r in 1 2; do
	hm_check "gateway $r: no replay or decryption drops" \
		test "$(rig_counter "$r" drops.replayed)" -eq 0 -a "$(rig_counter "$r" drops.decrypt_failed)" -eq 0
done

# ---- idle ----
sleep 12 # the protocol's keepalive after the last data goes out within 10 s
rig_check_idle "$IDLE_PERCENT" 1 2

# ---- preferred busy polling: the gateway warns ----
HM_AF_XDP_BUSY_BUDGET=64 rig_restart_gw 1
hm_check "busy_budget=64: gateway 1 warns that frames wait" \
	grep -q "without busy_budget=0 holds frames" "$HM_TMP/$(rig_gwname 1).log"
hm_check "restarted gateway reaches the other" rig_check 15
ip netns exec "$(rig_vm 1 1)" ping -n -i 0.01 -W 1 -c 100 "$(rig_vm_addr 2 1)" >"$HM_TMP/busy.txt" 2>&1
hm_log "light load with busy_budget=64 at gateway 1: median $(light_p50 "$HM_TMP/busy.txt") ms (not a bound)"
