#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# meshd and meshctl on the rig, embedded registry: three regions, us-east (1),
# us-west (2), eu-west (3). The gateways start as the rig starts them, with no
# routes and no gateway ids: meshd gives them everything from the registry.
#
#  - regions 1 and 2 are added with meshctl gateway add / vm add; their meshds
#    install routes and peers, and VM 1 reaches VM 2;
#  - region 3 (unknown to the others until now: the rig's peer entries for it
#    are removed) is added later: the time from `meshctl gateway add` to the
#    route to its VM in every gateway (under MESHD_ROUTE_MS: 2 s, 2.5 s with
#    ASan, as docs/OPERATIONS.md says) and to the first ping answered are
#    printed;
#  - meshctl link show --json gives RTTs close to the emulated ones, also
#    after a delay change; route show and trace give the installed paths'
#    hop counts (read from the gateways), and a slow direct link moves a
#    route to a relay (2 hops) in the gateway, as trace shows;
#  - bad arguments are refused with a message and a non-zero exit, private
#    keys stay in their 0600 files and never reach the registry, metrics
#    serve link RTTs, every meshd exits 0 on SIGTERM.
set -u
. "$(dirname "$0")/../rig/rig.sh"
. "$(dirname "$0")/../lib/scenario.sh"

hm_init meshd_region
hm_require_root
meshd_init
rig_up 3 1
no_routes() { [ "$(hm_ctl "$(rig_gwname "$1")" dump routes)" = '{"routes":[]}' ]; }
for r in 1 2 3; do
	hm_check "$(rig_region_name "$r")'s gateway starts with no routes" no_routes "$r"
done
# Region 3 comes later: nobody knows it yet, and it knows nobody.
rig_peer_down 1 3 && rig_peer_down 2 3 && rig_peer_down 3 1 && rig_peer_down 3 2 ||
	hm_fail "cannot remove the rig's peer entries for region 3"

# ---- regions 1 and 2 ----
hm_check "meshctl gateway add us-east" meshd_add_gateway 1
hm_check "meshctl gateway add us-west" meshd_add_gateway 2
hm_check "meshctl vm add (us-east)" meshd_add_vms 1
hm_check "meshctl vm add (us-west)" meshd_add_vms 2
for r in 1 2 3; do meshd_start "$r"; done
hm_check "us-east routes 10.2.0.2 to us-west" hm_wait_for 10 meshd_route_is 1 10.2.0.2 2
hm_check "us-west routes 10.1.0.2 to us-east" hm_wait_for 10 meshd_route_is 2 10.1.0.2 1
hm_check "us-east vm1 -> us-west vm1" hm_wait_for 10 hm_ping "$(rig_vm 1 1)" 10.2.0.2 1
hm_check "IPv6 too" hm_wait_for 10 hm_ping "$(rig_vm 1 1)" fd00:2::2 1
hm_check "eu-west is not routed yet" meshd_route_is 1 10.3.0.2 0
# Its own prefixes too: the sources its VMs may use.
hm_check "us-east routes its own 10.1.0.2 to itself" meshd_route_is 1 10.1.0.2 1
hm_check "and its own fd00:1::2" meshd_route_is 1 fd00:1::2 1

# ---- region 3, timed ----
VMA=$(rig_vm 1 1)
ip netns exec "$VMA" ping -D -n -i 0.02 -w 20 -W 1 10.3.0.2 >"$HM_TMP/ping-region3.txt" 2>&1 &
PING_PID=$!
HM_PIDS+=("$PING_PID")
sleep 0.3
t0=$(now_ms)
t0s=$(date +%s.%N)
meshd_add_gateway 3 || hm_fail "meshctl gateway add eu-west"
t_peer=$(now_ms)
meshctl vm add vm1.eu-west --address 10.3.0.2 --gateway eu-west >/dev/null || hm_fail "meshctl vm add"
t_vm=$(now_ms)
worst=$(meshd_time_region3 "$t0")
hm_wait_for 20 bash -c "grep -q 'bytes from' '$HM_TMP/ping-region3.txt'"
first=$(awk '/bytes from/ { gsub(/[\[\]]/, "", $1); print $1; exit }' "$HM_TMP/ping-region3.txt")
hm_stop "$PING_PID"
ping_ms=$(python3 -c 'import sys; print(int((float(sys.argv[1]) - float(sys.argv[2])) * 1000) if sys.argv[1] else -1)' \
	"$first" "$t0s")
echo "meshd_region: meshctl gateway add took $((t_peer - t0)) ms, vm add $((t_vm - t_peer)) ms;" \
	"route to eu-west on every gateway after $worst ms (bound $MESHD_ROUTE_MS ms);" \
	"first ping answered after $ping_ms ms" >&2
hm_check "route on every gateway within $MESHD_ROUTE_MS ms ($worst ms)" test "$worst" -le "$MESHD_ROUTE_MS"
hm_check "a ping to eu-west was answered ($ping_ms ms)" test "$ping_ms" -ge 0
hm_check "eu-west vm1 -> us-west vm1 (IPv6)" hm_wait_for 10 hm_ping "$(rig_vm 3 1)" fd00:2::2 1

# ---- links, routes, trace ----
hm_check "all 6 links published, up, RTT within 10 % + 5 ms of the emulated" \
	hm_wait_for 20 meshd_links_settled 3
meshctl link show >&2
# all_direct: route show says every route is installed direct, as meshd chose.
# Waited for: on a loaded machine a burst of late probe replies has taken a
# link down for its hold-down (once in CI: us-west -> eu-west via us-east for
# a few seconds, measured loss 4.6 % on a link without loss), and meshd rightly
# routes around it until the link is back and its loss has aged out.
all_direct() {
	meshctl route show >"$HM_TMP/routes.txt" || return 1
	test "$(grep -cE '^[a-z-]+ +[a-z-]+ +~? +direct +1  direct ' "$HM_TMP/routes.txt")" -eq 6
}
hm_check "route show: 6 routes installed direct (1 hop), once settled" hm_wait_for 30 all_direct
cat "$HM_TMP/routes.txt" >&2
meshctl --json route show >"$HM_TMP/routes.json" || hm_fail "meshctl --json route show"
# The registry's best is recomputed from figures a second old, with no hold:
# the same burst of late replies can make it prefer a relay for a while
# (once under ASan in CI: us-west -> eu-west via us-east at 188.5 ms against
# 191 direct, 4 % loss measured on a link without loss). What route show must
# get right is to flag it then.
hm_check "route show --json: installed and meshd's paths agree; the registry's best is flagged where it differs" \
	python3 - "$HM_TMP/routes.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["hop_limit"] == 2 and len(d["routes"]) == 6 and d["unknown"] == [], d
for r in d["routes"]:
    i, m, b = r["installed"], r["meshd_choice"], r["computed_best"]
    assert i["known"] and i["hops"] == 1 and i["path"] == [r["from"], r["to"]], r
    assert m["known"] and m["hops"] == 1 and m["path"] == i["path"], r
    assert not r["differs_from_meshd"], r
    assert b["reachable"] and len(b["links"]) == b["hops"] and all(l["up"] for l in b["links"]), r
    assert r["differs_from_computed"] == (b["path"] != i["path"]), r
PY

# A new delay shows in the published RTT. us-east - eu-west at 150 ms each
# way: 300 ms direct against 70 + 150 = 220 ms through us-west.
rig_link 1 2 delay=35ms >/dev/null
rig_link 1 3 delay=150ms >/dev/null
hm_check "us-east -> eu-west RTT follows the new delay (300 ms)" hm_wait_for 20 meshd_link_close 1 3 300
hm_check "eu-west -> us-east too" hm_wait_for 20 meshd_link_close 3 1 300
hm_check "us-east's gateway reaches eu-west through us-west (2 hops)" \
	hm_wait_for 10 meshd_route_is 1 10.3.0.2 3 2 2
hm_check "eu-west's gateway reaches us-east through us-west" hm_wait_for 10 meshd_route_is 3 10.1.0.2 1 2 2
hm_check "us-west stays direct" meshd_route_is 2 10.3.0.2 3 3 1
meshctl --json trace 10.3.0.2 --from us-east >"$HM_TMP/trace.json" || hm_fail "meshctl trace"
meshctl trace 10.3.0.2 >&2
hm_check "trace: us-east -> us-west -> eu-west, RTTs of the emulated links" \
	python3 - "$HM_TMP/trace.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["gateway"] == "eu-west" and len(d["paths"]) == 1, d
p = d["paths"][0]
t = p["taken"]  # the gateways' installed paths, followed
assert p["from"] == "us-east" and t["known"] and t["reaches"] and t["hops"] == 2, p
hops = [(h["from"], h["to"]) for h in t["path"]]
assert hops == [("us-east", "us-west"), ("us-west", "eu-west")], hops
for h, want in zip(t["path"], (70, 150)):
    assert abs(h["rtt_ms"] - want) <= 5 + 0.1 * want, (h, want)
PY
hm_check "ping through the relay" hm_ping "$VMA" 10.3.0.2 3
hm_check "us-west relayed it" test "$(rig_counter 2 relayed)" -gt 0

# ---- bad arguments ----
bad() { # WHAT PATTERN ARGS...: meshctl fails, says PATTERN on stderr, writes nothing
	local what=$1 pattern=$2 out rc
	shift 2
	out=$(meshctl "$@" 2>&1 >/dev/null)
	rc=$?
	if [ "$rc" -eq 0 ] || ! grep -qiE "$pattern" <<<"$out"; then
		hm_log "meshctl $* -> rc $rc: $out"
		return 1
	fi
	hm_log "refused ($rc): $(head -n 1 <<<"$out")"
}
KEY4=$(wg genkey | wg pubkey)
ADD4=(gateway add ap-northeast --id 4 --endpoint 192.168.50.4:51820)
hm_check "bad key" bad "bad key" "public.key" "${ADD4[@]}" --public-key not-a-key --prefix 10.4.0.0/24
hm_check "all-zero key" bad "zero key" "key" "${ADD4[@]}" \
	--public-key AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= --prefix 10.4.0.0/24
hm_check "bad prefix (host bits)" bad "host bits" "host bits" "${ADD4[@]}" --public-key "$KEY4" --prefix 10.4.0.1/24
hm_check "bad prefix (length)" bad "prefix length" "prefix" "${ADD4[@]}" --public-key "$KEY4" --prefix 10.4.0.0/33
hm_check "bad prefix (text)" bad "prefix text" "prefix" "${ADD4[@]}" --public-key "$KEY4" --prefix banana
hm_check "overlapping prefix" bad "overlap" "overlap" "${ADD4[@]}" --public-key "$KEY4" --prefix 10.3.0.0/16
hm_check "duplicate id" bad "id taken" "id 3" gateway add ap-northeast --id 3 --endpoint 192.168.50.4:51820 \
	--public-key "$KEY4" --prefix 10.4.0.0/24
hm_check "a private key is refused" bad "private key" "private" "${ADD4[@]}" --private-key "$KEY4"
hm_check "vm on an unknown gateway" bad "unknown gateway" "unknown gateway" vm add x --address 10.4.0.2 --gateway ap-northeast
hm_check "vm outside its gateway" bad "outside" "outside" vm add x --address 10.4.0.2 --gateway eu-west
hm_check "vm bad address" bad "vm address" "address" vm add x --address 10.3.0.999 --gateway eu-west
hm_check "route show from an unknown gateway" bad "unknown gateway" "no gateway named" route show --from nowhere
hm_check "trace of a bad address" bad "bad address" "address" trace 10.3.0
hm_check "gateway del of an unknown gateway" bad "unknown" "no gateway named" gateway del nowhere
hm_check "bad hop limit" bad "hop limit" "hop_limit" policy set hop_limit=0
hm_check "unknown command" bad "unknown command" "unknown command" frobnicate now
hm_check "nothing was written by the refusals" \
	test "$(meshctl --json gateway list | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["gateways"]))')" -eq 3

# ---- secrets stay home ----
for r in 1 2 3; do
	g=$(rig_gwname "$r")
	hm_check "$g's private key file is mode 0600" test "$(stat -c %a "$HM_TMP/$g.key")" = 600
	hm_check "$g's private key is nowhere in the registry" \
		bash -c "! grep -rqF \"\$(cat '$HM_TMP/$g.key')\" '$MESHD_REG'"
done

# ---- metrics ----
ip netns exec "$(rig_gw 1)" curl -sf http://127.0.0.1:9464/metrics >"$HM_TMP/metrics.txt" ||
	hm_fail "no metrics from us-east's meshd"
hm_check "metrics: link RTT us-east -> us-west" \
	grep -qE '^hopmesh_link_rtt_seconds\{from="us-east",to="us-west"\} 0\.0[6-8]' "$HM_TMP/metrics.txt"
hm_check "metrics: route hops to eu-west" \
	grep -q '^hopmesh_route_hops{to="eu-west",via="us-west"} 2' "$HM_TMP/metrics.txt"

# ---- clean exits ----
for r in 1 2 3; do
	hm_check "meshd of $(rig_region_name "$r") exits 0 on SIGTERM" meshd_stop "$r"
done
hm_log "passed"
