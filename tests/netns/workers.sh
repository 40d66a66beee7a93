#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Two workers per gateway carry the traffic of many peers at once (rig, four
# regions, each gateway a peer of three others; a UDP and a TCP flow between
# every ordered pair of regions). A nonce used twice would show at a receiver
# as a replay (or a failed decryption), a race on a replay window as false
# replay drops: every gateway's counters for both must stay 0.
set -u
. "$(dirname "$0")/../rig/rig.sh"

hm_init workers
hm_require_root
hm_require_cmd iperf3
RIG_GW_LINES="workers = 2"
rig_up 4 2
for a in 1 2 3 4; do
	for b in 1 2 3 4; do
		[ "$a" -lt "$b" ] && rig_link "$a" "$b" delay=1ms >/dev/null
	done
done
hm_check "rig up" rig_check 15

# Servers on every VM 2, one port per source region; clients on every VM 1.
pids=()
for b in 1 2 3 4; do
	for a in 1 2 3 4; do
		[ "$a" -ne "$b" ] || continue
		hm_bg "$(rig_vm "$b" 2)" "srv-$a-$b-u" iperf3 -s -1 -p $((5200 + a)) -B "$(rig_vm_addr "$b" 2)"
		hm_bg "$(rig_vm "$b" 2)" "srv-$a-$b-t" iperf3 -s -1 -p $((5300 + a)) -B "$(rig_vm_addr "$b" 2)"
	done
done
sleep 1
for a in 1 2 3 4; do
	for b in 1 2 3 4; do
		[ "$a" -ne "$b" ] || continue
		ip netns exec "$(rig_vm "$a" 1)" iperf3 -c "$(rig_vm_addr "$b" 2)" -p $((5200 + a)) \
			-u -b 2M -l 1000 -t 8 -P 2 -J >"$HM_TMP/udp-$a-$b.json" 2>&1 &
		pids+=($!)
		ip netns exec "$(rig_vm "$a" 1)" iperf3 -c "$(rig_vm_addr "$b" 2)" -p $((5300 + a)) \
			-t 8 -J >"$HM_TMP/tcp-$a-$b.json" 2>&1 &
		pids+=($!)
	done
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
hm_check "all 24 flows completed" test "$failed" -eq 0
python3 - "$HM_TMP" <<'PY' >&2
import glob, json, sys
lost = total = 0
for f in glob.glob(sys.argv[1] + "/udp-*.json"):
    s = json.load(open(f))["end"]["sum"]
    lost += s["lost_packets"]; total += s["packets"]
tcp = sum(json.load(open(f))["end"]["sum_received"]["bytes"] for f in glob.glob(sys.argv[1] + "/tcp-*.json"))
print("12 UDP flows: %d of %d datagrams lost; 12 TCP flows: %.0f MB" % (lost, total, tcp / 1e6))
PY
for r in 1 2 3 4; do
	g=$(rig_gwname "$r")
	hm_ctl "$g" counters >"$HM_TMP/c$r.json"
	read -r enc dec rep dfail hand w0 w1 < <(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
w = [x["encrypted"] + x["decrypted"] for x in d["per_worker"]]
print(d["encrypted"], d["decrypted"], d["drops"]["replayed"], d["drops"]["decrypt_failed"],
      d["handed_off"], *w)' "$HM_TMP/c$r.json")
	hm_log "gateway $r: encrypted $enc, decrypted $dec (worker 0: $w0, worker 1: $w1), handed off $hand, replayed $rep, decrypt failed $dfail"
	hm_check "gateway $r carried traffic both ways" test "$enc" -gt 5000 -a "$dec" -gt 5000
	hm_check "gateway $r: both workers encrypted or decrypted" test "$w0" -gt 100 -a "$w1" -gt 100
	hm_check "gateway $r: no replay drops (no nonce reuse, no false replays)" test "$rep" -eq 0
	hm_check "gateway $r: no failed decryptions" test "$dfail" -eq 0
done
