#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Failover with meshd on the rig: us-east (1), us-west (2), eu-west (3) with
# the default delays, every region in the registry, a meshd per gateway, and a
# ping from us-east's VM to us-west's every 10 ms.
#
#  - the direct link us-east - us-west is cut in the WAN emulator: traffic
#    moves to the relay through eu-west with under 500 ms of loss (the longest
#    run of unanswered pings, printed);
#  - healed, the path returns to direct after the hold time (within 3 s: the
#    outage is down-time, not loss held against the link);
#  - 200 ms more delay on the direct link moves traffic to the relay within
#    2 s.
set -u
. "$(dirname "$0")/../rig/rig.sh"
. "$(dirname "$0")/meshd_lib.sh"

LOSS_BOUND_MS=${LOSS_BOUND_MS:-500}
DELAY_BOUND_MS=${DELAY_BOUND_MS:-2000}

hm_init meshd_failover
hm_require_root
meshd_init
rig_up 3 1
for r in 1 2 3; do
	hm_check "meshctl peer add $(rig_region_name "$r")" meshd_add_gateway "$r"
done
for r in 1 2 3; do
	hm_check "meshctl vm add ($(rig_region_name "$r"))" meshd_add_vms "$r"
done
for r in 1 2 3; do meshd_start "$r"; done
hm_check "all 6 links measured" hm_wait_for 30 meshd_links_settled 3
hm_check "us-east -> us-west direct" meshd_route_is 1 10.2.0.2 2 2 1
hm_check "us-west -> us-east direct" meshd_route_is 2 10.1.0.2 1 1 1
VMA=$(rig_vm 1 1)

# ping_loss FILE: "LOST LOSS_MS GAP_MS ANSWERED" of a ping -D -i 0.01 log.
# LOSS_MS is the time the lost pings stand for (lost x the interval ping
# really kept, which a busy machine stretches); GAP_MS the longest time
# between two answers, less that interval: it also holds the extra latency
# of a longer path, so it is printed, not bounded.
ping_loss() {
	python3 - "$1" <<'PY'
import re, sys
got = {}
for line in open(sys.argv[1]):
    m = re.match(r"\[(\d+\.\d+)\] .* icmp_seq=(\d+) ", line)
    if m:
        got.setdefault(int(m.group(2)), float(m.group(1)))
seqs = sorted(got)
if len(seqs) < 2:
    print(-1, -1, -1, len(seqs))
    sys.exit()
interval = (got[seqs[-1]] - got[seqs[0]]) / (seqs[-1] - seqs[0])
lost = seqs[-1] - seqs[0] + 1 - len(seqs)
gap = max(got[b] - got[a] for a, b in zip(seqs, seqs[1:]))
print(lost, int(round(lost * interval * 1000)), int(round((gap - interval) * 1000)), len(seqs))
PY
}

# watch_route R ADDR GATEWAY VIA HOPS T0_MS: prints the ms from T0 until the
# gateway's route shows that path (or -1 after 15 s).
watch_route() {
	local t
	while :; do
		t=$(now_ms)
		meshd_route_is "$1" "$2" "$3" "$4" "$5" && { echo $((t - $6)); return 0; }
		[ $((t - $6)) -lt 15000 ] || { echo -1; return 1; }
		sleep 0.01
	done
}

# ---- the direct link cut ----
ip netns exec "$VMA" ping -D -n -i 0.01 -w 8 -W 1 10.2.0.2 >"$HM_TMP/ping-cut.txt" 2>&1 &
PING_PID=$!
HM_PIDS+=("$PING_PID")
sleep 2
t0=$(now_ms)
rig_link 1 2 down >/dev/null || hm_fail "cannot cut the link"
moved=$(watch_route 1 10.2.0.2 2 3 2 "$t0")
back=$(watch_route 2 10.1.0.2 1 3 2 "$t0")
wait "$PING_PID"
read -r lost loss gap answered < <(ping_loss "$HM_TMP/ping-cut.txt")
echo "meshd_failover: link cut: us-east's route through eu-west after $moved ms, us-west's after $back ms;" \
	"$lost pings lost = $loss ms of loss, longest gap between answers $gap ms, $answered answered" >&2
hm_check "the routes moved to the relay" test "$moved" -ge 0 -a "$back" -ge 0
hm_check "traffic kept flowing ($answered answers)" test "$answered" -gt 300
hm_check "loss under $LOSS_BOUND_MS ms ($loss ms)" test "$loss" -ge 0 -a "$loss" -lt "$LOSS_BOUND_MS"
hm_check "eu-west relayed" test "$(rig_counter 3 relayed)" -gt 0
meshctl trace 10.2.0.2 --from us-east >&2

# ---- healed: back to direct after the hold time ----
t0=$(now_ms)
rig_link 1 2 up >/dev/null
healed=$(watch_route 1 10.2.0.2 2 2 1 "$t0")
echo "meshd_failover: link healed: us-east's route direct again after $healed ms" >&2
hm_check "direct again within 3 s of healing (hold time 1 s)" test "$healed" -ge 0 -a "$healed" -le 3000
hm_check "us-west direct again" hm_wait_for 5 meshd_route_is 2 10.1.0.2 1 1 1

# ---- 200 ms more delay on the direct link ----
hm_wait_for 10 meshd_link_close 1 2 70
ip netns exec "$VMA" ping -D -n -i 0.01 -w 6 -W 1 10.2.0.2 >"$HM_TMP/ping-delay.txt" 2>&1 &
PING_PID=$!
HM_PIDS+=("$PING_PID")
sleep 1
t0=$(now_ms)
rig_link 1 2 delay=235ms >/dev/null
moved=$(watch_route 1 10.2.0.2 2 3 2 "$t0")
wait "$PING_PID"
read -r lost loss gap answered < <(ping_loss "$HM_TMP/ping-delay.txt")
echo "meshd_failover: +200 ms delay: us-east's route through eu-west after $moved ms;" \
	"$lost pings lost ($loss ms), longest gap between answers $gap ms" >&2
hm_check "moved within $DELAY_BOUND_MS ms ($moved ms)" test "$moved" -ge 0 -a "$moved" -le "$DELAY_BOUND_MS"
grep -h 'link to gateway' "$HM_TMP"/meshd-*.log >&2

for r in 1 2 3; do
	hm_check "meshd of $(rig_region_name "$r") exits 0 on SIGTERM" meshd_stop "$r"
done
hm_log "passed"
