#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the seed corpora of tests/fuzz (run once; the output is committed).

The WireGuard messages come from the wireguard-go captures in
tests/fixtures/wireguard-go, extracted as raw UDP payloads; each target's
control bytes (see the comment at the top of its .c file) are put in front.
Standard library only.

    tests/fuzz/gen_corpus.py            # rewrites tests/fuzz/corpus/
"""
import base64
import os
import shutil
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, '..', 'fixtures', 'wireguard-go')
CORPUS = os.path.join(HERE, 'corpus')


def udp_payloads(path):
    """UDP payloads of an Ethernet/IPv4 pcap, in order."""
    with open(path, 'rb') as f:
        data = f.read()
    magic, _, _, _, _, _, linktype = struct.unpack('<IHHiIII', data[:24])
    if magic != 0xa1b2c3d4 or linktype != 1:
        sys.exit(f'{path}: not a little-endian Ethernet pcap')
    off, out = 24, []
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack('<IIII', data[off:off + 16])
        frame = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if struct.unpack('!H', frame[12:14])[0] != 0x0800:
            continue
        ip = frame[14:]
        ihl = (ip[0] & 15) * 4
        if ip[9] != 17:
            continue
        udp = ip[ihl:]
        length = struct.unpack('!H', udp[4:6])[0]
        out.append(udp[8:length])
    return out


def key_hex(name):
    with open(os.path.join(FIXTURES, name)) as f:
        return base64.b64decode(f.read().strip()).hex()


def ipv4(src, dst, payload=b'\x08\x00\xf7\xff\x00\x00\x00\x00'):
    total = 20 + len(payload)
    hdr = struct.pack('!BBHHHBBH4s4s', 0x45, 0, total, 0, 0, 64, 1, 0,
                      bytes(map(int, src.split('.'))), bytes(map(int, dst.split('.'))))
    return hdr + payload


def ipv6(src_last, dst_last, payload=b'\x80\x00\x00\x00\x00\x00\x00\x00'):
    src = bytes([0xfd, 0x91] + [0] * 13 + [src_last])
    dst = bytes([0xfd, 0x91] + [0] * 13 + [dst_last])
    return struct.pack('!IHBB', 0x60000000, len(payload), 58, 64) + src + dst + payload


def data_header(counter=0):
    return struct.pack('<IIQ', 4, 0, counter)


# ---- fuzz_gateway: frames behind [ctl][length] (see fuzz_gateway.c) ----

BB, Q1 = 0x01, 0x02
ETH, UDP, SEALED = 0x04, 0x08, 0x0c
RELAY, PUMP, TICK, MAC1 = 0x10, 0x20, 0x40, 0x80
GW_MAC = [bytes([2, 0, 0, 0, 0xfe, p]) for p in (0, 1)]  # VM port, backbone
VM_MAC = [bytes([2, 0, 0, 0, 1, q]) for q in (0, 1)]
FAR_MAC = [bytes([2, 0, 0, 0, 2, q]) for q in (0, 1)]


def rec(ctl, data):
    return bytes([ctl]) + struct.pack('!H', len(data)) + data


def a4(s):
    return bytes(map(int, s.split('.')))


def a6(s):
    import ipaddress
    return ipaddress.IPv6Address(s).packed


def csum(data):
    if len(data) % 2:
        data += b'\0'
    total = sum(struct.unpack(f'!{len(data) // 2}H', data))
    while total >> 16:
        total = (total & 0xffff) + (total >> 16)
    return ~total & 0xffff


def ip4(src, dst, proto, payload, ttl=64, frag=0x4000):
    hdr = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(payload), 0, frag, ttl, proto, 0,
                      a4(src), a4(dst))
    return hdr[:10] + struct.pack('!H', csum(hdr)) + hdr[12:] + payload


def icmp4_echo(src, dst, size=8, ttl=64, frag=0x4000):
    body = struct.pack('!BBHHH', 8, 0, 0, 0x1234, 1) + bytes(range(size % 256)) * (size // 256 + 1)
    body = body[:8 + size]
    body = body[:2] + struct.pack('!H', csum(body)) + body[4:]
    return ip4(src, dst, 1, body, ttl, frag)


def udp4(src, dst, sport, dport, payload, ttl=64, frag=0x4000):
    return ip4(src, dst, 17, struct.pack('!HHHH', sport, dport, 8 + len(payload), 0) + payload, ttl, frag)


def ip6(src, dst, nh, payload, hlim=64):
    return struct.pack('!IHBB', 0x60000000, len(payload), nh, hlim) + a6(src) + a6(dst) + payload


def icmp6(src, dst, body, hlim=64):
    pseudo = a6(src) + a6(dst) + struct.pack('!IxxxB', len(body), 58)
    body = body[:2] + struct.pack('!H', csum(pseudo + body)) + body[4:]
    return ip6(src, dst, 58, body, hlim)


def udp6(src, dst, sport, dport, payload):
    return ip6(src, dst, 17, struct.pack('!HHHH', sport, dport, 8 + len(payload), 0) + payload)


def arp(op, sha, sip, tha, tip):
    return struct.pack('!HHBBH6s4s6s4s', 1, 0x0800, 6, 4, op, sha, a4(sip), tha, a4(tip))


def nd_ns(src, target, mac):
    import ipaddress
    t = ipaddress.IPv6Address(target).packed
    snm = 'ff02::1:ff' + t[13:].hex()[:2] + ':' + t[14:].hex()
    body = struct.pack('!BBHI', 135, 0, 0, 0) + t + bytes([1, 1]) + mac
    return icmp6(src, snm, body, 255)


def eth(dst, src, etype, payload):
    return dst + src + struct.pack('!H', etype) + payload


def relay_hdr(path, src_gw, hop=1, limit=4, version=3):
    """A relay header (docs/PROTOCOL.md, version 3) on the given hop of path."""
    ids = list(path) + [0] * (4 - len(path))
    return struct.pack('!BBBBBBH4H16s', 0xf0, version, hop, limit, len(path), 0, src_gw,
                       *ids[:4], bytes(16))


def relay_notice(unreachable):
    """A relay's notice that it cannot reach gateway `unreachable` (docs/PROTOCOL.md)."""
    return struct.pack('!BBH28s', 0xf1, 1, unreachable, bytes(28))


def lsa_part(origin, links, seq=1, part=0, nparts=1, lifetime=5):
    """One link-state advertisement part (common/lsa_wire.h), big-endian."""
    hdr = struct.pack('>IBBBBHHQ', 0x484d4c53, 1, part, nparts, len(links), origin, lifetime, seq)
    return hdr + b''.join(struct.pack('>HBBIIIIIH', to, 1, 0, 1000 * to, 0, 0, 0, 0, 655)
                          for to in links)


def gateway_seeds(init, init_psk, resp, cookie_reply, data):
    vm0, vm1, far0_in = '10.1.0.2', '10.1.0.3', '10.100.0.2'
    payload = bytes(range(32))
    bcast = b'\xff' * 6
    seeds = {
        'vm_arp_request': rec(ETH, arp(1, VM_MAC[0], vm0, bytes(6), '10.1.0.1')),
        'vm_arp_raw_broadcast': rec(0, eth(bcast, VM_MAC[1], 0x0806,
                                          arp(1, VM_MAC[1], vm1, bytes(6), '10.1.0.1'))),
        'bb_arp_request': rec(BB | ETH, arp(1, FAR_MAC[0], '192.0.2.10', bytes(6), '192.0.2.1')),
        'bb_arp_reply_q1': rec(BB | Q1 | ETH, arp(2, FAR_MAC[1], '192.0.2.11', GW_MAC[1], '192.0.2.1')),
        'vm_ping_gateway': rec(UDP | PUMP, icmp4_echo(vm0, '10.1.0.1')),
        'vm_udp_to_far0': rec(UDP, udp4(vm0, far0_in, 4000, 5000, payload)),
        'vm_udp_to_far1_q1': rec(Q1 | UDP, udp4(vm1, '10.101.0.2', 4000, 5000, payload)),
        'vm_udp_host_route': rec(UDP, udp4(vm0, '10.100.7.7', 4000, 5000, payload)),
        'vm_udp_through_relay': rec(UDP | TICK, udp4(vm0, '10.104.0.2', 4000, 5000, payload)),
        'vm_udp_unconfigured_gateway': rec(UDP, udp4(vm0, '10.105.0.2', 4000, 5000, payload)),
        'vm_udp_no_route': rec(UDP, udp4(vm0, '10.9.9.9', 4000, 5000, payload)),
        'vm_ttl1': rec(UDP, udp4(vm0, far0_in, 4000, 5000, payload, ttl=1)),
        'vm_too_big_df': rec(UDP, udp4(vm0, far0_in, 4000, 5000, bytes(1450))),
        'vm_fragmented': rec(UDP, udp4(vm0, far0_in, 4000, 5000, bytes(1450), frag=0)),
        'vm_ipv6_to_far0': rec(UDP, udp6('fd00:1::2', 'fd64:100::2', 4000, 5000, payload)),
        'vm_nd_solicit': rec(UDP, nd_ns('fd00:1::2', 'fd00:1::1', VM_MAC[0])),
        'vm_source_made_right': rec(SEALED, udp4('10.1.9.9', far0_in, 4000, 5000, payload)),
        'vm_raw_own_mac': rec(0, eth(GW_MAC[0], GW_MAC[0], 0x0800, udp4(vm0, far0_in, 1, 2, payload))),
        'vm_raw_lldp': rec(0, eth(GW_MAC[0], VM_MAC[0], 0x88cc, bytes(46))),
        'vm_short': rec(0, bytes(10)),
        'bb_init_fixture': rec(BB | UDP, init),
        'bb_init_psk_mac1': rec(BB | UDP | MAC1, init_psk),
        'bb_init_relayed': rec(BB | UDP | RELAY, init),
        'bb_response': rec(BB | UDP | MAC1, resp),
        'bb_cookie_reply': rec(BB | UDP, cookie_reply),
        'bb_data_unknown_index': rec(BB | UDP, data),
        'bb_sealed_ping_vm': rec(BB | SEALED, icmp4_echo(far0_in, vm0)),
        'bb_sealed_udp_vm1_q1': rec(BB | Q1 | SEALED, udp4('10.101.0.2', vm1, 5000, 4000, payload)),
        'bb_sealed_keepalive': rec(BB | SEALED, b''),
        'bb_sealed_bad_source': rec(BB | SEALED, udp4('10.9.9.9', vm0, 5000, 4000, payload)),
        'bb_sealed_ipv6': rec(BB | SEALED, udp6('fd64:100::2', 'fd00:1::2', 5000, 4000, payload)),
        'bb_sealed_ttl1': rec(BB | SEALED, udp4(far0_in, vm0, 5000, 4000, payload, ttl=1)),
        'bb_sealed_to_gateway': rec(BB | SEALED, icmp4_echo(far0_in, '10.1.0.1')),
        # Link state from far gateway 0 (gateway 2, overlay 10.100.0.1) to
        # our overlay address: kept, a newer one, a wrong origin, cut short.
        'bb_sealed_lsa': rec(BB | SEALED, udp4('10.100.0.1', '10.1.0.1', 51822, 51822,
                                                 lsa_part(2, [1, 3, 4]))),
        'bb_sealed_lsa_twice': rec(BB | SEALED | PUMP, udp4('10.100.0.1', '10.1.0.1', 51822, 51822,
                                                              lsa_part(2, [3], seq=2, part=1, nparts=2))) * 2,
        'bb_sealed_lsa_wrong_origin': rec(BB | SEALED, udp4('10.100.0.1', '10.1.0.1', 51822, 51822,
                                                              lsa_part(3, [1]))),
        'bb_sealed_lsa_from_vm': rec(BB | SEALED, udp4(far0_in, '10.1.0.1', 51822, 51822, lsa_part(2, [1]))),
        'bb_sealed_lsa_short': rec(BB | SEALED, udp4('10.100.0.1', '10.1.0.1', 51822, 51822,
                                                        lsa_part(2, [1, 3])[:-1])),
        'bb_sealed_relayed_q1': rec(BB | Q1 | SEALED | RELAY, udp4('10.101.0.2', vm0, 5000, 4000, payload)),
        'bb_sealed_twice': rec(BB | SEALED | PUMP, icmp4_echo(far0_in, vm0)) * 2,
        # MAC1 also tags a relay header whose sender on this hop is far
        # gateway 0 or 1 (2, 3), as a member would: what follows the tag
        # check is reached. Unsigned, the same frame stops at the tag.
        'bb_relay_onward': rec(BB | UDP | MAC1, relay_hdr([1, 3], 2) + data),
        'bb_relay_bad_tag': rec(BB | UDP, relay_hdr([1, 3], 2) + data),
        'bb_relay_onward_4hops': rec(BB | UDP | MAC1, relay_hdr([2, 1, 3, 4], 7, hop=2) + data),
        'bb_relay_unreachable': rec(BB | UDP | MAC1, relay_hdr([1, 5], 2) + data),
        'bb_relay_deliver_init': rec(BB | UDP | MAC1, relay_hdr([2, 1], 4, hop=2) + init),
        'bb_relay_notice': rec(BB | UDP | MAC1, relay_hdr([1], 2) + relay_notice(4)),
        'bb_relay_loop': rec(BB | UDP, relay_hdr([1, 2], 3) + data),
        'bb_relay_repeat': rec(BB | UDP, relay_hdr([1, 3, 3], 2) + data),
        'bb_relay_hop_limit': rec(BB | UDP | MAC1, relay_hdr([2, 1, 3, 4], 6, hop=2, limit=2) + data),
        'bb_relay_not_for_us': rec(BB | UDP, relay_hdr([3, 2], 4) + data),
        'bb_relay_version': rec(BB | UDP, relay_hdr([1, 3], 2, version=1) + data),
        'bb_fragment': rec(BB | ETH, udp4('192.0.2.10', '192.0.2.1', 51820, 51820, data, frag=0x2000)),
        'bb_other_port': rec(BB | ETH, udp4('192.0.2.10', '192.0.2.1', 51820, 9999, data)),
        'bb_ipv6_outer': rec(BB | ETH, udp6('2001:db8::10', '2001:db8::1', 51820, 51820, data)),
        'bb_nd_solicit': rec(BB | ETH, nd_ns('2001:db8::10', '2001:db8::1', FAR_MAC[0])),
        'bb_ping_gateway': rec(BB | ETH, icmp4_echo('192.0.2.10', '192.0.2.1')),
    }
    seeds['mixed_burst'] = b''.join([
        seeds['vm_arp_request'], seeds['vm_udp_to_far0'], seeds['bb_sealed_ping_vm'],
        seeds['bb_sealed_udp_vm1_q1'], seeds['vm_ipv6_to_far0'], seeds['bb_relay_onward'],
        rec(BB | UDP | TICK, init)])
    return seeds


def main():
    nopsk = udp_payloads(os.path.join(FIXTURES, 'handshake-nopsk.pcap'))
    psk = udp_payloads(os.path.join(FIXTURES, 'handshake-psk.pcap'))
    cookie = udp_payloads(os.path.join(FIXTURES, 'handshake-cookie.pcap'))
    init, resp, data = nopsk[0], nopsk[1], nopsk[2]
    init_psk = psk[0]
    init_nomac2, cookie_reply, init_mac2 = cookie[0], cookie[1], cookie[2]
    assert (len(init), len(resp), len(cookie_reply)) == (148, 92, 64)
    assert init[0] == 1 and resp[0] == 2 and cookie_reply[0] == 3 and data[0] == 4

    ping = data_header() + ipv4('10.91.0.1', '10.91.0.2')
    corpora = {
        # [flags, session, clock] + UDP payload
        'fuzz_messages': {
            'init_raw': bytes([0x00, 0, 0]) + init,
            'init_psk_mac1': bytes([0x80, 0, 0]) + init_psk,
            'init_mac2_load': bytes([0x90, 0, 1]) + init_mac2,
            'resp_splice_mac1': bytes([0x81, 0, 0]) + resp,
            'cookie_raw': bytes([0x00, 0, 0]) + cookie_reply,
            'cookie_splice': bytes([0x01, 0, 0]) + cookie_reply,
            'data_raw': bytes([0x00, 0, 0]) + data,
            'data_splice_tick': bytes([0x05, 0, 20]) + data,
            'seal_ping': bytes([0x02, 0, 0]) + ping,
            'seal_ping_relative_twice': bytes([0x83, 0, 0]) + ping,
            'seal_ping6_previous': bytes([0x03, 1, 0]) + data_header() + ipv6(1, 2),
            'seal_keepalive_next': bytes([0x02, 2, 0]) + data_header(),
            'seal_bad_source': bytes([0x03, 0, 0]) + data_header() + ipv4('10.99.0.1', '10.91.0.2'),
            'seal_roam6_relayed': bytes([0x63, 0x80, 5]) + ping,
            'seal_after_ten_minutes': bytes([0x0f, 0, 255]) + ping,
            'short': bytes([0x00, 0, 0]) + b'\x04\x00\x00\x00',
        },
        # [mode, flags] + rest
        'fuzz_handshake': {
            'raw_init': bytes([5, 0x00]) + init,
            'raw_init_psk': bytes([5, 0x01]) + init_psk,
            'raw_init_load': bytes([5, 0x02]) + init_nomac2,
            'raw_cookie': bytes([5, 0x00]) + cookie_reply,
            'raw_resp': bytes([5, 0x00]) + resp,
            'init_body': bytes([0, 0x00]) + init,
            'init_body_load_v6_twice': bytes([0, 0x2a]) + init,
            'resp_body': bytes([1, 0x00]) + resp,
            'mutate_init_none_complete': bytes([2, 0x80]),
            'mutate_init_psk_load_twice': bytes([2, 0xa3]),
            'mutate_init_ephemeral': bytes([2, 0x80, 0, 40, 1]),
            'mutate_init_sender': bytes([2, 0x80, 3, 4, 7]),
            'mutate_init_nofix': bytes([2, 0x10, 0, 120, 1]),
            'mutate_resp_none_complete': bytes([3, 0x80]),
            'mutate_resp_psk_late': bytes([3, 0xc1]),
            'mutate_resp_tag': bytes([3, 0x00, 0, 50, 0x80]),
            'cookie_complete': bytes([4, 0x80, 0]),
            'cookie_body': bytes([4, 0x00, 1]) + cookie_reply,
            'cookie_late': bytes([4, 0x40, 0]),
            'cookie_nonce_twice': bytes([4, 0x20, 0, 0, 10, 1]),
        },
    }

    corpora['fuzz_gateway'] = gateway_seeds(init, init_psk, resp, cookie_reply, data)

    p1, p2, psk_hex = key_hex('p1.pub'), key_hex('p2.pub'), key_hex('psk')
    other = '11' * 32
    corpora['fuzz_uapi'] = {k: v.encode() for k, v in {
        'get': 'get=1\n\n',
        'set_device': f'set=1\nprivate_key={key_hex("p1.key")}\nlisten_port=51821\nfwmark=7\n\nget=1\n\n',
        'set_peer_full': (f'set=1\npublic_key={other}\npreshared_key={psk_hex}\n'
                          'endpoint=192.0.2.7:51820\npersistent_keepalive_interval=25\n'
                          'replace_allowed_ips=true\nallowed_ip=10.0.0.0/8\n'
                          'allowed_ip=2001:db8::/32\nprotocol_version=1\n\nget=1\n\n'),
        'set_peer_v6_endpoint': f'set=1\npublic_key={p1}\nendpoint=[2001:db8::1]:51820\n\n',
        'set_remove': f'set=1\npublic_key={p1}\nremove=true\n\nget=1\n\n',
        'set_update_only': f'set=1\npublic_key={other}\nupdate_only=true\nallowed_ip=10.1.0.0/16\n\n',
        'set_replace_peers': f'set=1\nreplace_peers=true\npublic_key={other}\n\nget=1\n\n',
        'set_own_key': f'set=1\npublic_key={p2}\nallowed_ip=10.2.0.0/16\n\n',
        'set_allowed_remove': f'set=1\npublic_key={p1}\nallowed_ip=-10.91.0.1/32\nallowed_ip=-fd91::/64\n\nget=1\n\n',
        'set_errors': ('set=1\nlisten_port=70000\nfwmark=x\n\n'
                       f'set=1\npublic_key={p1}\nendpoint=nowhere\n\n'
                       'set=1\nbogus\n\nget=1\n\n'),
        'zero_private_key': f'set=1\nprivate_key={"00" * 32}\n\nget=1\n\n',
        'get_trailing': 'get=1\nx\n',
        'closes': 'hello\n',
    }.items()}

    if os.path.isdir(CORPUS):
        shutil.rmtree(CORPUS)
    total = 0
    for target, seeds in corpora.items():
        os.makedirs(os.path.join(CORPUS, target))
        for name, blob in seeds.items():
            with open(os.path.join(CORPUS, target, name), 'wb') as f:
                f.write(blob)
            total += len(blob)
    print(f'{sum(map(len, corpora.values()))} seeds, {total} bytes in {CORPUS}')


if __name__ == '__main__':
    main()
