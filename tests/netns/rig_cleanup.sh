#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The rig (tests/rig/rig.sh) leaves nothing behind (issue 5, acceptance 2):
# no namespace, veth, process, socket, DPDK runtime directory or state file.
#
#   1. rig.sh up / status / down from the command line;
#   2. a test using the rig fails midway;
#   3. a test using the rig is interrupted by Ctrl-C (SIGINT to its process
#      group, as a terminal sends it) once the rig is up;
#   4. the same with SIGTERM to the test alone;
#   5. SIGTERM while the rig is still coming up (gateway 1 started, 2 not);
#   6. Ctrl-C while the rig is still coming up;
#   7. SIGKILL (no cleanup can run): `rig.sh down PREFIX` then removes the
#      leftover by its prefix, and a new rig never takes a leftover's prefix.
#
# Each case runs a small rig user (2 regions, 1 VM each, a ping running in a
# VM) and then looks for anything carrying that user's prefix or temp dir.
set -u
. "$(dirname "$0")/../lib/netns.sh"

hm_init rig_cleanup
hm_require_root
hm_require_cmd wg ethtool python3 pgrep

RIG=$(cd "$(dirname "$0")/../rig" && pwd)/rig.sh
OUT=$HM_TMP/out
mkdir -p "$OUT"
# Names the rig gives interfaces; none may ever appear in this namespace.
RIG_IFS="us-east us-west bb0 vm0 br0 br-gw br-vm1"
for i in $RIG_IFS; do
	ip link show dev "$i" >/dev/null 2>&1 && hm_fail "interface $i already in the root namespace"
done

# A test that uses the rig. MODE: fail (fails once up), wait (runs until
# killed), or slow (as wait; the parent kills it while the rig comes up).
cat >"$HM_TMP/user.sh" <<EOF
#!/usr/bin/env bash
set -u
. "$RIG"
hm_init rig_user
HM_SHOW_LOGS=
echo "\$HM_PREFIX \$HM_TMP" >"$OUT/prefix"
rig_up 2 1
ip netns exec "\$(rig_vm 1 1)" ping -n -i 0.2 10.2.0.2 >/dev/null 2>&1 &
echo "\${HM_PIDS[*]} \$!" >"$OUT/pids"
touch "$OUT/up"
[ "\$MODE" = fail ] && hm_check "a deliberate failure, once the rig is up" false
while :; do sleep 0.2; done
EOF
chmod +x "$HM_TMP/user.sh"

# rig_cli LOG ARGS...: rig.sh ARGS with its output in $HM_TMP/LOG, shown on
# failure (redirecting hm_check itself would hide its own FAIL line too).
rig_cli() {
	local log=$HM_TMP/$1
	shift
	"$RIG" "$@" >"$log" 2>&1 && return 0
	sed 's/^/    rig.sh: /' "$log" >&2
	return 1
}

# nothing_left PREFIX TMP [PIDS...]: fails the test if anything of it remains.
nothing_left() {
	local p=$1 tmp=$2 pid left=0 i
	shift 2
	if ip netns list | grep -q "^$p-"; then
		hm_log "namespaces left: $(ip netns list | grep "^$p-" | awk '{print $1}' | tr '\n' ' ')"
		left=1
	fi
	for i in $RIG_IFS; do
		ip link show dev "$i" >/dev/null 2>&1 && { hm_log "interface left: $i"; left=1; }
	done
	for pid in "$@"; do
		[ -d "/proc/$pid" ] || continue
		case "$(readlink "/proc/$pid/exe")" in
		*/hopmesh-gw | */hopmesh-wanem | */ping | */bash)
			hm_log "process left: $pid $(tr '\0' ' ' <"/proc/$pid/cmdline")"
			left=1
			;;
		esac
	done
	if [ -n "$tmp" ] && pgrep -f -- "$tmp" >/dev/null; then
		hm_log "processes left: $(pgrep -a -f -- "$tmp")"
		left=1
	fi
	if compgen -G "/var/run/wireguard/$p*" >/dev/null || compgen -G "/var/run/dpdk/$p*" >/dev/null ||
		[ -e "/run/hopmesh-rig/$p.state" ]; then
		hm_log "files left: $(ls -d /var/run/wireguard/"$p"* /var/run/dpdk/"$p"* /run/hopmesh-rig/"$p".state 2>/dev/null | tr '\n' ' ')"
		left=1
	fi
	# A failed or interrupted test keeps its logs, never a socket.
	if [ -n "$tmp" ] && [ -d "$tmp" ] && [ -n "$(find "$tmp" -type s)" ]; then
		hm_log "sockets left in $tmp"
		left=1
	fi
	[ -n "$tmp" ] && rm -rf "$tmp"
	return $left
}

# user MODE: starts a rig user in its own process group (as a shell with job
# control starts a command); sets USER_PID.
user() {
	rm -f "$OUT"/*
	set -m
	USER_RUN=$((${USER_RUN:-0} + 1))
	USER_LOG=$HM_TMP/user-$USER_RUN-$1.log
	MODE=$1 HOPMESH_BUILD=$HM_BUILD "$HM_TMP/user.sh" >"$USER_LOG" 2>&1 &
	USER_PID=$!
	set +m
}

# user_wait_for FILE_OR_TEST: until the user reaches a point (30 s at most).
user_wait_for() {
	local i
	for i in $(seq 300); do
		eval "$1" && return 0
		kill -0 "$USER_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# user_end: waits for the user to end (60 s at most); prints its status.
user_end() {
	local i
	for i in $(seq 600); do
		kill -0 "$USER_PID" 2>/dev/null || break
		sleep 0.1
	done
	wait "$USER_PID"
}

user_check() { # WHAT EXPECTED_STATUS
	local rc p tmp pids
	user_end
	rc=$?
	read -r p tmp <"$OUT/prefix"
	pids=$(cat "$OUT/pids" 2>/dev/null)
	hm_log "$1: the user exited with $rc (prefix $p)"
	hm_check "$1: the test reports failure (status $rc)" test "$rc" -eq "$2"
	# shellcheck disable=SC2086
	hm_check "$1: nothing is left" nothing_left "$p" "$tmp" $pids
	grep -E "FAIL|interrupted" "$USER_LOG" | sed 's/^/    user: /' >&2
}

# 1. The command line: up, status, down.
name=rc$(printf '%04x' $((RANDOM % 65536)))
hm_check "rig.sh up 2 --vms 1 --name $name" rig_cli up.log up 2 --vms 1 --name "$name"
cp "/run/hopmesh-rig/$name.state" "$HM_TMP/state"
hm_check "rig.sh status" rig_cli status.log status "$name"
hm_check "status shows both regions" grep -q "us-west.*gateway ${name}g2" "$HM_TMP/status.log"
hm_check "the rig carries traffic" hm_ping "$name-us-east-vm1" 10.2.0.2 3
tmp=$(sed -n 's/^declare -g HM_TMP="\(.*\)"$/\1/p' "$HM_TMP/state")
pids=$(sed -n 's/^declare -ga HM_PIDS=(\(.*\))$/\1/p' "$HM_TMP/state" | grep -o '"[0-9]*"' | tr -d '"')
hm_check "rig.sh down $name" rig_cli down.log down "$name"
# shellcheck disable=SC2086
hm_check "up/down: nothing is left" nothing_left "$name" "$tmp" $pids

# 2. A test fails midway.
user fail
user_check "failure" 1

# 3. Ctrl-C once the rig is up: SIGINT to the whole process group.
user wait
hm_check "the user's rig comes up" user_wait_for '[ -e "$OUT/up" ]'
kill -INT -- "-$USER_PID"
user_check "Ctrl-C" 130

# 4. SIGTERM to the test alone.
user wait
hm_check "the user's rig comes up" user_wait_for '[ -e "$OUT/up" ]'
kill -TERM "$USER_PID"
user_check "SIGTERM" 130

# 5 and 6. Interrupted while the rig comes up: gateway 1 runs, 2 does not yet.
for sig in TERM INT; do
	user slow
	hm_check "the user starts its rig" user_wait_for \
		'[ -s "$OUT/prefix" ] && read -r p _ <"$OUT/prefix" && [ -S "/var/run/wireguard/${p}g1.sock" ]'
	if [ "$sig" = INT ]; then kill -INT -- "-$USER_PID"; else kill -TERM "$USER_PID"; fi
	hm_check "SIG$sig came before the rig was up" test ! -e "$OUT/up"
	user_check "SIG$sig during rig_up" 130
done

# 7. SIGKILL: nothing can clean up; rig.sh down PREFIX removes the leftover.
user wait
hm_check "the user's rig comes up" user_wait_for '[ -e "$OUT/up" ]'
{
	kill -KILL "$USER_PID"
	wait "$USER_PID"
} 2>/dev/null
read -r p tmp <"$OUT/prefix"
pids=$(cat "$OUT/pids")
hm_check "after SIGKILL the rig is left behind" ip netns pids "$p-wan" >/dev/null
hm_check "a new prefix is never a leftover's" bash -c ". '$(dirname "$0")/../lib/netns.sh'; ! hm_prefix_free $p"
hm_check "rig.sh down $p removes the leftover" rig_cli down-leftover.log down "$p"
# shellcheck disable=SC2086
hm_check "SIGKILL + down: nothing is left" nothing_left "$p" "$tmp" $pids
