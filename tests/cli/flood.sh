#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# hopmesh-flood (tests/rig/flood.c) sends what it says, at the rate asked:
#  - udp: 4,000 datagrams in 1 s to a range of loopback addresses (IPv4) and
#    to ::1, all received by a socket listening there; its JSON line reports
#    them and a rate within 10% of the asked one;
#  - arp (root only, in a private network namespace): requests for a range of
#    targets from a given MAC and IP, read back off the other end of a veth
#    pair with the fields asked for;
#  - bad arguments exit 2 with a message.
set -u
FLOOD=${HOPMESH_BUILD:?}/tests/rig/hopmesh-flood
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

check() { # DESCRIPTION COMMAND...
	local what=$1
	shift
	if "$@"; then
		echo "ok: $what"
	else
		echo "FAIL: $what"
		fails=$((fails + 1))
	fi
}

# udp_round FAMILY BIND DST: the flood to DST, counted by a socket on BIND.
udp_round() {
	python3 - "$FLOOD" "$1" "$2" "$3" <<'PY'
import json, socket, subprocess, sys, time
flood, family, bind, dst = sys.argv[1:]
fam = socket.AF_INET6 if family == "6" else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
s.bind((bind, 0))
port = s.getsockname()[1]
s.settimeout(0.5)
p = subprocess.Popen([flood, "udp", "--dst", dst, "--port", str(port), "--size", "32",
                      "--rate", "4000", "--seconds", "1"], stdout=subprocess.PIPE, text=True)
got, seen = 0, set()
while True:
    try:
        data, src = s.recvfrom(2048)
    except socket.timeout:
        if p.poll() is not None:
            break
        continue
    got += 1
    seen.add(int.from_bytes(data[:8], "big"))
out = p.stdout.read()
print(out.strip())
r = json.loads(out)
ok = (p.returncode == 0 and r["mode"] == "udp" and r["sent"] == 4000 and r["failed"] == 0
      and got == 4000 and len(seen) == 4000 and 3600 <= r["rate"] <= 4400
      and 0.9 <= r["seconds"] <= 1.2)
print("received %d (%d distinct)" % (got, len(seen)))
sys.exit(0 if ok else 1)
PY
}

check "udp over IPv4: a range of loopback addresses, all received" udp_round 4 0.0.0.0 127.0.0.1-127.0.0.9
check "udp over IPv6: all received" udp_round 6 ::1 ::1

bad() { # ARGS...: exit 2 and a message
	local out rc
	out=$("$FLOOD" "$@" 2>&1)
	rc=$?
	[ "$rc" -eq 2 ] && grep -q "hopmesh-flood:" <<<"$out"
}
check "a range that runs backwards is refused" bad udp --dst 10.0.0.9-10.0.0.1 --rate 1 --seconds 1
check "an IPv6 range over 2^64 is refused" bad udp --dst fd00:1::1-fd00:2::1 --rate 1 --seconds 1
check "no rate is refused" bad udp --dst 10.0.0.1 --seconds 1
check "an unknown option is refused" bad udp --dst 10.0.0.1 --rate 1 --seconds 1 --bogus 1
check "arp without --dev is refused" bad arp --target 10.0.0.1 --rate 1 --seconds 1
check "--src-mac is for arp only" bad udp --dst 10.0.0.1 --rate 1 --seconds 1 --src-mac 02:00:00:00:00:01

if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null && command -v ip >/dev/null; then
	arp_round() {
		unshare --net bash -c '
			ip link add name fa type veth peer name fb && ip link set fa up && ip link set fb up || exit 1
			python3 - "$1" <<'"'PY'"'
import json, socket, subprocess, sys
flood = sys.argv[1]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))
s.bind(("fb", 0))
s.settimeout(0.5)
p = subprocess.Popen([flood, "arp", "--dev", "fa", "--target", "10.9.0.1-10.9.0.100",
                      "--src-ip", "10.9.1.1", "--src-mac", "02:00:00:00:aa:01",
                      "--rate", "2000", "--seconds", "0.5"], stdout=subprocess.PIPE, text=True)
got, targets, good = 0, set(), True
while True:
    try:
        f = s.recv(2048)
    except socket.timeout:
        if p.poll() is not None:
            break
        continue
    got += 1
    targets.add(socket.inet_ntoa(f[38:42]))
    good &= (f[0:6] == b"\xff" * 6 and f[6:12] == bytes.fromhex("020000 00aa01".replace(" ", ""))
             and f[20:22] == b"\x00\x01" and f[22:28] == f[6:12]
             and socket.inet_ntoa(f[28:32]) == "10.9.1.1")
out = p.stdout.read()
print(out.strip())
r = json.loads(out)
print("read %d requests for %d targets, fields %s" % (got, len(targets), "right" if good else "WRONG"))
sys.exit(0 if p.returncode == 0 and r["mode"] == "arp" and r["sent"] == 1000 and got == 1000
         and len(targets) == 100 and good else 1)
PY
		' _ "$FLOOD"
	}
	check "arp: 1,000 requests for 100 targets from the given MAC and IP" arp_round
else
	echo "skip: arp (needs root, unshare and ip)"
fi

[ "$fails" -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "all checks passed"
