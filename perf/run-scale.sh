#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The control plane at scale (issue 12): G meshds, each with a simulated
# gateway (perf/simgw.c, all G in one process), against a real 3-member etcd
# on this machine holding G gateways and V VMs; it measures what an
# operator of that mesh would feel, and puts the table into
# perf/results/scale-GxV.md and docs/PERFORMANCE.md (between
# <!-- scale:begin --> and <!-- scale:end -->, every results file there).
#
#   perf/run-scale.sh [BUILD_DIR] [--gateways G] [--vms V] [--probe-ms MS]
#                     [--idle-s S] [--changes N] [--no-metrics] [--port-base P]
#                     [--no-doc] [--dir-registry] [--profile S] [--meshds K]
#                     [--converge-s S]
#   perf/run-scale.sh --doc-only
#
# Defaults: 100 gateways, 10,000 VMs, 50 ms, 60 s idle, 20 changes of each
# kind, metrics on (127.0.0.1:P+100+i), etcd on 127.0.0.1:P+1..3 (peers
# P+11..13), P = 24370. A quick trial: `perf/run-scale.sh --gateways 5
# --vms 100 --idle-s 10 --changes 3`; with --dir-registry it uses the
# embedded registry (a directory) instead of etcd, and meshctl for the VMs:
# a trial of the harness itself on a busy machine, no etcd figure (and no
# document update). --meshds K: meshds for the first K gateways only, simgw
# playing the others ("puppets", perf/simgw_net.c): one meshd's cost in a
# mesh of G when G meshds would starve this machine (results in
# scale-GxV-K.md). --profile S: at the end, `perf record` of meshd g3 and of
# simgw for S s each, their hottest functions into
# perf/results/scale-GxV-profile.txt (not into the document). --doc-only:
# the document's section made again from the results files, nothing run.
#
# The run, step by step:
#   1. three etcd members (Debian's etcd-server) on loopback, data in a
#      temporary directory;
#   2. G gateways registered with `meshctl gateway add` (g<i>, id i, simgw's
#      key for slot i, 10.<i>.0.0/16), then V VMs with perf/scale_seed (the
#      registry library as meshctl uses it, but one read and batched writes:
#      V meshctl calls would each read the whole registry);
#   3. simgw with G slots and a delay matrix (random positions on a plane:
#      RTT 2 ms + 1.2 ms per unit of distance, up to ~170 ms), then G meshds
#      (registry = etcd:, the three members, each meshd starting at another);
#      waits until every meshd holds all G(G-1) links up (asked on each
#      meshd's socket as `meshctl link show` asks it), at most --converge-s
#      (600 s), and measures on if they do not (the results say so); a
#      simgw or meshd that died stops the run with its log's end, checked
#      after the start and before each step's measuring;
#   4. idle for S s: each process's CPU (/proc/PID/stat) and RSS, etcd's
#      revision and raft index before and after;
#   5. N `meshctl gateway add` (new ids G+1.., a prefix each, no meshd), then
#      N `meshctl vm add`: each timed, from the command's start and from its
#      return, until every meshd holds the write: the key's mod_revision
#      (etcd) reached by each meshd's registry_revision, its status socket
#      asked every ~15 ms by one poller for the run, only while a change
#      is out (no figure with --dir-registry: no revisions);
#      for a gateway also until simgw has seen every meshd send its gateway
#      `route add` for the new prefix;
#   6. up to 5 links between meshd slots (1-2, 2-3, ...) cut in simgw, one at
#      a time, each healed before the next: from the cut until both ends'
#      meshds advertise it down (simgw logs their "lsa send": detection),
#      and from those LSAs until every other meshd has read both directions
#      down from its gateway ("lsa dump": propagation, what the target is
#      judged on); the first cut checked afterwards on every meshd's own
#      socket ("links": both directions down; at the ends their own, the
#      other end's LSA being dropped with the link);
#   7. everything this run started is stopped (by PID), simgw's UAPI
#      sockets (named after this run's PID) and the temporary directory
#      removed, on failure too. The results name the commit (and whether
#      the tree had uncommitted changes) and the load before and after.
# etcd and simgw run at nice -10: in a real mesh they are other machines,
# and here G meshds must not starve them of the CPUs they share.
set -euo pipefail

. "$(dirname "$0")/lib.sh"
perf_build_dir "$@"
shift "$perf_shift"

# The document's section: what is measured and how, then every results
# file, the smaller meshes first.
write_doc() {
	local section
	section=$(mktemp)
	{
		cat <<'TEXT'
## Control plane at scale

What a mesh of many gateways costs its control plane, measured by
`perf/run-scale.sh`: G meshds, each with its own gateway, against a real
3-member etcd cluster (Debian's etcd-server, on loopback) holding G gateways
and V VMs, all on one machine.

Real: etcd, the registry library and its watch, every meshd (registry
thread, reconcile, link statistics, LSA origination and reading, topology,
path installation, metrics unless `--no-metrics`), meshctl. Simulated: the
gateways, by `perf/simgw` (one single-threaded process for all G), which
answers each meshd on the UAPI and control sockets of a real gateway with
the replies meshd parses (counting a probe sent only where a session would
let it leave, as probe.c does). No probe is sent: their results come from a delay
matrix (random positions on a plane, RTT 2-170 ms, +-2 % per sample), and a
cut link stops answering. An LSA part reaches every gateway that has its
origin bound after half the pair's RTT, and is dropped over a cut link (a
real gateway would send it through the relay meshd chose; simgw does not
model relaying). No packets: no data-plane cost is in these figures.

A registry change (`meshctl gateway add`, `meshctl vm add`) is timed, from
the command's start and from its return, until every meshd holds it: its
etcd revision reached by the `registry_revision` each meshd reports on its
status socket (as `meshctl --json status` shows it; the harness asks the
socket's cheaper `registry` request), every ~15 ms. A gateway added
is also timed until simgw has seen every meshd send its gateway the route
(perf/simgw.c logs what each meshd sends). A link cut is timed from the cut
to both ends' LSAs saying down (detection, by probes) and from those LSAs to
every other meshd holding the link down (propagation: what the 500 ms
target is judged on), over up to 5 cuts of different pairs. The
VMs are written by `perf/scale_seed`, which checks each as meshctl does but
writes them in batches of 100: V `meshctl vm add` would each read the whole
registry. etcd and simgw run at nice -10: they stand for other
machines, which G meshds must not starve.

p99 over 20 changes is the largest of the 20 (nearest rank).

With `--meshds K` only K meshds run and simgw plays the other gateways
(they answer every probe and advertise their links every second, as a meshd
would): what one meshd costs in a mesh of G when G meshds would not fit on
this machine's two CPUs; "every meshd" is then every one of those K.

Each result names the commit it was measured at (and whether the tree had
uncommitted changes): results of older commits stay until measured again,
and may not be what the current code does.

```sh
perf/run-scale.sh                                   # 100 gateways and meshds, 10,000 VMs
perf/run-scale.sh --meshds 3                        # the same mesh, 3 meshds
perf/run-scale.sh --gateways 20 --vms 2000          # a smaller mesh
```

TEXT
		# by gateways, then all meshds before fewer (the shorter name)
		for f in $(ls perf/results/scale-[0-9]*.md | awk '{ match($0, /scale-[0-9]+/)
			print substr($0, RSTART + 6, RLENGTH - 6), length($0), $0 }' | sort -k1,1n -k2,2n | cut -d' ' -f3); do
			# a result from before the harness recorded its commit
			# says so, under its heading
			if grep -q '^Commit ' "$f"; then
				cat "$f"
			else
				awk 'NR == 2 { print "\n_Measured before the harness recorded the commit: the code it measured is not known, and may be older than this document._" } { print }' "$f"
			fi
			echo
		done
	} >"$section"
	perf/update-doc.sh scale "$section"
	rm -f "$section"
}
if [ "${1:-}" = --doc-only ]; then
	write_doc
	exit 0
fi

G=100 V=10000 PROBE_MS=50 IDLE_S=60 CHANGES=20 METRICS=1 PORT_BASE=24370 DOC=1 ETCD=1 PROFILE_S=0 K= CONVERGE_LIMIT_S=600
ARGS="$*"
while [ $# -gt 0 ]; do
	case $1 in
	--gateways) G=$2; shift 2 ;;
	--vms) V=$2; shift 2 ;;
	--probe-ms) PROBE_MS=$2; shift 2 ;;
	--idle-s) IDLE_S=$2; shift 2 ;;
	--changes) CHANGES=$2; shift 2 ;;
	--no-metrics) METRICS=0; shift ;;
	--port-base) PORT_BASE=$2; shift 2 ;;
	--no-doc) DOC=0; shift ;;
	--dir-registry) ETCD=0 DOC=0; shift ;;
	--profile) PROFILE_S=$2; shift 2 ;;
	--meshds) K=$2; shift 2 ;;
	--converge-s) CONVERGE_LIMIT_S=$2; shift 2 ;;
	*) echo "run-scale.sh: unknown option $1 (see the comment at the top)" >&2; exit 2 ;;
	esac
done
K=${K:-$G}
# Checked before anything starts: a typo found after setup costs minutes.
for v in "$G" "$V" "$PROBE_MS" "$IDLE_S" "$CHANGES" "$PORT_BASE" "$PROFILE_S" "$K" "$CONVERGE_LIMIT_S"; do
	[[ $v =~ ^[0-9]+$ ]] || { echo "run-scale.sh: '$v' is not a whole number (see the comment at the top)" >&2; exit 2; }
done
[ "$IDLE_S" -ge 1 ] && [ "$PROBE_MS" -ge 1 ] && [ "$CHANGES" -ge 1 ] ||
	{ echo "run-scale.sh: --idle-s, --probe-ms and --changes must be at least 1" >&2; exit 2; }
MESHDS_TAG=$([ "$K" = "$G" ] || echo "-$K")
# Prefixes are 10.<id>.0.0/16: the new gateways' ids too. The link cut is
# watched by a third meshd.
[ "$K" -ge 3 ] && [ "$K" -le "$G" ] && [ $((G + CHANGES)) -le 254 ] ||
	{ echo "run-scale.sh: 3 <= meshds <= gateways, and gateways + changes <= 254" >&2; exit 2; }
for cmd in etcd etcdctl python3 ss; do
	command -v "$cmd" >/dev/null || { echo "run-scale.sh: needs $cmd" >&2; exit 1; }
done

perf_build perf/simgw perf/scale_seed controlplane/meshd controlplane/meshctl
SIMGW=$build/perf/simgw MESHD=$build/controlplane/meshd MESHCTL=$build/controlplane/meshctl
MEASURE="python3 perf/scale_measure.py"

log() { echo "run-scale: $(date -u +%T) $*" >&2; }
now_ms() { date +%s%3N; }

LOAD0=$(cut -d' ' -f1 /proc/loadavg) # before this run's load

# ---- what this run starts, and how it goes ----
TMP=$(mktemp -d /tmp/hmscale.XXXXXX)
RUN=$TMP/run
PIDS=()
cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for _ in $(seq 50); do
		local alive=0
		for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
		[ "$alive" = 0 ] && break
		sleep 0.1
	done
	for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	# simgw's UAPI sockets, which it leaves when killed: by name, ours only
	# (the names carry this run's PID).
	[ -n "${NAME:-}" ] && for i in $(seq "${G:-0}"); do rm -f "/var/run/wireguard/$NAME$i.sock"; done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$RUN"
: >"$TMP/pids"
started() { # ROLE PID
	PIDS+=("$2")
	echo "$1 $2" >>"$TMP/pids"
}
# A process that died is said at once, with its log's end: measuring on
# would blame its absence on the others.
alive() { # ROLE PID LOG
	kill -0 "$2" 2>/dev/null && return 0
	log "$1 (pid $2) is not running; the end of $3:"
	tail -n 20 "$3" >&2
	exit 1
}
all_alive() {
	alive simgw "$SIMGW_PID" "$TMP/simgw.log"
	for i in $(seq "$K"); do alive "meshd g$i" "${MESHD_PID[$i]}" "$TMP/meshd$i.log"; done
}

for p in $((PORT_BASE + 1)) $((PORT_BASE + 2)) $((PORT_BASE + 3)) \
	$((PORT_BASE + 11)) $((PORT_BASE + 12)) $((PORT_BASE + 13)); do
	if ss -Hltn "sport = :$p" | grep -q .; then
		echo "run-scale.sh: port $p is taken (--port-base)" >&2
		exit 1
	fi
done

# ---- 1. etcd ----
URLS="" CLUSTER=""
for m in 1 2 3; do
	URLS=${URLS:+$URLS,}http://127.0.0.1:$((PORT_BASE + m))
	CLUSTER=${CLUSTER:+$CLUSTER,}e$m=http://127.0.0.1:$((PORT_BASE + 10 + m))
done
start_etcd() {
	local m
	for m in 1 2 3; do
		nice -n -10 etcd --name "e$m" --data-dir "$TMP/etcd$m" \
			--listen-client-urls "http://127.0.0.1:$((PORT_BASE + m))" \
			--advertise-client-urls "http://127.0.0.1:$((PORT_BASE + m))" \
			--listen-peer-urls "http://127.0.0.1:$((PORT_BASE + 10 + m))" \
			--initial-advertise-peer-urls "http://127.0.0.1:$((PORT_BASE + 10 + m))" \
			--initial-cluster "$CLUSTER" --initial-cluster-token "hmscale-$$" \
			>"$TMP/etcd$m.log" 2>&1 &
		started etcd $!
	done
	export ETCDCTL_API=3
	for _ in $(seq 100); do
		etcdctl --endpoints="$URLS" --dial-timeout=1s endpoint health >/dev/null 2>&1 && break
		sleep 0.2
	done
	etcdctl --endpoints="$URLS" endpoint health >/dev/null 2>&1 || { log "etcd did not come up"; exit 1; }
	log "etcd: 3 members at $URLS"
}
if [ "$ETCD" = 1 ]; then
	start_etcd
	REGISTRY=etcd:$URLS
else
	mkdir -p "$TMP/registry"
	REGISTRY=dir:$TMP/registry URLS=""
fi
meshctl() { "$MESHCTL" --registry "$REGISTRY" "$@"; }

# ---- 2. the registry ----
"$SIMGW" --keys 1 $((G + CHANGES)) >"$TMP/keys"
key_of() { awk -v id="$1" '$1 == id { print $2 }' "$TMP/keys"; }
gateway_add() { # ID
	meshctl gateway add "g$1" --id "$1" --public-key "$(key_of "$1")" \
		--endpoint "198.18.$(($1 / 256)).$(($1 % 256)):51820" --prefix "10.$1.0.0/16" \
		--overlay4 "10.$1.0.1" --region "r$(($1 % 10))" >/dev/null
}
t=$(now_ms)
for i in $(seq "$G"); do gateway_add "$i"; done
REGISTER_S=$(awk -v ms=$(($(now_ms) - t)) 'BEGIN { printf "%.1f", ms / 1000 }')
t=$(now_ms)
if [ "$ETCD" = 1 ]; then
	"$build/perf/scale_seed" --registry "$REGISTRY" --gateways "$G" --vms "$V"
else # the same VMs, one meshctl each
	for k in $(seq 0 $((V - 1))); do
		g=$((1 + k % G)) n=$((k / G))
		meshctl vm add "vm$k" --address "10.$g.$((n / 250)).$((2 + n % 250))" --gateway "g$g" >/dev/null
	done
fi
SEED_S=$(awk -v ms=$(($(now_ms) - t)) 'BEGIN { printf "%.1f", ms / 1000 }')
log "registry: $G gateways in $REGISTER_S s (meshctl), $V VMs in $SEED_S s (scale_seed)"

# ---- 3. simgw and the meshds ----
awk -v n="$G" 'BEGIN {
	srand(12)
	for (i = 1; i <= n; i++) { x[i] = rand() * 100; y[i] = rand() * 100 }
	for (i = 1; i <= n; i++)
		for (j = i + 1; j <= n; j++)
			printf "%d %d %.1f\n", i, j, 2 + 1.2 * sqrt((x[i] - x[j]) ^ 2 + (y[i] - y[j]) ^ 2)
}' >"$TMP/matrix"
NAME=hs$$g
PUPPETS=()
[ "$K" -lt "$G" ] && PUPPETS=(--puppets $((K + 1)))
nice -n -10 "$SIMGW" --slots "$G" --name "$NAME" --run-dir "$RUN" --matrix "$TMP/matrix" \
	--events "$TMP/events" --sim "$TMP/sim.sock" "${PUPPETS[@]}" 2>"$TMP/simgw.log" &
SIMGW_PID=$!
started simgw $SIMGW_PID
for _ in $(seq 100); do [ -S "$TMP/sim.sock" ] && break; alive simgw "$SIMGW_PID" "$TMP/simgw.log"; sleep 0.1; done
[ -S "$TMP/sim.sock" ] || { log "simgw made no socket in 10 s"; tail -n 20 "$TMP/simgw.log" >&2; exit 1; }
sim() { "$SIMGW" --tell "$TMP/sim.sock" "$@" >/dev/null; }

rotate() { # I: the registry, etcd's members starting with member I % 3
	local k=$(($1 % 3)) a
	[ "$ETCD" = 1 ] || { echo "$REGISTRY"; return; }
	IFS=, read -r -a a <<<"$URLS"
	echo "etcd:${a[$k]},${a[$(((k + 1) % 3))]},${a[$(((k + 2) % 3))]}"
}
for i in $(seq "$K"); do
	cat >"$TMP/meshd$i.conf" <<-EOF
	[meshd]
	gateway = g$i
	registry = $(rotate "$i")
	interface = $NAME$i
	control = $RUN/$NAME$i.ctl
	metrics = $([ "$METRICS" = 1 ] && echo "127.0.0.1:$((PORT_BASE + 100 + i))")
	probe_interval_ms = $PROBE_MS
	EOF
	"$MESHD" -c "$TMP/meshd$i.conf" >"$TMP/meshd$i.log" 2>&1 &
	MESHD_PID[i]=$!
	started meshd $!
done
T_START=$(now_ms)
sleep 1 # a meshd that cannot start (its config, its socket) exits at once
all_alive
log "started simgw and $K meshds; waiting for every meshd to hold all $((G * (G - 1))) links"

# On the meshds' own sockets, not with `meshctl link show --from g<i>`: that
# asks every meshd of the directory for all its links until it finds g<i>.
# A mesh that does not get there is measured all the same, as it is.
CONVERGED=1
until $MEASURE converged "$RUN/$NAME" "$K" "$G" $((T_START + CONVERGE_LIMIT_S * 1000)) >"$TMP/converged"; do
	if [ $(($(now_ms) - T_START)) -ge $((CONVERGE_LIMIT_S * 1000)) ]; then
		CONVERGED=0
		break
	fi
	sleep 1
done
CONVERGE_S=$(awk -v ms=$(($(now_ms) - T_START)) 'BEGIN { printf "%.1f", ms / 1000 }')
SHORT=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["short"]))' "$TMP/converged")
if [ "$CONVERGED" = 1 ]; then
	log "converged in $CONVERGE_S s"
else
	log "not converged in $CONVERGE_S s: $SHORT of $K meshds short of $((G * (G - 1))) links up; measuring anyway"
fi
sleep 5 # the start's reloads and routing warm-up done
all_alive

# ---- 4. idle ----
RESULTS=$TMP/results.jsonl
log "idle for $IDLE_S s"
$MEASURE idle "$IDLE_S" "${URLS%%,*}" "$TMP/pids" "$TMP/events" | sed 's/^{/{"step":"idle",/' >>"$RESULTS"

# ---- 5. changes ----
events_size() { stat -c %s "$TMP/events"; }
# A change whose command failed (on a starved machine meshctl's own read of
# the registry can time out): said in the results, and the next one made.
failed() { # WHAT T0
	python3 -c 'import json, sys; print(json.dumps({"step": "failed", "what": sys.argv[1],
	    "command_ms": float(sys.argv[2]), "error": open(sys.argv[3]).read().strip()[:200]}))' \
		"$1" $(($(now_ms) - $2)) "$TMP/err" >>"$RESULTS"
	log "$1: the command failed: $(cat "$TMP/err")"
	sleep 2
}
# Each write's etcd revision against every meshd's registry_revision (its
# status socket): when meshd holds the write, whatever it then does.
# One poller for the run, asking ("registry": no question to the gateway)
# only between a change's start and every meshd holding it (FLAG).
: >"$TMP/revisions"
if [ "$ETCD" = 1 ]; then
	$MEASURE revpoll "$RUN/$NAME" "$K" "$TMP/polling" "$TMP/revisions" &
	REVPOLL_PID=$!
	started revpoll $REVPOLL_PID
fi
poll_from() { # before a change's command: the poller's offset
	[ "$ETCD" = 1 ] || { echo 0; return 0; }
	stat -c %s "$TMP/revisions"
	touch "$TMP/polling"
}
held() { # KEY T0 T1 WHAT OFFSET
	[ "$ETCD" = 1 ] || return 0 # the embedded registry has no revision
	alive revpoll "$REVPOLL_PID" /dev/null
	$MEASURE revision "${URLS%%,*}" "$1" "$TMP/revisions" "$5" "$TMP/polling" "$K" "$2" "$3" "$4" |
		sed 's/^{/{"step":"revision",/' >>"$RESULTS"
	log "$4 add $k/$CHANGES: $(tail -1 "$RESULTS" | python3 -c 'import json,sys; r=json.load(sys.stdin); print("revision", r["revision"], "held by", r["reached"], "meshds, all after", r["all_ms"], "ms")')"
}
for k in $(seq "$CHANGES"); do
	id=$((G + k)) off=$(events_size) roff=$(poll_from) t0=$(now_ms)
	gateway_add "$id" 2>"$TMP/err" || { failed route-add "$t0"; rm -f "$TMP/polling"; continue; }
	t1=$(now_ms)
	held "/hopmesh/gateways/g$id" "$t0" "$t1" gateway "$roff"
	$MEASURE applied "$TMP/events" "$off" "$K" "$t0" "$t1" route-add "10.$id.0.0/16" "$id" |
		sed 's/^{/{"step":"applied",/' >>"$RESULTS"
	log "gateway add $k/$CHANGES: $(tail -1 "$RESULTS" | python3 -c 'import json,sys; r=json.load(sys.stdin); print("route add at", r["reached"], "meshds, all after", r["all_ms"], "ms")')"
	sleep 2
done
for k in $(seq "$CHANGES"); do
	g=$((1 + k % G)) roff=$(poll_from) t0=$(now_ms)
	meshctl vm add "vmx$k" --address "10.$g.255.$k" --gateway "g$g" >/dev/null 2>"$TMP/err" ||
		{ failed vm "$t0"; rm -f "$TMP/polling"; continue; }
	t1=$(now_ms)
	held "/hopmesh/vms/vmx$k" "$t0" "$t1" vm "$roff"
	sleep 2
done
all_alive

# ---- 6. link cuts ----
# Pairs of meshd slots, each cut and healed in turn; the first one's cut
# also checked on every meshd's own socket.
ncuts=$((K - 1 < 5 ? K - 1 : 5))
for c in $(seq "$ncuts"); do
	a=$c b=$((c + 1))
	sim watch "$a" "$b"
	sleep 3 # every meshd reads the pair's current state once
	off=$(events_size)
	sim cut "$a" "$b"
	$MEASURE linkcut "$TMP/events" "$off" "$K" "$a" "$b" | sed 's/^{/{"step":"linkcut",/' >>"$RESULTS"
	log "link cut $a-$b: $(tail -1 "$RESULTS")"
	if [ "$c" = 1 ]; then
		# What each meshd holds, on its own socket: both directions
		# down, but at the ends only its own (the far end's LSA would
		# come through a relay, which simgw does not model).
		read -r down_everywhere answered < <($MEASURE cutheld "$RUN/$NAME" "$K" "$a" "$b" |
			python3 -c 'import json,sys; r = json.load(sys.stdin); print(r["held"], r["answered"])')
		log "meshds whose own socket shows the cut: $down_everywhere of $K ($answered answered within 10 s)"
	fi
	sim heal "$a" "$b"
	sleep 3 # up again before the next cut
done

# ---- what the meshds logged ----
$MEASURE logs "$TMP" "$K" | sed 's/^{/{"step":"logs",/' >>"$RESULTS"

# ---- where the time goes (--profile) ----
if [ "$PROFILE_S" -gt 0 ] && command -v perf >/dev/null; then
	profile=perf/results/scale-${G}x$V${MESHDS_TAG}-profile.txt
	: >"$profile"
	for role in meshd simgw; do
		pid=$(awk -v r="$role" '$1 == r { n++; if (r != "meshd" || n == 3) { print $2; exit } }' "$TMP/pids")
		# Call graphs from DWARF: the build keeps no frame pointers, and a
		# flat profile of many small costs does not say which pass pays.
		perf record -q -F 997 --call-graph dwarf,16384 -p "$pid" -o "$TMP/perf.$role" -- \
			sleep "$PROFILE_S" >/dev/null 2>&1 || true
		{
			echo "== $role (pid $pid), $PROFILE_S s idle, self time by function"
			# awk, not head: reading on, it leaves perf no SIGPIPE to fail on
			perf report -q -i "$TMP/perf.$role" --no-children --sort symbol --stdio -g none 2>/dev/null |
				awk '/^ +[0-9]/ && n++ < 25'
			echo
			echo "== $role, time in each function and what it calls"
			perf report -q -i "$TMP/perf.$role" --children --sort symbol --stdio -g none 2>/dev/null |
				awk '/^ +[0-9]/ && n++ < 40'
			echo
		} >>"$profile"
	done
	log "profiles in $profile"
fi

# ---- the results ----
mkdir -p perf/results
out=perf/results/scale-${G}x$V$MESHDS_TAG.md
[ "$ETCD" = 1 ] || out=perf/results/trial-${out#perf/results/}
cpu=$(perf_cpu)
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=$([ -z "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] && echo 0 || echo 1)
LOAD1=$(cut -d' ' -f1 /proc/loadavg)
python3 - "$TMP/params.json" <<EOF
import json, sys
json.dump({"gateways": $G, "meshds": $K, "vms": $V, "etcd": $ETCD == 1, "probe_ms": $PROBE_MS, "metrics": $METRICS == 1,
           "date": "$(date -u '+%Y-%m-%d %H:%M UTC')", "cpu": "$cpu", "ncpu": $(nproc),
           "load": "$LOAD0", "load_end": "$LOAD1", "commit": "$COMMIT", "dirty": $DIRTY == 1,
           "etcd_version": "$(etcd --version | awk '/etcd Version/ { print $3 }')",
           "register_s": "$REGISTER_S", "seed_s": "$SEED_S", "converge_s": "$CONVERGE_S",
           "converged": $CONVERGED == 1, "short": $SHORT,
           "command": "perf/run-scale.sh${ARGS:+ $ARGS}"}, open(sys.argv[1], "w"))
EOF
cp "$RESULTS" "${out%.md}.jsonl"
cp "$TMP/params.json" "${out%.md}.params.json"
{
	$MEASURE report "$RESULTS" "$TMP/params.json"
	echo
	echo "After the first cut, $down_everywhere of $K meshds showed it on their own socket (\"links\": both"
	echo "directions down, the two ends their own direction); $answered of $K answered within 10 s."
} >"$out"
cat "$out"
[ "$DOC" = 1 ] || exit 0

write_doc
log "results in $out and docs/PERFORMANCE.md"
