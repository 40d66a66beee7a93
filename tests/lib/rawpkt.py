# SPDX-License-Identifier: MIT
"""IPv4/UDP packets built by hand, for the test tools that forge what a
kernel socket would not send (tests/lib/vmforge.py, tests/lib/relaycraft.py).
Standard library only."""
import socket
import struct


def checksum(data):
    """The Internet checksum (RFC 1071) of data."""
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4_udp(src, dst, sport, dport, payload):
    """An IPv4 header and a UDP datagram, both checksums right, TTL 64."""
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    s, d = socket.inet_aton(src), socket.inet_aton(dst)
    csum = checksum(s + d + struct.pack("!BBH", 0, socket.IPPROTO_UDP, len(udp)) + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", csum) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, socket.IPPROTO_UDP, 0, s, d)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return ip + udp
