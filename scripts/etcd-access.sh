#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Who may write what in an etcd registry (docs/OPERATIONS.md, "Who may write
# what"): etcd users and roles with key-prefix permissions, made with etcdctl
# as etcd's root user. Two kinds of credential:
#
#   operator USER        role hopmesh-operator: reads and writes all of
#                        /hopmesh/ (meshctl)
#   gateway NAME USER    role hopmesh-gw-NAME: reads all of /hopmesh/ and
#                        writes nothing (that gateway's meshd, which only
#                        reads and compacts; etcd lets any user compact). Its
#                        record and claims are configuration, the operators':
#                        a gateway's credential could otherwise claim prefixes
#                        not yet given out, ahead of the operators
#   enable ROOTPASS      adds user root and turns authentication on (once)
#
# etcdctl takes where and as whom from its environment, as usual:
# ETCDCTL_ENDPOINTS, ETCDCTL_CACERT, ETCDCTL_USER=root:PASSWORD. The new
# user's password is read from standard input (never an argument: arguments
# are in ps). Running it again is harmless: what exists is kept, but for the
# write on /hopmesh/links/NAME/ that earlier versions gave a gateway's role
# (meshd put its links there), which it revokes.
set -euo pipefail
export ETCDCTL_API=3

usage() {
	echo "usage: $0 operator USER | gateway NAME USER | enable" >&2
	echo "  (the new user's password on standard input; etcdctl's ETCDCTL_* environment)" >&2
	exit 2
}

# quiet_ok CMD...: runs it; "already exists" (made before) and "is not
# granted" (never granted, or revoked before) are success.
quiet_ok() {
	local out
	if out=$("$@" 2>&1); then
		return 0
	fi
	grep -qE "already exists|permission is not granted" <<<"$out" && return 0
	echo "$out" >&2
	return 1
}

# user_with_role USER ROLE: the user made (password from stdin) and given ROLE.
user_with_role() {
	local pw
	IFS= read -r pw || { echo "$0: no password on standard input" >&2; exit 2; }
	[ -n "$pw" ] || { echo "$0: empty password" >&2; exit 2; }
	quiet_ok etcdctl user add "$1" --interactive=false <<<"$pw"
	etcdctl user grant-role "$1" "$2" >/dev/null
}

case "${1:-}" in
operator)
	[ $# -eq 2 ] || usage
	quiet_ok etcdctl role add hopmesh-operator
	etcdctl role grant-permission hopmesh-operator --prefix=true readwrite /hopmesh/ >/dev/null
	user_with_role "$2" hopmesh-operator
	;;
gateway)
	[ $# -eq 3 ] || usage
	[[ $2 =~ ^[a-z0-9-]{1,31}$ ]] || { echo "$0: '$2' is not a gateway name" >&2; exit 2; }
	role=hopmesh-gw-$2
	quiet_ok etcdctl role add "$role"
	etcdctl role grant-permission "$role" --prefix=true read /hopmesh/ >/dev/null
	# links are no longer in the registry: an earlier version's grant goes
	quiet_ok etcdctl role revoke-permission "$role" --prefix=true "/hopmesh/links/$2/"
	user_with_role "$3" "$role"
	;;
enable)
	[ $# -eq 1 ] || usage
	user_with_role root root
	etcdctl auth enable >/dev/null
	;;
*)
	usage
	;;
esac
