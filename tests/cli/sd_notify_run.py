#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Runs a program the way a Type=notify unit with WatchdogSec= would, as far
as its side of sd_notify goes: NOTIFY_SOCKET names a datagram socket this
script listens on, WATCHDOG_USEC the interval. Then checks what systemd would
rely on, printing ok:/FAIL: lines (exit status 1 on any FAIL):
  - READY=1 arrives, and by then the socket the program promises exists;
  - WATCHDOG=1 arrives repeatedly, never further apart than the interval
    (systemd would kill it) nor much closer than half of it;
  - on SIGTERM, STOPPING=1 arrives and the program exits 0.

  sd_notify_run.py NAME SOCKET_PATH WATCHDOG_USEC OBSERVE_S -- COMMAND...
"""
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time

name, sock_path, wd_usec, observe = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
cmd = sys.argv[sys.argv.index("--") + 1:]
interval = wd_usec / 1e6
fails = 0


def check(ok, what):
    global fails
    print(("ok: " if ok else "FAIL: ") + name + ": " + what, flush=True)
    if not ok:
        fails += 1


tmp = tempfile.mkdtemp()
listen = os.path.join(tmp, "notify")
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(listen)
env = dict(os.environ, NOTIFY_SOCKET=listen, WATCHDOG_USEC=str(wd_usec))
env.pop("WATCHDOG_PID", None)
start = time.monotonic()
child = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "log"), "w"))
events = []  # (seconds since start, message)
ready_at = sock_at_ready = term_at = None


def receive(until):
    global ready_at, sock_at_ready
    while True:
        left = until - time.monotonic()
        # Once it exited, only what it already sent.
        exited = child.poll() is not None
        if left <= 0 and not exited:
            return
        r, _, _ = select.select([s], [], [], 0 if exited else min(left, 0.2))
        if exited and not r:
            return
        if not r:
            continue
        t = time.monotonic() - start
        for line in s.recv(4096).decode().split("\n"):
            events.append((t, line))
            if line == "READY=1" and ready_at is None:
                ready_at = t
                sock_at_ready = os.path.exists(sock_path)


# READY=1 within 60 s (EAL and the ports; a loaded machine).
deadline = time.monotonic() + 60
while ready_at is None and time.monotonic() < deadline and child.poll() is None:
    receive(min(deadline, time.monotonic() + 0.5))
check(ready_at is not None, "READY=1 %s" % (
    "after %.2f s" % ready_at if ready_at is not None else "never came (exit %s)" % child.poll()))
if ready_at is not None:
    check(sock_at_ready, "%s existed when READY=1 came" % sock_path)
    status = [m for _, m in events if m.startswith("STATUS=")]
    check(bool(status), "STATUS= says %r" % (status[0][7:] if status else None))
    receive(time.monotonic() + observe)
    pets = [t for t, m in events if m == "WATCHDOG=1"]
    gaps = [b - a for a, b in zip(pets, pets[1:])]
    # Seen from READY=1 on: at least one pet per interval of the observation.
    check(len(pets) >= int(observe / interval), "%d WATCHDOG=1 in %.1f s (interval %.1f s)" % (len(pets), observe, interval))
    if gaps:
        check(max(gaps) < interval and min(gaps) > interval / 2 * 0.8,
              "WATCHDOG=1 every %.2f-%.2f s: within the interval, about half of it" % (min(gaps), max(gaps)))
    if child.poll() is None:
        term_at = time.monotonic()
        child.send_signal(signal.SIGTERM)
        receive(time.monotonic() + 15)
    try:
        rc = child.wait(timeout=15)
    except subprocess.TimeoutExpired:
        child.kill()
        rc = child.wait()
    check(any(m == "STOPPING=1" for _, m in events), "STOPPING=1 on SIGTERM")
    check(rc == 0, "exit status %d after SIGTERM" % rc)
else:
    child.kill()
    child.wait()
if fails:
    sys.stdout.write(open(os.path.join(tmp, "log")).read())
os.unlink(listen)
sys.exit(1 if fails else 0)
