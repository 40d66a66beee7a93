#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# meshctl status on the rig: three regions run by meshd (tests/lib/
# scenario.sh), us-east (1) looked at. us-east - eu-west is slowed to 300 ms
# so that us-east reaches eu-west through us-west, and a VM sends to an
# address no gateway holds (counted drops). Then `meshctl status`, read from
# us-east's gateway and meshd, must show:
#  - the two other gateways as peers, by name, at their endpoints, each with
#    a handshake less than 180 s old (WireGuard rekeys every 120 s);
#  - the links meshd measures, up, RTTs within 10 % + 5 ms of the emulated;
#  - the paths the gateway has installed: eu-west via us-west in 2 hops (as
#    its route lookup says), us-west direct, with meshd's cost;
#  - every drop reason, each between `hopmesh-ctl NAME counters` read just
#    before and just after, the drops above among them, and their total;
# the human table the same, with -j the same document as --json; with the
# meshd stopped, what the gateway says and an exit status of 1. --help and
# `meshctl help` print the commands on stdout and exit 0, for meshd too.
#
# `meshctl route show` and `trace` read the paths installed in each gateway:
#  - every gateway's installed path to every other is its route lookup, read
#    through its meshd, the same as meshd's choice (no mark);
#  - a path set by hand on us-west's gateway (`hopmesh-ctl path set`) is
#    shown installed and marked '*' against meshd's choice (meshd paused
#    while it is set and asked: it puts its own back within a second), and
#    is gone, unmarked, within 3 s of meshd's resuming;
#  - with us-east's meshd stopped, a path set by hand on its gateway is read
#    from the gateway's control socket, meshd's choice shown as '?', and
#    trace follows it hop by hop, each gateway by its own installed path;
#  - a gateway with no socket in the run directory is unknown ('?'), never
#    filled in with a computed path.
set -u
. "$(dirname "$0")/../rig/rig.sh"
. "$(dirname "$0")/../lib/scenario.sh"

hm_init meshctl_status
hm_require_root
meshd_init
rig_up 3 1
meshd_mesh_up
G1=$(rig_gwname 1)
status() { meshctl "$@" status "$G1" --run-dir "$HM_TMP/run"; }

# ---- help and options ----
help_ok() { # ARGS...: exit 0, the command list on stdout, nothing on stderr
	local out err rc
	out=$("$@" 2>"$HM_TMP/help.err")
	rc=$?
	err=$(cat "$HM_TMP/help.err")
	[ "$rc" -eq 0 ] && [ -z "$err" ] || { hm_log "$* -> rc $rc, stderr: $err"; return 1; }
	for c in "gateway add" "gateway del" "gateway list" "vm add" "vm del" "vm list" "link show" \
		"route show" "trace" "policy show" "policy set" "status" "help"; do
		grep -q "^  $c" <<<"$out" || { hm_log "$*: no '$c' in: $out"; return 1; }
	done
}
hm_check "meshctl --help: the commands on stdout, exit 0" help_ok "$MESHCTL" --help
hm_check "meshctl -h too" help_ok "$MESHCTL" -h
hm_check "meshctl help too" help_ok "$MESHCTL" help
hm_check "meshd --help: usage on stdout, exit 0" bash -c "'$MESHD' --help | grep -q '^usage: meshd -c CONFIG'"
hm_check "meshd with no config: exit 2" bash -c "'$MESHD' 2>/dev/null; test \$? -eq 2"
same_json() { [ "$(meshctl -j "$@")" = "$(meshctl --json "$@")" ] && meshctl -j "$@" | python3 -m json.tool >/dev/null; }
hm_check "-j is --json (gateway list)" same_json gateway list
hm_check "peer, the older name, lists the same gateways" \
	test "$(meshctl -j peer list)" = "$(meshctl -j gateway list)"
hm_check "-j is --json (policy show)" same_json policy show
missing_gw() { # exit 1, the sockets tried said, nothing on stdout
	local out err rc
	out=$("$MESHCTL" status nosuchgw --run-dir "$HM_TMP/run" 2>"$HM_TMP/missing.err")
	rc=$?
	err=$(cat "$HM_TMP/missing.err")
	hm_log "status nosuchgw -> rc $rc: $(tail -n 1 <<<"$err")"
	[ "$rc" -eq 1 ] && [ -z "$out" ] && grep -q "nosuchgw.ctl" <<<"$err"
}
hm_check "status of a gateway that is not there: exit 1, said" missing_gw
no_name() { # three gateways' sockets in the run dir: which one is not guessed
	local err
	err=$("$MESHCTL" status --run-dir "$HM_TMP/run" 2>&1 >/dev/null)
	[ $? -eq 1 ] && grep -q "holds 3 gateways' control sockets: name one" <<<"$err"
}
hm_check "status without NAME among three gateways: exit 1, asks for one" no_name

# ---- a relayed path, and drops ----
rig_link 1 3 delay=150ms >/dev/null
hm_check "us-east -> eu-west RTT follows the new delay (300 ms)" hm_wait_for 20 meshd_link_close 1 3 300
hm_check "us-east's gateway reaches eu-west through us-west (2 hops)" \
	hm_wait_for 10 meshd_route_is 1 10.3.0.2 3 2 2
hm_check "ping us-east -> us-west" hm_ping "$(rig_vm 1 1)" 10.2.0.2 1
# 10.9.0.0/24 is no gateway's: each of these is a drop at us-east's gateway.
ip netns exec "$(rig_vm 1 1)" ping -c 5 -i 0.05 -W 1 10.9.0.2 >/dev/null 2>&1

hm_ctl "$G1" counters >"$HM_TMP/before.json" || hm_fail "hopmesh-ctl counters"
status -j >"$HM_TMP/status.json" || hm_fail "meshctl -j status (rc $?)"
hm_ctl "$G1" counters >"$HM_TMP/after.json" || hm_fail "hopmesh-ctl counters"
status >"$HM_TMP/status.txt" || hm_fail "meshctl status"
cat "$HM_TMP/status.txt" >&2
R12=$(rig_rtt 1 2) R13=$(rig_rtt 1 3) R23=$(rig_rtt 2 3)
hm_check "status -j: peers, handshakes, links, paths, drops" \
	python3 - "$HM_TMP/status.json" "$HM_TMP/before.json" "$HM_TMP/after.json" "$R12" "$R13" "$R23" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
before = json.load(open(sys.argv[2]))["drops"]
after = json.load(open(sys.argv[3]))["drops"]
want = {"us-west": float(sys.argv[4]), "eu-west": float(sys.argv[5])}
assert d["gateway"] == "us-east" and d["id"] == 1 and d["errors"] == [], d
assert d["meshd"]["answering"] and d["meshd"]["registry_up"] and d["meshd"]["gateway_up"], d["meshd"]
peers = {p["name"]: p for p in d["peers"]}
assert set(peers) == {"us-west", "eu-west"}, d["peers"]
for name, r in (("us-west", 2), ("eu-west", 3)):
    p = peers[name]
    assert p["id"] == r and p["endpoint"] == "192.168.50.%d:51820" % r, p
    assert p["handshake_age_s"] is not None and 0 <= p["handshake_age_s"] < 180, p
    assert p["rx_bytes"] > 0 and p["tx_bytes"] > 0, p
links = {l["to"]: l for l in d["links"]}
assert set(links) == set(want), d["links"]
for name, rtt in want.items():
    l = links[name]
    assert l["up"] and abs(l["rtt_ms"] - rtt) <= 5 + 0.1 * rtt and l["loss"] < 0.05, (l, rtt)
    assert l["probes_received"] > 0, l
paths = {p["to"]: p for p in d["paths"]}
assert set(paths) == {"us-west", "eu-west"}, d["paths"]
e, w = paths["eu-west"], paths["us-west"]
assert e["via"] == "us-west" and e["hops"] == 2 and e["bound"], e
assert e["meshd_path"] == ["us-east", "us-west", "eu-west"], e
via = want["us-west"] + float(sys.argv[6])
assert abs(e["cost_ms"] - via) <= 10 + 0.1 * via, (e, via)
assert w["via"] == "us-west" and w["hops"] == 1 and w["bound"], w
assert set(d["drops"]) == set(before) == set(after), (d["drops"], before)
for k, v in d["drops"].items():
    assert before[k] <= v <= after[k], (k, before[k], v, after[k])
assert d["drops"]["no_peer_for_destination"] >= 5, d["drops"]
assert d["drops_total"] == sum(d["drops"].values()), d
PY
hm_check "status -j: the path to eu-west is the gateway's route lookup" meshd_route_is 1 10.3.0.2 3 2 2
hm_check "status: the table shows both peers with a handshake" \
	test "$(grep -cE '^(us-west|eu-west) +[23] +192\.168\.50\.[23]:51820 +[0-9.]+ s ago' "$HM_TMP/status.txt")" -eq 2
hm_check "status: links us-west and eu-west up" \
	test "$(grep -cE '^(us-west|eu-west) +up ' "$HM_TMP/status.txt")" -eq 2
hm_check "status: eu-west via us-west, 2 hops" grep -qE '^eu-west +us-west +2 ' "$HM_TMP/status.txt"
hm_check "status: the drops, no_peer_for_destination among them" \
	grep -qE '^no_peer_for_destination +[0-9]+$' "$HM_TMP/status.txt"

# ---- probe dump reads, it does not take: meshd and an operator both see all ----
# Two dumps in a row hold the same samples kept (128 a link once full); one
# asked for what is newer than the second's seq holds exactly those since.
# Full takes 6.4 s of probes at 50 ms, more with the 300 ms link's probes in
# flight and the emulator's losses: on a quick run the steps above take less.
probe_full() {
	hm_ctl "$G1" probe dump | python3 -c '
import json, sys
sys.exit(any(len(l["rtt_us"]) < 128 for l in json.load(sys.stdin)["links"]))'
}
hm_check "the probe buffers fill (128 samples a link)" hm_wait_for 20 probe_full
hm_ctl "$G1" probe dump >"$HM_TMP/probe1.json" || hm_fail "probe dump"
hm_ctl "$G1" probe dump >"$HM_TMP/probe2.json" || hm_fail "probe dump"
SEQ=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["seq"])' "$HM_TMP/probe2.json")
hm_ctl "$G1" probe dump "$SEQ" >"$HM_TMP/probe3.json" || hm_fail "probe dump $SEQ"
hm_check "a dump consumes nothing; SINCE gives only newer samples" \
	python3 - "$HM_TMP/probe1.json" "$HM_TMP/probe2.json" "$HM_TMP/probe3.json" <<'PY'
import json, sys
d1, d2, d3 = (json.load(open(f)) for f in sys.argv[1:4])
n = lambda d: {l["gateway"]: len(l["rtt_us"]) for l in d["links"]}
assert set(n(d1)) == {2, 3}, d1
for g in (2, 3):
    assert n(d1)[g] == 128 and n(d2)[g] == 128, (n(d1), n(d2))
    assert n(d3)[g] < 128, n(d3)
assert d1["seq"] <= d2["seq"] <= d3["seq"], (d1["seq"], d2["seq"], d3["seq"])
# Exactly the samples numbered after the second dump's seq (however long the
# loaded machine took between the two dumps).
assert sum(n(d3).values()) == d3["seq"] - d2["seq"], (n(d3), d2["seq"], d3["seq"])
PY
hm_check "probe dump with a bad SINCE is refused" bash -c '! "$0" --json -d "$1" "$2" probe dump x3 >/dev/null 2>&1' \
	"$HM_CTL" "$HM_TMP/run" "$G1"
hm_check "meshd still measures both links" meshd_link_close 1 2 "$R12"

# ---- route show: the installed paths, read from the gateways ----
RUN=$HM_TMP/run
routes() { meshctl "$@" --run-dir "$RUN"; }
# lookups: "FROM TO GATEWAY VIA HOPS" of every gateway's route lookup.
lookups() {
	local a b
	for a in 1 2 3; do
		for b in 1 2 3; do
			[ "$a" = "$b" ] || echo "$(rig_region_name "$a") $(rig_region_name "$b") $(meshd_route "$a" "$(rig_vm_addr "$b" 1)")"
		done
	done
}
lookups >"$HM_TMP/lookups-before.txt"
routes -j route show >"$HM_TMP/routes.json" || hm_fail "meshctl -j route show (rc $?)"
lookups >"$HM_TMP/lookups-after.txt"
routes route show >"$HM_TMP/routes.txt" || hm_fail "meshctl route show"
cat "$HM_TMP/routes.txt" >&2
hm_check "the gateways' routes did not move while route show read them" \
	cmp -s "$HM_TMP/lookups-before.txt" "$HM_TMP/lookups-after.txt"
hm_check "route show -j: every installed path is the gateway's route lookup, as meshd chose" \
	python3 - "$HM_TMP/routes.json" "$HM_TMP/lookups-after.txt" "$RUN" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
ids = {"us-east": 1, "us-west": 2, "eu-west": 3}
names = {v: k for k, v in ids.items()}
lookup = {}
for line in open(sys.argv[2]):
    a, b, gw, via, hops = line.split()
    lookup[a, b] = (int(gw), int(via), int(hops))
rs = {(r["from"], r["to"]): r for r in d["routes"]}
assert set(rs) == set(lookup) and d["unknown"] == [], d
for k, r in rs.items():
    i, m = r["installed"], r["meshd_choice"]
    assert i["known"] and i["held"] and i["read_from"].startswith(sys.argv[3] + "/"), r
    assert i["read_from"].endswith(".meshd"), r
    gw, via, hops = lookup[k]
    assert (ids[k[1]], ids[i["via"]], i["hops"]) == (gw, via, hops), (r, lookup[k])
    assert i["path"][0] == k[0] and i["path"][-1] == k[1], r
    assert m["known"] and m["reachable"] and m["path"] == i["path"], r
    assert not r["differs_from_meshd"], r
    assert r["computed_best"]["reachable"], r
e = rs["us-east", "eu-west"]
assert e["installed"]["path"] == ["us-east", "us-west", "eu-west"] and e["installed"]["hops"] == 2, e
PY
hm_check "route show: us-east -> eu-west installed via us-west, 2 hops, meshd the same" \
	grep -qE '^us-east +eu-west +~? *via us-west +2  via us-west ' "$HM_TMP/routes.txt"
hm_check "route show: no '*' (every gateway holds meshd's choice)" \
	bash -c "! grep -qE '^[a-z-]+ +[a-z-]+ +\*' '$HM_TMP/routes.txt'"
routes -j trace 10.3.0.2 --from us-east >"$HM_TMP/trace.json" || hm_fail "meshctl -j trace"
hm_check "trace 10.3.0.2 from us-east: us-east, us-west, eu-west, as installed" \
	python3 - "$HM_TMP/trace.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))["paths"]
assert len(p) == 1 and p[0]["from"] == "us-east", p
t = p[0]["taken"]
assert t["known"] and t["reaches"] and t["gateways"] == ["us-east", "us-west", "eu-west"], t
assert [(h["from"], h["to"]) for h in t["path"]] == [("us-east", "us-west"), ("us-west", "eu-west")], t
PY

# A path by hand on us-west's gateway, its meshd running: seen, marked '*'.
# meshd puts its own choice back at its next install of paths (within a
# second), so it is paused (SIGSTOP) while the path is set and route show
# connects and asks, then resumed (SIGCONT): it serves the waiting request in
# the pass before the one that would correct the gateway, so its reply holds
# the path set by hand beside its own choice. (A stop landing in the middle
# of a pass, which then corrects it first, makes a try fail: 5 tries.)
# route show reads a run directory with us-west's sockets alone.
mkdir -p "$HM_TMP/run-us-west"
ln -sf "$RUN/$(rig_gwname 2).ctl" "$RUN/$(rig_gwname 2).meshd" "$HM_TMP/run-us-west/"
M2=$RUN/$(rig_gwname 2).meshd
pending() { # a connection waits in the backlog of us-west's meshd socket (ss: in its namespace)
	[ "$(ip netns exec "$(rig_gw 2)" ss -xlH src "$M2" | awk '{ print $3 }')" = 1 ]
}
hand_read() { # OUT ARGS...: meshctl ARGS while us-west's gateway holds a path set by hand
	local pid=${MESHD_PIDS[2]} mpid ok=0
	kill -STOP "$pid" || return 1
	if hm_ctl "$(rig_gwname 2)" path set 1 3 1 >/dev/null; then
		meshctl "${@:2}" --run-dir "$HM_TMP/run-us-west" >"$1" &
		mpid=$!
		hm_wait_for 5 pending && sleep 0.2 && ok=1
	fi
	kill -CONT "$pid"
	[ -n "${mpid:-}" ] && wait "$mpid" && [ "$ok" = 1 ]
}
marked_json() {
	hand_read "$HM_TMP/hand.json" -j route show --from us-west &&
		python3 - "$HM_TMP/hand.json" <<'PY'
import json, sys
r = {x["to"]: x for x in json.load(open(sys.argv[1]))["routes"]}["us-east"]
sys.exit(not (r["installed"]["path"] == ["us-west", "eu-west", "us-east"] and
              r["installed"]["hops"] == 2 and r["meshd_choice"]["path"] == ["us-west", "us-east"] and
              r["differs_from_meshd"] and r["differs_from_computed"]))
PY
}
marked_table() {
	hand_read "$HM_TMP/hand.txt" route show --from us-west &&
		grep -qE '^us-west +us-east +\*~ +via eu-west +2  direct ' "$HM_TMP/hand.txt"
}
tries() { # N COMMAND...: COMMAND until it succeeds, N times at most
	local n=$1 i
	shift
	for ((i = 1; i <= n; i++)); do
		"$@" && { hm_log "$*: at try $i"; return 0; }
	done
	return 1
}
hm_check "a path set by hand on us-west: installed via eu-west, meshd's choice direct, marked" \
	tries 5 marked_json
hm_check "the table marks it '*~': installed via eu-west, meshd chose direct" tries 5 marked_table
cat "$HM_TMP/hand.txt" >&2
unmarked() {
	routes -j route show --from us-west | python3 -c '
import json, sys
sys.exit(any(r["differs_from_meshd"] for r in json.load(sys.stdin)["routes"]))'
}
hm_check "meshd puts its own path back: unmarked within 3 s" hm_wait_for 3 unmarked
hm_check "... and the gateway routes us-east direct again" meshd_route_is 2 10.1.0.2 1 1 1

# ---- meshd stopped: the gateway's part, exit 1 ----
hm_check "meshd of us-east exits 0 on SIGTERM" meshd_stop 1
hm_check "its socket went with it" test ! -e "$HM_TMP/run/$G1.meshd"
status -j >"$HM_TMP/status-nomeshd.json" 2>"$HM_TMP/status-nomeshd.err"
rc=$?
hm_check "without meshd: exit 1 ($rc)" test "$rc" -eq 1
hm_check "without meshd: said on stderr" grep -q "$G1.meshd" "$HM_TMP/status-nomeshd.err"
hm_check "without meshd: still the peers and drops, no links" python3 - "$HM_TMP/status-nomeshd.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert not d["meshd"]["answering"] and d["links"] == [] and len(d["errors"]) == 1, d
assert {p["name"] for p in d["peers"]} == {"us-west", "eu-west"} and "drops" in d, d
PY

# ---- route show with us-east's meshd stopped: read from its gateway ----
hm_ctl "$G1" path set 2 3 2 >/dev/null || hm_fail "path set on us-east's gateway"
routes -j route show --from us-east >"$HM_TMP/nomeshd-routes.json" || hm_fail "route show (rc $?)"
routes route show --from us-east >"$HM_TMP/nomeshd-routes.txt" || hm_fail "route show"
cat "$HM_TMP/nomeshd-routes.txt" >&2
hm_check "without us-east's meshd: installed read from its gateway, meshd's choice unknown" \
	python3 - "$HM_TMP/nomeshd-routes.json" "$RUN/$G1.ctl" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
rs = {r["to"]: r for r in d["routes"]}
w = rs["us-west"]
assert w["installed"]["known"] and w["installed"]["read_from"] == sys.argv[2], w
assert w["installed"]["path"] == ["us-east", "eu-west", "us-west"] and w["installed"]["hops"] == 2, w
assert not w["meshd_choice"]["known"] and not w["differs_from_meshd"] and w["differs_from_computed"], w
assert [u["gateway"] for u in d["unknown"]] == ["us-east"], d["unknown"]
assert d["unknown"][0]["installed_read"] and not d["unknown"][0]["meshd_read"], d["unknown"]
PY
hm_check "route show: us-west via eu-west, meshd's choice '?', marked '~'" \
	grep -qE '^us-east +us-west +~ +via eu-west +2  \? ' "$HM_TMP/nomeshd-routes.txt"
hm_check "route show says why meshd's choice is unknown" \
	grep -qE "^\? us-east: meshd's choice unknown .*$G1\.meshd" "$HM_TMP/nomeshd-routes.txt"
routes -j trace 10.2.0.2 --from us-east >"$HM_TMP/nomeshd-trace.json" || hm_fail "trace"
hm_check "trace follows the installed paths: us-east -> eu-west (by hand), eu-west -> us-west (its own)" \
	python3 - "$HM_TMP/nomeshd-trace.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))["paths"][0]["taken"]
assert t["known"] and t["reaches"] and t["gateways"] == ["us-east", "eu-west", "us-west"], t
PY
# A run directory holding us-west's sockets only: the others are unknown.
mkdir -p "$HM_TMP/run-one"
ln -sf "$RUN/$(rig_gwname 2).ctl" "$RUN/$(rig_gwname 2).meshd" "$HM_TMP/run-one/"
meshctl -j route show --run-dir "$HM_TMP/run-one" >"$HM_TMP/one.json" || hm_fail "route show (run-one)"
meshctl route show --run-dir "$HM_TMP/run-one" >"$HM_TMP/one.txt" || hm_fail "route show (run-one)"
hm_check "gateways not reachable from here: '?', no path filled in" \
	python3 - "$HM_TMP/one.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for r in d["routes"]:
    known = r["from"] == "us-west"
    assert r["installed"]["known"] == known and r["meshd_choice"]["known"] == known, r
    assert known or ("path" not in r["installed"] and not r["differs_from_meshd"]), r
assert sorted(u["gateway"] for u in d["unknown"]) == ["eu-west", "us-east"], d["unknown"]
assert not any(u["installed_read"] for u in d["unknown"]), d["unknown"]
PY
hm_check "route show: their rows '?'" \
	test "$(grep -cE '^(us-east|eu-west) +[a-z-]+ +\? +\? +\? +\? ' "$HM_TMP/one.txt")" -eq 4

for r in 2 3; do
	hm_check "meshd of $(rig_region_name "$r") exits 0 on SIGTERM" meshd_stop "$r"
done
hm_log "passed"
