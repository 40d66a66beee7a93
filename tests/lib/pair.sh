# SPDX-License-Identifier: MIT
# One hopmesh gateway facing one wireguard-go peer. Source after netns.sh.
#
#   [vm] 10.1.0.2 --- gw-vm [gw: hopmesh-gw] gw-bb --- wg-bb [wg: wireguard-go]
#        vm0              10.1.0.1    192.168.50.1        192.168.50.2
#                                                         tunnel 10.2.0.1
#
# hm_pair_setup sets VM GW WG (namespaces), GWN WGN (interface names),
# GWPUB WGPUB (public keys) and GW_PID.

# hm_pair_start_gateway [EXTRA_GATEWAY_LINES]
hm_pair_start_gateway() {
	hm_gateway "$GW" "$GWN" gw-vm 10.1.0.1/24 gw-bb 192.168.50.1/24 "${1:-}"
	GW_PID=$HM_LAST_PID
	GWPUB=$(cat "$HM_TMP/$GWN.pub")
}

hm_pair_setup() {
	hm_ns vm
	hm_ns gw
	hm_ns wg
	VM=$HM_PREFIX-vm
	GW=$HM_PREFIX-gw
	WG=$HM_PREFIX-wg
	hm_veth "$VM" vm0 "$GW" gw-vm
	hm_veth "$WG" wg-bb "$GW" gw-bb
	ip -n "$VM" addr add 10.1.0.2/24 dev vm0
	ip -n "$VM" route add default via 10.1.0.1
	ip -n "$WG" addr add 192.168.50.2/24 dev wg-bb

	GWN=${HM_PREFIX}g
	WGN=${HM_PREFIX}w
	hm_pair_start_gateway "${1:-}"

	hm_wireguard_go "$WG" "$WGN"
	(umask 077 && wg genkey >"$HM_TMP/wg.key")
	wg pubkey <"$HM_TMP/wg.key" >"$HM_TMP/wg.pub"
	WGPUB=$(cat "$HM_TMP/wg.pub")
	ip netns exec "$WG" wg set "$WGN" private-key "$HM_TMP/wg.key" listen-port 51820
	ip -n "$WG" addr add 10.2.0.1/24 dev "$WGN"
	ip -n "$WG" link set "$WGN" up
	ip -n "$WG" route add 10.1.0.0/24 dev "$WGN"
}

# hm_pair_peer_up [PSK_FILE_FOR_GATEWAY] [PSK_FILE_FOR_WIREGUARD_GO]
hm_pair_peer_up() {
	wg set "$GWN" peer "$WGPUB" allowed-ips 10.2.0.0/24 endpoint 192.168.50.2:51820 \
		${1:+preshared-key "$1"}
	ip netns exec "$WG" wg set "$WGN" peer "$GWPUB" allowed-ips 10.1.0.0/24 \
		endpoint 192.168.50.1:51820 ${2:+preshared-key "$2"}
}

hm_pair_peer_down() {
	wg set "$GWN" peer "$WGPUB" remove
	ip netns exec "$WG" wg set "$WGN" peer "$GWPUB" remove
}
