#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""What a hostile VM sends, for tests/netns/vm_forgery.sh (run inside a VM's
namespace; sends only to the address given). Standard library only: raw IPv4
sockets where the source is forged, plain UDP sockets otherwise.

  vmforge.py probe-replies DST COUNT GW [SRC]
      COUNT forged link probe replies (UDP 51821 -> DST:51821, the gateway's
      wire format: magic "HMPR", version 1, kind 1 = reply, the gateway id
      GW, a random sequence number, a stamp) from SRC (default: the VM's own
      address), one every millisecond or so. Half the stamps are our CLOCK_MONOTONIC less
      1 ms, half less 5 s: a gateway that took its RTT from the stamp (the
      same clock on one host) would see about 1 ms and 5 s.
  vmforge.py lsas DST COUNT GW TO [SRC]
      COUNT forged link-state advertisements (UDP 51822 -> DST:51822, the
      wire format of docs/PROTOCOL.md "Link state": one part, origin GW, a
      link to gateway TO, up, RTT 1 ms, no loss, seq the wall clock in ns)
      from SRC (default: the VM's own address). A gateway that took them
      would route through GW to TO as if that link were the best in the
      mesh.
  vmforge.py udp SRC DST PORT COUNT
      COUNT datagrams from SRC (any address: raw socket for IPv4, an IPv6
      address must be on an interface) to DST:PORT, payload "vmforge SRC".
  vmforge.py count PORT SECONDS
      counts the datagrams UDP PORT receives (IPv4 and IPv6) until one says
      "stop" or SECONDS pass, and prints, per payload, how many (one
      "PAYLOAD COUNT" line each, spaces in the payload as _).
  vmforge.py stop DST PORT
      the datagram "stop", from the VM's own address.
"""
import os
import socket
import struct
import sys
import time

from rawpkt import ipv4_udp

PROBE_PORT = 51821
PROBE_MAGIC = 0x484D5052
LSA_PORT = 51822
LSA_MAGIC = 0x484D4C53


def own_address(dst):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((dst, PROBE_PORT))
    return s.getsockname()[0]


def probe_replies(dst, count, gw, src=None):
    src = src or own_address(dst)
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    for i in range(count):
        stamp = time.monotonic_ns() - (1000000 if i % 2 == 0 else 5000000000)
        msg = struct.pack("!IBBHI", PROBE_MAGIC, 1, 1, gw, int.from_bytes(os.urandom(4), "big"))
        msg += struct.pack("<Q", stamp)  # the gateway's own byte order (x86)
        raw.sendto(ipv4_udp(src, dst, PROBE_PORT, PROBE_PORT, msg), (dst, 0))
        time.sleep(0.001)


def lsas(dst, count, gw, to, src=None):
    src = src or own_address(dst)
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    for _ in range(count):
        # header: magic, version, part, nparts, nlinks, origin, lifetime_s, seq
        msg = struct.pack("!IBBBBHHQ", LSA_MAGIC, 1, 0, 1, 1, gw, 60, time.time_ns())
        # link: to, flags (up), reserved, rtt, p50, p90, p99, jitter (us), loss
        msg += struct.pack("!HBBIIIIIH", to, 1, 0, 1000, 1000, 1000, 1000, 0, 0)
        raw.sendto(ipv4_udp(src, dst, LSA_PORT, LSA_PORT, msg), (dst, 0))
        time.sleep(0.002)


def udp(src, dst, port, count):
    payload = ("vmforge " + src).encode()
    if ":" in dst:
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.setsockopt(socket.IPPROTO_IPV6, 78, 1)  # IPV6_FREEBIND: src on no interface
        s.bind((src, 0))
        for _ in range(count):
            s.sendto(payload, (dst, port))
            time.sleep(0.002)
        return
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    for _ in range(count):
        raw.sendto(ipv4_udp(src, dst, 40000, port, payload), (dst, 0))
        time.sleep(0.002)


def count(port, seconds):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port))
    s.settimeout(0.1)
    seen = {}
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            data = s.recv(2048)
        except socket.timeout:
            continue
        key = data.decode(errors="replace")
        if key == "stop":
            break
        seen[key] = seen.get(key, 0) + 1
    for k, v in sorted(seen.items()):
        print(k.replace(" ", "_"), v)
    sys.stdout.flush()


def main(argv):
    if len(argv) in (5, 6) and argv[1] == "probe-replies":
        probe_replies(argv[2], int(argv[3]), int(argv[4]), argv[5] if len(argv) > 5 else None)
    elif len(argv) in (6, 7) and argv[1] == "lsas":
        lsas(argv[2], int(argv[3]), int(argv[4]), int(argv[5]), argv[6] if len(argv) > 6 else None)
    elif len(argv) == 6 and argv[1] == "udp":
        udp(argv[2], argv[3], int(argv[4]), int(argv[5]))
    elif len(argv) == 4 and argv[1] == "stop":
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"stop", (argv[2], int(argv[3])))
    elif len(argv) == 4 and argv[1] == "count":
        count(int(argv[2]), float(argv[3]))
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
