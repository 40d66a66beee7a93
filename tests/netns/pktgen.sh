#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# perf/pktgen on veths (net_af_packet), then through the rig's gateways.
#
#  1. Direct: one namespace, a veth pair pga <-> pgb, pktgen sending on pga
#     and receiving on pgb, 20,000 packets of 64 bytes at 10,000 pps over
#     16 flows; meanwhile a raw socket puts 30 frames that are not ours on
#     the same wire (truncated, lengths that lie, someone else's UDP).
#     Asserted: every packet sent arrives once, in order, hop count 0,
#     latency percentiles present and ordered, the 30 counted as foreign.
#  2. Through the gateways (two regions, rig_link delay 5 ms each way): the
#     pktgen namespace is a VM in each region, p1 on region 1's bridge as
#     10.1.0.9 and p2 on region 2's as 10.2.0.9 (the namespace's kernel owns
#     the addresses so that it answers the gateways' ARP; the frames pktgen
#     sends come back to it from its own address, which the kernel drops as
#     martians, so it sends nothing of its own). 30,000 IMIX packets at
#     10,000 pps over 64 flows VM 10.1.0.9 -> gw1 -> gw2 -> VM 10.2.0.9,
#     after 200 at 1,000 pps that let gw2 resolve 10.2.0.9. Asserted: loss
#     at most PKTGEN_MAX_LOSS (0.1%), no reordering or duplicates (one
#     worker per gateway), hop count 2 on every packet (each gateway spends
#     one TTL: dataplane/hop.h), latency p50 at least 4.5 ms (90 % of the
#     emulated 5 ms) and p50 <= p99 <= p999 < 1 s.
set -u
. "$(dirname "$0")/../rig/rig.sh"

PKTGEN=$HM_BUILD/perf/pktgen
HERE_LIB=$(cd "$(dirname "$0")/../lib" && pwd)
PKTGEN_MAX_LOSS=0.001

hm_init pktgen
hm_require_root
hm_require_cmd python3 ethtool
[ -x "$PKTGEN" ] || hm_fail "no pktgen at $PKTGEN (build with DPDK first, or set HOPMESH_BUILD)"

# pg_run NS NAME TX_IF RX_IF PKTGEN-ARGS...: pktgen in NS on two af_packet
# ports, one lcore (the rig's gateways need the machine's other cycles), its
# report in $HM_TMP/NAME.json. Waits for it; fails if it fails.
pg_run() {
	local ns=$1 name=$2 txif=$3 rxif=$4
	shift 4
	HM_DIRS+=("/var/run/dpdk/$HM_PREFIX$name")
	hm_bg "$ns" "pktgen-$name" "$PKTGEN" -l 0 --no-huge -m 256 --no-shconf \
		--file-prefix="$HM_PREFIX$name" --no-pci --no-telemetry --log-level=lib.eal:warning \
		--vdev="net_af_packet0,iface=$txif" --vdev="net_af_packet1,iface=$rxif" -- \
		--tx-port 0 --rx-port 1 --out "$HM_TMP/$name.json" "$@"
	local pid=$HM_LAST_PID
	wait "$pid" || hm_fail "pktgen $name exited with $? (see $HM_TMP/pktgen-$name.log)"
	hm_forget "$pid"
	! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$HM_TMP/pktgen-$name.log" ||
		hm_fail "sanitizer report in $HM_TMP/pktgen-$name.log"
	hm_log "pktgen $name: $(cat "$HM_TMP/$name.json")"
}

# pg_get NAME PATH: one value of a report, e.g. latency_ns.p50
pg_get() {
	python3 -c '
import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    v = v[k]
print(v)' "$HM_TMP/$1.json" "$2"
}

# pg_expr NAME EXPR: a Python expression over the report r is true.
pg_expr() {
	python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
sys.exit(0 if eval(sys.argv[2]) else 1)' "$HM_TMP/$1.json" "$2"
}

latency_ordered() {
	pg_expr "$1" '0 < r["latency_ns"]["p50"] <= r["latency_ns"]["p99"] <= r["latency_ns"]["p999"] <= r["latency_ns"]["max"] and r["latency_ns"]["samples"] == r["rx"]["packets"]'
}

# sockets_open NS N: at least N packet sockets in NS (pktgen's ports, one each).
sockets_open() { [ "$(ip netns exec "$1" cat /proc/net/packet | wc -l)" -gt "$2" ]; }

mac_of() { ip -n "$1" -j link show dev "$2" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])'; }

# ---- 1. direct ----
hm_ns pg0
PG0=$HM_PREFIX-pg0
hm_veth "$PG0" pga "$PG0" pgb
hm_dataplane_if "$PG0" pga
hm_dataplane_if "$PG0" pgb
# The foreign frames, from the tx side's wire, while pktgen runs.
# Once pktgen's two packet sockets are open: a frame before them would not
# be counted.
(
	hm_wait_for 20 sockets_open "$PG0" 2 || exit 1
	sleep 0.3
	ip netns exec "$PG0" python3 - "$HERE_LIB" <<-'EOF'
	import socket, struct, sys
	sys.path.insert(0, sys.argv[1])
	import rawpkt
	s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
	s.bind(("pga", 0))
	dst = open("/sys/class/net/pgb/address").read().strip()
	eth = bytes.fromhex(dst.replace(":", "")) + bytes(6) + b"\x08\x00"
	good = rawpkt.ipv4_udp("198.18.0.1", "198.19.0.1", 1024, 9, b"HMPG" + bytes(40))
	frames = []
	for cut in range(14, 14 + 28, 3):            # 10 truncated frames
	    frames.append((eth + good)[:cut])
	for total in (19, 200, 1500):                # IP total length lies
	    frames.append(eth + good[:2] + struct.pack("!H", total) + good[4:])
	for ihl in (0x40, 0x4f):                     # header length lies
	    frames.append(eth + bytes([ihl]) + good[1:])
	for ulen in (0, 7, 9999):                    # UDP length lies
	    frames.append(eth + good[:24] + struct.pack("!H", ulen) + good[26:])
	frames += [eth + good] * 12                  # a magic, not our run's
	assert len(frames) == 30
	for f in frames:
	    s.send(f)
	EOF
) &
FOREIGN_PID=$!
pg_run "$PG0" direct pga pgb --rate 10000 --count 20000 --flows 16 --size 64 --drain-ms 300
wait "$FOREIGN_PID" || hm_fail "could not send the foreign frames"
hm_check "direct: 20000 sent" pg_expr direct 'r["tx"]["packets"] == 20000'
hm_check "direct: every packet arrived once" pg_expr direct 'r["rx"]["packets"] == 20000 and r["loss"]["packets"] == 0 and r["rx"]["duplicates"] == 0'
hm_check "direct: no reordering" pg_expr direct 'r["rx"]["reordered"] == 0'
hm_check "direct: hop count 0" pg_expr direct 'r["hops"]["min"] == 0 and r["hops"]["max"] == 0'
hm_check "direct: latency percentiles present and ordered" latency_ordered direct
hm_check "direct: the 30 foreign frames counted, nothing else" pg_expr direct 'r["rx"]["foreign"]["total"] == 30 and r["rx"]["frames"] == 20030'

# ---- 2. through two gateways ----
rig_up 2 1
rig_link 1 2 delay=5ms
hm_check "every region reaches every other" rig_check 15
hm_ns pg
PG=$HM_PREFIX-pg
for r in 1 2; do rig_plug "$PG" "$r"; done
GW1_MAC=$(mac_of "$(rig_gw 1)" vm0)
pg_args=(--dst-mac "$GW1_MAC" --src-ip 10.1.0.9 --dst-ip 10.2.0.9 --dst-port 9)
pg_run "$PG" warmup p1 p2 "${pg_args[@]}" --rate 1000 --count 200 --drain-ms 500
pg_run "$PG" gateways p1 p2 "${pg_args[@]}" --rate 10000 --count 30000 --size imix --flows 64 \
	--drain-ms 1000
hm_check "gateways: 30000 sent" pg_expr gateways 'r["tx"]["packets"] == 30000'
hm_check "gateways: loss at most $PKTGEN_MAX_LOSS" pg_expr gateways "r['loss']['ratio'] <= $PKTGEN_MAX_LOSS"
hm_check "gateways: no reordering or duplicates" pg_expr gateways 'r["rx"]["reordered"] == 0 and r["rx"]["duplicates"] == 0'
hm_check "gateways: hop count 2 (each gateway one)" pg_expr gateways 'r["hops"]["min"] == 2 and r["hops"]["max"] == 2'
hm_check "gateways: latency percentiles present and ordered" latency_ordered gateways
# 4.5 ms, not 5: some frames arrive up to about 0.2 ms sooner than the
# emulated delay (min 4.78-4.89 ms seen under 10,000 pps, none below 5 ms at
# 1,000 pps; not explained yet), so the median is held to 90 % of the delay.
hm_check "gateways: p50 at least 90% of the emulated 5 ms, p999 under 1 s" \
	pg_expr gateways '4500000 <= r["latency_ns"]["p50"] and r["latency_ns"]["p999"] < 1000000000'
for r in 1 2; do
	hm_check "gateway $r: no replay or decryption drops" \
		test "$(rig_counter "$r" drops.replayed)" -eq 0 -a "$(rig_counter "$r" drops.decrypt_failed)" -eq 0
done
