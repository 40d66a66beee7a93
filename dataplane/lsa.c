// SPDX-License-Identifier: MIT
/*
 * Link-state advertisements: how every meshd learns the links it does not
 * measure (docs/PROTOCOL.md "Link state"). The gateway is their carrier, not
 * their judge: meshd builds each part, the gateway checks its form and sends
 * it, inside the WireGuard session of each bound gateway and by the path
 * installed for that gateway (so that a cut direct link does not cut the news
 * of it); a part received is kept if it is well formed, came through the
 * session of the gateway it names as origin from that gateway's own overlay
 * address (as a probe reply must: no VM can speak for its gateway), and is
 * newer than the one kept. Each drop has its counter: lsa_malformed,
 * lsa_unbound_source (a session that meshd has not bound to a gateway and
 * its overlay address yet: at start, before its first pass; not a forgery),
 * lsa_wrong_source, lsa_stale.
 *
 *   lsa_input:        a part received: checked, kept, numbered in arrival
 *                     order (what "lsa dump SINCE" counts);
 *   lsa_send_command: "lsa send HEX", a part of our own: checked as a
 *                     received one would be, then sent to every bound
 *                     gateway;
 *   lsa_dump_json:    what is kept, decoded, for an operator;
 *   lsa_dump_wire:    the same as the bytes received, for meshd, which ages
 *                     it and routes on it (decoding 48 links of 8 figures
 *                     from JSON, for every origin every second, was most of
 *                     meshd's idle time at 100 gateways).
 *
 * Memory grows with what arrives: an origin's record and each of its parts
 * are allocated at their first part, and nothing is ever kept for a gateway
 * that never sent one.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_malloc.h>

#include "egress.h"
#include "gateway.h"
#include "lcore_io.h"
#include "lsa.h"
#include "overlay.h"
#include "routes.h"
#include "textbuf.h"

/* Origins index st->origin: every id a well-formed part names fits. */
_Static_assert(LSA_GATEWAY_ID_MAX < MAX_GATEWAYS, "lsa_part_well_formed admits only ids we store");

struct lsa_part {
	uint64_t number; /* in the order parts arrived, over all origins */
	uint64_t at_ns;  /* when it arrived */
	uint64_t seq;
	uint16_t lifetime_s;
	uint16_t len;
	uint8_t bytes[LSA_BYTES_MAX];
};

struct lsa_origin {
	struct lsa_part *part[LSA_PARTS_MAX];
};

struct lsa_store {
	uint64_t received; /* the number of the newest part kept */
	struct lsa_origin *origin[MAX_GATEWAYS];
};

bool lsa_setup(struct gateway *gw)
{
	gw->lsas = rte_zmalloc("lsas", sizeof(struct lsa_store), RTE_CACHE_LINE_SIZE);
	return gw->lsas != NULL;
}

void lsa_free(struct gateway *gw)
{
	struct lsa_store *st = gw->lsas;

	for (unsigned id = 0; st && id < MAX_GATEWAYS; id++) {
		for (unsigned p = 0; st->origin[id] && p < LSA_PARTS_MAX; p++)
			rte_free(st->origin[id]->part[p]);
		rte_free(st->origin[id]);
	}
	rte_free(st);
}

static bool expired(const struct lsa_part *k, uint64_t now)
{
	return now - k->at_ns >= (uint64_t)k->lifetime_s * 1000000000ULL;
}

void lsa_input(struct gateway *gw, struct rte_mbuf *m, const struct overlay_dgram *d,
	       uint16_t src_gw, uint64_t now)
{
	struct lsa_store *st = gw->lsas;
	const struct lsa_hdr *h = (const struct lsa_hdr *)d->payload;
	struct gw_entry *e = src_gw ? routes_gateway(gw->routes, src_gw) : NULL;
	struct lsa_origin *o;
	struct lsa_part *k;
	uint64_t seq;

	if (!lsa_part_well_formed(d->payload, d->len)) {
		lcore_drop(gw->main_lc, m, GW_DROP_LSA_MALFORMED);
		return;
	}
	if (!e || !(d->v4 ? e->overlay4.s_addr != 0 : !IN6_IS_ADDR_UNSPECIFIED(&e->overlay6))) {
		lcore_drop(gw->main_lc, m, GW_DROP_LSA_UNBOUND_SOURCE);
		return;
	}
	if (rte_be_to_cpu_16(h->origin) != src_gw || !overlay_from(e, d)) {
		lcore_drop(gw->main_lc, m, GW_DROP_LSA_WRONG_SOURCE);
		return;
	}
	seq = rte_be_to_cpu_64(h->seq);
	if (!(o = st->origin[src_gw]))
		o = st->origin[src_gw] = rte_zmalloc("lsa_origin", sizeof(*o), 0);
	if (o && !(k = o->part[h->part]))
		k = o->part[h->part] = rte_zmalloc("lsa_part", sizeof(*k), 0);
	if (!o || !k) {
		lcore_drop(gw->main_lc, m, GW_DROP_NO_MBUF);
		return;
	}
	/* Older than the part kept (reordered on the way), unless that one's
	 * lifetime is over: an origin whose clock went back is heard again. */
	if (k->len && seq <= k->seq && !expired(k, now)) {
		lcore_drop(gw->main_lc, m, GW_DROP_LSA_STALE);
		return;
	}
	k->number = ++st->received;
	k->at_ns = now;
	k->seq = seq;
	k->lifetime_s = rte_be_to_cpu_16(h->lifetime_s);
	k->len = (uint16_t)d->len;
	memcpy(k->bytes, d->payload, d->len);
	/* Fewer parts than before: the older ones past the end are gone. */
	for (unsigned p = h->nparts; p < LSA_PARTS_MAX; p++)
		if (o->part[p] && o->part[p]->seq < seq) {
			rte_free(o->part[p]);
			o->part[p] = NULL;
		}
	COUNT(&gw->main_lc->counters, lsas_received, 1);
	rte_pktmbuf_free(m);
}

void lsa_send_command(struct gateway *gw, const char *hex, char *out, size_t outlen, uint64_t now)
{
	uint8_t buf[LSA_BYTES_MAX];
	size_t n;
	uint16_t self = routes_self(gw->routes);
	unsigned sent = 0;

	if (!lsa_part_from_hex(hex, self, buf, &n, out, outlen))
		return;
	for (unsigned id = 1; id < MAX_GATEWAYS; id++) {
		struct gw_entry *e = id == self ? NULL : routes_gateway(gw->routes, (uint16_t)id);
		struct rte_mbuf *m;

		if (!e || !atomic_load(&e->peer))
			continue;
		if (!(m = overlay_udp_build(gw, e, LSA_PORT, buf, (uint16_t)n)))
			continue;
		egress_send_routed(gw->main_lc, &m, 1, now);
		sent++;
	}
	COUNT(&gw->main_lc->counters, lsas_sent, sent);
	snprintf(out, outlen, "{\"ok\":true,\"sent\":%u}", sent);
}

static void part_json(struct textbuf *b, const struct lsa_part *k, uint64_t now, bool wire)
{
	const struct lsa_hdr *h = (const struct lsa_hdr *)k->bytes;
	const struct lsa_link *l = (const struct lsa_link *)(h + 1);
	char hex[2 * LSA_BYTES_MAX + 1];

	if (wire) {
		lsa_part_to_hex(k->bytes, k->len, hex);
		textbuf_printf(b, "{\"age_ms\":%" PRIu64 ",\"wire\":\"", (now - k->at_ns) / 1000000);
		textbuf_append(b, hex, 2 * (size_t)k->len);
		textbuf_printf(b, "\"}");
		return;
	}
	textbuf_printf(b, "{\"origin\":%u,\"seq\":%" PRIu64 ",\"part\":%u,\"parts\":%u,"
		       "\"lifetime_s\":%u,\"age_ms\":%" PRIu64 ",\"links\":[",
		       rte_be_to_cpu_16(h->origin), k->seq, h->part, h->nparts, k->lifetime_s,
		       (now - k->at_ns) / 1000000);
	for (unsigned i = 0; i < h->nlinks; i++)
		textbuf_printf(b, "%s[%u,%u,%u,%u,%u,%u,%u,%u]", i ? "," : "",
			       rte_be_to_cpu_16(l[i].to), l[i].flags & LSA_LINK_UP,
			       rte_be_to_cpu_32(l[i].rtt_us), rte_be_to_cpu_32(l[i].p50_us),
			       rte_be_to_cpu_32(l[i].p90_us), rte_be_to_cpu_32(l[i].p99_us),
			       rte_be_to_cpu_32(l[i].jitter_us), rte_be_to_cpu_16(l[i].loss));
	textbuf_printf(b, "]}");
}

static char *dump(struct gateway *gw, uint64_t since, uint64_t now, bool wire)
{
	struct lsa_store *st = gw->lsas;
	struct textbuf b = { 0 };
	bool first = true;

	/* A SINCE beyond the newest is from before the gateway restarted. */
	if (since > st->received)
		since = 0;
	textbuf_printf(&b, "{\"seq\":%" PRIu64 ",\"lsas\":[", st->received);
	for (unsigned id = 1; id < MAX_GATEWAYS; id++) {
		for (unsigned p = 0; st->origin[id] && p < LSA_PARTS_MAX; p++) {
			const struct lsa_part *k = st->origin[id]->part[p];

			if (!k || k->number <= since)
				continue;
			if (!first)
				textbuf_printf(&b, ",");
			part_json(&b, k, now, wire);
			first = false;
		}
	}
	textbuf_printf(&b, "]}");
	return textbuf_take(&b);
}

char *lsa_dump_json(struct gateway *gw, uint64_t since, uint64_t now)
{
	return dump(gw, since, now, false);
}

char *lsa_dump_wire(struct gateway *gw, uint64_t since, uint64_t now)
{
	return dump(gw, since, now, true);
}
