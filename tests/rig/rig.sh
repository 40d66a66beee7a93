#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The rig: N regions on network namespaces, their gateways joined through the
# project's WAN emulator (docs/RIG.md). P is the rig's prefix (hmXXXX).
#
#     region 1: us-east                                    region 2: us-west
#
#   [P-us-east-vm1] eth0 10.1.0.2 --+                  +-- 10.2.0.2 eth0 [P-us-west-vm1]
#   [P-us-east-vm2] eth0 10.1.0.3 --+                  +-- 10.2.0.3 eth0 [P-us-west-vm2]
#        fd00:1::2, ::3, mtu 1420   |                  |   fd00:2::2, ::3, mtu 1420
#                                  br0                br0
#                                   |                  |
#                         vm0 10.1.0.1                 vm0 10.2.0.1
#                 [P-us-east-gw: hopmesh-gw Pg1]   [P-us-west-gw: hopmesh-gw Pg2]
#                         bb0 192.168.50.1             bb0 192.168.50.2
#                                   |                  |
#                                us-east            us-west
#                 +--------------------------------------------------------+
#                 | [P-wan] hopmesh-wanem: a learning switch that delays,   |
#                 | jitters, drops, rate-limits or cuts each ordered pair   |
#                 | of ports; control socket $HM_TMP/wanem.sock             |
#                 +--------------------------------------------------------+
#                                eu-west            ap-northeast
#                                   |                  |
#                      region 3: 10.3.0.0/24    region 4: 10.4.0.0/24
#                      192.168.50.3, Pg3        192.168.50.4, Pg4
#
# Underlay: 192.168.50.0/24 and fd00:50::/64, gateway R at .R and ::R.
# Region R: VMs 10.R.0.0/24 and fd00:R::/64 behind the gateway at 10.R.0.1 and
# fd00:R::1. The gateways are a WireGuard full mesh, configured with wg(8):
# each is a peer of every other with allowed-ips the other's VM prefixes and
# endpoint its underlay address (IPv4, or IPv6 with --underlay6).
#
# A region may have wireguard-go for its gateway instead (--wggo R,...,
# RIG_WGGO_REGIONS): a conventional kernel-routed WireGuard gateway, for
# interoperability tests. Its namespace P-REGION-gw runs wireguard-go (the
# interface PgR) with no vm0: the kernel owns the addresses, 192.168.50.R and
# fd00:50::R on bb0, 10.R.0.1 and fd00:R::1 on br0, forwards between br0 and
# PgR (routes to the other regions' VM prefixes), and is in the full mesh as
# any gateway:
#
#   [P-REGION-vmK] 10.R.0.K+1 -- br0 10.R.0.1, fd00:R::1   (kernel, forwarding)
#                                 |  routes 10.S.0.0/24, fd00:S::/64 dev PgR
#                   [P-REGION-gw: wireguard-go PgR, UDP 51820]
#                                 bb0 192.168.50.R, fd00:50::R  -- the WAN
#
# Commands:
#   rig.sh up N [--vms K] [--regions A,B,...] [--name PREFIX] [--underlay6]
#              [--wggo R,...] [--no-check]
#   rig.sh status [PREFIX]
#   rig.sh down [PREFIX | --all]
#
# `up` leaves the rig running and records it in /run/hopmesh-rig/PREFIX.state;
# `down` ends its processes (by PID, checked against the state) and removes
# its namespaces, sockets and files. If `up` fails or is interrupted, what it
# made is removed.
#
# As a library, for tests (everything is removed on exit, on failure and on
# Ctrl-C by tests/lib/netns.sh's cleanup):
#   . tests/rig/rig.sh
#   hm_init mytest
#   rig_up 4 2                    # 4 regions, 2 VMs each
#   ip netns exec "$(rig_vm 1 1)" ping 10.3.0.2
#   rig_link us-east eu-west loss=30%   # both directions; rig_ctl for any command
#   rig_rtt us-east eu-west             # the emulated underlay RTT, ms
# Also: rig_gw R, rig_gwname R, rig_vm_addr R K, rig_underlay R, rig_check,
# rig_status_print, rig_set_default_delays, rig_register (gateway ids),
# rig_path A B VIA... (routes and the relays of the path), rig_counter R PATH, rig_check_idle LIMIT R..., rig_is_wggo R,
# rig_peer_up A B [WG-ARGS] / rig_peer_down A B (A's mesh peer entry for B),
# rig_plug NS R (a port of NS on region R's bridge as 10.R.0.9),
# rig_restart_gw R [LINES] (same key, its peers again), rig_bridge_wan (a
# plain bridge instead of the emulator); R is a region's
# name or number.
# RIG_GW_LINES adds [gateway] lines to every hopmesh gateway (e.g.
# "workers = 2"); RIG_WGGO_REGIONS="2 4" gives regions 2 and 4 wireguard-go.
#
# Default one-way delays (half the round trip of docs/RIG.md's table):
#   us-east-us-west 35 ms, us-east-eu-west 50, us-east-ap-northeast 100,
#   eu-west-ap-northeast 125, us-west-eu-west 75, us-west-ap-northeast 70;
#   any pair with another region 25 ms.

RIG_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
declare -F hm_init >/dev/null || . "$RIG_HERE/../lib/netns.sh"

RIG_STATE_DIR=/run/hopmesh-rig
RIG_DEFAULT_REGIONS=(us-east us-west eu-west ap-northeast)
RIG_REGIONS=()
RIG_GWNS=()
RIG_GWNAME=()
RIG_GWPID=()
RIG_GWKIND=()                     # per region: hopmesh or wggo
RIG_ARGS=()
RIG_K=0
RIG_WAN=
RIG_SOCK=
RIG_GW_LINES=${RIG_GW_LINES:-}   # more [gateway] lines for every gateway
RIG_UNDERLAY6=${RIG_UNDERLAY6:-0} # 1: WireGuard endpoints on fd00:50::/64
RIG_WGGO_REGIONS=${RIG_WGGO_REGIONS:-} # regions (numbers or names) run by wireguard-go

# rig_default_delay A B: one-way delay in ms between two regions.
rig_default_delay() {
	case "$(printf '%s\n' "$1" "$2" | sort | tr '\n' ' ')" in
	"us-east us-west ") echo 35 ;;          # RTT 60-80 ms
	"eu-west us-east ") echo 50 ;;          # RTT 80-120 ms
	"ap-northeast us-east ") echo 100 ;;    # RTT 150-250 ms
	"ap-northeast eu-west ") echo 125 ;;    # RTT 200-300 ms
	"eu-west us-west ") echo 75 ;;          # ours: RTT 150 ms
	"ap-northeast us-west ") echo 70 ;;     # ours: RTT 140 ms
	*) echo 25 ;;
	esac
}

# rig_index REGION: R (1-based) of a region name or number.
rig_index() {
	local i
	if [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -ge 1 ] && [ "$1" -le ${#RIG_REGIONS[@]} ]; then
		echo "$1"
		return 0
	fi
	for i in "${!RIG_REGIONS[@]}"; do
		[ "${RIG_REGIONS[$i]}" = "$1" ] && { echo $((i + 1)); return 0; }
	done
	hm_log "no region '$1' (regions: ${RIG_REGIONS[*]})"
	return 1
}

rig_gw() { echo "$HM_PREFIX-${RIG_REGIONS[$(($(rig_index "$1") - 1))]}-gw"; }
rig_gwname() { echo "${HM_PREFIX}g$(rig_index "$1")"; }
rig_vm() { echo "$HM_PREFIX-${RIG_REGIONS[$(($(rig_index "$1") - 1))]}-vm$2"; }
rig_vm_addr() { echo "10.$(rig_index "$1").0.$(($2 + 1))"; }
rig_vm_addr6() { echo "fd00:$(rig_index "$1")::$(($2 + 1))"; }
rig_underlay() { echo "192.168.50.$(rig_index "$1")"; }

# rig_is_wggo R: region R's gateway is wireguard-go.
rig_is_wggo() {
	local r
	r=$(rig_index "$1") || return 1
	[ "${RIG_GWKIND[$((r - 1))]:-hopmesh}" = wggo ]
}

# rig_hopmesh_only WHAT R...: fails (with a message) if a region is wireguard-go.
rig_hopmesh_only() {
	local what=$1 r
	shift
	for r in "$@"; do
		if rig_is_wggo "$r"; then
			hm_log "$what: region $r's gateway is wireguard-go, not hopmesh"
			return 1
		fi
	done
}

# rig_ctl COMMAND...: the WAN emulator (set, link, show, seed, clear).
rig_ctl() { hm_wanemctl "$RIG_SOCK" "$@"; }

# rig_link A B SETTING...: both directions between two regions (names or
# numbers), e.g. rig_link eu-west ap-northeast loss=30%
rig_link() {
	local a b
	a=$(rig_index "$1") && b=$(rig_index "$2") || return 1
	shift 2
	rig_ctl link "${RIG_REGIONS[$((a - 1))]}" "${RIG_REGIONS[$((b - 1))]}" "$@"
}

# rig_rtt A B: the emulated underlay round trip between two regions, in ms
# (the two one-way delays as set now, jitter aside).
rig_rtt() {
	local a b
	a=$(rig_index "$1") && b=$(rig_index "$2") || return 1
	"$HM_WANEMCTL" "$RIG_SOCK" show | python3 -c '
import json, sys
a, b = sys.argv[1:]
d = {(p["src"], p["dst"]): p["delay_ms"] for p in json.load(sys.stdin)["pairs"]}
print("%g" % (d[a, b] + d[b, a]))' "${RIG_REGIONS[$((a - 1))]}" "${RIG_REGIONS[$((b - 1))]}"
}

# rig_set_default_delays: the table above on every pair, loss 0, up.
rig_set_default_delays() {
	local i j
	for ((i = 0; i < ${#RIG_REGIONS[@]}; i++)); do
		for ((j = i + 1; j < ${#RIG_REGIONS[@]}; j++)); do
			echo "link ${RIG_REGIONS[$i]} ${RIG_REGIONS[$j]} delay=$(rig_default_delay \
				"${RIG_REGIONS[$i]}" "${RIG_REGIONS[$j]}")ms jitter=0 loss=0 rate=off up"
		done
	done | "$HM_WANEMCTL" "$RIG_SOCK" - | grep -v '^ok$'
	return "${PIPESTATUS[1]}"
}

# rig_plain_bridges NS: the bridges in NS switch frames and nothing more. With
# br_netfilter loaded on the host (a container runtime loads it), every
# bridged frame would also go through iptables, ip6tables and arptables (and
# a route lookup): a quarter of the CPU time of a frame's trip through a
# forwarder in perf/run-forward.sh --profile, and nothing a test looks at.
rig_plain_bridges() {
	ip netns exec "$1" sysctl -qw net.bridge.bridge-nf-call-iptables=0 \
		net.bridge.bridge-nf-call-ip6tables=0 net.bridge.bridge-nf-call-arptables=0 2>/dev/null
	return 0
}

# rig_region NAME R K [KIND]: a gateway namespace with its bridge and K VMs.
# KIND hopmesh (default) or wggo (the kernel routes, wireguard-go encrypts).
rig_region() {
	local name=$1 r=$2 k=$3 kind=${4:-hopmesh} gw vm i
	gw=$HM_PREFIX-$name-gw
	hm_ns "$name-gw"
	RIG_GWNS+=("$gw")
	RIG_GWNAME+=("${HM_PREFIX}g$r")
	ip -n "$gw" link add br0 type bridge || hm_fail "cannot create a bridge in $gw"
	rig_plain_bridges "$gw"
	if [ "$kind" = wggo ]; then
		# The bridge is the kernel gateway's VM side.
		ip -n "$gw" addr add "10.$r.0.1/24" dev br0
		ip -n "$gw" addr add "fd00:$r::1/64" dev br0 nodad
	else
		# The VMs share a bridge in the gateway's namespace; the gateway's
		# VM port is one more port on it. The namespace's own stack stays
		# silent.
		ip netns exec "$gw" sysctl -qw net.ipv6.conf.br0.disable_ipv6=1
		hm_veth "$gw" vm0 "$gw" br-gw
		ip netns exec "$gw" sysctl -qw net.ipv6.conf.br-gw.disable_ipv6=1
		ip -n "$gw" link set dev br-gw master br0
	fi
	for ((i = 1; i <= k; i++)); do
		vm=$HM_PREFIX-$name-vm$i
		hm_ns "$name-vm$i"
		hm_veth "$vm" eth0 "$gw" "br-vm$i"
		ip netns exec "$gw" sysctl -qw "net.ipv6.conf.br-vm$i.disable_ipv6=1"
		ip -n "$gw" link set dev "br-vm$i" master br0
		ip -n "$vm" link set dev eth0 mtu 1420
		ip -n "$vm" addr add "10.$r.0.$((i + 1))/24" dev eth0
		ip -n "$vm" addr add "fd00:$r::$((i + 1))/64" dev eth0 nodad
		ip -n "$vm" route add default via "10.$r.0.1"
		ip -n "$vm" -6 route add default via "fd00:$r::1"
	done
	ip -n "$gw" link set dev br0 up
	# The backbone port, towards the WAN namespace.
	hm_veth "$RIG_WAN" "$name" "$gw" bb0
	hm_dataplane_if "$RIG_WAN" "$name"
	if [ "$kind" = wggo ]; then
		ip -n "$gw" addr add "192.168.50.$r/24" dev bb0
		ip -n "$gw" addr add "fd00:50::$r/64" dev bb0 nodad
		ip netns exec "$gw" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	fi
}

# rig_hopmesh_start R [LINES...]: region R's hopmesh gateway, with
# RIG_GW_LINES and LINES in [gateway] (its key is kept across restarts).
rig_hopmesh_start() {
	local r=$1 lines
	shift
	lines=$(printf '%s\n' "$RIG_GW_LINES" "$@")
	hm_gateway "${RIG_GWNS[$((r - 1))]}" "${RIG_GWNAME[$((r - 1))]}" vm0 "10.$r.0.1/24" \
		bb0 "192.168.50.$r/24" "$lines" "address6 = fd00:$r::1/64" "address6 = fd00:50::$r/64"
	RIG_GWPID[$((r - 1))]=$HM_LAST_PID
}

# rig_wggo_start R: region R's wireguard-go gateway: the interface PgR with the
# region's key (kept across restarts), listening on 51820, and the kernel's
# routes to every other region's VM prefixes through it. Peers: rig_mesh_gw.
rig_wggo_start() {
	local r=$1 s gw name key
	gw=${RIG_GWNS[$((r - 1))]}
	name=${RIG_GWNAME[$((r - 1))]}
	key=$HM_TMP/$name.key
	[ -f "$key" ] || { (umask 077 && wg genkey >"$key") && wg pubkey <"$key" >"$HM_TMP/$name.pub"; } ||
		hm_fail "cannot make a key for $name"
	hm_wireguard_go "$gw" "$name" verbose
	RIG_GWPID[$((r - 1))]=$HM_LAST_PID
	wg set "$name" private-key "$key" listen-port 51820 || hm_fail "wg set $name (wireguard-go)"
	# No link-local address: nothing but the mesh's traffic on the tunnel.
	ip -n "$gw" link set dev "$name" addrgenmode none 2>/dev/null
	ip -n "$gw" link set dev "$name" up || hm_fail "cannot bring $name up in $gw"
	for ((s = 1; s <= ${#RIG_REGIONS[@]}; s++)); do
		[ "$s" -ne "$r" ] || continue
		ip -n "$gw" route add "10.$s.0.0/24" dev "$name" src "10.$r.0.1" &&
			ip -n "$gw" -6 route add "fd00:$s::/64" dev "$name" src "fd00:$r::1" ||
			hm_fail "cannot route region $s's prefixes through $name"
	done
}

# rig_restart_gw R [LINES...]: stops region R's gateway and starts it again
# with the same key (a hopmesh gateway with RIG_GW_LINES and LINES in
# [gateway], e.g. "force_cookie = true"), then gives it its mesh peers again.
# The other gateways keep their entries and sessions for it, as with a real
# restart (rig_peer_down/rig_peer_up make them start afresh).
rig_restart_gw() {
	local r
	r=$(rig_index "$1") || return 1
	shift
	hm_stop "${RIG_GWPID[$((r - 1))]}"
	if [ "${RIG_GWKIND[$((r - 1))]}" = wggo ]; then
		[ $# -eq 0 ] || hm_fail "rig_restart_gw: no config lines for a wireguard-go gateway"
		rig_wggo_start "$r"
	else
		rig_hopmesh_start "$r" "$@"
	fi
	rig_mesh_gw "$r"
}

# rig_up N [K] [REGION...]: builds the rig. Regions default to the demo's
# four names (then r5, r6, ...). Sets RIG_* and starts everything.
rig_up() {
	local n=$1 k=${2:-1} i j r name gw
	shift 2 2>/dev/null || shift $#
	[[ $n =~ ^[0-9]+$ ]] && [ "$n" -ge 2 ] && [ "$n" -le 16 ] || hm_fail "rig_up: N must be 2..16"
	[[ $k =~ ^[0-9]+$ ]] && [ "$k" -ge 1 ] && [ "$k" -le 8 ] || hm_fail "rig_up: K must be 1..8"
	hm_require_cmd wg ethtool python3
	[ -x "$HM_WANEM" ] || hm_fail "no WAN emulator at $HM_WANEM (build first, or set HOPMESH_BUILD)"
	RIG_REGIONS=()
	for ((i = 1; i <= n; i++)); do
		if [ $# -ge "$i" ]; then
			name=${!i}
		elif [ "$i" -le ${#RIG_DEFAULT_REGIONS[@]} ]; then
			name=${RIG_DEFAULT_REGIONS[$((i - 1))]}
		else
			name=r$i
		fi
		[[ $name =~ ^[a-z][a-z0-9-]{0,11}$ ]] || hm_fail "region name '$name': a-z, 0-9, -, at most 12"
		for j in "${RIG_REGIONS[@]}"; do [ "$j" != "$name" ] || hm_fail "region $name given twice"; done
		RIG_REGIONS+=("$name")
	done
	RIG_K=$k
	RIG_GWKIND=()
	for ((i = 1; i <= n; i++)); do RIG_GWKIND+=(hopmesh); done
	for name in ${RIG_WGGO_REGIONS//,/ }; do
		i=$(rig_index "$name") || hm_fail "RIG_WGGO_REGIONS: no region '$name'"
		RIG_GWKIND[$((i - 1))]=wggo
	done
	[[ " ${RIG_GWKIND[*]} " == *" wggo "* ]] && hm_require_cmd wireguard-go
	hm_ns wan
	RIG_WAN=$HM_PREFIX-wan
	RIG_SOCK=$HM_TMP/wanem.sock
	for ((r = 1; r <= n; r++)); do
		rig_region "${RIG_REGIONS[$((r - 1))]}" "$r" "$k" "${RIG_GWKIND[$((r - 1))]}"
	done
	hm_wanem "$RIG_WAN" "$RIG_SOCK" "${RIG_REGIONS[@]}"
	RIG_WANEM_PID=$HM_LAST_PID
	rig_set_default_delays || hm_fail "cannot set the default delays"

	RIG_GWPID=()
	for ((r = 1; r <= n; r++)); do
		if [ "${RIG_GWKIND[$((r - 1))]}" = wggo ]; then
			rig_wggo_start "$r"
		else
			rig_hopmesh_start "$r"
		fi
	done
	rig_mesh
}

# rig_plug NS R: NS (a test's own namespace, e.g. a packet generator's) gets
# a port pR on region R's bridge as 10.R.0.9, ready for a DPDK process (no
# IPv6, MTU 1420). Its kernel owns the address only to answer the gateways'
# ARP; what comes back from its own addresses it drops as martians.
rig_plug() {
	local gw
	gw=$(rig_gw "$2")
	hm_veth "$1" "p$2" "$gw" br-pg
	ip netns exec "$gw" sysctl -qw net.ipv6.conf.br-pg.disable_ipv6=1
	ip -n "$gw" link set dev br-pg master br0
	hm_dataplane_if "$1" "p$2"
	ip -n "$1" link set dev "p$2" mtu 1420
	ip -n "$1" addr add "10.$2.0.9/24" dev "p$2"
}

# rig_bridge_wan: the WAN emulator makes way for a kernel bridge of the
# backbone ports, so nothing but the gateways sits between the VMs (for
# benchmarks: no emulated delay, no userspace hop). rig_link and the other
# emulator commands no longer work then.
rig_bridge_wan() {
	local r
	hm_stop "$RIG_WANEM_PID"
	ip -n "$RIG_WAN" link add wbr type bridge || hm_fail "cannot create the backbone bridge"
	rig_plain_bridges "$RIG_WAN"
	for r in "${RIG_REGIONS[@]}"; do
		ip -n "$RIG_WAN" link set dev "$r" master wbr || hm_fail "cannot bridge $r"
	done
	ip -n "$RIG_WAN" link set dev wbr up
}

# rig_peer_args B: appends to RIG_ARGS the wg set arguments of a mesh peer
# entry for region B: allowed-ips B's VM prefixes, endpoint B's underlay
# address (IPv4, or IPv6 with RIG_UNDERLAY6=1).
rig_peer_args() {
	local b=$1 ep=192.168.50.$1:51820
	[ "${RIG_UNDERLAY6:-0}" = 1 ] && ep=[fd00:50::$b]:51820
	RIG_ARGS+=(peer "$(cat "$HM_TMP/${RIG_GWNAME[$((b - 1))]}.pub")"
		allowed-ips "10.$b.0.0/24,fd00:$b::/64" endpoint "$ep")
}

# rig_mesh_gw R: one wg set giving region R's gateway all its mesh peers.
rig_mesh_gw() {
	local i=$1 j n=${#RIG_REGIONS[@]}
	RIG_ARGS=()
	for ((j = 1; j <= n; j++)); do
		[ "$i" -ne "$j" ] || continue
		rig_peer_args "$j"
	done
	local peers=("${RIG_ARGS[@]}")
	wg set "${RIG_GWNAME[$((i - 1))]}" "${peers[@]}" ||
		hm_fail "wg set ${RIG_GWNAME[$((i - 1))]}"
}

# rig_mesh: the WireGuard full mesh, one wg set per gateway with all its
# peers (hopmesh and wireguard-go alike: both speak UAPI).
rig_mesh() {
	local i
	for ((i = 1; i <= ${#RIG_REGIONS[@]}; i++)); do
		rig_mesh_gw "$i"
	done
}

# rig_peer_up A B [WG-ARGS...]: (re)sets gateway A's mesh peer entry for
# region B, with more wg set peer arguments (e.g. preshared-key FILE).
rig_peer_up() {
	local a b
	a=$(rig_index "$1") && b=$(rig_index "$2") || return 1
	shift 2
	RIG_ARGS=()
	rig_peer_args "$b"
	wg set "${RIG_GWNAME[$((a - 1))]}" "${RIG_ARGS[@]}" "$@"
}

# rig_peer_down A B: removes gateway A's peer entry for region B (and with it
# its sessions).
rig_peer_down() {
	local a b
	a=$(rig_index "$1") && b=$(rig_index "$2") || return 1
	wg set "${RIG_GWNAME[$((a - 1))]}" peer "$(cat "$HM_TMP/${RIG_GWNAME[$((b - 1))]}.pub")" remove
}

# rig_register: tell every gateway its own id and every gateway's id, public
# key and overlay addresses (control socket; the control plane does this once
# it exists). Gateway ids are region numbers.
rig_register() {
	local i j n=${#RIG_REGIONS[@]}
	for ((i = 1; i <= n; i++)); do
		# A wireguard-go gateway has no control socket; the hopmesh ones
		# still know it by its id (a direct peer: plain WireGuard).
		# Nor has a region whose gateway a test stopped for good (its
		# PID cleared, e.g. perf/run-forward.sh's testpmd regions).
		[ "${RIG_GWKIND[$((i - 1))]}" = wggo ] || [ -z "${RIG_GWPID[$((i - 1))]:-}" ] && continue
		{
			echo "gateway self $i"
			for ((j = 1; j <= n; j++)); do
				echo "gateway set $j $(cat "$HM_TMP/${RIG_GWNAME[$((j - 1))]}.pub")" \
					"overlay4=10.$j.0.1 overlay6=fd00:$j::1 name=${RIG_REGIONS[$((j - 1))]}"
			done
		} | while read -r line; do
			hm_ctl "${RIG_GWNAME[$((i - 1))]}" $line | grep -q '"ok"' ||
				{ hm_log "rig_register: $line refused"; return 1; }
		done || return 1
	done
}

# rig_path FROM TO VIA...: FROM reaches TO's VMs through the relays VIA...
# in that order (one VIA = TO: directly), with routes for TO's prefixes: the
# path FROM's gateway writes into each relay header. Regions by name or
# number. FROM and each relay must be hopmesh regions (and TO too, through a
# relay: only hopmesh reads relay headers). A path over FROM's hop limit is
# refused: raise it first (hm_ctl GW hop_limit set N).
rig_path() {
	local a b g v hops=()
	a=$(rig_index "$1") && b=$(rig_index "$2") || return 1
	shift 2
	[ $# -ge 1 ] || { hm_log "rig_path: no VIA"; return 1; }
	for v in "$@"; do
		v=$(rig_index "$v") || return 1
		[ "$v" -eq "$b" ] && continue
		rig_hopmesh_only "rig_path through a relay" "$v" "$b" || return 1
		hops+=("$v")
	done
	rig_hopmesh_only rig_path "$a" || return 1
	g=${RIG_GWNAME[$((a - 1))]}
	hm_ctl "$g" route add "10.$b.0.0/24" "$b" | grep -q '"ok"' &&
		hm_ctl "$g" route add "fd00:$b::/64" "$b" | grep -q '"ok"' || return 1
	if [ ${#hops[@]} -eq 0 ]; then
		hm_ctl "$g" path del "$b" | grep -q '"ok"'
	else
		hm_ctl "$g" path set "$b" "${hops[@]}" "$b" | grep -q '"ok"'
	fi
}

# rig_counter R PATH: one number from region R's gateway counters.
rig_counter() { rig_hopmesh_only rig_counter "$1" && hm_counter "$(rig_gwname "$1")" "$2"; }

# rig_check_idle LIMIT_PERCENT R...: each region R's gateway used at most
# LIMIT_PERCENT % of one core over the next 10 s (user + system time of all
# its threads, from /proc); logs what each used. The caller has let the
# traffic, and the keepalives after it, stop.
rig_check_idle() {
	local limit=$1 r used pct hz
	local -A before
	shift
	hz=$(getconf CLK_TCK)
	for r in "$@"; do before[$r]=$(awk '{print $14 + $15}' "/proc/${RIG_GWPID[$((r - 1))]}/stat"); done
	sleep 10
	for r in "$@"; do
		used=$(($(awk '{print $14 + $15}' "/proc/${RIG_GWPID[$((r - 1))]}/stat") - before[$r]))
		pct=$(python3 -c "print(round($used / $hz / 10 * 100, 2))")
		hm_log "gateway $r idle: $pct% of one core over 10 s"
		hm_check "gateway $r idle at most $limit% of a core" \
			python3 -c "import sys; sys.exit(not $used / $hz / 10 * 100 <= $limit)"
	done
}

# rig_check [TIMEOUT]: a ping (IPv4, then IPv6) from VM 1 of every region to
# VM 1 of every other, in parallel; prints the pairs that do not answer. Handshakes take a
# round trip of the emulated WAN, so the first packets may wait.
rig_check() {
	local t=${1:-10} a b pids=() bad=0 i n=${#RIG_REGIONS[@]}
	for ((a = 1; a <= n; a++)); do
		for ((b = 1; b <= n; b++)); do
			[ "$a" -ne "$b" ] || continue
			(hm_wait_for "$t" ip netns exec "$(rig_vm "$a" 1)" \
				ping -q -n -c 1 -W 1 "10.$b.0.2" >/dev/null 2>&1 &&
				hm_wait_for "$t" ip netns exec "$(rig_vm "$a" 1)" \
					ping -q -n -c 1 -W 1 "fd00:$b::2" >/dev/null 2>&1) &
			pids+=("$!:$a:$b")
		done
	done
	for i in "${pids[@]}"; do
		wait "${i%%:*}" && continue
		i=${i#*:}
		hm_log "no answer: ${RIG_REGIONS[$((${i%:*} - 1))]} vm1 -> ${RIG_REGIONS[$((${i#*:} - 1))]} vm1"
		bad=1
	done
	return $bad
}

# rig_status_print: regions, processes, the emulator's pairs and counters.
rig_status_print() {
	local r pid alive prog
	echo "rig $HM_PREFIX: ${#RIG_REGIONS[@]} regions, $RIG_K VM(s) each; files in $HM_TMP"
	for ((r = 1; r <= ${#RIG_REGIONS[@]}; r++)); do
		pid=${RIG_GWPID[$((r - 1))]:-}
		alive=down
		[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && alive="pid $pid"
		prog=hopmesh-gw
		[ "${RIG_GWKIND[$((r - 1))]:-hopmesh}" = wggo ] && prog=wireguard-go
		printf '  %-13s gateway %-9s (%s %s) 192.168.50.%d  VMs 10.%d.0.2-%d  ns %s\n' \
			"${RIG_REGIONS[$((r - 1))]}" "${RIG_GWNAME[$((r - 1))]}" "$prog" "$alive" "$r" "$r" \
			$((RIG_K + 1)) "${RIG_GWNS[$((r - 1))]}"
	done
	alive=down
	kill -0 "${RIG_WANEM_PID:-0}" 2>/dev/null && alive="pid $RIG_WANEM_PID"
	echo "  WAN emulator ($alive) in $RIG_WAN, socket $RIG_SOCK"
	"$HM_WANEMCTL" "$RIG_SOCK" show 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
print("  %-13s %-13s %4s %9s %8s %6s %10s %10s %9s %9s" % ("from", "to", "", "delay ms", "jitter", "loss",
      "rate", "forwarded", "lost", "down"))
for p in d["pairs"]:
    rate = "%gM" % (p["rate_bps"] / 1e6) if p["rate_bps"] else "-"
    print("  %-13s %-13s %4s %9.3f %8.3f %5.1f%% %10s %10d %9d %9d" % (p["src"], p["dst"],
          "up" if p["up"] else "DOWN", p["delay_ms"], p["jitter_ms"], 100 * p["loss"], rate,
          p["forwarded"], p["dropped_loss"], p["dropped_down"]))
l = d["lateness"]
print("  frames sent late by the emulator: mean %.1f us, max %.1f us, >= 1 ms: %d of %d" %
      (l["mean_us"], l["max_us"], l["ge1ms"], l["frames"]))' || echo "  (emulator not answering)"
	for ((r = 1; r <= ${#RIG_REGIONS[@]}; r++)); do
		wg show "${RIG_GWNAME[$((r - 1))]}" latest-handshakes 2>/dev/null |
			awk -v g="${RIG_REGIONS[$((r - 1))]}" -v now="$(date +%s)" \
				'{ n++; if ($2 > 0 && now - $2 < 180) h++ } END { printf "  %-13s %d of %d peers with a recent handshake\n", g, h, n }'
	done
}

# ---- the command line: up, status, down ----

rig_state_file() { echo "$RIG_STATE_DIR/$1.state"; }

rig_save_state() {
	local f
	mkdir -p "$RIG_STATE_DIR"
	f=$(rig_state_file "$HM_PREFIX")
	{
		declare -p HM_PREFIX HM_TMP HM_NS HM_PIDS HM_GW_PIDS HM_SOCKS HM_DIRS \
			RIG_REGIONS RIG_GWNS RIG_GWNAME RIG_GWPID RIG_GWKIND RIG_K RIG_WAN RIG_SOCK RIG_WANEM_PID
	} | sed 's/^declare -- /declare -g /; t; s/^declare -\([a-zA-Z]*\) /declare -g\1 /' >"$f.new" && mv "$f.new" "$f"
}

# rig_load_state PREFIX
rig_load_state() {
	local f
	f=$(rig_state_file "$1")
	[ -f "$f" ] || return 1
	# shellcheck disable=SC1090
	. "$f"
}

# rig_pick_state [PREFIX]: prints the prefix of the one rig running, or PREFIX.
rig_pick_state() {
	local all=()
	if [ -n "${1:-}" ]; then
		echo "$1"
		return 0
	fi
	shopt -s nullglob
	all=("$RIG_STATE_DIR"/*.state)
	shopt -u nullglob
	if [ ${#all[@]} -eq 1 ]; then
		basename "${all[0]}" .state
		return 0
	fi
	if [ ${#all[@]} -eq 0 ]; then
		echo "rig: no rig is up" >&2
	else
		echo "rig: several rigs are up, name one: $(for f in "${all[@]}"; do basename "$f" .state; done | tr '\n' ' ')" >&2
	fi
	return 1
}

# rig_is_ours PID: the process runs one of this rig's programs.
rig_is_ours() {
	local exe
	exe=$(readlink "/proc/$1/exe" 2>/dev/null) || return 1
	case "$exe" in
	*/hopmesh-gw | */hopmesh-wanem | */iperf3 | */ping | */tshark | */wireguard-go) return 0 ;;
	esac
	return 1
}

# rig_teardown PREFIX: ends and removes everything of a rig, state or not.
rig_teardown() {
	local p=$1 pid ns i left=() nss=()
	HM_PIDS=() HM_NS=() HM_SOCKS=() HM_DIRS=() HM_TMP=
	rig_load_state "$p" || echo "rig: no state for $p; removing what carries its prefix" >&2
	# Processes: those the state names (if they still run our programs) and
	# any other process inside the rig's namespaces.
	mapfile -t nss < <(ip netns list | awk '{print $1}' | grep "^$p-")
	for pid in "${HM_PIDS[@]}"; do rig_is_ours "$pid" && left+=("$pid"); done
	for ns in "${nss[@]}"; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do left+=("$pid"); done
	done
	mapfile -t left < <(printf '%s\n' "${left[@]}" | sort -un | grep .)
	for pid in "${left[@]}"; do kill -TERM "$pid" 2>/dev/null; done
	for pid in "${left[@]}"; do
		for i in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
	done
	for ns in "${nss[@]}"; do ip netns del "$ns"; done
	for i in "${HM_SOCKS[@]}"; do rm -f "$i"; done
	rm -f /var/run/wireguard/"$p"g*.sock
	for i in "${HM_DIRS[@]}"; do rm -rf "$i"; done
	rm -rf /var/run/dpdk/"$p"g[0-9]*
	case "$HM_TMP" in /tmp/hopmesh-rig.*) rm -rf "$HM_TMP" ;; esac
	rm -f "$(rig_state_file "$p")"
	echo "rig $p: down (${#left[@]} processes ended, ${#nss[@]} namespaces removed)"
}

rig_usage() {
	sed -n '/^# Commands:/,/^# `up` leaves/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
}

rig_main() {
	local cmd=${1:-} n k=1 regions=() name='' check=1 p f
	[ $# -gt 0 ] && shift
	case "$cmd" in
	up)
		n=${1:-}
		[ $# -gt 0 ] && shift
		while [ $# -gt 0 ]; do
			case "$1" in
			--vms) k=${2:-}; shift 2 || rig_usage ;;
			--regions) IFS=, read -r -a regions <<<"${2:-}"; shift 2 || rig_usage ;;
			--name) name=${2:-}; shift 2 || rig_usage ;;
			--no-check) check=0; shift ;;
			--underlay6) RIG_UNDERLAY6=1; shift ;;
			--wggo) RIG_WGGO_REGIONS=${2:-}; shift 2 || rig_usage ;;
			*) rig_usage ;;
			esac
		done
		[ -n "$n" ] || rig_usage
		hm_init rig
		hm_require_root
		if [ -n "$name" ]; then
			[[ $name =~ ^[a-z][a-z0-9]{1,7}$ ]] || hm_fail "--name: a-z then a-z0-9, 2 to 8 characters"
			hm_prefix_free "$name" || hm_fail "a rig or leftover named $name exists (rig.sh down $name)"
			HM_PREFIX=$name
		fi
		HM_TEST="rig $HM_PREFIX"
		rig_up "$n" "$k" "${regions[@]}"
		if [ "$check" = 1 ]; then
			rig_check 15 || hm_fail "the mesh does not carry traffic between every pair of regions"
			hm_log "every region reaches every other"
		fi
		rig_save_state
		# From here on the rig outlives this script: `rig.sh down` removes it.
		trap - EXIT INT TERM
		rig_status_print
		echo "down with: $0 down $HM_PREFIX"
		;;
	status)
		hm_require_root
		p=$(rig_pick_state "${1:-}") || exit 1
		rig_load_state "$p" || { echo "rig: no rig $p" >&2; exit 1; }
		rig_status_print
		;;
	down)
		hm_require_root
		if [ "${1:-}" = --all ]; then
			shopt -s nullglob
			for f in "$RIG_STATE_DIR"/*.state; do rig_teardown "$(basename "$f" .state)"; done
			shopt -u nullglob
			return 0
		fi
		p=$(rig_pick_state "${1:-}") || exit 1
		[[ $p =~ ^[a-z][a-z0-9]{1,7}$ ]] || { echo "rig: bad rig name '$p'" >&2; exit 2; }
		rig_teardown "$p"
		;;
	*) rig_usage ;;
	esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -u
	rig_main "$@"
fi
