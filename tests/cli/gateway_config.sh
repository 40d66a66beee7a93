#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The gateway refuses to start on a bad config or an unsafe key (readable by
# others, or owned by another user), with a message that names the file, the
# line and what is wrong; it never gets as far as DPDK.
set -u
GW=${HOPMESH_BUILD:?}/dataplane/hopmesh-gw
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

key() { # MODE
	printf 'YDTgr0U2aWXK9sC4z2hqg9NKGdEvtVw2MjAUm6gcSn8=\n' >"$tmp/gw.key"
	chmod "$1" "$tmp/gw.key"
}

conf() { # EXTRA_GATEWAY_LINES [VM_SECTION]
	cat >"$tmp/gw.conf" <<-EOF2
	[gateway]
	name = t1
	private_key_file = $tmp/gw.key
	$1
	[vm]
	${2:-port = net_null0}
	address = 10.1.0.1/24
	[backbone]
	port = net_null1
	address = 192.0.2.1/24
	EOF2
}

# expect DESCRIPTION EXIT_CODE PATTERN: run the gateway, check both.
expect() {
	local out rc
	out=$("$GW" -c "$tmp/gw.conf" 2>&1)
	rc=$?
	if [ "$rc" -ne "$2" ] || ! grep -qE "$3" <<<"$out"; then
		echo "FAIL: $1: exit $rc, output: $out"
		fails=$((fails + 1))
	else
		echo "ok: $1: $(head -1 <<<"$out")"
	fi
}

key 644
conf ""
expect "key readable by others" 1 "gw.key: mode 0644 lets others read the private key; chmod 600"
key 640
expect "key readable by group" 1 "mode 0640"
key 600
printf 'not-a-key\n' >"$tmp/gw.key"
expect "key not base64" 1 "not a base64 WireGuard key"
rm -f "$tmp/gw.key"
expect "key missing" 1 "gw.key: No such file or directory"
key 600
# Whoever owns the key file can replace the key: only the gateway's user or
# root may. (Needs root to give the file away; as another user, the file
# would be ours.)
if [ "$(id -u)" -eq 0 ]; then
	chown 65534 "$tmp/gw.key"
	expect "key owned by another user" 1 "gw.key: owned by uid 65534, who could replace the private key; only the gateway's user \(uid 0\) or root may own it"
	chown 0 "$tmp/gw.key"
else
	echo "skip: key owned by another user (needs root to make one)"
fi
conf "name = a\"b"
expect "name with a quote" 1 "gw.conf:4: name: must be 1-31 of A-Z a-z 0-9 . _ -"
conf "name = ..."
expect "name starting with a dot" 1 "gw.conf:4: name: must be"
conf "listen_port = 70000"
expect "port out of range" 1 "gw.conf:4: listen_port: must be 0-65535"
conf "mtu = 100"
expect "mtu too small" 1 "gw.conf:4: mtu: must be 576-9000"
conf "host_routes = 10"
expect "host route capacity too small" 1 "gw.conf:4: host_routes: must be 1024-16777216"
conf "hop_limit = 0"
expect "hop limit zero" 1 "gw.conf:4: hop_limit: must be 1-4"
conf "hop_limit = 5"
expect "hop limit over the relay header's 4" 1 "gw.conf:4: hop_limit: must be 1-4"
conf "colour = blue"
expect "unknown key" 1 "gw.conf:4: colour: unknown key"
conf "" "port net_null0"
expect "line without =" 1 "gw.conf:6: expected key = value"
conf "" "address = 10.1.0.1"
expect "address without prefix" 1 "gw.conf:6: address: must be IPv4/prefix"
conf "idle = sometimes"
expect "bad idle policy" 1 "gw.conf:4: idle: must be poll or adaptive"
printf '[gateway]\nname = x\n[nonsense]\n' >"$tmp/gw.conf"
expect "unknown section" 1 "gw.conf:3: unknown section"
expect_usage() {
	"$GW" >/dev/null 2>&1
	[ $? -eq 2 ] && echo "ok: no arguments: usage, exit 2" || { echo "FAIL: no arguments"; fails=$((fails + 1)); }
}
expect_usage
"$GW" -c "$tmp/does-not-exist" >"$tmp/out" 2>&1
grep -q "does-not-exist: No such file" "$tmp/out" && echo "ok: config missing" ||
	{ echo "FAIL: config missing: $(cat "$tmp/out")"; fails=$((fails + 1)); }
exit $((fails > 0))
