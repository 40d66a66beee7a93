#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# wg(8) against a hopmesh gateway behaves as against wireguard-go: the same
# commands are run on both, and every output is compared after normalising
# what may legitimately differ (the interface name, peer order).
#
#   [gw: hopmesh-gw, ports on two veth pairs]   [ref: wireguard-go]
#
# Endpoints point at unassigned addresses on veths inside the test's own
# namespaces, so whatever either side sends stays in them.
set -u
. "$(dirname "$0")/../lib/netns.sh"

hm_init wgtool
hm_require_root
hm_require_cmd wireguard-go wg ethtool python3

hm_ns gw
hm_ns ref
GW=$HM_PREFIX-gw
REF=$HM_PREFIX-ref
hm_veth "$GW" gw-vm "$GW" sink-vm
hm_veth "$GW" gw-bb "$GW" sink-bb
hm_veth "$REF" ref-a "$REF" ref-b
ip -n "$REF" addr add 10.250.0.1/24 dev ref-a
GWN=${HM_PREFIX}g
REFN=${HM_PREFIX}r
hm_gateway "$GW" "$GWN" gw-vm 10.1.0.1/24 gw-bb 10.250.0.1/24
GW_PID=$HM_LAST_PID
hm_wireguard_go "$REF" "$REFN"

(umask 077
 wg genkey >"$HM_TMP/if.key"
 for p in p1 p2 p3 p4 p5; do wg genkey | tee "$HM_TMP/$p.key" | wg pubkey >"$HM_TMP/$p.pub"; done
 wg genpsk >"$HM_TMP/psk")
pub() { cat "$HM_TMP/$1.pub"; }

cat >"$HM_TMP/conf1" <<EOF
[Interface]
PrivateKey = $(cat "$HM_TMP/if.key")
ListenPort = 51820

[Peer]
PublicKey = $(pub p1)
PresharedKey = $(cat "$HM_TMP/psk")
AllowedIPs = 10.10.0.0/16, fd00:10::/64, 10.11.1.0/24
Endpoint = 10.250.0.10:51820

[Peer]
PublicKey = $(pub p2)
AllowedIPs = 10.20.0.0/16, 0.0.0.0/0
Endpoint = [fd00:250::10]:51820

[Peer]
PublicKey = $(pub p3)
AllowedIPs = 10.30.0.1/32, ::/0
PersistentKeepalive = 25
EOF
cat >"$HM_TMP/conf2" <<EOF
[Interface]
PrivateKey = $(cat "$HM_TMP/if.key")
ListenPort = 51820

[Peer]
PublicKey = $(pub p3)
AllowedIPs = 10.30.0.0/24
PersistentKeepalive = 15

[Peer]
PublicKey = $(pub p4)
AllowedIPs = 10.40.0.0/16, fd00:40::/48
Endpoint = 10.250.0.14:51821
EOF
cat >"$HM_TMP/conf3" <<EOF
[Peer]
PublicKey = $(pub p5)
AllowedIPs = 10.50.0.0/16
Endpoint = 10.250.0.15:51820
EOF

# normalise FILE IFNAME: the interface name becomes IFACE; peer blocks and
# per-peer lines are sorted (wireguard-go keeps peers in a hash map: its order
# is random); handshake times and byte counts become N: they follow traffic
# and timers (wireguard-go may start a handshake on its own after a config
# change), not the shape of the output.
normalise() {
	python3 - "$1" "$2" <<'PY'
import re, sys
text = open(sys.argv[1]).read().replace(sys.argv[2], "IFACE")
text = re.sub(r"(?m)^  (latest handshake|transfer): .*\n", "", text)
def fields(line):
    f = line.split("\t")
    if len(f) == 8:                      # dump peer line
        f[4:7] = ["N", "N", "N"]
    elif len(f) in (2, 3) and re.fullmatch(r"[0-9]+", f[-1] or "x") and len(f[0]) == 44:
        f[1:] = ["N"] * (len(f) - 1)     # latest-handshakes, transfer
    return "\t".join(f)
blocks = text.strip("\n").split("\n\n")
if len(blocks) > 1:                      # wg show, wg showconf: blank-line blocks
    print("\n\n".join([blocks[0]] + sorted(blocks[1:])))
else:                                    # dump and single fields: a line per item
    print("\n".join(sorted(fields(l) for l in text.strip("\n").split("\n"))))
PY
}

# args_for NAME ARGS...: ARGS with every argument that is exactly IF replaced
# by NAME, one per line in WG_ARGS.
args_for() {
	local name=$1 a
	shift
	WG_ARGS=()
	for a in "$@"; do
		if [ "$a" = IF ]; then WG_ARGS+=("$name"); else WG_ARGS+=("$a"); fi
	done
}

# same DESCRIPTION ARGS...: run "wg ARGS" with the interface name in place of
# IF on both, and compare.
same() {
	local what=$1 a b
	shift
	a=$HM_TMP/gw.out
	b=$HM_TMP/ref.out
	args_for "$GWN" "$@"
	wg "${WG_ARGS[@]}" >"$a" 2>&1 || hm_fail "wg $* failed on the gateway: $(cat "$a")"
	args_for "$REFN" "$@"
	ip netns exec "$REF" wg "${WG_ARGS[@]}" >"$b" 2>&1 || hm_fail "wg $* failed on wireguard-go: $(cat "$b")"
	normalise "$a" "$GWN" >"$a.n"
	normalise "$b" "$REFN" >"$b.n"
	if ! diff -u "$b.n" "$a.n" >"$HM_TMP/diff.out"; then
		cat "$HM_TMP/diff.out" >&2
		hm_fail "$what: output differs from wireguard-go (- wireguard-go, + hopmesh)"
	fi
	hm_log "ok: $what"
}

# do ARGS...: the same change on both.
both() {
	args_for "$GWN" "$@"
	wg "${WG_ARGS[@]}" || hm_fail "wg $* failed on the gateway"
	args_for "$REFN" "$@"
	ip netns exec "$REF" wg "${WG_ARGS[@]}" || hm_fail "wg $* failed on wireguard-go"
}

compare_all() {
	local when=$1 f
	same "$when: wg showconf" showconf IF
	same "$when: wg show" show IF
	same "$when: wg show dump" show IF dump
	for f in public-key private-key listen-port fwmark peers preshared-keys endpoints \
		allowed-ips persistent-keepalive latest-handshakes transfer; do
		same "$when: wg show $f" show IF "$f"
	done
}

both setconf IF "$HM_TMP/conf1"
compare_all "after setconf"

both set IF peer "$(pub p2)" remove
compare_all "after peer remove"

# (p3 keeps retrying the handshake its keepalive asked for: it gets no endpoint
# so that it still sends nothing; p1 has no handshake pending.)
both set IF peer "$(pub p3)" allowed-ips 10.30.0.0/24,10.31.0.0/16,fd00:31::/64 \
	persistent-keepalive 0 peer "$(pub p1)" endpoint 10.250.0.11:51820
compare_all "after wg set of a peer"

both set IF fwmark 0x55 listen-port 51999
compare_all "after fwmark and listen-port"

both syncconf IF "$HM_TMP/conf2"
compare_all "after syncconf"

both addconf IF "$HM_TMP/conf3"
compare_all "after addconf"

# A peer with our own public key is ignored by both.
wg pubkey <"$HM_TMP/if.key" >"$HM_TMP/self.pub"
both set IF peer "$(cat "$HM_TMP/self.pub")" allowed-ips 10.99.0.0/16
compare_all "after adding our own key as a peer"

hm_check "gateway still running" kill -0 "$GW_PID"
