#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The systemd units (scripts/systemd/*.service.in) pass `systemd-analyze
# verify`, pointed at the binaries of this build; the units meson configured
# for installation have every @PLACEHOLDER@ filled in; and a unit with a
# broken ExecStart fails the same check (so the check can fail).
#
# Each unit is Type=notify with WatchdogSec=, and `systemd-analyze security`
# rates it 4.0 or lower (offline: this needs no running systemd). Then, since
# units cannot be started without systemd as PID 1, an approximation of what
# systemd would see (sd_notify_run.py): each binary runs under its unit's
# CapabilityBoundingSet=, NoNewPrivileges= and UMask= (setpriv), with
# NOTIFY_SOCKET and WATCHDOG_USEC set: READY=1 once its socket exists, a
# WATCHDOG=1 every half interval, STOPPING=1 on SIGTERM, exit 0. The gateway
# runs on net_null ports without hugepages, meshd on an empty embedded
# registry with no gateway. A program that reports ready but never pets
# fails the same check. And under strace, the system calls each makes are
# all in its unit's SystemCallFilter= (a filter without the network refuses
# meshd's).
set -u
build=${HOPMESH_BUILD:?}
src=$(cd "$(dirname "$0")/../.." && pwd)
command -v systemd-analyze >/dev/null ||
	{ echo "FAIL: systemd-analyze missing: scripts/install-deps.sh installs systemd"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin" "$tmp/units" "$tmp/doc"
fails=0

# unit TEMPLATE: a verifiable instance of it, binaries from this build.
unit() {
	local name bin path
	name=$(basename "$1" .in)
	for bin in $(sed -n 's|^ExecStart=@BINDIR@/\([^ ]*\).*|\1|p' "$1"); do
		path=$(find "$build" -name "$bin" -type f -perm -u+x | head -1)
		[ -n "$path" ] || { echo "FAIL: $name: $bin is not built in $build"; return 1; }
		ln -sf "$path" "$tmp/bin/$bin"
	done
	sed -e "s|@BINDIR@|$tmp/bin|g" -e "s|@DOCDIR@|$tmp/doc|g" "$1" >"$tmp/units/$name"
	ln -sf "$name" "$tmp/units/${name/@./@t1.}"
	echo "$tmp/units/${name/@./@t1.}"
}

n=0
for t in "$src"/scripts/systemd/*.service.in; do
	n=$((n + 1))
	if ! u=$(unit "$t"); then
		echo "$u"
		fails=$((fails + 1))
	elif out=$(systemd-analyze verify "$u" 2>&1) && [ -z "$out" ]; then
		echo "ok: $(basename "$t" .in) verifies"
	else
		echo "FAIL: $(basename "$t" .in): $out"
		fails=$((fails + 1))
	fi
done
[ "$n" -gt 0 ] || { echo "FAIL: no unit templates in scripts/systemd"; exit 1; }

for u in $(find "$build/scripts/systemd" -name '*.service'); do
	if grep -q '@[A-Z]*@' "$u"; then
		echo "FAIL: $u has unfilled placeholders"
		fails=$((fails + 1))
	else
		echo "ok: $(basename "$u") configured for installation"
	fi
done

sed 's|^ExecStart=.*|ExecStart=/nonexistent/hopmesh-gw|' "$tmp/units/hopmesh-gw@.service" >"$tmp/units/broken@.service"
ln -sf broken@.service "$tmp/units/broken@t1.service"
if systemd-analyze verify "$tmp/units/broken@t1.service" >/dev/null 2>&1; then
	echo "FAIL: a unit whose ExecStart does not exist passed verify"
	fails=$((fails + 1))
else
	echo "ok: a broken ExecStart fails verify"
fi
# ---- readiness, watchdog and the exposure rating ----
for t in "$src"/scripts/systemd/*.service.in; do
	name=$(basename "$t" .in)
	u=$tmp/units/${name/@./@t1.}
	for want in '^Type=notify$' '^NotifyAccess=main$' '^WatchdogSec=[0-9]+s$'; do
		if grep -qE "$want" "$t"; then
			echo "ok: $name: $(grep -E "$want" "$t")"
		else
			echo "FAIL: $name: no line matching $want"
			fails=$((fails + 1))
		fi
	done
	# "→ Overall exposure level for NAME: 3.2 OK 🙂"
	level=$(systemd-analyze security --offline=true "$u" 2>&1 |
		sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\) .*/\1/p')
	if [ -z "$level" ]; then
		echo "FAIL: $name: systemd-analyze security gave no overall exposure level"
		fails=$((fails + 1))
	elif awk -v l="$level" 'BEGIN { exit !(l <= 4.0) }'; then
		echo "ok: $name: exposure $level (at most 4.0)"
	else
		echo "FAIL: $name: exposure $level, over 4.0"
		fails=$((fails + 1))
	fi
done

# setpriv's --bounding-set list from a unit's CapabilityBoundingSet= (empty:
# none at all).
bounding() {
	local caps
	caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$1" | tr 'A-Z' 'a-z' | sed 's/cap_//g')
	printf -- '-all%s' "$(for c in $caps; do printf ',+%s' "$c"; done)"
}

# notify_run NAME SOCKET TEMPLATE COMMAND...: sd_notify_run.py on the command
# run with the unit's bounding set, no new privileges and its umask.
notify_run() {
	local name=$1 sock=$2 t=$3
	shift 3
	(umask "$(sed -n 's/^UMask=//p' "$t")" &&
		python3 "$src/tests/cli/sd_notify_run.py" "$name" "$sock" 2000000 5 -- \
			setpriv --bounding-set "$(bounding "$t")" --no-new-privs "$@") ||
		fails=$((fails + 1))
}

if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null; then
	# The gateway's UAPI socket is /var/run/wireguard/NAME.sock, root's.
	echo "skip: running the binaries as their units would (needs root and setpriv)"
	exit $((fails > 0))
fi
gw_unit=$src/scripts/systemd/hopmesh-gw@.service.in
meshd_unit=$src/scripts/systemd/hopmesh-meshd@.service.in
name=sdn$$
printf 'YDTgr0U2aWXK9sC4z2hqg9NKGdEvtVw2MjAUm6gcSn8=\n' >"$tmp/gw.key"
chmod 600 "$tmp/gw.key"
cat >"$tmp/gw.conf" <<-CONF
[gateway]
name = $name
private_key_file = $tmp/gw.key
run_dir = $tmp
listen_port = 0
eal = --no-huge -m 256 --no-pci --no-telemetry --no-shconf --file-prefix $name --lcores=(0-1)@0 --vdev=net_null0,no-rx=1 --vdev=net_null1,no-rx=1
[vm]
port = net_null0
address = 10.1.0.1/24
[backbone]
port = net_null1
address = 192.0.2.1/24
CONF
notify_run hopmesh-gw "$tmp/$name.ctl" "$gw_unit" "$build/dataplane/hopmesh-gw" -c "$tmp/gw.conf"

mkdir "$tmp/registry"
cat >"$tmp/meshd.conf" <<-CONF
[meshd]
gateway = $name
registry = dir:$tmp/registry
interface = $name-absent
control = $tmp/absent.ctl
CONF
notify_run meshd "$tmp/absent.meshd" "$meshd_unit" "$build/controlplane/meshd" -c "$tmp/meshd.conf"

# ---- the system call filters ----
# Every system call each binary made in a run like the ones above (strace
# -f, start to SIGTERM) must be in its unit's SystemCallFilter=, but for
# iopl, which EAL tries at start for I/O-port PMDs and does without
# (docs/OPERATIONS.md). Sanitizer runtimes make calls of their own: skipped
# there, as without strace.
expand_calls() { # NAME-OR-@GROUP...
	local x
	for x in "$@"; do
		case $x in
		@*) expand_calls $(systemd-analyze syscall-filter "$x" | sed -n '2,$p' | grep -v '^ *#' | tr -d ' ') ;;
		*) echo "$x" ;;
		esac
	done
}
allowed_calls() { # TEMPLATE: what its SystemCallFilter= lines let through
	local line allow="" deny=""
	while read -r line; do
		case $line in
		'~'*) deny="$deny ${line#\~}" ;;
		*) allow="$allow $line" ;;
		esac
	done < <(sed -n 's/^SystemCallFilter=//p' "$1")
	comm -23 <(expand_calls $allow | sort -u) <(expand_calls $deny | sort -u)
}
calls_outside() { # NAME TEMPLATE: calls in NAME's trace its filter refuses
	comm -23 <(sed -E 's/^[0-9]+ +//; s/\(.*//' "$tmp/$1.strace" | grep -E '^[a-z0-9_]+$' | sort -u) \
		<( (allowed_calls "$2"; echo iopl) | sort -u) | tr '\n' ' '
}
syscalls_check() { # NAME TEMPLATE SOCKET COMMAND...
	local name=$1 t=$2 sock=$3 spid i extra
	shift 3
	strace -f -qq -o "$tmp/$name.strace" "$@" >/dev/null 2>&1 &
	spid=$!
	for i in $(seq 300); do
		[ -S "$sock" ] && break
		sleep 0.1
	done
	sleep 1
	pkill -TERM -P "$spid"
	wait "$spid"
	extra=$(calls_outside "$name" "$t")
	if [ ! -S "$sock" ] && ! grep -q . "$tmp/$name.strace"; then
		echo "FAIL: $name: did not run under strace"
		fails=$((fails + 1))
	elif [ -n "$extra" ]; then
		echo "FAIL: $name: made system calls its unit's filter refuses: $extra"
		fails=$((fails + 1))
	else
		echo "ok: $name: its $(sed -E 's/^[0-9]+ +//; s/\(.*//' "$tmp/$name.strace" | grep -E '^[a-z0-9_]+$' | sort -u | wc -l) distinct system calls are all in its unit's filter (iopl aside)"
	fi
}
if ! command -v strace >/dev/null; then
	echo "skip: system call filters (no strace)"
elif nm -D "$build/dataplane/hopmesh-gw" 2>/dev/null | grep -q __asan_init ||
	nm "$build/dataplane/hopmesh-gw" 2>/dev/null | grep -q __asan_init; then
	echo "skip: system call filters (sanitizer build)"
else
	syscalls_check hopmesh-gw "$gw_unit" "$tmp/$name.ctl" "$build/dataplane/hopmesh-gw" -c "$tmp/gw.conf"
	rm -rf "$tmp/registry" && mkdir "$tmp/registry"
	syscalls_check meshd "$meshd_unit" "$tmp/absent.meshd" "$build/controlplane/meshd" -c "$tmp/meshd.conf"
	# The check can fail: the same trace against a filter without the network.
	sed 's/^SystemCallFilter=~.*/& @network-io/' "$meshd_unit" >"$tmp/nonet.service"
	if [ -n "$(calls_outside meshd "$tmp/nonet.service")" ]; then
		echo "ok: meshd's calls against a filter without @network-io: refused"
	else
		echo "FAIL: a filter without @network-io let meshd's calls through"
		fails=$((fails + 1))
	fi
fi

# The check can fail: ready, a status, but never a pet.
if python3 "$src/tests/cli/sd_notify_run.py" silent /dev/null 1000000 2 -- python3 -c '
import os, signal, socket, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.sendto(b"READY=1\nSTATUS=up", os.environ["NOTIFY_SOCKET"])
signal.signal(signal.SIGTERM, lambda *a: (s.sendto(b"STOPPING=1", os.environ["NOTIFY_SOCKET"]), os._exit(0)))
time.sleep(30)' >"$tmp/silent.out"; then
	echo "FAIL: a program that never sends WATCHDOG=1 passed the watchdog check"
	fails=$((fails + 1))
elif grep -q "FAIL: silent: 0 WATCHDOG=1" "$tmp/silent.out"; then
	echo "ok: a program that never sends WATCHDOG=1 fails the watchdog check"
else
	echo "FAIL: the silent program failed otherwise: $(cat "$tmp/silent.out")"
	fails=$((fails + 1))
fi
exit $((fails > 0))
