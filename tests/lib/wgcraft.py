#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Crafted WireGuard messages for bad-input tests. Sends only to the address
given, which the tests take from their own namespaces.

  wgcraft.py send HOST PORT KIND [COUNT]     KIND: see KINDS below
  wgcraft.py flood HOST PORT PUBKEY_B64 N [PAUSE_MS [BURST]]
                                             initiations with a valid mac1, in
                                             bursts of BURST (default 100) with
                                             PAUSE_MS between (0: at once)
  wgcraft.py replay IFACE HOST PORT N        sniff one data message to HOST:PORT
                                             on IFACE and send it N times
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
    elif len(argv) == 2 and argv[1] == "kinds":
        for k, (_, counter) in KINDS.items():
            print(k, counter)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
