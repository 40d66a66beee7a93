#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The systemd units (scripts/systemd/*.service.in) pass `systemd-analyze
# verify`, pointed at the binaries of this build; the units meson configured
# for installation have every @PLACEHOLDER@ filled in; and a unit with a
# broken ExecStart fails the same check (so the check can fail).
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
exit $((fails > 0))
