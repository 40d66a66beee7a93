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
# asked for what is newer than the second's seq holds only the few since.
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
    assert n(d3)[g] < 20, n(d3)
assert d1["seq"] <= d2["seq"] <= d3["seq"], (d1["seq"], d2["seq"], d3["seq"])
PY
hm_check "probe dump with a bad SINCE is refused" bash -c '! "$0" --json -d "$1" "$2" probe dump x3 >/dev/null 2>&1' \
	"$HM_CTL" "$HM_TMP/run" "$G1"
hm_check "meshd still measures both links" meshd_link_close 1 2 "$R12"

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

for r in 2 3; do
	hm_check "meshd of $(rig_region_name "$r") exits 0 on SIGTERM" meshd_stop "$r"
done
hm_log "passed"
