#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# A real Prometheus (Debian's) scrapes meshd. Three regions on the rig, a
# meshd for each, and a Prometheus server in us-east's gateway namespace
# scraping that meshd (127.0.0.1:9464) every second:
#
#  - `promtool check metrics` finds nothing to say about meshd's page;
#  - Prometheus queries give us-east's link RTTs close to the emulated ones,
#    also after a delay change, links up with no loss, the routes' hop counts
#    (2 once a slow direct link moves a route to a relay), the peers' bytes
#    and handshake age, every drop reason the gateway counts, and up == 1;
#  - every meshd exits 0 on SIGTERM.
set -u
. "$(dirname "$0")/../rig/rig.sh"
. "$(dirname "$0")/../lib/scenario.sh"

PROM_ADDR=127.0.0.1:9090 # in us-east's gateway namespace, so ours alone

hm_init meshd_prometheus
hm_require_root
hm_require_cmd prometheus promtool curl
meshd_init
rig_up 3 1
GWNS=$(rig_gw 1)

for r in 1 2 3; do
	meshd_add_gateway "$r" && meshd_add_vms "$r" || hm_fail "meshctl gateway add / vm add $(rig_region_name "$r")"
done
for r in 1 2 3; do meshd_start "$r"; done
east_routed() { meshd_route_is 1 10.2.0.2 2 && meshd_route_is 1 10.3.0.2 3; }
hm_check "us-east routes to us-west and eu-west" hm_wait_for 10 east_routed
hm_check "us-east vm1 -> us-west vm1" hm_wait_for 10 hm_ping "$(rig_vm 1 1)" 10.2.0.2 1
hm_check "us-east vm1 -> eu-west vm1" hm_wait_for 10 hm_ping "$(rig_vm 1 1)" 10.3.0.2 1
hm_check "all 6 links published, up, RTT close to the emulated" hm_wait_for 20 meshd_links_settled 3

# ---- promtool on meshd's page ----
lint_metrics() {
	local out rc
	ip netns exec "$GWNS" curl -sf --max-time 5 http://127.0.0.1:9464/metrics >"$HM_TMP/metrics.txt" || {
		hm_log "no metrics from us-east's meshd"
		return 1
	}
	out=$(promtool check metrics <"$HM_TMP/metrics.txt" 2>&1)
	rc=$?
	[ "$rc" -eq 0 ] && [ -z "$out" ] && return 0
	hm_log "promtool check metrics: exit $rc: $out"
	return 1
}
hm_check "promtool check metrics: meshd's page is clean" lint_metrics

# ---- Prometheus ----
cat >"$HM_TMP/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: meshd
    static_configs:
      - targets: ['127.0.0.1:9464']
EOF
promtool check config "$HM_TMP/prometheus.yml" >"$HM_TMP/promtool-config.txt" 2>&1 ||
	hm_fail "promtool check config: $(cat "$HM_TMP/promtool-config.txt")"
hm_bg "$GWNS" prometheus prometheus --config.file="$HM_TMP/prometheus.yml" \
	--storage.tsdb.path="$HM_TMP/prometheus-data" --web.listen-address="$PROM_ADDR"
PROM_PID=$HM_LAST_PID
prom_ready() {
	kill -0 "$PROM_PID" 2>/dev/null || hm_fail "prometheus exited (see $HM_TMP/prometheus.log)"
	ip netns exec "$GWNS" curl -sf --max-time 2 "http://$PROM_ADDR/-/ready" >/dev/null
}
hm_check "prometheus answers" hm_wait_for 30 prom_ready

# prom_series QUERY: the instant query's series, one a line, sorted, as
# "NAME{LABELS} VALUE" (labels sorted, job and instance left out; no NAME
# where the query's result has none).
prom_series() {
	ip netns exec "$GWNS" curl -sfG --max-time 5 --data-urlencode "query=$1" \
		"http://$PROM_ADDR/api/v1/query" | python3 -c '
import json, sys
d = json.load(sys.stdin)
if d["status"] != "success":
    sys.exit("query failed: %s" % d)
out = []
for r in d["data"]["result"]:
    m = r["metric"]
    k = ",".join("%s=%s" % (n, m[n]) for n in sorted(m) if n not in ("__name__", "job", "instance"))
    out.append("%s{%s} %s" % (m.get("__name__", ""), k, r["value"][1]))
print("\n".join(sorted(out)))'
}

# prom_check QUERY CONDITION: CONDITION (Python) holds for s, the query's
# series as {"LABELS": value}.
prom_check() {
	local series
	series=$(prom_series "$1") || return 1
	python3 -c '
import sys
s = {}
for line in sys.argv[2].split("\n"):
    if line:
        k, v = line.rsplit(" ", 1)
        s[k[k.index("{") + 1:-1]] = float(v)
try:
    ok = eval(sys.argv[1])
except Exception:
    ok = False
sys.exit(not ok)' "$2" "$series"
}

# prom_expect WHAT SECONDS QUERY CONDITION: waits for it; on failure shows
# what Prometheus answered.
prom_expect() {
	local what=$1 t=$2
	shift 2
	if hm_wait_for "$t" prom_check "$@"; then
		hm_log "ok: $what"
	else
		hm_log "$1 ->"
		prom_series "$1" >&2
		hm_fail "$what"
	fi
}

# rtt_cond: the condition that Prometheus has us-east's RTTs to us-west and
# eu-west, and only those, within 10 % + 5 ms of the emulated ones now.
rtt_cond() {
	local w2 w3
	w2=$(rig_rtt 1 2) && w3=$(rig_rtt 1 3) || return 1
	echo "len(s) == 2 and abs(s['from=us-east,to=us-west'] * 1000 - $w2) <= 5 + 0.1 * $w2 and" \
		"abs(s['from=us-east,to=eu-west'] * 1000 - $w3) <= 5 + 0.1 * $w3"
}

prom_expect "scrape target up" 20 'up{job="meshd"}' "s == {'': 1}"
prom_expect "link RTTs close to the emulated ($(rig_rtt 1 2) and $(rig_rtt 1 3) ms)" 20 \
	hopmesh_link_rtt_seconds "$(rtt_cond)"
hm_log "Prometheus: hopmesh_link_rtt_seconds (emulated us-west $(rig_rtt 1 2) ms, eu-west $(rig_rtt 1 3) ms):"
prom_series hopmesh_link_rtt_seconds >&2
prom_expect "links up" 10 hopmesh_link_up \
	"s == {'from=us-east,to=us-west': 1, 'from=us-east,to=eu-west': 1}"
prom_expect "no link loss" 10 hopmesh_link_loss_ratio "len(s) == 2 and max(s.values()) < 0.05"
# The median is held to the emulated RTT like the mean; the upper quantiles
# carry the host's scheduling delays (a loaded CI host adds 10-20 ms to a
# p99), so they are held to their order and to the emulated delay as a floor.
prom_expect "RTT quantiles (summary)" 10 'hopmesh_link_rtt_quantile_seconds{to="us-west"}' \
	"len(s) == 3 and (lambda q: abs(q['0.5'] * 1000 - $(rig_rtt 1 2)) <= 5 + 0.1 * $(rig_rtt 1 2) and
	q['0.5'] <= q['0.9'] <= q['0.99'] and q['0.5'] * 1000 >= $(rig_rtt 1 2) - 5)(
	{k.split('quantile=')[1].split(',')[0]: v for k, v in s.items()})"
prom_expect "routes: both direct (1 hop)" 10 hopmesh_route_hops \
	"s == {'to=us-west,via=us-west': 1, 'to=eu-west,via=eu-west': 1}"
prom_expect "peers: bytes both ways" 10 'hopmesh_peer_rx_bytes_total > 0 and hopmesh_peer_tx_bytes_total > 0' \
	"sorted(s) == ['peer=eu-west', 'peer=us-west']"
prom_expect "peers: handshake age 0-180 s" 10 hopmesh_peer_handshake_age_seconds \
	"len(s) == 2 and all(0 <= v < 180 for v in s.values())"
prom_expect "peers: handshake times match the ages" 10 \
	'abs(time() - hopmesh_peer_last_handshake_timestamp_seconds - hopmesh_peer_handshake_age_seconds)' \
	"len(s) == 2 and max(s.values()) < 5"
hm_log "Prometheus: peers (handshake age s, rx, tx bytes):"
prom_series '{__name__=~"hopmesh_peer_handshake_age_seconds|hopmesh_peer_.x_bytes_total"}' >&2
NDROPS=$(hm_ctl "$(rig_gwname 1)" counters | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["drops"]))') ||
	hm_fail "no counters from us-east's gateway"
prom_expect "drops: all $NDROPS reasons the gateway counts" 10 'hopmesh_gateway_drops_total' \
	"len(s) == $NDROPS > 0 and all(k.startswith('reason=') for k in s)"
prom_expect "link state: both other gateways' LSAs, renewed within 2 s" 10 hopmesh_link_state_age_seconds \
	"sorted(s) == ['origin=eu-west', 'origin=us-west'] and max(s.values()) < 2"
prom_expect "LSA parts sent and received" 10 'hopmesh_gateway_lsas_total > 0' \
	"sorted(s) == ['direction=received', 'direction=sent']"
prom_expect "registry and gateway up" 10 'hopmesh_registry_up + hopmesh_gateway_up' "s == {'': 2}"

# A delay change shows in the scraped RTT, and a slow direct link moves
# eu-west's route to a relay (us-east -> us-west -> eu-west: 70 + 150 ms
# against 300 ms direct).
rig_link 1 2 delay=35ms >/dev/null
rig_link 1 3 delay=150ms >/dev/null
prom_expect "link RTTs follow the new delays ($(rig_rtt 1 2) and $(rig_rtt 1 3) ms)" 30 \
	hopmesh_link_rtt_seconds "$(rtt_cond)"
prom_series hopmesh_link_rtt_seconds >&2
prom_expect "route to eu-west through us-west (2 hops)" 20 hopmesh_route_hops \
	"s == {'to=us-west,via=us-west': 1, 'to=eu-west,via=us-west': 2}"
prom_expect "the highest RTT to eu-west in 5 minutes is the new one" 10 \
	'max_over_time(hopmesh_link_rtt_seconds{to="eu-west"}[5m])' \
	"len(s) == 1 and abs(list(s.values())[0] * 1000 - $(rig_rtt 1 3)) <= 5 + 0.1 * $(rig_rtt 1 3)"
prom_expect "... and the lowest the earlier one: the history is stored" 10 \
	'min_over_time(hopmesh_link_rtt_seconds{to="eu-west"}[5m])' \
	"len(s) == 1 and list(s.values())[0] * 1000 < 0.5 * $(rig_rtt 1 3)"
hm_check "promtool check metrics: still clean with a relayed route" lint_metrics

# ---- clean exits ----
hm_stop "$PROM_PID"
for r in 1 2 3; do
	hm_check "meshd of $(rig_region_name "$r") exits 0 on SIGTERM" meshd_stop "$r"
done
hm_log "passed"
