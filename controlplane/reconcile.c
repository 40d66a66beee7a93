// SPDX-License-Identifier: MIT
/*
 * Making the gateway match the registry. Each pass recomputes the desired
 * state from the last good snapshot and diffs it against what the gateway
 * reports now (its UAPI peers, "dump gateways", "dump routes"), so a change,
 * a missed event or a gateway restarted with an empty state are all handled
 * the same way: only the differences are sent. Nothing is removed on the
 * strength of a snapshot we could not load.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "gwclient.h"
#include "meshd.h"
#include "textbuf.h"

/* Endpoints in the form the UAPI prints them (inet_ntop), to compare. */
static void canonical_endpoint(const char *in, char *out, size_t len)
{
	char host[64];
	const char *colon;
	unsigned char a[16];

	snprintf(out, len, "%s", in);
	if (in[0] == '[') {
		const char *close = strchr(in, ']');

		if (!close || (size_t)(close - in - 1) >= sizeof(host))
			return;
		memcpy(host, in + 1, (size_t)(close - in - 1));
		host[close - in - 1] = '\0';
		if (inet_pton(AF_INET6, host, a) == 1 && inet_ntop(AF_INET6, a, host, sizeof(host)))
			snprintf(out, len, "[%s]%s", host, close + 1);
	} else if ((colon = strrchr(in, ':')) && (size_t)(colon - in) < sizeof(host)) {
		memcpy(host, in, (size_t)(colon - in));
		host[colon - in] = '\0';
		if (inet_pton(AF_INET, host, a) == 1 && inet_ntop(AF_INET, a, host, sizeof(host)))
			snprintf(out, len, "%s%s", host, colon);
	}
}

static const char *endpoint_of(const struct meshd *d, const struct reg_gateway *g)
{
	if (d->cfg.underlay6)
		return g->endpoint6[0] ? g->endpoint6 : g->endpoint4;
	return g->endpoint4[0] ? g->endpoint4 : g->endpoint6;
}

static bool same_text(const char *registry, const char *gateway);

static bool same_allowed(const struct gw_peer_state *p, const struct reg_gateway *g)
{
	if (p->nallowed != g->nprefixes)
		return false;
	for (unsigned i = 0; i < g->nprefixes; i++) {
		bool found = false;

		for (unsigned j = 0; j < p->nallowed && !found; j++)
			found = same_text(g->prefixes[i], p->allowed[j]);
		if (!found)
			return false;
	}
	return true;
}

static const struct reg_gateway *gateway_by_key(const struct meshd *d, const uint8_t key[32])
{
	for (unsigned i = 0; i < d->snap.ngateways; i++)
		if (!memcmp(d->snap.gateways[i].public_key, key, 32))
			return &d->snap.gateways[i];
	return NULL;
}

bool reconcile_peers(struct meshd *d)
{
	struct gw_peer_state *cur = NULL;
	struct textbuf body = { .s = NULL };
	unsigned n = 0;
	char err[256], hex[65];
	bool ok = true;

	if (!d->self)
		return false;
	if (gw_uapi_peers(d->cfg.interface, &cur, &n, err, sizeof(err))) {
		d->gateway_up = false;
		free(d->peers); /* the metrics show no peers rather than old ones */
		d->peers = NULL;
		d->npeers = 0;
		return false;
	}
	memset(d->session, 0, sizeof(d->session));
	/* Peers the registry no longer has go. */
	for (unsigned i = 0; i < n; i++) {
		const struct reg_gateway *g = gateway_by_key(d, cur[i].public_key);

		if (g && cur[i].last_handshake_unix_ns)
			d->session[g->id] = true;
		if (!g || g == d->self) {
			char b64[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];

			sodium_bin2hex(hex, sizeof(hex), cur[i].public_key, 32);
			textbuf_printf(&body, "public_key=%s\nremove=true\n", hex);
			/* A rotated key shows as this line and an "added". */
			sodium_bin2base64(b64, sizeof(b64), cur[i].public_key, 32,
					  sodium_base64_VARIANT_ORIGINAL);
			meshd_log(d, "peer %s: removed (%s)", b64,
				  g ? "our own key" : "no gateway in the registry has this key");
		}
	}
	/* Peers it has are added, or corrected where they differ. */
	for (unsigned i = 0; i < d->snap.ngateways; i++) {
		const struct reg_gateway *g = &d->snap.gateways[i];
		const struct gw_peer_state *p = NULL;
		const char *ep = endpoint_of(d, g);
		char want[80];

		if (g == d->self)
			continue;
		for (unsigned j = 0; j < n && !p; j++)
			if (!memcmp(cur[j].public_key, g->public_key, 32))
				p = &cur[j];
		canonical_endpoint(ep, want, sizeof(want));
		if (p && !strcmp(p->endpoint, want) && same_allowed(p, g))
			continue;
		sodium_bin2hex(hex, sizeof(hex), g->public_key, 32);
		textbuf_printf(&body, "public_key=%s\n", hex);
		if (*ep)
			textbuf_printf(&body, "endpoint=%s\n", ep);
		textbuf_printf(&body, "replace_allowed_ips=true\n");
		for (unsigned k = 0; k < g->nprefixes; k++)
			textbuf_printf(&body, "allowed_ip=%s\n", g->prefixes[k]);
		meshd_log(d, "peer %s: %s", g->name, p ? "updated" : "added");
	}
	/* Kept for the metrics, so that they need no get=1 of their own. */
	free(d->peers);
	d->peers = cur;
	d->npeers = n;
	/* A request cut short by lack of memory would apply half a change. */
	if (body.failed) {
		meshd_log(d, "peers: out of memory, retrying on the next pass");
		ok = false;
	} else if (body.len && gw_uapi_set(d->cfg.interface, body.s, err, sizeof(err))) {
		meshd_log(d, "peers: %s", err);
		ok = false;
	}
	free(body.s);
	d->gateway_up = true;
	return ok;
}

static unsigned count_lines(const char *s)
{
	unsigned n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void log_error_reply(void *arg, const char *json)
{
	if (strstr(json, "\"error\""))
		meshd_log(arg, "gateway refused: %s", json);
}

static json_t *ctl_json(struct meshd *d, const char *line)
{
	char err[256], *reply = gw_ctl_get(d->cfg.control, line, err, sizeof(err));
	json_t *j;

	if (!reply) {
		d->gateway_up = false;
		return NULL;
	}
	j = json_loads(reply, 0, NULL);
	free(reply);
	return j;
}

/* Addresses and prefixes as the gateway prints them (inet_ntop), so text
 * the registry holds in another spelling still compares equal. */
static void canonical(const char *in, char *out, size_t len)
{
	char host[REG_ADDR_LEN];
	const char *slash = strchr(in, '/');
	unsigned char a[16];
	int family = strchr(in, ':') ? AF_INET6 : AF_INET;
	size_t n = slash ? (size_t)(slash - in) : strlen(in);

	snprintf(out, len, "%s", in);
	if (n >= sizeof(host))
		return;
	memcpy(host, in, n);
	host[n] = '\0';
	if (inet_pton(family, host, a) != 1 || !inet_ntop(family, a, host, sizeof(host)))
		return;
	snprintf(out, len, "%s%s", host, slash ? slash : "");
}

static bool same_text(const char *registry, const char *gateway)
{
	char c[REG_ADDR_LEN + 8];

	canonical(registry, c, sizeof(c));
	return gateway && !strcmp(c, gateway);
}

/* The gateway's entry for g, from "dump gateways", is what g says. */
static bool gateway_matches(const struct reg_gateway *g, json_t *e)
{
	char key[45];
	const char *o4 = json_string_value(json_object_get(e, "overlay4"));
	const char *o6 = json_string_value(json_object_get(e, "overlay6"));
	const char *name = json_string_value(json_object_get(e, "name"));
	const char *pk = json_string_value(json_object_get(e, "public_key"));
	const char *zone = json_string_value(json_object_get(e, "zone"));

	sodium_bin2base64(key, sizeof(key), g->public_key, 32, sodium_base64_VARIANT_ORIGINAL);
	return pk && !strcmp(pk, key) && name && !strcmp(name, g->name) && zone &&
	       !strcmp(zone, g->zone) &&
	       same_text(g->overlay4[0] ? g->overlay4 : "0.0.0.0", o4) &&
	       same_text(g->overlay6[0] ? g->overlay6 : "::", o6);
}

/*
 * A new peer is bound (and so probed) by the gateway with the lower id first;
 * the other binds it once a handshake has completed, or after DEFER_MAX_NS if
 * none has (the first initiation may have arrived before we had the peer).
 * Were both to probe a new peer from the same moment, both would start
 * handshakes together, each would answer the other's initiation and drop the
 * answer to its own, and the retries, driven by the probes and limited to one
 * per REKEY_TIMEOUT without jitter, stay in step: on the rig that took a
 * minute to break. Until bound, traffic goes by allowed-ips, as plain
 * WireGuard.
 */
#define DEFER_MAX_NS (1000 * 1000000ULL)

static bool defer_binding(struct meshd *d, const struct reg_gateway *g, json_t *e)
{
	bool defer = g != d->self && d->self->id > g->id && !d->session[g->id] &&
		     !(e && json_is_true(json_object_get(e, "bound")));

	if (defer && !d->deferred[g->id]) {
		d->deferred_since[g->id] = d->now_ns;
		meshd_log(d, "gateway %s: bound at its first handshake with us, or in 1 s", g->name);
	}
	if (defer && d->now_ns - d->deferred_since[g->id] >= DEFER_MAX_NS) {
		meshd_log(d, "gateway %s: no handshake yet, binding it anyway", g->name);
		defer = false;
	}
	d->deferred[g->id] = defer;
	d->any_deferred |= defer;
	return defer;
}

static void diff_gateways(struct meshd *d, json_t *gws, struct textbuf *lines)
{
	char key[45];
	json_t *e;
	size_t i;

	if (json_integer_value(json_object_get(gws, "self")) != d->self->id)
		textbuf_printf(lines, "gateway self %u\n", d->self->id);
	d->any_deferred = false;
	for (unsigned k = 0; k < d->snap.ngateways; k++) {
		const struct reg_gateway *g = &d->snap.gateways[k];

		e = gw_dump_gateway(gws, g->id);
		if (defer_binding(d, g, e) || (e && gateway_matches(g, e)))
			continue;
		sodium_bin2base64(key, sizeof(key), g->public_key, 32, sodium_base64_VARIANT_ORIGINAL);
		textbuf_printf(lines, "gateway set %u %s name=%s", g->id, key, g->name);
		if (g->overlay4[0])
			textbuf_printf(lines, " overlay4=%s", g->overlay4);
		if (g->overlay6[0])
			textbuf_printf(lines, " overlay6=%s", g->overlay6);
		if (g->zone[0])
			textbuf_printf(lines, " zone=%s", g->zone);
		textbuf_printf(lines, "\n");
	}
	/* None the registry lost. */
	json_array_foreach(json_object_get(gws, "gateways"), i, e) {
		unsigned id = (unsigned)json_integer_value(json_object_get(e, "id"));
		bool known = false;

		for (unsigned k = 0; k < d->snap.ngateways && !known; k++)
			known = d->snap.gateways[k].id == id;
		if (!known)
			textbuf_printf(lines, "gateway del %u\n", id);
	}
}

static bool route_present(json_t *routes, const char *prefix, unsigned id)
{
	json_t *e;
	size_t i;

	json_array_foreach(json_object_get(routes, "routes"), i, e)
		if (same_text(prefix, json_string_value(json_object_get(e, "prefix"))) &&
		    json_integer_value(json_object_get(e, "gateway")) == id)
			return true;
	return false;
}

static bool route_wanted(const struct meshd *d, const char *prefix, unsigned gw)
{
	for (unsigned i = 0; i < d->snap.ngateways; i++) {
		const struct reg_gateway *g = &d->snap.gateways[i];

		if (g->id != gw || d->deferred[g->id])
			continue;
		for (unsigned k = 0; k < g->nprefixes; k++)
			if (same_text(g->prefixes[k], prefix))
				return true;
	}
	return false;
}

/* Routes: every gateway's prefixes to it, ours too (the gateway accepts from
 * its VMs only sources routed to itself); nothing else. */
static void diff_routes(struct meshd *d, json_t *routes, struct textbuf *lines)
{
	json_t *e;
	size_t i;

	json_array_foreach(json_object_get(routes, "routes"), i, e) {
		const char *prefix = json_string_value(json_object_get(e, "prefix"));
		unsigned gw = (unsigned)json_integer_value(json_object_get(e, "gateway"));

		if (prefix && !route_wanted(d, prefix, gw))
			textbuf_printf(lines, "route del %s\n", prefix);
	}
	for (unsigned k = 0; k < d->snap.ngateways; k++) {
		const struct reg_gateway *g = &d->snap.gateways[k];

		if (d->deferred[g->id])
			continue;
		for (unsigned p = 0; p < g->nprefixes; p++)
			if (!route_present(routes, g->prefixes[p], g->id))
				textbuf_printf(lines, "route add %s %u\n", g->prefixes[p], g->id);
	}
}

/* One hop limit, the policy's (at most what a relay header carries): the
 * gateway's own setting is only its ceiling. Pushed whenever the gateway's
 * pushed value differs, a restarted gateway (0: none) included. */
static void push_hop_limit(struct meshd *d, json_t *gws, struct textbuf *lines)
{
	unsigned want = d->policy.hop_limit;

	if (want < 1 || want > TOPOFEED_MAX_HOPS ||
	    json_integer_value(json_object_get(gws, "hop_limit_pushed")) == (json_int_t)want)
		return;
	textbuf_printf(lines, "hop_limit set %u\n", want);
	meshd_log(d, "hop limit: %u (policy)", want);
}

/* Residency, the policy's: relays check it with the zones pushed with each
 * gateway (gateway set ... zone=Z), so that a source with a stale table
 * takes a zone's traffic no further than the first relay outside it. */
static void push_residency(struct meshd *d, json_t *gws, struct textbuf *lines)
{
	json_t *have = json_object_get(gws, "residency");

	if (json_is_boolean(have) && json_is_true(have) == d->policy.residency)
		return;
	textbuf_printf(lines, "residency %s\n", d->policy.residency ? "on" : "off");
	meshd_log(d, "residency: %s (policy)", d->policy.residency ? "on" : "off");
}

bool reconcile_control(struct meshd *d)
{
	json_t *gws = ctl_json(d, "dump gateways"), *routes = ctl_json(d, "dump routes");
	struct textbuf lines = { .s = NULL };
	char err[256];
	int rc = 0;

	if (!gws || !routes || !d->self) {
		json_decref(gws);
		json_decref(routes);
		return false;
	}
	textbuf_printf(&lines, "quiet on\n");
	if (d->probe_interval_ms != d->cfg.probe.interval_ms)
		textbuf_printf(&lines, "probe interval %u\n", d->cfg.probe.interval_ms);
	push_hop_limit(d, gws, &lines);
	push_residency(d, gws, &lines);
	diff_gateways(d, gws, &lines);
	diff_routes(d, routes, &lines);
	json_decref(gws);
	json_decref(routes);
	if (lines.failed) {
		free(lines.s);
		return false; /* half a change is worse than none: next pass */
	}
	if (lines.s && lines.len > strlen("quiet on\n")) {
		meshd_log(d, "gateway: %u change(s)", count_lines(lines.s) - 1);
		rc = gw_ctl(d->cfg.control, lines.s, log_error_reply, d, err, sizeof(err));
	}
	free(lines.s);
	if (rc < 0) {
		meshd_log(d, "control socket: %s", err);
		d->gateway_up = false;
		return false;
	}
	return rc == 0;
}

/* The gateway's installed path (dump gateways' "path": the gateways after it,
 * ending with the destination) is the router's p (gw[1..hops]). */
static bool same_path(json_t *installed, const struct topo_path *p)
{
	if (json_array_size(installed) != p->hops)
		return false;
	for (unsigned i = 0; i < p->hops; i++)
		if (json_integer_value(json_array_get(installed, i)) != p->gw[i + 1])
			return false;
	return true;
}

/* Our link to gateway id as we judge it (probes, damping, the backbone),
 * for the gateway to refuse relaying over a dead one and tell the source
 * (link up|down ID); e: its entry in "dump gateways". */
static void push_link(struct meshd *d, unsigned id, json_t *e, struct textbuf *lines)
{
	bool down = id <= REG_MAX_GATEWAY_ID && d->link[id].probed && !meshd_link_up(d, &d->link[id]);
	const char *have = json_string_value(json_object_get(e, "link"));

	if (have && !strcmp(have, down ? "down" : "up"))
		return;
	textbuf_printf(lines, "link %s %u\n", down ? "down" : "up", id);
}

bool install_paths(struct meshd *d)
{
	json_t *gws = ctl_json(d, "dump gateways"), *e;
	struct textbuf lines = { .s = NULL };
	char err[256];
	size_t i;
	int rc;

	if (!gws || !d->self) {
		json_decref(gws);
		return false;
	}
	textbuf_printf(&lines, "quiet on\n");
	/* Before the paths: one longer than the gateway's limit is refused. */
	push_hop_limit(d, gws, &lines);
	push_residency(d, gws, &lines);
	json_array_foreach(json_object_get(gws, "gateways"), i, e) {
		unsigned id = (unsigned)json_integer_value(json_object_get(e, "id"));
		json_t *installed = json_object_get(e, "path");
		struct topo_path p;

		if (id == d->self->id)
			continue;
		push_link(d, id, e, &lines);
		/* Unreachable: leave it direct, where traffic would go anyway. */
		if (!topo_router_path(d->router, (uint16_t)id, &p) || p.hops == 1) {
			p.hops = 1;
			p.gw[1] = (uint16_t)id;
		}
		if (same_path(installed, &p))
			continue;
		/* The whole path, which the gateway writes into each relay header:
		 * the relays forward by it, not by their own tables. Each move is
		 * logged: how an operator sees a flap, or a failover. */
		if (p.hops == 1) {
			textbuf_printf(&lines, "path del %u\n", id);
			meshd_log(d, "path to gateway %u: direct", id);
		} else {
			char via[64];
			size_t at = 0;

			textbuf_printf(&lines, "path set %u", id);
			for (unsigned h = 1; h <= p.hops; h++) {
				textbuf_printf(&lines, " %u", p.gw[h]);
				if (h < p.hops && at < sizeof(via))
					at += (size_t)snprintf(via + at, sizeof(via) - at, "%s%u", h > 1 ? " " : "", p.gw[h]);
			}
			textbuf_printf(&lines, "\n");
			meshd_log(d, "path to gateway %u: via %s, %u hops", id, via, p.hops);
		}
	}
	json_decref(gws);
	rc = lines.failed ? -1
	     : lines.len > strlen("quiet on\n")
		     ? gw_ctl(d->cfg.control, lines.s, log_error_reply, d, err, sizeof(err)) : 0;
	free(lines.s);
	return rc == 0;
}
