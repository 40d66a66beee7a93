#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Relay frames (docs/PROTOCOL.md "Relay header") captured and crafted on the
rig's backbone with raw sockets, for tests/netns/relay_auth.sh.

  capture IFACE SRC DST FILE      the UDP payload of the first relay frame
                                  (first byte 0xf0) from SRC to DST:51820
                                  seen on IFACE, as hex into FILE (FILE.ready
                                  made once it listens)
  send IFACE DSTMAC SRC DST COUNT KIND [FILE]
                                  COUNT Ethernet frames out of IFACE, UDP
                                  SRC:51820 -> DST:51820, their payload:
      forge ID,ID,...             a relay header from scratch: source gateway
                                  ID, path the rest, hop 1, random tag, behind
                                  it a random data message of 96 bytes
      replay                      FILE's payload unchanged
      flags                       FILE's payload, its flags byte changed
      limit255                    FILE's payload, its hop limit set to 255

Sending from the WAN namespace into a gateway's port of the emulator puts the
frame on that gateway's wire as a host of the backbone would: any source
address, no emulator in between (it ignores what leaves its own ports).
"""
import os
import socket
import struct
import sys
import time

from rawpkt import ipv4_udp

RELAY_TYPE = 0xF0
PORT = 51820


def frame(dst_mac, src, dst, payload):
    src_mac = bytes.fromhex("02feedfacade")
    return dst_mac + src_mac + b"\x08\x00" + ipv4_udp(src, dst, PORT, PORT, payload)


def capture(iface, src, dst, path, timeout=10):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    s.bind((iface, 0))
    s.settimeout(timeout)
    open(path + ".ready", "w").close()  # bound: the sender may start
    want_src, want_dst = socket.inet_aton(src), socket.inet_aton(dst)
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            f = s.recv(65535)
        except socket.timeout:
            break
        if len(f) < 14 + 20 + 8 + 33 or f[12:14] != b"\x08\x00" or f[14] >> 4 != 4:
            continue
        ihl = (f[14] & 0xF) * 4
        if f[23] != 17 or f[26:30] != want_src or f[30:34] != want_dst:
            continue
        udp = 14 + ihl
        dport, ulen = struct.unpack("!HH", f[udp + 2:udp + 6])
        payload = f[udp + 8:udp + ulen]
        if dport == PORT and payload[:1] == bytes([RELAY_TYPE]):
            with open(path, "w") as out:
                out.write(payload.hex() + "\n")
            return
    raise SystemExit("no relay frame from %s to %s seen on %s" % (src, dst, iface))


def forged(ids):
    src, path = ids[0], ids[1:]
    hdr = struct.pack("!BBBBBBH", RELAY_TYPE, 3, 1, len(path), len(path), 0, src)
    hdr += b"".join(struct.pack("!H", g) for g in path + [0] * (4 - len(path)))
    return hdr + os.urandom(16) + b"\x04\x00\x00\x00" + os.urandom(92)


def main(argv):
    if len(argv) == 5 and argv[0] == "capture":
        capture(argv[1], argv[2], argv[3], argv[4])
        return 0
    if len(argv) >= 7 and argv[0] == "send":
        iface, mac, src, dst, count, kind = argv[1:7]
        dst_mac = bytes.fromhex(mac.replace(":", ""))
        if kind == "forge":
            payloads = [forged([int(x) for x in argv[7].split(",")]) for _ in range(int(count))]
        else:
            p = bytearray(bytes.fromhex(open(argv[7]).read().strip()))
            if kind == "flags":
                p[5] ^= 0x01
            elif kind == "limit255":
                p[3] = 255
            elif kind != "replay":
                raise SystemExit("unknown kind " + kind)
            payloads = [bytes(p)] * int(count)
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        s.bind((iface, 0))
        for p in payloads:
            s.send(frame(dst_mac, src, dst, p))
            time.sleep(0.002)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
