#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# What `meson install` puts where, into a temporary --destdir (no root):
#   - the four programs in bindir, their manuals in mandir/man8, the two bash
#     completions where bash-completion's pkg-config file says (else
#     DATADIR/bash-completion/completions), the systemd units where systemd's
#     says (else PREFIX/lib/systemd/system): each place worked out here, not
#     asked of meson;
#   - every manual renders with `man --warnings` and not one warning (and a
#     broken page does warn, so the check can fail), and names every config
#     key the program's parser accepts and every command its usage lists;
#   - the completions load in bash, register for their command, and complete
#     commands, subcommands, options, gateway names from a registry and
#     gateways from a run directory (COMP_WORDS set, the function called,
#     COMPREPLY checked);
#   - the installed hopmesh-ctl: --help on stdout with exit 0, a bad command
#     on stderr with exit 2.
set -u
build=${HOPMESH_BUILD:?}
src=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

command -v man >/dev/null || { echo "FAIL: man missing: scripts/install-deps.sh installs man-db"; exit 1; }

root=$tmp/root
if ! out=$(meson install -C "$build" --no-rebuild --destdir "$root" 2>&1); then
	echo "FAIL: meson install: $out"
	exit 1
fi

# A directory option of this build, absolute.
opt() {
	local v
	v=$(meson introspect --buildoptions "$build" |
		python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]==sys.argv[1]))' "$1")
	case $v in /*) echo "$v" ;; *) echo "$prefix/$v" ;; esac
}
prefix=$(meson introspect --buildoptions "$build" |
	python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"))')
bindir=$(opt bindir)
mandir=$(opt mandir)
compdir=$(pkg-config --variable=completionsdir bash-completion 2>/dev/null) ||
	compdir=$(opt datadir)/bash-completion/completions
unitdir=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null) ||
	unitdir=$prefix/lib/systemd/system

# expect_file PATH: installed there (under the destdir).
expect_file() {
	if [ -f "$root$1" ]; then ok "installed $1"; else fail "$1 not installed"; fi
}
for p in hopmesh-gw hopmesh-ctl meshd meshctl; do
	expect_file "$bindir/$p"
	[ -x "$root$bindir/$p" ] || fail "$bindir/$p is not executable"
	expect_file "$mandir/man8/$p.8"
done
expect_file "$compdir/meshctl"
expect_file "$compdir/hopmesh-ctl"
expect_file "$unitdir/hopmesh-gw@.service"
expect_file "$unitdir/hopmesh-meshd@.service"
# What a net_af_xdp port's xdp_prog= names (docs/OPERATIONS.md).
expect_file "$(opt datadir)/hopmesh/xdp/xsk_redirect.bpf.o"
grep -q "^ExecStart=$bindir/hopmesh-gw " "$root$unitdir/hopmesh-gw@.service" ||
	fail "hopmesh-gw@.service does not start $bindir/hopmesh-gw"

# ---- the manuals ----

# warnings PAGE: what man says on stderr while rendering it.
warnings() { MANWIDTH=80 man --warnings -l "$1" 2>&1 >/dev/null; }

printf '.TH BROKEN 8\n.SH NAME\nbroken \\- a page with an undefined macro\n.XY foo\n' >"$tmp/broken.8"
[ -n "$(warnings "$tmp/broken.8")" ] && ok "a broken page warns" ||
	fail "man --warnings did not warn about an undefined macro: the check below proves nothing"

for p in hopmesh-gw hopmesh-ctl meshd meshctl; do
	page=$root$mandir/man8/$p.8
	[ -f "$page" ] || continue
	w=$(warnings "$page")
	if [ -n "$w" ]; then
		fail "$p.8 renders with warnings: $w"
	elif ! MANWIDTH=80 man -l "$page" 2>/dev/null | grep -q "^NAME"; then
		fail "$p.8 renders no NAME section"
	else
		ok "$p.8 renders without warnings"
	fi
done

# documents PAGE WHAT: every line of stdin appears in the rendered PAGE.
documents() {
	local page=$root$mandir/man8/$1.8 text missing=() n=0 w
	text=$(MANWIDTH=250 man -l "$page" 2>/dev/null)
	while read -r w; do
		n=$((n + 1))
		grep -qF -- "$w" <<<"$text" || missing+=("'$w'")
	done
	if [ "$n" -eq 0 ]; then
		fail "$1.8: no $2 found to look for"
	elif [ ${#missing[@]} -eq 0 ]; then
		ok "$1.8 names all $n $2"
	else
		fail "$1.8 lacks $2: ${missing[*]}"
	fi
}
keys() { grep -o 'strcmp(k, "[a-z_0-9]*")' "$1" | sed 's/.*"\(.*\)".*/\1/' | sort -u; }
# documents runs in this shell (fed by process substitution, not a pipe):
# its failures must reach the exit status.
documents hopmesh-gw "config keys" < <(keys "$src/dataplane/config.c")
documents meshd "config keys" < <(keys "$src/controlplane/meshd_config.c")
ctl=$root$bindir/hopmesh-ctl
# The commands --help lists: "route add", "dump routes", "version", ...
ctl_commands() {
	"$ctl" --help | awk -F '  +' '/^commands:/ { f = 1; next } f && /^$/ { exit }
	f && /^  [a-z]/ { n = split($2, w, " "); print (n > 1 && w[2] ~ /^[a-z]+$/) ? w[1] " " w[2] : w[1] }'
}
documents hopmesh-ctl commands < <(ctl_commands)
# meshctl's usage: each "command [subcommand]" it lists.
meshctl_commands() {
	"$root$bindir/meshctl" --help 2>&1 |
		grep -oE '(^  |\| )(gateway|vm|link|route|trace|policy|status|help)( (add|del|list|show|set))?' |
		sed 's/^[ |]*//' | sort -u
}
documents meshctl commands < <(meshctl_commands)

# ---- the completions ----

# complete_with FILE WORD...: load FILE in a clean bash, complete the last
# WORD (may be empty) of the command line WORD..., print COMPREPLY sorted.
complete_with() {
	local file=$1
	shift
	PATH="$root$bindir:$PATH" bash --norc --noprofile -c '
		file=$1; shift
		source "$file" || exit 3
		spec=$(complete -p "$1" 2>/dev/null) || { echo "NOT-REGISTERED"; exit 0; }
		func=$(sed -n "s/.*-F \([^ ]*\).*/\1/p" <<<"$spec")
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"
		COMP_POINT=${#COMP_LINE}
		"$func" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " " | sed "s/ $//"
	' complete "$file" "$@"
}

# expect_completion WANT FILE WORD...
expect_completion() {
	local want=$1 got
	shift
	got=$(complete_with "$@")
	if [ "$got" = "$want" ]; then
		ok "complete '${*:2}': $got"
	else
		fail "complete '${*:2}': got '$got', want '$want'"
	fi
}

mc=$root$compdir/meshctl
hc=$root$compdir/hopmesh-ctl
expect_completion "gateway help link policy route status trace vm" "$mc" meshctl ""
expect_completion "add del list" "$mc" meshctl gateway ""
expect_completion "add del list" "$mc" meshctl peer ""
expect_completion "policy" "$mc" meshctl --json po
expect_completion "show" "$mc" meshctl -j link ""
expect_completion "--etcd-ca --etcd-cert --etcd-key --etcd-user" "$mc" meshctl --etcd
expect_completion "--public-key" "$mc" meshctl gateway add gw-a --id 1 --pu
expect_completion "residency=off residency=on" "$mc" meshctl policy set res
expect_completion "--from --run-dir" "$mc" meshctl route show --
# Gateway names from the registry the command line names.
key=$(python3 -c 'import base64; print(base64.b64encode(bytes(range(1, 33))).decode())')
if PATH="$root$bindir:$PATH" meshctl --registry "dir:$tmp/reg" gateway add gw-a --id 1 --public-key "$key" \
	--endpoint 192.0.2.1:51820 --prefix 10.1.0.0/24 >/dev/null; then
	expect_completion "gw-a" "$mc" meshctl --registry "dir:$tmp/reg" gateway del ""
	expect_completion "gw-a" "$mc" meshctl --registry "dir:$tmp/reg" route show --from ""
else
	fail "meshctl gateway add into dir:$tmp/reg failed"
fi

mkdir -p "$tmp/run"
: >"$tmp/run/gw-one.ctl"
: >"$tmp/run/gw-two.ctl"
expect_completion "gw-one gw-two" "$mc" meshctl -j status --run-dir "$tmp/run" ""
expect_completion "--run-dir" "$mc" meshctl status gw-one ""
expect_completion "gw-one gw-two" "$hc" hopmesh-ctl -d "$tmp/run" ""
expect_completion "counters dump gateway hop_limit path probe route version" "$hc" hopmesh-ctl gw-one ""
expect_completion "add del lookup" "$hc" hopmesh-ctl -j gw-one route ""
expect_completion "gateways routes" "$hc" hopmesh-ctl gw-one dump ""
expect_completion "--dir --help --json" "$hc" hopmesh-ctl --
[ "$(complete_with "$mc" meshctl "")" != NOT-REGISTERED ] || fail "meshctl's completion registers nothing"

# ---- the installed programs: --help and a wrong option ----

for prog in hopmesh-gw hopmesh-ctl meshd meshctl; do
	"$root$bindir/$prog" --help >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ $rc -eq 0 ] && grep -q "^usage: .*$prog" "$tmp/out" && [ ! -s "$tmp/err" ]; then
		ok "$prog --help: usage on stdout, exit 0"
	else
		fail "$prog --help: exit $rc, stdout $(head -1 "$tmp/out"), stderr $(cat "$tmp/err")"
	fi
	"$root$bindir/$prog" --no-such-option >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ $rc -eq 2 ] && [ -s "$tmp/err" ] && [ ! -s "$tmp/out" ]; then
		ok "$prog --no-such-option: message on stderr, exit 2"
	else
		fail "$prog --no-such-option: exit $rc, stdout $(head -1 "$tmp/out"), stderr $(head -1 "$tmp/err")"
	fi
done
"$ctl" gw-one frobnicate >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc -eq 2 ] && grep -q "unknown command 'frobnicate'" "$tmp/err" && [ ! -s "$tmp/out" ]; then
	ok "hopmesh-ctl with an unknown command: message on stderr, exit 2"
else
	fail "hopmesh-ctl gw-one frobnicate: exit $rc, stdout $(cat "$tmp/out"), stderr $(cat "$tmp/err")"
fi
exit $((fails > 0))
