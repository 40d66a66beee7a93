#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# A hostile VM on the rig (two regions, the default 35 ms each way between
# them; tests/lib/vmforge.py sends what the VMs forge):
#
#  1. Source addresses. VM 10.1.0.2 sends UDP to VM 10.2.0.2 with its own
#     addresses (IPv4 and IPv6), and with another region's VM address
#     (10.2.0.3, fd00:2::3), addresses no one has (10.9.0.5, fd00:9::5) and
#     its gateway's own (10.1.0.1), 20 datagrams each. The receiver gets the
#     first two sets whole and nothing of the rest; gateway 1 counts exactly
#     those as vm_spoofed_source; a ping goes on.
#  2. Probe replies. Gateway 1 probes gateway 2 every 50 ms. VM 10.2.0.2
#     sends gateway 1 forged replies through gateway 2's session: 300 from
#     its own address naming gateway 2, 50 naming gateway 3, 50 from
#     gateway 2's overlay address 10.2.0.1; their stamps say 1 ms and 5 s
#     (the gateway and the VM share CLOCK_MONOTONIC here). Compared with the
#     3 s before: every RTT sample taken during the forgery stays inside
#     60 ms-1 s (the emulated round trip is 70 ms), their median within 15 ms
#     of the baseline's, and replies received stay within probes sent (in
#     flight at the edges: +3/-5). A gateway that read the stamp and checked
#     nothing (main before this test) counts all 400 as replies with RTTs of
#     about 1 ms and 5 s. Gateway 1 counts 300 probe_reply_wrong_source and
#     50 probe_reply_wrong_session; gateway 2 counts the 50 as
#     vm_spoofed_source.
# VM_FORGERY_PART=2 runs part 2 alone, its drop counts unchecked: for
# comparing with a gateway from before these checks (HOPMESH_BUILD).
set -u
. "$(dirname "$0")/../rig/rig.sh"

hm_init vm_forgery
hm_require_root
hm_require_cmd python3
FORGE=$(dirname "$0")/../lib/vmforge.py
rig_up 2 1
hm_check "rig up" rig_check 15
hm_check "gateway ids registered" rig_register
GW1=$(rig_gwname 1)
VM1=$(rig_vm 1 1) VM2=$(rig_vm 2 1)

PART=${VM_FORGERY_PART:-all}

# ---- 1. source addresses ----
[ "$PART" = 2 ] || {
spoofed0=$(rig_counter 1 drops.vm_spoofed_source)
hm_bg "$VM2" count python3 "$FORGE" count 7000 30
COUNT=$HM_LAST_PID
sleep 1
for pair in 10.1.0.2:10.2.0.2 fd00:1::2:fd00:2::2 10.2.0.3:10.2.0.2 fd00:2::3:fd00:2::2 \
	10.9.0.5:10.2.0.2 fd00:9::5:fd00:2::2 10.1.0.1:10.2.0.2; do
	case $pair in
	*.*) src=${pair%%:*} dst=${pair#*:} ;;
	*) src=${pair%:fd00:2::2} dst=fd00:2::2 ;;
	esac
	ip netns exec "$VM1" python3 "$FORGE" udp "$src" "$dst" 7000 20 ||
		hm_fail "could not send from $src"
done
hm_check "a ping from VM 10.1.0.2 goes on" hm_ping "$VM1" 10.2.0.2 5 0.2
# The last datagram (after those in flight: 35 ms each way).
sleep 0.5
ip netns exec "$VM1" python3 "$FORGE" stop 10.2.0.2 7000
wait "$COUNT"
hm_forget "$COUNT"
cat "$HM_TMP/count.log" >&2
got() { awk -v k="vmforge_$1" '$1 == k { print $2 }' "$HM_TMP/count.log"; }
spoofed=$(($(rig_counter 1 drops.vm_spoofed_source) - spoofed0))
hm_log "received: own $(got 10.1.0.2)+$(got fd00:1::2) of 20+20; gateway 1 counted $spoofed spoofed"
hm_check "own IPv4 address: all 20 delivered" test "$(got 10.1.0.2)" = 20
hm_check "own IPv6 address: all 20 delivered" test "$(got fd00:1::2)" = 20
for src in 10.2.0.3 fd00:2::3 10.9.0.5 fd00:9::5 10.1.0.1; do
	hm_check "from $src: nothing delivered" test -z "$(got "$src")"
done
hm_check "gateway 1 counted the 100 forged as vm_spoofed_source" test "$spoofed" -eq 100
}

# ---- 2. probe replies ----
hm_ctl "$GW1" probe interval 50 | grep -q '"ok"' || hm_fail "probe interval refused"
sleep 1
dump() { hm_ctl "$GW1" probe dump "$1" >"$HM_TMP/$2.json" || hm_fail "probe dump"; }
seq_of() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["seq"])' "$HM_TMP/$1.json"; }
dump 0 start
sleep 3
dump "$(seq_of start)" baseline
if [ "$PART" != 2 ]; then
	wrong_source0=$(rig_counter 1 drops.probe_reply_wrong_source)
	wrong_session0=$(rig_counter 1 drops.probe_reply_wrong_session)
	spoofed20=$(rig_counter 2 drops.vm_spoofed_source)
fi
ip netns exec "$VM2" python3 "$FORGE" probe-replies 10.1.0.1 300 2 &&
	ip netns exec "$VM2" python3 "$FORGE" probe-replies 10.1.0.1 50 3 &&
	ip netns exec "$VM2" python3 "$FORGE" probe-replies 10.1.0.1 50 2 10.2.0.1 ||
	hm_fail "could not send the forged replies"
sleep 0.5
dump "$(seq_of baseline)" forged
# Figures of link 2: sent and received since the previous dump, and the RTT
# samples (ms) a dump holds.
figures() {
	python3 - "$HM_TMP/$1.json" "$HM_TMP/$2.json" <<'PY'
import json, statistics, sys
a, b = (next(l for l in json.load(open(f))["links"] if l["gateway"] == 2) for f in sys.argv[1:])
rtt = [x / 1000 for x in b["rtt_us"]]
print(b["sent"] - a["sent"], b["received"] - a["received"], len(rtt),
      "%.1f %.1f %.1f" % (min(rtt), statistics.median(rtt), max(rtt)) if rtt else "- - -")
PY
}
read -r sent0 recv0 n0 min0 med0 max0 <<<"$(figures start baseline)"
read -r sent1 recv1 n1 min1 med1 max1 <<<"$(figures baseline forged)"
hm_log "baseline: $sent0 probes, $recv0 replies, $n0 samples, RTT min/median/max $min0/$med0/$max0 ms"
hm_log "forged:   $sent1 probes, $recv1 replies, $n1 samples, RTT min/median/max $min1/$med1/$max1 ms"
hm_check "baseline has samples" test "$n0" -ge 20
hm_check "samples during the forgery" test "$n1" -ge 20
# X LOW HIGH: LOW <= X <= HIGH
inside() { python3 -c 'import sys; a = [float(x) for x in sys.argv[1:]]; sys.exit(not a[1] <= a[0] <= a[2])' "$@"; }
hm_check "no RTT sample under 60 ms during the forgery" inside "$min1" 60 1e9
hm_check "no RTT sample over 1 s during the forgery" inside "$max1" 0 1000
hm_check "median RTT within 15 ms of the baseline's" inside "$(python3 -c "print($med1 - $med0)")" -15 15
hm_check "replies received within probes sent (+3)" test "$recv1" -le $((sent1 + 3))
hm_check "no loss either (-5)" test "$recv1" -ge $((sent1 - 5))
[ "$PART" = 2 ] && exit 0
hm_check "gateway 1 counted 300 probe_reply_wrong_source" \
	test $(($(rig_counter 1 drops.probe_reply_wrong_source) - wrong_source0)) -eq 300
hm_check "gateway 1 counted 50 probe_reply_wrong_session" \
	test $(($(rig_counter 1 drops.probe_reply_wrong_session) - wrong_session0)) -eq 50
hm_check "gateway 2 counted the 50 from its overlay address as vm_spoofed_source" \
	test $(($(rig_counter 2 drops.vm_spoofed_source) - spoofed20)) -eq 50
hm_check "gateway 1 still running" kill -0 "${RIG_GWPID[0]}"
