#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The measuring half of perf/run-scale.sh: it reads simgw's event log
(perf/simgw.c: "WALL_MS SLOT WHAT ARGS" per line), /proc and etcd's status,
and prints one JSON object per step; `report` turns the steps into the
results table. Each subcommand is one step of the run:

  idle SECONDS ETCD_URL PIDFILE EVENTS    CPU, RSS and etcd's writes while idle
  applied EVENTS OFFSET SLOTS T0 T1 WHAT ARGS...
                                          when each slot's meshd told its gateway
  revpoll PREFIX MESHDS FLAG FILE         each meshd's registry_revision, while
                                          FLAG exists (until killed)
  revision ETCD_URL KEY FILE OFFSET FLAG MESHDS T0 T1 WHAT
                                          when each meshd held KEY's write
                                          (its registry_revision, from revpoll)
  linkcut EVENTS OFFSET SLOTS A B         when the cut of A-B reached every meshd
  converged PREFIX MESHDS GATEWAYS        whether every meshd holds all links up
  cutheld PREFIX MESHDS A B               how many meshds hold the cut of A-B

SLOTS and MESHDS: the meshds are those of slots 1..that number (the others,
if any, are simgw's puppets).

PREFIX is the meshds' sockets' common start: PREFIX<i>.meshd for slot i.
  logs DIR MESHDS                         what the meshds' logs (DIR/meshd<i>.log) said
  report RESULTS.jsonl PARAMS.json        the markdown table
"""
import json
import os
import sys
import time
import urllib.request

HZ = os.sysconf("SC_CLK_TCK")


def proc(pid):
    """(CPU seconds so far, VmRSS in kB) of a process and all its threads."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / HZ  # utime, stime
    rss = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    return cpu, rss


def machine_busy():
    """(busy, total) jiffies of all CPUs so far (/proc/stat)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]  # idle, iowait
    return sum(v) - idle, sum(v)


def etcd_status(url):
    if not url:
        return 0, 0  # no etcd (run-scale.sh --dir-registry)
    req = urllib.request.Request(url + "/v3/maintenance/status", data=b"{}",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as r:
        st = json.load(r)
    return int(st["header"]["revision"]), int(st.get("raftIndex", 0))


def pct(values, q):
    """Nearest rank: the smallest value with at least q of them at or below."""
    v = sorted(values)
    if not v:
        return None
    k = max(1, -(-len(v) * q // 1))
    return v[int(k) - 1]


def median(values):
    return pct(values, 0.5)


def events_from(path, offset):
    """(lines, new offset): the complete lines appended since offset."""
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read()
    end = data.rfind(b"\n") + 1
    lines = [ln.split(" ", 3) for ln in data[:end].decode().splitlines()]
    return [(float(p[0]), int(p[1]), p[2], p[3] if len(p) > 3 else "") for p in lines], offset + end


def cmd_idle(seconds, etcd_url, pidfile, events):
    """CPU over SECONDS (and RSS at the end) per role, etcd's revision and
    raft index moves, and the link events meshd caused meanwhile."""
    with open(pidfile) as f:
        roles = [ln.split() for ln in f if ln.strip()]
    offset = os.path.getsize(events)
    rev0, raft0 = etcd_status(etcd_url)
    t0 = time.monotonic()
    cpu0 = {pid: proc(pid)[0] for _, pid in roles}
    busy0, all0 = machine_busy()
    time.sleep(seconds)
    dt = time.monotonic() - t0
    busy1, all1 = machine_busy()
    rev1, raft1 = etcd_status(etcd_url)
    out = {"seconds": round(dt, 1), "etcd_revisions": rev1 - rev0, "etcd_raft_entries": raft1 - raft0,
           "machine_busy_pct": 100 * (busy1 - busy0) / max(1, all1 - all0), "roles": {}}
    for role, pid in roles:
        cpu, rss = proc(pid)
        out["roles"].setdefault(role, []).append({"pid": int(pid), "cpu_pct": 100 * (cpu - cpu0[pid]) / dt,
                                                  "rss_kb": rss})
    evs, _ = events_from(events, offset)
    kinds = {}
    for _, _, what, _ in evs:
        kinds[what] = kinds.get(what, 0) + 1
    out["events"] = kinds
    return out


def cmd_applied(events, offset, slots, t0, t1, what, *args):
    """The first event WHAT ARGS at each slot (wall ms) after the change
    written between T0 and T1 (a gateway's "route-add" for its prefix)."""
    slots, t0, t1, offset = int(slots), float(t0), float(t1), int(offset)
    deadline = time.monotonic() + 60
    want = " ".join(args)
    seen = {}
    while len(seen) < slots and time.monotonic() < deadline:
        evs, offset = events_from(events, offset)
        for t, slot, w, rest in evs:
            if w == what and rest == want and slot not in seen and t >= t0:
                seen[slot] = t
        time.sleep(0.02)
    times = [seen[s] - t0 for s in seen]
    return {"what": what, "args": want, "command_ms": t1 - t0, "reached": len(seen), "slots": slots,
            "all_ms": max(times) if len(seen) == slots else None,
            "all_after_command_ms": max(seen[s] - t1 for s in seen) if len(seen) == slots else None,
            "per_meshd_ms": sorted(times)}


def mod_revision(url, key):
    """The etcd revision of key's last write (etcd's JSON gateway)."""
    import base64
    req = urllib.request.Request(url + "/v3/kv/range",
                                 data=json.dumps({"key": base64.b64encode(key.encode()).decode()}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as r:
        kvs = json.load(r).get("kvs", [])
    return int(kvs[0]["mod_revision"]) if kvs else None


def poll_revisions(prefix, meshds, pending):
    """One round: "registry" asked of every meshd in pending at once (each
    its own connection, "version" after it so meshd answers at once rather
    than when the client's time is up), {slot: (wall ms of its reply,
    registry_revision)} of those that answered within 2 s."""
    import selectors
    import socket
    sel = selectors.DefaultSelector()
    bufs = {}
    for i in pending:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect(f"{prefix}{i}.meshd")
            s.send(b"registry\nversion\n")
        except OSError:
            s.close()
            continue
        sel.register(s, selectors.EVENT_READ, i)
        bufs[i] = b""
    out = {}
    end = time.monotonic() + 2
    while sel.get_map() and time.monotonic() < end:
        for key, _ in sel.select(max(0, end - time.monotonic())):
            i, s = key.data, key.fileobj
            try:
                chunk = s.recv(1 << 20)
            except OSError:
                chunk = b""
            bufs[i] += chunk
            done = not chunk or (b'{"protocol"' in bufs[i] and bufs[i].endswith(b"\n"))
            if not done:
                continue
            sel.unregister(s)
            s.close()
            try:
                out[i] = (time.time() * 1000, int(json.loads(bufs[i].split(b"\n")[0])["registry_revision"]))
            except (ValueError, KeyError):
                pass
    for key in list(sel.get_map().values()):
        key.fileobj.close()
    sel.close()
    return out


def cmd_revpoll(prefix, meshds, flag, path):
    """While FLAG exists, every meshd's registry_revision asked every ~15 ms,
    each change written to PATH as "WALL_MS SLOT REVISION" (the time of the
    reply that showed it): one process for the whole run, as a process
    started per change would be late by its own start. Idle otherwise, so
    that the idle figures have no poller in them."""
    meshds, last = int(meshds), {}
    with open(path, "a") as out:
        while True:
            if not os.path.exists(flag):
                time.sleep(0.005)
                continue
            r0 = time.monotonic()
            for i, (t, rev) in sorted(poll_revisions(prefix, meshds, range(1, meshds + 1)).items()):
                if last.get(i) != rev:
                    last[i] = rev
                    out.write(f"{t:.3f} {i} {rev}\n")
            out.flush()
            time.sleep(max(0, 0.015 - (time.monotonic() - r0)))


def cmd_revision(url, key, polled, offset, flag, meshds, t0, t1, what):
    """When every meshd held the registry at KEY's write: the write's etcd
    revision (its mod_revision) against each meshd's registry_revision as
    revpoll saw it change in POLLED (from OFFSET, written since FLAG was
    made before the command), for at most 60 s; then FLAG is removed. A
    meshd's time is the reply that showed it: at most one round (~15 ms
    and the round's replies) late."""
    meshds, t0, t1, offset = int(meshds), float(t0), float(t1), int(offset)
    rev = mod_revision(url, key)
    seen, last = {}, {}
    deadline = time.monotonic() + 60
    while rev and len(seen) < meshds and time.monotonic() < deadline:
        with open(polled, "rb") as f:
            f.seek(offset)
            data = f.read()
        end = data.rfind(b"\n") + 1
        offset += end
        for line in data[:end].decode().splitlines():
            t, i, held = line.split()
            i, held = int(i), int(held)
            last[i] = held
            if held >= rev and i not in seen:
                seen[i] = float(t)
        time.sleep(0.02)
    try:
        os.unlink(flag)
    except FileNotFoundError:
        pass
    times = [seen[s] - t0 for s in seen]
    return {"what": what, "key": key, "revision": rev, "command_ms": t1 - t0, "reached": len(seen),
            "slots": meshds, "all_ms": max(times) if len(seen) == meshds else None,
            "all_after_command_ms": max(seen[s] - t1 for s in seen) if len(seen) == meshds else None,
            "per_meshd_ms": sorted(times),
            "behind": {str(i): last.get(i) for i in range(1, meshds + 1) if i not in seen}}


def cmd_linkcut(events, offset, slots, a, b):
    """From the cut (simgw's "cut A B") to both ends advertising it down, and
    to every other slot's meshd reading both directions down."""
    slots, a, b, offset = int(slots), int(a), int(b), int(offset)
    cut = sent_ab = sent_ba = None
    read = {}  # slot -> [t a->b down, t b->a down]
    deadline = time.monotonic() + 30
    others = [s for s in range(1, slots + 1) if s not in (a, b)]
    while time.monotonic() < deadline:
        evs, offset = events_from(events, offset)
        for t, slot, what, rest in evs:
            if what == "cut" and rest == f"{a} {b}":
                cut = t
            elif cut and what == "lsa-sent" and slot == a and rest == f"{b} down" and not sent_ab:
                sent_ab = t
            elif cut and what == "lsa-sent" and slot == b and rest == f"{a} down" and not sent_ba:
                sent_ba = t
            elif cut and what == "lsa-read" and rest in (f"{a} {b} down", f"{b} {a} down"):
                r = read.setdefault(slot, [None, None])
                k = 0 if rest.startswith(f"{a} ") else 1
                r[k] = r[k] or t
        if cut and sent_ab and sent_ba and all(s in read and None not in read[s] for s in others):
            break
        time.sleep(0.02)
    done = [s for s in others if s in read and None not in read[s]]
    prop = [max(read[s][0] - sent_ab, read[s][1] - sent_ba) for s in done] if sent_ab and sent_ba else []
    total = [max(read[s]) - cut for s in done] if cut else []
    return {"a": a, "b": b, "detect_a_ms": sent_ab - cut if sent_ab and cut else None,
            "detect_b_ms": sent_ba - cut if sent_ba and cut else None, "reached": len(done),
            "others": len(others), "propagation_ms": sorted(prop), "total_ms": sorted(total)}


def meshd_links(path, timeout=10):
    """{(from, to): up} as the meshd at path holds its links ("links", the
    request `meshctl link show` makes; asked here directly, as meshctl asks
    every meshd of the directory in turn until it finds the one named)."""
    import socket
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    s.sendall(b"links\nversion\n")
    buf = b""
    while b'{"protocol"' not in buf or not buf.endswith(b"\n"):
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        buf += chunk
    s.close()
    return {(l["from_id"], l["to_id"]): l["up"] for l in json.loads(buf.split(b"\n")[0])["links"]}


def cmd_converged(prefix, meshds, gateways, deadline_ms):
    """Exit 0 if every meshd holds gateways * (gateways - 1) links up. The
    meshds are asked 16 at a time, none after DEADLINE_MS (wall): on a
    starved machine one round can otherwise take longer than the wait."""
    from concurrent.futures import ThreadPoolExecutor
    slots, meshds, deadline = int(gateways), int(meshds), float(deadline_ms) / 1000

    def short(i):
        if time.time() >= deadline:
            return True
        try:
            links = meshd_links(f"{prefix}{i}.meshd", timeout=max(0.5, min(5, deadline - time.time())))
            return sum(1 for v in links.values() if v) < slots * (slots - 1)
        except (OSError, ValueError):
            return True  # not answering, or a reply cut short (meshd gives a client 2 s)

    with ThreadPoolExecutor(16) as pool:
        flags = list(pool.map(short, range(1, meshds + 1)))
    left = [i for i, f in zip(range(1, meshds + 1), flags) if f]
    return {"converged": not left, "short": left}


def cmd_cutheld(prefix, slots, a, b):
    """How many meshds hold the cut: both directions down, each end its own
    (the other end's LSA is dropped with the link in simgw). Asked 16 at a
    time; one that does not answer in 10 s does not count."""
    from concurrent.futures import ThreadPoolExecutor
    slots, a, b = int(slots), int(a), int(b)

    def holds(i):
        """(answered, holds the cut)"""
        try:
            links = meshd_links(f"{prefix}{i}.meshd")
        except (OSError, ValueError):
            return False, False
        want = [(a, b)] if i == a else [(b, a)] if i == b else [(a, b), (b, a)]
        return True, all(links.get(w) is False for w in want)

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(holds, range(1, slots + 1)))
    return {"held": sum(h for _, h in answers), "answered": sum(a for a, _ in answers), "slots": slots}


LOG_SIGNS = {
    "registry_unreachable": "registry unreachable",
    "gateway_silent": "the gateway does not answer",
    "link_down": "down (flap",
    "lsa_expired": "no link state from gateway",
}


def cmd_logs(directory, meshds):
    """Over the whole run, per sign of trouble: its lines in all the meshds'
    logs, and how many meshds logged it at least once."""
    out = {k: 0 for k in LOG_SIGNS}
    out.update({k + "_meshds": 0 for k in LOG_SIGNS})
    for i in range(1, int(meshds) + 1):
        with open(f"{directory}/meshd{i}.log", errors="replace") as f:
            text = f.read()
        for k, sign in LOG_SIGNS.items():
            n = text.count(sign)
            out[k] += n
            out[k + "_meshds"] += n > 0
    return out


def fmt(v, unit="ms", digits=0):
    return "-" if v is None else f"{v:,.{digits}f} {unit}".strip()


def verdict(ok):
    return "met" if ok else "**not met**"


def cmd_report(results, params):
    with open(params) as f:
        p = json.load(f)
    steps = {}
    with open(results) as f:
        for line in f:
            r = json.loads(line)
            steps.setdefault(r.pop("step"), []).append(r)
    registry = (f"etcd {p['etcd_version']}, 3 members on loopback" if p.get("etcd", True)
                else "the embedded registry (no etcd)")
    writer = "scale_seed" if p.get("etcd", True) else "meshctl"
    who = "" if p["meshds"] == p["gateways"] else f" ({p['meshds']} meshds, simgw playing the other gateways)"
    out = [f"### {p['gateways']} gateways, {p['vms']:,} VMs{who}", "",
           f"Commit {p.get('commit', 'unknown')}{' (with uncommitted changes)' if p.get('dirty') else ''}; "
           f"{p['date']}, {p['cpu']}, {p['ncpu']} logical CPUs, 1-minute load {p['load']} before the run"
           f"{', ' + p['load_end'] + ' at its end' if p.get('load_end') else ''}; "
           f"{registry}; probe interval {p['probe_ms']} ms; metrics {'on' if p['metrics'] else 'off'}. "
           f"Setup: {p['gateways']} `meshctl gateway add` {p['register_s']} s, {p['vms']:,} VMs by {writer} "
           f"{p['seed_s']} s; " + (
               f"every meshd held all {p['gateways'] * (p['gateways'] - 1):,} links "
               f"{p['converge_s']} s after {'the' if p['meshds'] == p['gateways'] else 'its'} meshds started."
               if p.get("converged", True) else
               f"**not converged**: {p['converge_s']} s after the meshds started, {p['short']} of "
               f"{p['meshds']} meshds still held fewer than all {p['gateways'] * (p['gateways'] - 1):,} links "
               f"up; what follows was measured in that state."), "",
           "```sh", p["command"], "```", "",
           "| figure | target | measured | |", "|---|---|---|---|"]
    idle = steps.get("idle", [{}])[0]
    if idle and p.get("etcd", True):
        rate = idle["etcd_revisions"] / idle["seconds"]
        out.append(f"| etcd writes while idle ({idle['seconds']} s): revisions/s (raft entries/s) | < 1/s | "
                   f"{rate:.2f} ({idle['etcd_raft_entries'] / idle['seconds']:.2f}) | {verdict(rate < 1)} |")
    few = p["meshds"] != p["gateways"]
    # With --meshds K the "every meshd" figures are of K meshds, not of G.
    every = f"every one of {p['meshds']} meshds (of {p['gateways']})" if few else "every meshd"
    every_other = f"every other one of {p['meshds']} meshds (of {p['gateways']})" if few else "every other meshd"
    rows = (("applied", "route-add", f"`meshctl gateway add`: {every} sent its gateway the route"),
            ("revision", "gateway", f"`meshctl gateway add`: {every} held the write (registry_revision)"),
            ("revision", "vm", f"`meshctl vm add`: {every} held the write (registry_revision)"))
    for step, what, label in rows:
        rs = [r for r in steps.get(step, []) if r["what"] == what]
        fails = [r for r in steps.get("failed", []) if r["what"] == what]
        if fails:
            out.append(f"| {label.split(':')[0]} failed: commands (of {len(rs) + len(fails)}) | | {len(fails)}, "
                       f"after {fmt(median([r['command_ms'] for r in fails]))} (median): "
                       f"\"{fails[0]['error'][:120]}\" | **failed** |")
        if not rs:
            continue
        full = [r["all_ms"] for r in rs if r["all_ms"] is not None]
        after = [r["all_after_command_ms"] for r in rs if r["all_after_command_ms"] is not None]
        each = [t for r in rs for t in r["per_meshd_ms"]]
        cmd = [r["command_ms"] for r in rs]
        missed = len(rs) - len(full)
        ok = not missed and pct(full, 0.99) < 1000
        note = f"; {missed} of {len(rs)} not everywhere within 60 s" if missed else ""
        out.append(f"| {label}, from the command's start: p50 / p99 / max of {len(rs)} | "
                   f"p99 < 1 s | {fmt(median(full))} / {fmt(pct(full, 0.99))} / {fmt(max(full) if full else None)}"
                   f"{note} | {verdict(ok)} |")
        out.append(f"| the same from the command's return | | {fmt(median(after))} / {fmt(pct(after, 0.99))} / "
                   f"{fmt(max(after) if after else None)} | |")
        out.append(f"| each meshd, from the command's start: p50 / p99 of {len(each)} | | "
                   f"{fmt(median(each))} / {fmt(pct(each, 0.99))} | |")
        out.append(f"| the command itself: p50 / max | | {fmt(median(cmd))} / {fmt(max(cmd))} | |")
    cuts = steps.get("linkcut", [])
    if cuts:
        # Judged on propagation (from the ends' LSAs), what the acceptance
        # asks of the control plane; detection (probes missing replies) is
        # shown beside it, and from the cut itself.
        names = ", ".join(f"{lc['a']}-{lc['b']}" for lc in cuts)
        prop = [max(lc["propagation_ms"]) if lc["propagation_ms"] and lc["reached"] == lc["others"] else None
                for lc in cuts]
        total = [max(lc["total_ms"]) if lc["total_ms"] and lc["reached"] == lc["others"] else None
                 for lc in cuts]
        detect = [d for lc in cuts for d in (lc["detect_a_ms"], lc["detect_b_ms"])]
        missed = sum(v is None for v in prop)
        pv, tv, dv = [v for v in prop if v is not None], [v for v in total if v is not None], \
            [v for v in detect if v is not None]
        others = cuts[0]["others"]
        ok = not missed and pv and max(pv) < 500
        note = f"; {missed} of {len(cuts)} did not reach all {others}" if missed else ""
        out.append(f"| link cuts ({names}): detection at the ends, from the cut to each end's LSA saying "
                   f"down: p50 / max of {len(detect)} | | {fmt(median(dv))} / {fmt(max(dv) if dv else None)} | |")
        out.append(f"| **judged:** propagation, from each end's LSA to {every_other} "
                   f"holding the link down ({others} per cut): p50 / max over {len(cuts)} cuts of each cut's "
                   f"slowest | < 500 ms | {fmt(median(pv))} / {fmt(max(pv) if pv else None)}{note} | "
                   f"{verdict(ok)} |")
        out.append(f"| detection + propagation, from the cut to every other meshd holding it down: p50 / max "
                   f"over {len(cuts)} cuts of each cut's slowest | | {fmt(median(tv))} / "
                   f"{fmt(max(tv) if tv else None)} | |")
    if idle:
        for role, label in (("meshd", "meshd"), ("simgw", "simgw (all gateways)"), ("etcd", "etcd member")):
            rs = idle["roles"].get(role, [])
            if not rs:
                continue
            cpu = [r["cpu_pct"] for r in rs]
            rss = [r["rss_kb"] / 1024 for r in rs]
            many = len(rs) > 1
            target_cpu = "< 2 %" if role == "meshd" else ""
            target_rss = "< 64 MB" if role == "meshd" else ""
            # On a machine with no CPU left a process gets its share,
            # not what it asks for: then the figure is no measure of meshd.
            starved = idle.get("machine_busy_pct", 0) >= 90
            cpu_verdict = ("**unknown**: the machine was saturated" if starved else verdict(max(cpu) < 2)) \
                if role == "meshd" else ""
            out.append(f"| {label} CPU while idle, % of a core{': median / max' if many else ''} | {target_cpu} | "
                       f"{median(cpu):.2f}{f' / {max(cpu):.2f}' if many else ''} | {cpu_verdict} |")
            out.append(f"| {label} RSS{': median / max' if many else ''} | {target_rss} | "
                       f"{median(rss):.1f}{f' / {max(rss):.1f}' if many else ''} MB | "
                       f"{verdict(max(rss) < 64) if role == 'meshd' else ''} |")
        out.append(f"| the machine's CPUs busy while idle, all processes | | "
                   f"{idle.get('machine_busy_pct', 0):.0f} % of {p['ncpu']} | |")
        ev = idle.get("events", {})
        flaps = sum(v for k, v in ev.items() if k in ("link-down", "link-up", "path-set", "path-del"))
        out.append(f"| gateway changes meshd made while idle (link up/down, path set/del) | | {flaps} | |")
    logs = steps.get("logs", [None])[0]
    if logs:
        for k, label in (("registry_unreachable", "a registry load failed (\"registry unreachable\")"),
                         ("gateway_silent", "its gateway did not answer"),
                         ("link_down", "a link went down (a flap)"),
                         ("lsa_expired", "another gateway's link state expired unrenewed")):
            out.append(f"| meshd logs, the whole run: {label}: lines (meshds) | | {logs[k]} ({logs[k + '_meshds']}) | |")
    print("\n".join(out))


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "idle":
        r = cmd_idle(float(args[0]), args[1], args[2], args[3])
    elif cmd == "applied":
        r = cmd_applied(*args)
    elif cmd == "revision":
        r = cmd_revision(*args)
    elif cmd == "revpoll":
        return cmd_revpoll(*args)
    elif cmd == "linkcut":
        r = cmd_linkcut(*args)
    elif cmd == "converged":
        r = cmd_converged(*args)
        print(json.dumps(r))
        sys.exit(0 if r["converged"] else 1)
    elif cmd == "cutheld":
        r = cmd_cutheld(*args)
    elif cmd == "logs":
        r = cmd_logs(*args)
    elif cmd == "report":
        return cmd_report(*args)
    else:
        sys.exit(__doc__)
    print(json.dumps(r))


if __name__ == "__main__":
    main()
