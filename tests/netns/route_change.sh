#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# A route change under a flow (rig, three regions A, B, C): A's path to B goes
# direct -> through C -> direct -> through C -> direct while iperf3 runs. A paced
# UDP flow counts exactly how many datagrams the switches lost (goal 0, the test
# fails above LOSS_BOUND); a TCP flow must keep moving in every second.
set -u
. "$(dirname "$0")/../rig/rig.sh"

LOSS_BOUND=${LOSS_BOUND:-5}
hm_init route_change
hm_require_root
hm_require_cmd iperf3
rig_up 3 1
rig_link 1 2 delay=2ms >/dev/null
rig_link 1 3 delay=2ms >/dev/null
rig_link 2 3 delay=2ms >/dev/null
hm_check "rig up" rig_check 15
hm_check "gateway ids registered" rig_register
hm_check "A -> B direct, with routes" rig_path 1 2 2
VMA=$(rig_vm 1 1) VMB=$(rig_vm 2 1)

# switch_paths: every 2 s, through C and back, four times.
switch_paths() {
	local via
	for via in 3 2 3 2; do
		sleep 2
		rig_path 1 2 "$via" || return 1
	done
}

run_flow() { # NAME IPERF-ARGS...
	local name=$1
	shift
	hm_bg "$VMB" "iperf3-$name" iperf3 -s -1 -B 10.2.0.2
	sleep 0.5
	ip netns exec "$VMA" iperf3 -c 10.2.0.2 -t 10 -J "$@" >"$HM_TMP/$name.json" &
	local client=$!
	switch_paths || hm_fail "path switch refused"
	wait "$client" || hm_fail "iperf3 $name failed"
}

c_before=$(rig_counter 3 relayed)
run_flow udp -u -b 20M -l 1200
read -r lost total ooo < <(python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))["end"]["sum"]
print(s["lost_packets"], s["packets"], s.get("out_of_order", 0))' "$HM_TMP/udp.json")
hm_log "UDP 20 Mbit/s for 10 s over 4 path switches: $lost of $total datagrams lost, $ooo out of order"
hm_check "the switches went through C" test $(($(rig_counter 3 relayed) - c_before)) -gt 1000
hm_check "no more than $LOSS_BOUND datagrams lost over 4 switches" test "$lost" -le "$LOSS_BOUND"

run_flow tcp
python3 - "$HM_TMP/tcp.json" <<'PY' >&2
import json, sys
iv = json.load(open(sys.argv[1]))["intervals"]
print("TCP per second (Mbit/s):", " ".join("%.0f" % (i["sum"]["bits_per_second"] / 1e6) for i in iv))
PY
hm_check "the TCP flow moved in every second" python3 - "$HM_TMP/tcp.json" <<'PY'
import json, sys
iv = json.load(open(sys.argv[1]))["intervals"]
sys.exit(not iv or any(i["sum"]["bytes"] == 0 for i in iv))
PY
