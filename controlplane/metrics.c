// SPDX-License-Identifier: MIT
/*
 * Prometheus metrics over HTTP (GET /metrics), served by libmicrohttpd from
 * its own thread. meshd's loop renders the text (metrics_render) and swaps it
 * in under a lock; the server only copies it out, so a slow scraper never
 * holds up the mesh.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <microhttpd.h>

#include "gwclient.h"
#include "meshd.h"
#include "textbuf.h"

static struct MHD_Daemon *server;

static enum MHD_Result serve(void *cls, struct MHD_Connection *conn, const char *url,
			     const char *method, const char *version, const char *upload,
			     size_t *upload_len, void **state)
{
	struct meshd *d = cls;
	struct MHD_Response *resp;
	enum MHD_Result rc;
	char *copy;

	(void)version, (void)upload, (void)upload_len, (void)state;
	if (strcmp(method, "GET"))
		return MHD_NO;
	if (strcmp(url, "/metrics")) {
		static char missing[] = "see /metrics\n";

		resp = MHD_create_response_from_buffer(sizeof(missing) - 1, missing, MHD_RESPMEM_PERSISTENT);
		rc = MHD_queue_response(conn, MHD_HTTP_NOT_FOUND, resp);
		MHD_destroy_response(resp);
		return rc;
	}
	pthread_mutex_lock(&d->metrics_lock);
	copy = strdup(d->metrics_text ? d->metrics_text : "");
	pthread_mutex_unlock(&d->metrics_lock);
	if (!copy)
		return MHD_NO;
	resp = MHD_create_response_from_buffer(strlen(copy), copy, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	rc = MHD_queue_response(conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return rc;
}

bool metrics_start(struct meshd *d, char *err, size_t errlen)
{
	struct sockaddr_in addr;

	if (!d->cfg.metrics[0])
		return true;
	if (!meshd_metrics_addr(d->cfg.metrics, &addr)) { /* the config checked it already */
		snprintf(err, errlen, "metrics: want IPv4:PORT, got %s", d->cfg.metrics);
		return false;
	}
	server = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
				  serve, d, MHD_OPTION_SOCK_ADDR, &addr,
				  MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
	if (!server) {
		snprintf(err, errlen, "metrics: cannot listen on %s", d->cfg.metrics);
		return false;
	}
	return true;
}

void metrics_stop(void)
{
	if (server)
		MHD_stop_daemon(server);
	server = NULL;
}

static const char *name_of(const struct meshd *d, unsigned id)
{
	for (unsigned i = 0; i < d->snap.ngateways; i++)
		if (d->snap.gateways[i].id == id)
			return d->snap.gateways[i].name;
	return "unknown";
}

static void header(struct textbuf *t, const char *name, const char *type, const char *help)
{
	textbuf_printf(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void link_metrics(struct textbuf *t, const struct meshd *d)
{
	/* The quantiles are a summary: promtool (and Prometheus' conventions)
	 * reserve the "quantile" label for summaries. It has no _sum and _count,
	 * which a summary may omit: the window is not cumulative. */
	static const struct {
		const char *name, *type, *help;
	} gauges[] = {
		{ "hopmesh_link_up", "gauge",
		  "1 if the link carries traffic: probes answered (BFD-like detection), not held down after a flap, and the backbone interface up." },
		{ "hopmesh_link_rtt_seconds", "gauge", "Round trip time of the link, EWMA of probe samples." },
		{ "hopmesh_link_rtt_quantile_seconds", "summary",
		  "Round trip time quantiles over the last 128 probe samples." },
		{ "hopmesh_link_loss_ratio", "gauge", "Probe loss over the sliding window, 0 to 1." },
		{ "hopmesh_link_jitter_seconds", "gauge", "Interarrival jitter of probe round trips (RFC 3550)." },
		{ "hopmesh_link_held_down", "gauge",
		  "1 if the link's probes are answered but it is held down after a flap (damping)." },
		{ "hopmesh_link_holddown_seconds", "gauge",
		  "How long the link must answer, with little loss, to come back up after a down (doubles per flap, decays)." },
		{ "hopmesh_link_flaps_total", "counter", "Times the link's probes stopped being answered (link down detections)." },
		{ "hopmesh_link_state_changes_total", "counter", "Changes of hopmesh_link_up's link state (damped), as logged." },
	};
	const char *self = d->self ? d->self->name : d->cfg.gateway;

	for (unsigned g = 0; g < sizeof(gauges) / sizeof(gauges[0]); g++) {
		header(t, gauges[g].name, gauges[g].type, gauges[g].help);
		for (unsigned id = 1; id <= d->link_top; id++) {
			const struct meshd_link *l = &d->link[id];
			const char *to;

			if (!l->probed)
				continue;
			to = name_of(d, id);
			switch (g) {
			case 0:
				textbuf_printf(t, "%s{from=\"%s\",to=\"%s\"} %d\n", gauges[g].name, self, to,
					       meshd_link_up(d, l));
				break;
			case 1:
				if (l->stats.have_rtt)
					textbuf_printf(t, "%s{from=\"%s\",to=\"%s\"} %.6f\n", gauges[g].name, self, to,
					    l->stats.rtt_ms / 1000);
				break;
			case 2:
				for (int q = 0; q < 3; q++) {
					static const double qs[] = { 0.5, 0.9, 0.99 };

					if (l->stats.nwindow)
						textbuf_printf(t, "%s{from=\"%s\",to=\"%s\",quantile=\"%g\"} %.6f\n",
						    gauges[g].name, self, to, qs[q],
						    link_percentile_ms(&l->stats, qs[q]) / 1000);
				}
				break;
			case 3:
				textbuf_printf(t, "%s{from=\"%s\",to=\"%s\"} %.4f\n", gauges[g].name, self, to,
				    link_loss(&l->stats, &d->cfg.probe));
				break;
			case 4:
				textbuf_printf(t, "%s{from=\"%s\",to=\"%s\"} %.6f\n", gauges[g].name, self, to,
				    l->stats.jitter_ms / 1000);
				break;
			case 5:
				textbuf_printf(t, "%s{from=\"%s\",to=\"%s\"} %d\n", gauges[g].name, self, to,
				    link_held_down(&l->stats));
				break;
			case 6:
				textbuf_printf(t, "%s{from=\"%s\",to=\"%s\"} %.3f\n", gauges[g].name, self, to,
				    link_holddown_ms(&l->stats, &d->cfg.probe) / 1000.0);
				break;
			case 7:
				textbuf_printf(t, "%s{from=\"%s\",to=\"%s\"} %" PRIu64 "\n", gauges[g].name, self,
				    to, l->stats.flaps_total);
				break;
			default:
				textbuf_printf(t, "%s{from=\"%s\",to=\"%s\"} %" PRIu64 "\n", gauges[g].name, self,
				    to, l->stats.changes_total);
			}
		}
	}
}

/* The other gateways' link state: how old the newest part of each origin's
 * LSA is (a healthy one is younger than publish_interval_ms). */
static void lsdb_metrics(struct textbuf *t, const struct meshd *d)
{
	uint64_t now = meshd_mono_ns();

	header(t, "hopmesh_link_state_age_seconds", "gauge",
	       "Time since the newest part of each other gateway's link-state advertisement arrived.");
	for (unsigned id = 1; id <= REG_MAX_GATEWAY_ID; id++) {
		const struct lsdb_origin *o = d->lsdb.origin[id];
		uint64_t heard = 0;

		for (unsigned p = 0; o && p < LSA_PARTS_MAX; p++)
			if (o->part[p] && o->part[p]->heard_ns > heard)
				heard = o->part[p]->heard_ns;
		if (o)
			textbuf_printf(t, "hopmesh_link_state_age_seconds{origin=\"%s\"} %.3f\n", name_of(d, id),
				       now > heard ? (double)(now - heard) / 1e9 : 0);
	}
}

static void route_metrics(struct textbuf *t, const struct meshd *d)
{
	header(t, "hopmesh_route_hops", "gauge", "Backbone hops of the path in use to each gateway.");
	for (unsigned i = 0; d->self && i < d->snap.ngateways; i++) {
		const struct reg_gateway *g = &d->snap.gateways[i];
		struct topo_path p;

		if (g != d->self && topo_router_path(d->router, g->id, &p))
			textbuf_printf(t, "hopmesh_route_hops{to=\"%s\",via=\"%s\"} %u\n", g->name,
			    name_of(d, p.hops > 1 ? p.gw[1] : g->id), p.hops);
	}
}

/* A peer's label: its gateway's name, or for a key the registry does not know
 * (yet) the start of the key, so that two such peers are still two series. */
static void peer_label(char *buf, size_t len, const struct meshd *d, const uint8_t key[32])
{
	for (unsigned k = 0; k < d->snap.ngateways; k++)
		if (!memcmp(d->snap.gateways[k].public_key, key, 32)) {
			snprintf(buf, len, "%s", d->snap.gateways[k].name);
			return;
		}
	snprintf(buf, len, "unknown-%02x%02x%02x%02x", key[0], key[1], key[2], key[3]);
}

/* The peers as meshd's last reconcile pass read them (meshd.h): their
 * counters are at most a reload interval (5 s) old. */
static void peer_metrics(struct textbuf *t, const struct meshd *d)
{
	const struct gw_peer_state *peers = d->peers;
	unsigned n = d->npeers;
	char name[REG_NAME_LEN + 16];
	struct timespec now;

	if (!peers)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	header(t, "hopmesh_peer_rx_bytes_total", "counter", "Bytes received from the peer.");
	header(t, "hopmesh_peer_tx_bytes_total", "counter", "Bytes sent to the peer.");
	header(t, "hopmesh_peer_last_handshake_timestamp_seconds", "gauge",
	       "Unix time of the last completed handshake with the peer, 0 if none.");
	header(t, "hopmesh_peer_handshake_age_seconds", "gauge",
	       "Time since the last completed handshake with the peer (absent if none).");
	for (unsigned i = 0; i < n; i++) {
		double last = peers[i].last_handshake_unix_ns / 1e9;

		peer_label(name, sizeof(name), d, peers[i].public_key);
		textbuf_printf(t, "hopmesh_peer_rx_bytes_total{peer=\"%s\"} %" PRIu64 "\n", name, peers[i].rx_bytes);
		textbuf_printf(t, "hopmesh_peer_tx_bytes_total{peer=\"%s\"} %" PRIu64 "\n", name, peers[i].tx_bytes);
		textbuf_printf(t, "hopmesh_peer_last_handshake_timestamp_seconds{peer=\"%s\"} %.3f\n", name, last);
		if (peers[i].last_handshake_unix_ns)
			textbuf_printf(t, "hopmesh_peer_handshake_age_seconds{peer=\"%s\"} %.3f\n", name,
			    now.tv_sec + now.tv_nsec / 1e9 - last);
	}
}

/* A counter by direction from the counters document's WHAT_sent and
 * WHAT_received. */
static void sent_received(struct textbuf *t, const char *name, const char *help, json_t *j,
			  const char *what)
{
	static const char *const dir[] = { "sent", "received" };
	char key[64];

	header(t, name, "counter", help);
	for (unsigned k = 0; k < 2; k++) {
		snprintf(key, sizeof(key), "%s_%s", what, dir[k]);
		textbuf_printf(t, "%s{direction=\"%s\"} %" JSON_INTEGER_FORMAT "\n", name, dir[k],
			       json_integer_value(json_object_get(j, key)));
	}
}

static void gateway_metrics(struct textbuf *t, const struct meshd *d)
{
	char err[128], *reply = gw_ctl_get(d->cfg.control, "counters", err, sizeof(err));
	json_t *j = reply ? json_loads(reply, 0, NULL) : NULL, *v;
	const char *key;

	free(reply);
	if (!j)
		return;
	header(t, "hopmesh_gateway_drops_total", "counter", "Packets the gateway dropped, by reason.");
	json_object_foreach(json_object_get(j, "drops"), key, v)
		textbuf_printf(t, "hopmesh_gateway_drops_total{reason=\"%s\"} %" JSON_INTEGER_FORMAT "\n", key,
		    json_integer_value(v));
	header(t, "hopmesh_gateway_packets_total", "counter", "Packets through the gateway's ports.");
	json_object_foreach(json_object_get(j, "ports"), key, v) {
		textbuf_printf(t, "hopmesh_gateway_packets_total{port=\"%s\",direction=\"rx\"} %" JSON_INTEGER_FORMAT "\n",
		    key, json_integer_value(json_object_get(v, "rx_packets")));
		textbuf_printf(t, "hopmesh_gateway_packets_total{port=\"%s\",direction=\"tx\"} %" JSON_INTEGER_FORMAT "\n",
		    key, json_integer_value(json_object_get(v, "tx_packets")));
	}
	header(t, "hopmesh_gateway_relayed_total", "counter", "Messages relayed for other gateways.");
	textbuf_printf(t, "hopmesh_gateway_relayed_total %" JSON_INTEGER_FORMAT "\n",
	    json_integer_value(json_object_get(j, "relayed")));
	sent_received(t, "hopmesh_gateway_relay_notices_total",
		      "Next-hop-unreachable notices: sent as a relay, received as a source.", j, "notices");
	sent_received(t, "hopmesh_gateway_lsas_total",
		      "Link-state advertisement parts: sent to other gateways, received and kept.", j, "lsas");
	json_decref(j);
}

void metrics_render(struct meshd *d)
{
	struct textbuf t = { .s = NULL };
	char *old;

	if (!d->cfg.metrics[0])
		return;
	header(&t, "hopmesh_registry_up", "gauge", "1 if the last registry load succeeded.");
	textbuf_printf(&t, "hopmesh_registry_up %d\n", d->registry_up);
	header(&t, "hopmesh_gateway_up", "gauge", "1 if the local gateway answers on its sockets.");
	textbuf_printf(&t, "hopmesh_gateway_up %d\n", d->gateway_up);
	link_metrics(&t, d);
	lsdb_metrics(&t, d);
	route_metrics(&t, d);
	peer_metrics(&t, d);
	gateway_metrics(&t, d);
	if (t.failed) { /* keep serving the last complete page */
		free(t.s);
		return;
	}
	pthread_mutex_lock(&d->metrics_lock);
	old = d->metrics_text;
	d->metrics_text = t.s;
	pthread_mutex_unlock(&d->metrics_lock);
	free(old);
}
