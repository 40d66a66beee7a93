#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The embedded registry's lock cannot freeze meshd. On the 3-region rig with a
# meshd per gateway (as meshd_failover.sh):
#
#  - DIR/.lock is mode 0600 and root's: an unprivileged user (nobody, through
#    setpriv) who can read the registry's records cannot even open the lock,
#    let alone hold it;
#  - while a process holds the lock (root: a stuck writer, the worst anyone
#    can now do), the direct link us-east - us-west is cut: traffic still moves
#    to the relay through eu-west with under 500 ms of loss (meshd only reads
#    the registry, without the lock, and link state travels between the
#    meshds), and a meshctl write fails within its wait with an error that
#    names the lock, instead of blocking. (Before, loads took the lock shared
#    and meshd's link publications exclusive, blocking: meshd's loop stopped
#    until the holder let go.)
set -u
. "$(dirname "$0")/../rig/rig.sh"
. "$(dirname "$0")/../lib/scenario.sh"

LOSS_BOUND_MS=${LOSS_BOUND_MS:-500}
HOLD_S=3
WRITER_WAIT_S=10 # how long a writer waits for the lock (registry_dir.c, docs/REGISTRY.md)
CUT_PINGS=500   # every 10 ms: the cut 2 s in

hm_init registry_lock
hm_require_root
hm_require_cmd setpriv flock
meshd_init
rig_up 3 1
meshd_mesh_up
hm_check "us-east -> us-west direct" meshd_route_is 1 10.2.0.2 2 2 1
VMA=$(rig_vm 1 1)
LOCK=$MESHD_REG/.lock

# ---- an unprivileged user ----
hm_check "the lock file is root's, mode 600 ($(stat -c '%u %a' "$LOCK"))" \
	test "$(stat -c '%u %a' "$LOCK")" = "0 600"
chmod 711 "$HM_TMP" # let nobody reach the registry (the folder itself is 0755)
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
hm_check "nobody reads a gateway's record" as_nobody cat "$MESHD_REG/gateways/us-east.json" >/dev/null
hm_check "nobody cannot open the lock" \
	bash -c '! setpriv --reuid=65534 --regid=65534 --clear-groups flock -n -x "$1" true 2>/dev/null' _ "$LOCK"
chmod 700 "$HM_TMP"

# ---- the lock held through a cut ----
lock_held() { ! flock -n -x "$LOCK" true; }
meshd_flow_start cut "$VMA" 10.2.0.2 0.01 "$CUT_PINGS"
sleep 2
flock -x "$LOCK" sleep "$HOLD_S" &
HOLDER=$!
HM_PIDS+=("$HOLDER")
hm_check "the lock is held" hm_wait_for 2 lock_held
t0=$(now_ms)
rig_link 1 2 down >/dev/null || hm_fail "cannot cut the link"
moved=$(meshd_watch_route 1 10.2.0.2 2 3 2 "$t0")
back=$(meshd_watch_route 2 10.1.0.2 1 3 2 "$t0")
still=no
lock_held && still=yes
meshd_flow_end
wait "$HOLDER"
hm_forget "$HOLDER"
echo "registry_lock: lock held ${HOLD_S} s from the cut: us-east's route through eu-west after" \
	"$moved ms, us-west's after $back ms (lock still held then: $still); $FLOW_LOST of" \
	"$FLOW_SENT pings sent lost = $FLOW_LOSS_MS ms of loss" >&2
hm_check "the routes moved to the relay" test "$moved" -ge 0 -a "$back" -ge 0
hm_check "they moved while the lock was held" test "$still" = yes
hm_check "ping sent all $CUT_PINGS ($FLOW_SENT)" test "$FLOW_SENT" -eq "$CUT_PINGS"
hm_check "loss under $LOSS_BOUND_MS ms ($FLOW_LOSS_MS ms)" \
	test "$FLOW_LOSS_MS" -ge 0 -a "$FLOW_LOSS_MS" -lt "$LOSS_BOUND_MS"

# ---- a writer meets the held lock: it waits 10 s for it, then fails ----
flock -x "$LOCK" sleep $((WRITER_WAIT_S + 2)) &
HOLDER=$!
HM_PIDS+=("$HOLDER")
hm_check "the lock is held again" hm_wait_for 2 lock_held
t0=$(now_ms)
if meshctl vm add vm2.us-east --address 10.1.0.3 --gateway us-east >/dev/null 2>"$HM_TMP/held.err"; then
	hm_fail "meshctl vm add succeeded while the lock was held"
fi
waited=$(($(now_ms) - t0))
cat "$HM_TMP/held.err" >&2
hm_check "meshctl's write failed after its wait ($waited ms), before the holder let go" \
	test "$waited" -ge $((WRITER_WAIT_S * 1000 - 500)) -a "$waited" -lt $(((WRITER_WAIT_S + 2) * 1000))
hm_check "its error names the lock" grep -q 'another writer has held' "$HM_TMP/held.err"
wait "$HOLDER"
hm_forget "$HOLDER"

# ---- released: writes again, healed back to direct ----
hm_check "meshctl vm add once released" meshctl vm add vm2.us-east --address 10.1.0.3 --gateway us-east
rig_link 1 2 up >/dev/null
hm_check "direct again once healed" hm_wait_for 10 meshd_route_is 1 10.2.0.2 2 2 1
for r in 1 2 3; do
	hm_check "meshd of $(rig_region_name "$r") exits 0 on SIGTERM" meshd_stop "$r"
done
hm_log "passed"
