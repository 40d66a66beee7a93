#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The registry's etcd back end (controlplane/registry_etcd.c) against real
# etcds (Debian's etcd-server 3.4) started here on 127.0.0.1, on free ports,
# with data dirs of this run; every etcd is ended by its PID on exit, failure
# or interrupt. Needs no root.
#
#   1. tests/lib/registry_etcd_test.c (cmocka): put/load/del, corrupt entries
#      (an earlier version's links/ keys ignored), watch, registry_update
#      following the watch (each change applied key by key, the snapshot
#      compared with a full read), failover past a dead
#      endpoint, racing writers, authentication (tokens that expire and are
#      fetched again) and TLS with client certificates.
#      Ownership: a claim's seniority (create revision), and the roles of
#      scripts/etcd-access.sh (a gateway's user reads and compacts, and may
#      write nothing; a role an earlier version made, which wrote the
#      gateway's links, is made read-only by running the script again).
#   2. The watch across an etcd restart: the stream breaks, the watch fd
#      wakes, reloads fail while etcd is down, and after it is back the
#      watch reconnects by itself and wakes on the next change; the monitor
#      then stops cleanly on SIGTERM (no sanitizer report in a sanitizer build).
#   2b. meshctl against the TLS etcd (CA, client certificate) and the one
#      with authentication (user, password from the environment).
#   3. A 3-member cluster: the leader, which is also the member the client
#      talks to, is killed; the client's loads, writes and watch go on through
#      the other two.
#   4. Soak: two etcds under the same configuration churn for 90 s (VM
#      records added and deleted, 90 writes a second), one of them compacted
#      by a meshd: its space in use stays flat (moving with the history
#      kept), the other's grows.
set -u
. "$(dirname "$0")/../lib/netns.sh"

hm_init registry_etcd --no-gateway
TESTER=$HM_BUILD/tests/registry-etcd-test
command -v etcd >/dev/null 2>&1 ||
	hm_fail "needs etcd (Debian package etcd-server; scripts/install-deps.sh installs it)"
hm_require_cmd etcdctl openssl python3
[ -x "$TESTER" ] || hm_fail "no $TESTER (build first, or set HOPMESH_BUILD)"
export ETCDCTL_API=3

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

DATA=$(mktemp -d "/tmp/hopmesh-etcd-data.XXXXXX")
HM_DIRS+=("$DATA")

# etcd_start NAME CLIENT_URL PEER_PORT [ARGS...]: sets ETCD_PID.
etcd_start() {
	local name=$1 client=$2 peer=$3
	shift 3
	etcd --name "$name" --data-dir "$DATA/$name" \
		--listen-client-urls "$client" --advertise-client-urls "$client" \
		--listen-peer-urls "http://127.0.0.1:$peer" \
		--initial-advertise-peer-urls "http://127.0.0.1:$peer" \
		--initial-cluster "$name=http://127.0.0.1:$peer" \
		--initial-cluster-token "$HM_PREFIX-$name" \
		"$@" >>"$HM_TMP/$name.log" 2>&1 &
	ETCD_PID=$!
	HM_PIDS+=("$ETCD_PID")
}

# etcd_wait URL [ETCDCTL ARGS...]: until it answers, 15 s at most.
etcd_wait() {
	local url=$1 i
	shift
	for i in $(seq 150); do
		etcdctl --endpoints="$url" "$@" --dial-timeout=1s endpoint health >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# stop_clean PID LOG: SIGTERM, 10 s to exit 0 with no sanitizer report in LOG.
stop_clean() {
	local i rc
	hm_forget "$1"
	kill -TERM "$1" 2>/dev/null
	for i in $(seq 100); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$1" 2>/dev/null; then
		kill -KILL "$1" 2>/dev/null
		wait "$1" 2>/dev/null
		hm_log "process $1 did not stop within 10 s of SIGTERM"
		return 1
	fi
	wait "$1"
	rc=$?
	if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$2"; then
		hm_log "sanitizer report in $2"
		return 1
	fi
	[ "$rc" -eq 0 ] || hm_log "process $1 exited with $rc"
	[ "$rc" -eq 0 ]
}

# ---- certificates for the TLS etcd ----
TLS=$HM_TMP/tls
mkdir -p "$TLS"
(
	cd "$TLS" || exit 1
	ec() { openssl ecparam -name prime256v1 -genkey -noout -out "$1"; }
	ec ca-key.pem && openssl req -x509 -new -key ca-key.pem -out ca.pem -days 2 -subj /CN=hopmesh-test-ca &&
		ec other-ca-key.pem && openssl req -x509 -new -key other-ca-key.pem -out other-ca.pem -days 2 -subj /CN=other-ca &&
		ec server-key.pem && openssl req -new -key server-key.pem -out server.csr -subj /CN=127.0.0.1 &&
		printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' >server.ext &&
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 \
			-extfile server.ext -out server.pem &&
		ec client-key.pem && openssl req -new -key client-key.pem -out client.csr -subj /CN=meshd &&
		printf 'extendedKeyUsage=clientAuth\n' >client.ext &&
		openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 \
			-extfile client.ext -out client.pem
) >"$HM_TMP/openssl.log" 2>&1 || hm_fail "cannot make test certificates (see openssl.log)"

# ---- the etcds ----
P1=$(free_port) P1P=$(free_port) P2=$(free_port) P2P=$(free_port) P3=$(free_port) P3P=$(free_port)
DOWN=$(free_port) # nothing listens here
PLAIN=http://127.0.0.1:$P1
AUTH=https://127.0.0.1:$P2 # credentials go over TLS only
SECURE=https://127.0.0.1:$P3

etcd_start plain "$PLAIN" "$P1P"
PLAIN_PID=$ETCD_PID
etcd_start auth "$AUTH" "$P2P" --auth-token simple --auth-token-ttl 2 \
	--cert-file "$TLS/server.pem" --key-file "$TLS/server-key.pem"
AUTH_PID=$ETCD_PID
etcd_start secure "$SECURE" "$P3P" --cert-file "$TLS/server.pem" --key-file "$TLS/server-key.pem" \
	--trusted-ca-file "$TLS/ca.pem" --client-cert-auth
SECURE_PID=$ETCD_PID
hm_check "plain etcd up on $PLAIN" etcd_wait "$PLAIN"
hm_check "auth etcd up on $AUTH" etcd_wait "$AUTH" --cacert "$TLS/ca.pem"
hm_check "TLS etcd up on $SECURE" etcd_wait "$SECURE" --cacert "$TLS/ca.pem" \
	--cert "$TLS/client.pem" --key "$TLS/client-key.pem"

# Authentication and the roles as docs/OPERATIONS.md sets them up, with
# scripts/etcd-access.sh: an operator, and gateways victim and aaa.
ACCESS=$(dirname "$0")/../../scripts/etcd-access.sh
PASS=pw-$RANDOM$RANDOM GWPASS=gw-$RANDOM$RANDOM
access() { ETCDCTL_ENDPOINTS=$AUTH ETCDCTL_CACERT=$TLS/ca.pem "$ACCESS" "$@"; }
as_root() { ETCDCTL_USER="root:$PASS" access "$@"; }
hm_check "authentication enabled" access enable <<<"$PASS"
hm_check "an operator user" as_root operator operator <<<"$GWPASS"
hm_check "gateway victim's user" as_root gateway victim gw-victim <<<"$GWPASS"
hm_check "gateway aaa's user" as_root gateway aaa gw-aaa <<<"$GWPASS"
hm_check "etcd-access.sh again changes nothing" as_root gateway aaa gw-aaa <<<"$GWPASS"
# writes_nothing ROLE: etcd's listing of the role has no key range under
# "KV Write:".
writes_nothing() {
	local w
	w=$(ETCDCTL_ENDPOINTS=$AUTH ETCDCTL_CACERT=$TLS/ca.pem ETCDCTL_USER="root:$PASS" \
		etcdctl role get "$1" | sed -n '/^KV Write:/,$p') || return 1
	[ -n "$w" ] && ! grep -q '\[' <<<"$w"
}
hm_check "a gateway's role writes nothing" writes_nothing hopmesh-gw-victim
# aaa's role as earlier versions made it (meshd put its links): run again,
# the script revokes that write (test_roles then checks etcd refuses it)
hm_check "aaa's role as an earlier version made it" env ETCDCTL_ENDPOINTS="$AUTH" \
	ETCDCTL_CACERT="$TLS/ca.pem" ETCDCTL_USER="root:$PASS" etcdctl role grant-permission \
	hopmesh-gw-aaa --prefix=true readwrite /hopmesh/links/aaa/
hm_check "etcd-access.sh again revokes its write" as_root gateway aaa gw-aaa <<<"$GWPASS"
hm_check "aaa's role writes nothing now" writes_nothing hopmesh-gw-aaa
hm_check "etcd-access.sh refuses a bad gateway name" bash -c '! "$0" gateway "a/b" u <<<x 2>/dev/null' "$ACCESS"

# ---- 1. the cmocka tests ----
HM_ETCD_URL=$PLAIN HM_ETCD_DOWN=http://127.0.0.1:$DOWN \
	HM_ETCD_AUTH_URL=$AUTH HM_ETCD_AUTH_PASS=$PASS HM_ETCD_GW_PASS=$GWPASS \
	HM_ETCD_TLS_URL=$SECURE HM_ETCD_TLS_DIR=$TLS \
	"$TESTER" || hm_fail "registry-etcd-test failed"
hm_log "ok: registry-etcd-test"

# ---- meshctl against the secured etcds ----
MESHCTL=$HM_BUILD/controlplane/meshctl
[ -x "$MESHCTL" ] || hm_fail "no $MESHCTL (build first, or set HOPMESH_BUILD)"
KEY=$(wg genkey 2>/dev/null | wg pubkey 2>/dev/null) || KEY=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE=
MC_TLS=(--registry "etcd:$SECURE" --etcd-ca "$TLS/ca.pem" --etcd-cert "$TLS/client.pem"
	--etcd-key "$TLS/client-key.pem")
hm_check "meshctl over TLS with a client certificate" \
	"$MESHCTL" "${MC_TLS[@]}" gateway add tls-1 --id 1 --public-key "$KEY" \
	--endpoint 192.0.2.1:51820 --prefix 10.1.0.0/24
hm_check "meshctl over TLS reads it back" \
	bash -c '"$0" "$@" --json gateway list | grep -q "\"tls-1\""' "$MESHCTL" "${MC_TLS[@]}"
hm_check "meshctl over TLS without the client certificate is refused" \
	bash -c '! "$0" --registry "etcd:$1" --etcd-ca "$2" gateway list 2>/dev/null' "$MESHCTL" "$SECURE" "$TLS/ca.pem"
hm_check "meshctl as an etcd user (password from the environment)" \
	env HOPMESH_ETCD_PASSWORD="$PASS" "$MESHCTL" --registry "etcd:$AUTH" --etcd-ca "$TLS/ca.pem" \
	--etcd-user root gateway list
hm_check "meshctl with a wrong password is refused" \
	bash -c '! HOPMESH_ETCD_PASSWORD=wrong "$0" --registry "etcd:$1" --etcd-ca "$2" --etcd-user root \
		gateway list 2>/dev/null' "$MESHCTL" "$AUTH" "$TLS/ca.pem"
hm_check "meshctl without credentials on the auth etcd is refused" \
	bash -c '! "$0" --registry "etcd:$1" --etcd-ca "$3" gateway add x --id 2 --public-key "$2" \
		--endpoint 192.0.2.2:1 --prefix 10.2.0.0/24 2>/dev/null' "$MESHCTL" "$AUTH" "$KEY" "$TLS/ca.pem"
hm_check "meshctl with a password over http:// is refused before sending it" \
	bash -c 'HOPMESH_ETCD_PASSWORD="$2" "$0" --registry "etcd:$1" --etcd-user root gateway list 2>&1 |
		grep -q "plain http://"' "$MESHCTL" "$PLAIN" "$PASS"
hm_stop "$AUTH_PID"
hm_stop "$SECURE_PID"

# ---- 2. the watch across an etcd restart ----
etcdctl --endpoints="$PLAIN" del --prefix /hopmesh/ >/dev/null
MON=$HM_TMP/watch.out
"$TESTER" watch "http://127.0.0.1:$DOWN,$PLAIN" 40 >"$MON" 2>&1 &
MON_PID=$!
HM_PIDS+=("$MON_PID")

# wait_line PATTERN SECONDS: until the monitor printed a line matching it
# (after the lines counted in SEEN).
SEEN=0
wait_line() {
	local i
	for i in $(seq $(($2 * 10))); do
		if tail -n +$((SEEN + 1)) "$MON" | grep -q -- "$1"; then
			SEEN=$(wc -l <"$MON")
			return 0
		fi
		sleep 0.1
	done
	return 1
}
GW='{"name":"eu-1","id":1,"region":"eu","public_key":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE=","endpoint4":"192.0.2.1:51820","prefixes":["10.1.0.0/16"]}'
hm_check "watch started" wait_line "load ok, 0 gateways" 10
etcdctl --endpoints="$PLAIN" put /hopmesh/gateways/eu-1 "$GW" >/dev/null
hm_check "watch wakes on a change" wait_line "load ok, 1 gateways" 5
hm_stop "$PLAIN_PID"
hm_check "watch wakes when the stream breaks; reload fails" wait_line "load failed" 10
etcd_start plain "$PLAIN" "$P1P"
hm_check "plain etcd back" etcd_wait "$PLAIN"
hm_check "watch reconnects by itself" wait_line "load ok, 1 gateways" 15
SEEN=$(wc -l <"$MON")
etcdctl --endpoints="$PLAIN" del /hopmesh/gateways/eu-1 >/dev/null
hm_check "the new stream wakes on a change" wait_line "load ok, 0 gateways" 5
hm_log "watch monitor saw $(wc -l <"$MON") wake-ups"
hm_check "the monitor stops cleanly" stop_clean "$MON_PID" "$MON"
grep -q "monitor: closed" "$MON" || hm_fail "the monitor did not close its registry"
hm_stop "$PLAIN_PID"

# ---- 3. a 3-member cluster loses its leader ----
C1=$(free_port) C1P=$(free_port) C2=$(free_port) C2P=$(free_port) C3=$(free_port) C3P=$(free_port)
MEMBERS="c1=http://127.0.0.1:$C1P,c2=http://127.0.0.1:$C2P,c3=http://127.0.0.1:$C3P"
declare -A CURL CPID
CURL[c1]=http://127.0.0.1:$C1 CURL[c2]=http://127.0.0.1:$C2 CURL[c3]=http://127.0.0.1:$C3
for m in c1 c2 c3; do
	case $m in c1) peer=$C1P ;; c2) peer=$C2P ;; c3) peer=$C3P ;; esac
	etcd_start "$m" "${CURL[$m]}" "$peer" --initial-cluster "$MEMBERS" \
		--initial-cluster-token "$HM_PREFIX-cluster"
	CPID[$m]=$ETCD_PID
done
ALL="${CURL[c1]},${CURL[c2]},${CURL[c3]}"
for m in c1 c2 c3; do
	hm_check "cluster member $m up on ${CURL[$m]}" etcd_wait "${CURL[$m]}"
done

# The leader: the member whose own id is the leader id it reports.
leader_of() {
	etcdctl --endpoints="$ALL" endpoint status -w json 2>/dev/null | python3 -c '
import json, sys
for st in json.load(sys.stdin):
    if st["Status"]["header"]["member_id"] == st["Status"]["leader"]:
        print(st["Endpoint"])'
}
LEADER_URL=""
for i in $(seq 50); do
	LEADER_URL=$(leader_of)
	[ -n "$LEADER_URL" ] && break
	sleep 0.2
done
LEADER=""
for m in c1 c2 c3; do
	[ "${CURL[$m]}" = "$LEADER_URL" ] && LEADER=$m
done
[ -n "$LEADER" ] || hm_fail "no leader in the 3-member cluster"
EPS=$LEADER_URL
for m in c1 c2 c3; do
	[ "$m" = "$LEADER" ] || EPS=$EPS,${CURL[$m]}
done
hm_log "cluster leader: $LEADER (PID ${CPID[$LEADER]}); client endpoints $EPS"
# The tester kills the leader by the PID given here.
HM_ETCD_CLUSTER=$EPS HM_ETCD_CLUSTER_LEADER_PID=${CPID[$LEADER]} "$TESTER" cluster
rc=$?
if kill -0 "${CPID[$LEADER]}" 2>/dev/null; then
	hm_stop "${CPID[$LEADER]}"
	hm_fail "registry-etcd-test cluster failed (rc $rc) before it killed the leader"
fi
hm_forget "${CPID[$LEADER]}" # gone: cleanup must not signal that PID
[ "$rc" -eq 0 ] || hm_fail "registry-etcd-test cluster failed"
hm_log "ok: registry-etcd-test cluster"
for m in c1 c2 c3; do
	[ "$m" = "$LEADER" ] || hm_stop "${CPID[$m]}"
done

# ---- 4. soak: etcd's size under configuration churn, with and without meshd ----
# Two etcds take the same load (SOAK_WPS writes a second through the
# registry, VM records added and deleted as an operator's meshctl would:
# the rate of the link puts of a 10-gateway mesh that meshds made before
# links left the registry); on the second, a meshd whose gateway has the
# lowest id compacts every SOAK_COMPACT_S. The space in use in the first
# grows all along; in the second it stays flat once compaction has begun.
SOAK_S=90 SOAK_WPS=90 SOAK_COMPACT_S=10 # the first sample (30 s) after the first compaction (20 s)
S1=$(free_port) S1P=$(free_port) S2=$(free_port) S2P=$(free_port)
etcd_start soak-plain "http://127.0.0.1:$S1" "$S1P"
SOAK1_PID=$ETCD_PID
etcd_start soak-meshd "http://127.0.0.1:$S2" "$S2P"
SOAK2_PID=$ETCD_PID
hm_check "soak etcd without compaction up" etcd_wait "http://127.0.0.1:$S1"
hm_check "soak etcd with meshd up" etcd_wait "http://127.0.0.1:$S2"
MESHD=$HM_BUILD/controlplane/meshd
[ -x "$MESHD" ] || hm_fail "no $MESHD (build first, or set HOPMESH_BUILD)"
hm_check "gateway gw-1 (id 1) in the second" "$MESHCTL" --registry "etcd:http://127.0.0.1:$S2" \
	gateway add gw-1 --id 1 --public-key "$KEY" --endpoint 192.0.2.1:51820 --prefix 10.1.0.0/24
# meshd with no gateway behind it: its registry thread runs all the same.
printf '%s\n' "[meshd]" "gateway = gw-1" "registry = etcd:http://127.0.0.1:$S2" \
	"interface = hm-soak-none" "control = $HM_TMP/no-gateway.ctl" \
	"registry_compact_s = $SOAK_COMPACT_S" >"$HM_TMP/soak-meshd.conf"
"$MESHD" -c "$HM_TMP/soak-meshd.conf" >"$HM_TMP/soak-meshd.log" 2>&1 &
SOAK_MESHD=$!
HM_PIDS+=("$SOAK_MESHD")
"$TESTER" churn "http://127.0.0.1:$S1" "$SOAK_WPS" "$SOAK_S" >"$HM_TMP/soak1.out" 2>&1 &
L1=$!
"$TESTER" churn "http://127.0.0.1:$S2" "$SOAK_WPS" "$SOAK_S" >"$HM_TMP/soak2.out" 2>&1 &
L2=$!
HM_PIDS+=("$L1" "$L2")
in_use() { # URL: etcd's dbSizeInUse, bytes
	etcdctl --endpoints="$1" endpoint status -w json | python3 -c '
import json, sys; print(json.load(sys.stdin)[0]["Status"]["dbSizeInUse"])'
}
declare -a U1 U2
for i in 1 2 3; do
	sleep $((SOAK_S / 3))
	U1[i]=$(in_use "http://127.0.0.1:$S1") U2[i]=$(in_use "http://127.0.0.1:$S2")
	hm_log "soak at $((i * SOAK_S / 3)) s: in use ${U1[i]} bytes without compaction, ${U2[i]} with meshd's"
done
wait "$L1" && wait "$L2" || hm_fail "the churn writers failed (soak1.out, soak2.out)"
hm_log "churn without compaction: $(cat "$HM_TMP/soak1.out"); with meshd's: $(cat "$HM_TMP/soak2.out")"
hm_forget "$L1"
hm_forget "$L2"
hm_check "without compaction etcd grows (${U1[1]} -> ${U1[3]} bytes)" test "${U1[3]}" -ge $((U1[1] * 2))
# Flat: what is kept is the last SOAK_COMPACT_S to 2 x SOAK_COMPACT_S of
# history (and etcd's file frees pages lazily), so it moves between samples
# (0.32-0.57 MB seen); it must not grow like the other.
hm_check "with meshd compacting it stays flat (${U2[1]} -> ${U2[3]} bytes: under a fifth of the other's growth, a third of its size)" \
	test $(((U2[3] - U2[1]) * 5)) -le $((U1[3] - U1[1])) -a $((U2[3] * 3)) -le "${U1[3]}"
hm_check "meshd compacted without an error" bash -c '! grep -q "compacting the registry" "$0"' \
	"$HM_TMP/soak-meshd.log"
hm_check "the soak's meshd exits 0 on SIGTERM" stop_clean "$SOAK_MESHD" "$HM_TMP/soak-meshd.log"
hm_stop "$SOAK1_PID"
hm_stop "$SOAK2_PID"
echo "registry_etcd: all passed"
