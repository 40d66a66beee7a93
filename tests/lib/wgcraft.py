#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Crafted WireGuard messages: bad input and floods for the namespace tests
(sent only to the address given, which the tests take from their own
namespaces), and a known-answer handshake for the unit tests.

  wgcraft.py send HOST PORT KIND [COUNT]     KIND: see KINDS below
  wgcraft.py flood HOST PORT PUBKEY_B64 N [PAUSE_MS [BURST]]
                                             initiations with a valid mac1, in
                                             bursts of BURST (default 100) with
                                             PAUSE_MS between (0: at once)
  wgcraft.py replay IFACE HOST PORT N        sniff one data message to HOST:PORT
                                             on IFACE and send it N times
  wgcraft.py vector INIT_KEY RESP_KEY PSK    a known-answer handshake (as C
                                             arrays), from the whitepaper with
                                             Python's own primitives; keys are
                                             base64 files, the ephemerals,
                                             indices and time are fixed below
"""
import base64
import hashlib
import os
import socket
import struct
import sys
import time


def msg(type_, length):
    body = bytes([type_, 0, 0, 0]) + os.urandom(max(0, length - 4))
    return body[:length]


KINDS = {
    # name: (payload builder, counter the gateway must raise)
    "empty": (lambda: b"", "unknown_message_type"),
    "short": (lambda: b"\x01\x00\x00", "unknown_message_type"),
    "truncated-initiation": (lambda: msg(1, 100), "malformed"),
    "truncated-response": (lambda: msg(2, 91), "malformed"),
    "truncated-cookie": (lambda: msg(3, 40), "malformed"),
    "truncated-data": (lambda: msg(4, 31), "malformed"),
    "oversized-initiation": (lambda: msg(1, 149), "malformed"),
    "oversized-response": (lambda: msg(2, 1400), "malformed"),
    "unknown-type": (lambda: msg(7, 148), "unknown_message_type"),
    "reserved-bits": (lambda: b"\x01\x01\x00\x00" + os.urandom(144), "unknown_message_type"),
    "bad-mac1": (lambda: msg(1, 148), "bad_mac1"),
    "unknown-index": (lambda: msg(4, 96), "unknown_index"),
}


def send(host, port, payloads, burst=100, pause=0.005):
    """Bursts of 100 with a pause: fast enough to put the gateway under load,
    slow enough that the sending kernel's own veth backlog does not drop."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for i, p in enumerate(payloads):
            s.sendto(p, (host, port))
            if i % burst == burst - 1:
                time.sleep(pause)


def mac1(pubkey, m):
    key = hashlib.blake2s(b"mac1----" + pubkey).digest()
    return hashlib.blake2s(m, digest_size=16, key=key).digest()


def initiation_with_mac1(pubkey):
    m = msg(1, 116)
    return m + mac1(pubkey, m) + bytes(16)


def sniff_data(iface, host, port, timeout=10):
    """The first type-4 message travelling to host:port on iface."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    s.bind((iface, 0))
    s.settimeout(timeout)
    want = socket.inet_aton(host)
    deadline = time.time() + timeout
    while time.time() < deadline:
        frame = s.recv(65535)
        if len(frame) < 14 + 20 + 8 + 32 or frame[12:14] != b"\x08\x00":
            continue
        ihl = (frame[14] & 0xF) * 4
        if frame[23] != 17 or frame[30:34] != want:
            continue
        udp = 14 + ihl
        dport, ulen = struct.unpack("!H2xH", frame[udp + 2:udp + 8])
        payload = frame[udp + 8:udp + ulen]
        if dport == port and payload[:4] == b"\x04\x00\x00\x00":
            return payload
    raise SystemExit("no data message seen on %s" % iface)


# The known answer's fixed inputs; tests/unit/test_handshake.c scripts the
# same bytes into wg_random and the same wall clock.
VECTOR_E_I = bytes(range(1, 33))
VECTOR_E_R = bytes(range(101, 133))
VECTOR_I_I = bytes.fromhex("11223344")
VECTOR_I_R = bytes.fromhex("55667788")
VECTOR_WALL_NS = 1700000000 * 10**9 + 123456789


def vector(init_key, resp_key, psk):
    """Initiation, response and the initiator's first keepalive of
    Noise_IKpsk2 as WireGuard's whitepaper (section 5.4) defines it, with
    hashlib's BLAKE2s and the cryptography package's X25519 and
    ChaCha20-Poly1305: nothing of tunnels/."""
    import hmac
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    def h(*parts):
        return hashlib.blake2s(b"".join(parts)).digest()

    def kdf(ck, data, n):
        prk = hmac.new(ck, data, hashlib.blake2s).digest()
        out, t = [], b""
        for i in range(1, n + 1):
            t = hmac.new(prk, t + bytes([i]), hashlib.blake2s).digest()
            out.append(t)
        return out

    def aead(key, counter, plain, ad):
        return ChaCha20Poly1305(key).encrypt(bytes(4) + counter.to_bytes(8, "little"), plain, ad)

    def pub(priv):
        return X25519PrivateKey.from_private_bytes(priv).public_key().public_bytes(
            Encoding.Raw, PublicFormat.Raw)

    def dh(priv, peer):
        return X25519PrivateKey.from_private_bytes(priv).exchange(X25519PublicKey.from_public_bytes(peer))

    def mac1(peer_pub, m):
        key = h(b"mac1----", peer_pub)
        return hashlib.blake2s(m, digest_size=16, key=key).digest()

    s_i, s_r = init_key, resp_key
    S_i, S_r = pub(s_i), pub(s_r)
    e_i, e_r = VECTOR_E_I, VECTOR_E_R
    E_i, E_r = pub(e_i), pub(e_r)

    ck = h(b"Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s")
    hh = h(h(ck, b"WireGuard v1 zx2c4 Jason@zx2c4.com"), S_r)
    # initiation
    ck, = kdf(ck, E_i, 1)
    hh = h(hh, E_i)
    ck, k = kdf(ck, dh(e_i, S_r), 2)
    enc_static = aead(k, 0, S_i, hh)
    hh = h(hh, enc_static)
    ck, k = kdf(ck, dh(s_i, S_r), 2)
    secs, nsec = divmod(VECTOR_WALL_NS, 10**9)
    stamp = (0x400000000000000A + secs).to_bytes(8, "big") + (nsec & ~0xFFFFFF).to_bytes(4, "big")
    enc_stamp = aead(k, 0, stamp, hh)
    hh = h(hh, enc_stamp)
    m = b"\x01\0\0\0" + VECTOR_I_I + E_i + enc_static + enc_stamp
    initiation = m + mac1(S_r, m) + bytes(16)
    # response
    ck, = kdf(ck, E_r, 1)
    hh = h(hh, E_r)
    ck, = kdf(ck, dh(e_r, E_i), 1)
    ck, = kdf(ck, dh(e_r, S_i), 1)
    ck, tau, k = kdf(ck, psk, 3)
    hh = h(hh, tau)
    enc_nothing = aead(k, 0, b"", hh)
    m = b"\x02\0\0\0" + VECTOR_I_R + VECTOR_I_I + E_r + enc_nothing
    response = m + mac1(S_i, m) + bytes(16)
    # the initiator's keepalive: counter 0 under its sending key
    send_i, _ = kdf(ck, b"", 2)
    keepalive = b"\x04\0\0\0" + VECTOR_I_R + bytes(8) + aead(send_i, 0, b"", None)
    return initiation, response, keepalive


def c_array(name, data):
    rows = [", ".join("0x%02x" % b for b in data[i:i + 12]) for i in range(0, len(data), 12)]
    return "static const uint8_t %s[%d] = {\n\t%s,\n};" % (name, len(data), ",\n\t".join(rows))


def main(argv):
    if len(argv) >= 4 and argv[1] == "send":
        host, port, kind = argv[2], int(argv[3]), argv[4]
        count = int(argv[5]) if len(argv) > 5 else 1
        build, counter = KINDS[kind]
        send(host, port, [build() for _ in range(count)])
        print(counter)
    elif len(argv) in (6, 7, 8) and argv[1] == "flood":
        host, port, pub, n = argv[2], int(argv[3]), base64.b64decode(argv[4]), int(argv[5])
        pause = float(argv[6]) / 1000 if len(argv) >= 7 else 0.005
        burst = int(argv[7]) if len(argv) == 8 else 100
        send(host, port, [initiation_with_mac1(pub) for _ in range(n)], burst=burst, pause=pause)
    elif len(argv) == 6 and argv[1] == "replay":
        iface, host, port, n = argv[2], argv[3], int(argv[4]), int(argv[5])
        data = sniff_data(iface, host, port)
        send(host, port, [data] * n)
    elif len(argv) == 5 and argv[1] == "vector":
        keys = [base64.b64decode(open(f).read().strip()) for f in argv[2:5]]
        for name, data in zip(("kat_initiation", "kat_response", "kat_keepalive"), vector(*keys)):
            print(c_array(name, data))
    elif len(argv) == 2 and argv[1] == "kinds":
        for k, (_, counter) in KINDS.items():
            print(k, counter)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
