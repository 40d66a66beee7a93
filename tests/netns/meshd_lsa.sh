#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Link state between the meshds (docs/PROTOCOL.md "Link state") on the rig:
# us-east (1), us-west (2), eu-west (3), a meshd per gateway, the embedded
# registry. No link measurement is in the registry; every meshd learns the
# links it does not measure from the others' advertisements (LSAs), carried
# by the gateways inside their WireGuard sessions.
#
#  1. Every meshd holds all 6 links: its own 2, measured, and the others' 4.
#  2. A change reaches every meshd: the direct link us-east - us-west is cut.
#     Each end's meshd takes its link down (5 missed probes of 50 ms) and
#     advertises that at once; eu-west's meshd, which measures neither link,
#     must hold both down within PROPAGATION_MS (500 ms, docs/PROTOCOL.md) of
#     the later of the two ends' own detection. The three meshds' sockets
#     are polled every 5 ms or so ("links", as meshctl asks).
#  3. Through a relay: with the direct link cut, us-east's LSAs still reach
#     us-west, by the path us-east installed (through eu-west): for 5 s the
#     newest of them in us-west's database stays under 2 s old.
#  4. Forgery: the VM behind us-west sends us-east 100 LSAs naming us-west
#     with a 1 ms link to eu-west from its own address (us-east counts
#     lsa_wrong_source) and 100 from us-west's overlay address (us-west
#     counts vm_spoofed_source); us-east's database never shows that link at
#     1 ms, and us-east's route to eu-west stays direct.
#  5. A meshd stopped: eu-west's. Its LSAs stop; the others keep its links
#     until their lifetime (link_lease_s, 5 s) is over, then drop them and
#     say so; started again, its links are back everywhere.
set -u
. "$(dirname "$0")/../rig/rig.sh"
. "$(dirname "$0")/../lib/scenario.sh"

PROPAGATION_MS=${PROPAGATION_MS:-500}
FORGE=$(dirname "$0")/../lib/vmforge.py

hm_init meshd_lsa
hm_require_root
hm_require_cmd python3
meshd_init
rig_up 3 1
meshd_mesh_up

# ---- 1. every meshd holds every link ----
nlinks() { # VIEW: how many links the meshd of region VIEW holds
	meshctl --json link show --from "$(rig_region_name "$1")" |
		python3 -c 'import json, sys; print(len(json.load(sys.stdin)["links"]))'
}
for r in 1 2 3; do
	hm_check "$(rig_region_name "$r")'s meshd holds 6 links" test "$(nlinks "$r")" -eq 6
done
no_link_records() { [ -z "$(find "$MESHD_REG" -path "$MESHD_REG/links/*" -type f)" ]; }
hm_check "the registry holds no link" no_link_records

# ---- 2. a cut, seen everywhere ----
# states VIEW: "A B" for the links us-east -> us-west and back as VIEW holds
# them (1 up, 0 down, - absent).
states() {
	meshctl --json link show --from "$(rig_region_name "$1")" | python3 -c '
import json, sys
s = {(l["from"], l["to"]): l["up"] for l in json.load(sys.stdin)["links"]}
print(" ".join({True: "1", False: "0"}.get(s.get(k), "-") for k in (("us-east", "us-west"), ("us-west", "us-east"))))'
}
hm_check "eu-west holds both links up" test "$(states 3)" = "1 1"
# watch_cut T0 SOCK1 SOCK2 SOCK3: ms from T0 (epoch ms) until us-east's
# meshd holds its link to us-west down, us-west's its link back, and
# eu-west's both: "TE TW T3", -1 for what did not happen within 5 s.
watch_cut() {
	python3 - "$@" <<'PY'
import json, socket, sys, time
t0, paths = int(sys.argv[1]), sys.argv[2:]
def held(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.sendall(b"links\nversion\n")
    buf = b""
    while b'{"protocol"' not in buf or not buf.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    s.close()
    return {(l["from"], l["to"]): l["up"] for l in json.loads(buf.split(b"\n")[0])["links"]}
ew, we = ("us-east", "us-west"), ("us-west", "us-east")
seen = [-1, -1, -1]
while time.time() * 1000 - t0 < 5000 and -1 in seen:
    checks = (lambda h: h.get(ew) is False, lambda h: h.get(we) is False,
              lambda h: h.get(ew) is False and h.get(we) is False)
    for i in range(3):
        if seen[i] < 0 and checks[i](held(paths[i])):
            seen[i] = int(time.time() * 1000 - t0)
    time.sleep(0.002)
print(*seen)
PY
}
t0=$(now_ms)
rig_link 1 2 down >/dev/null || hm_fail "cannot cut the link"
read -r te tw t3 < <(watch_cut "$t0" "$HM_TMP/run/$(rig_gwname 1).meshd" \
	"$HM_TMP/run/$(rig_gwname 2).meshd" "$HM_TMP/run/$(rig_gwname 3).meshd")
last=$((te > tw ? te : tw))
echo "meshd_lsa: cut: us-east held its link down after $te ms, us-west after $tw ms," \
	"eu-west held both down after $t3 ms: $((t3 - last)) ms after the later end" >&2
hm_check "both ends took their links down" test "$te" -ge 0 -a "$tw" -ge 0
hm_check "eu-west held both down within $PROPAGATION_MS ms of that ($((t3 - last)) ms)" \
	test "$t3" -ge 0 -a $((t3 - last)) -le "$PROPAGATION_MS"

# ---- 3. through the relay ----
hm_check "us-east's route to us-west is through eu-west" hm_wait_for 10 meshd_route_is 1 10.2.0.2 2 3 2
us_east_age() { # the age of us-east's newest LSA in us-west's database, ms
	meshctl --json link show --from us-west | python3 -c '
import json, sys
print(min(l["age_ms"] for l in json.load(sys.stdin)["links"] if l["from"] == "us-east"))'
}
worst=0
for _ in $(seq 10); do
	a=$(us_east_age) || hm_fail "us-west holds no link of us-east's"
	[ "$a" -gt "$worst" ] && worst=$a
	sleep 0.5
done
echo "meshd_lsa: direct link cut: us-east's LSAs reach us-west through eu-west, oldest seen $worst ms" >&2
hm_check "us-west kept hearing us-east's LSAs through the relay (oldest $worst ms)" test "$worst" -lt 2000
rig_link 1 2 up >/dev/null
hm_check "direct again once healed" hm_wait_for 10 meshd_route_is 1 10.2.0.2 2 2 1

# ---- 4. forged LSAs from a VM ----
wrong0=$(rig_counter 1 drops.lsa_wrong_source) && spoofed0=$(rig_counter 2 drops.vm_spoofed_source) ||
	hm_fail "cannot read the counters"
# Parts that came before meshd bound their sender are the start-up order,
# counted apart, so that this counter means forgery alone.
echo "meshd_lsa: before the forgeries: us-east counted $wrong0 lsa_wrong_source," \
	"$(rig_counter 1 drops.lsa_unbound_source) lsa_unbound_source" >&2
hm_check "nothing counted as forged before the forgeries ($wrong0)" test "$wrong0" -eq 0
VM2=$(rig_vm 2 1)
ip netns exec "$VM2" python3 "$FORGE" lsas 10.1.0.1 100 2 3 &&
	ip netns exec "$VM2" python3 "$FORGE" lsas 10.1.0.1 100 2 3 10.2.0.1 ||
	hm_fail "vmforge lsas"
forged_link() { # us-east's database has us-west -> eu-west at 1 ms
	meshctl --json link show --from us-east | python3 -c '
import json, sys
sys.exit(not any(l["from"] == "us-west" and l["to"] == "eu-west" and l["rtt_ms"] < 2
                 for l in json.load(sys.stdin)["links"]))'
}
sleep 0.5
wrong=$(($(rig_counter 1 drops.lsa_wrong_source) - wrong0))
spoofed=$(($(rig_counter 2 drops.vm_spoofed_source) - spoofed0))
echo "meshd_lsa: 200 forged LSAs: us-east counted $wrong lsa_wrong_source, us-west $spoofed vm_spoofed_source" >&2
hm_check "us-east dropped the 100 from the VM's address as lsa_wrong_source ($wrong)" test "$wrong" -eq 100
hm_check "us-west dropped the 100 from its own overlay address as vm_spoofed_source ($spoofed)" \
	test "$spoofed" -eq 100
not_forged() { ! forged_link; }
hm_check "us-east's database never took the forged link" not_forged
hm_check "us-east's route to eu-west stays direct" meshd_route_is 1 10.3.0.2 3 3 1

# ---- 5. a meshd stopped, and back ----
hm_check "eu-west's meshd stops" meshd_stop 3
t0=$(now_ms)
eu_west_links() { # VIEW: how many of eu-west's links VIEW's meshd holds
	meshctl --json link show --from "$(rig_region_name "$1")" | python3 -c '
import json, sys
print(sum(l["from"] == "eu-west" for l in json.load(sys.stdin)["links"]))'
}
gone() { [ "$(eu_west_links 1)" = 0 ] && [ "$(eu_west_links 2)" = 0 ]; }
hm_check "us-east and us-west drop eu-west's links" hm_wait_for 15 gone
t=$(($(now_ms) - t0))
echo "meshd_lsa: eu-west's meshd stopped: its links out of the others' databases after $t ms (lifetime 5 s)" >&2
hm_check "not before their lifetime ($t ms >= 4000)" test "$t" -ge 4000
hm_check "us-east said so" grep -q "no link state from gateway 3" "$HM_TMP/meshd-$(rig_gwname 1).log"
meshd_start 3
back() { [ "$(eu_west_links 1)" = 2 ] && [ "$(eu_west_links 2)" = 2 ]; }
hm_check "eu-west's links back everywhere once its meshd runs" hm_wait_for 15 back
for r in 1 2 3; do
	hm_check "meshd of $(rig_region_name "$r") exits 0 on SIGTERM" meshd_stop "$r"
done
hm_log "passed"
