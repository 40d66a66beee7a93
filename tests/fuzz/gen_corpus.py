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
