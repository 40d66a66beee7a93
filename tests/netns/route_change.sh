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

# ---- host routes: a /32 is the longest match, in forwarding too ----
# A /32 for VM B towards gateway C: A encrypts VM B's pings for C, so C's
# decrypt counter grows (and B's cryptokey check would refuse what C sent on,
# C's VMs not being VM A); deleting the /32 falls back to the /24: the pings
# answer again and C decrypts nothing more.
A=$(rig_gwname 1)
lookup_gw() { hm_ctl "$A" route lookup "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["gateway"])'; }
ctl_says() { # WORD COMMAND...: A's reply to COMMAND contains WORD
	local word=$1
	shift
	hm_ctl "$A" "$@" | grep -q "$word"
}
hm_check "route add 10.2.0.2/32 3" ctl_says ok route add 10.2.0.2/32 3
hm_check "lookup 10.2.0.2 -> gateway 3 (the /32)" test "$(lookup_gw 10.2.0.2)" -eq 3
hm_check "lookup 10.2.0.3 -> gateway 2 (the /24)" test "$(lookup_gw 10.2.0.3)" -eq 2
c_dec=$(rig_counter 3 decrypted)
ip netns exec "$VMA" ping -q -n -c 5 -i 0.2 -W 1 10.2.0.2 >/dev/null 2>&1
hm_check "C decrypted the pings the /32 sent it" test $(($(rig_counter 3 decrypted) - c_dec)) -ge 5
hm_check "route del 10.2.0.2/32" ctl_says ok route del 10.2.0.2/32
hm_check "lookup 10.2.0.2 -> gateway 2 again" test "$(lookup_gw 10.2.0.2)" -eq 2
c_dec=$(rig_counter 3 decrypted)
hm_check "ping VM B over the /24 again" hm_ping "$VMA" 10.2.0.2 5
hm_check "C decrypted nothing more" test "$(rig_counter 3 decrypted)" -eq "$c_dec"
hm_check "deleting it twice is an error" ctl_says "no such route" route del 10.2.0.2/32

# 200,000 /32s in one stream load in seconds (rte_lpm alone scanned its rules
# on every add: minutes), and the control socket stays responsive.
hm_check "200000 /32 routes load in under 20 s, lookups right, all deleted again" \
	python3 - "$HM_TMP/run/$A.ctl" 200000 20 <<'PY'
import socket, sys, time
path, n, limit = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
ip = lambda i: "10.%d.%d.%d" % (128 + (i >> 16), (i >> 8) & 255, i & 255)
def session(lines):
    s = socket.socket(socket.AF_UNIX); s.connect(path)
    s.sendall(("quiet on\n" + "".join(lines) + "version\n").encode())
    buf = b""
    while b"\"protocol\"" not in buf:
        d = s.recv(65536)
        if not d: break
        buf += d
    s.close()
    return buf.decode()
def ask(cmd):
    s = socket.socket(socket.AF_UNIX); s.connect(path)
    s.sendall((cmd + "\n").encode()); r = s.recv(4096).decode(); s.close(); return r
t = time.monotonic()
out = session("route add %s/32 %d\n" % (ip(i), 2 + i % 2) for i in range(n))
took = time.monotonic() - t
print("loaded %d /32 routes in %.1f s" % (n, took), file=sys.stderr)
if "error" in out: sys.exit("errors while loading: " + out[:200])
for i in (0, 1, n // 2, n - 1):
    r = ask("route lookup " + ip(i))
    if '"gateway":%d' % (2 + i % 2) not in r: sys.exit("lookup %s: %s" % (ip(i), r))
if '"gateway":0' not in ask("route lookup " + ip(n)): sys.exit("unrouted address found a route")
out = session("route del %s/32\n" % ip(i) for i in range(n))
if "error" in out: sys.exit("errors while deleting: " + out[:200])
if '"gateway":0' not in ask("route lookup " + ip(n // 2)): sys.exit("a deleted route still answers")
sys.exit(took > limit)
PY
hm_check "VM B still answers" hm_ping "$VMA" 10.2.0.2 3
