// SPDX-License-Identifier: MIT
/*
 * Link state between the meshds (docs/PROTOCOL.md "Link state"): our links
 * go out as an LSA through our gateway, and what the other gateways' meshds
 * advertised comes back from it, into the link-state database that the
 * topology is fed from. The registry carries no measurement.
 *
 *   meshd_lsa_originate: every pass; sends our links ("lsa send", one line
 *                        per part) when one came or went or changed state
 *                        (at once), when a figure moved by more than
 *                        FIGURE_SLACK (at most every MIN_GAP_NS), and every
 *                        publish interval anyway, so that the others' copies
 *                        never outlive their lifetime (link_lease_s);
 *   meshd_lsa_read:      every pass; the parts that arrived since the last
 *                        read ("lsa dump SINCE") into the database, parts past
 *                        their lifetime out of it, and each origin that
 *                        changed fed to the topology again. Only a link
 *                        that came, went or changed state calls for paths
 *                        at once: figures move in every renewal (each
 *                        origin's, every second), and the routing pass
 *                        every 100 ms takes them.
 *
 * seq is the wall clock in ns, kept strictly increasing: a restarted meshd
 * is newer than its previous life without remembering it.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <endian.h>

#include "gwclient.h"
#include "meshd.h"
#include "textbuf.h"

#define MIN_GAP_NS (100 * 1000000ULL)

static uint64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ---- ours ---- */

static uint32_t us_of(double ms)
{
	double us = ms * 1000.0;

	return !(us > 0) ? 0 : us >= 4294967295.0 ? UINT32_MAX : (uint32_t)(us + 0.5);
}

unsigned meshd_lsa_own(const struct meshd *d, struct lsdb_link *out)
{
	unsigned n = 0;

	for (unsigned id = 1; id <= d->link_top; id++) {
		const struct meshd_link *ml = &d->link[id];

		if (!ml->probed || id == d->self_id)
			continue;
		out[n++] = (struct lsdb_link){
			.to = (uint16_t)id,
			.up = meshd_link_up(d, ml),
			.rtt_ms = ml->stats.rtt_ms,
			.p50_ms = link_percentile_ms(&ml->stats, 0.5),
			.p90_ms = link_percentile_ms(&ml->stats, 0.9),
			.p99_ms = link_percentile_ms(&ml->stats, 0.99),
			.jitter_ms = ml->stats.jitter_ms,
			.loss = link_loss(&ml->stats, &d->cfg.probe),
		};
	}
	return n;
}

/* A figure moved enough to tell: 5 % or 0.5 ms of RTT, a point of loss.
 * The router's switch margins are wider, so what it would act on is sent. */
static bool moved(const struct lsdb_link *a, const struct lsdb_link *b)
{
	double slack = fmax(0.5, 0.05 * b->rtt_ms);

	return fabs(a->rtt_ms - b->rtt_ms) > slack || fabs(a->loss - b->loss) > 0.01;
}

/* 2: a link came, went or changed state; 1: a figure moved; 0: neither. */
static int compare(const struct lsdb_link *now, unsigned n, const struct lsdb_link *sent, unsigned m)
{
	int r = 0;

	if (n != m)
		return 2;
	for (unsigned i = 0; i < n; i++) {
		if (now[i].to != sent[i].to || now[i].up != sent[i].up)
			return 2;
		if (moved(&now[i], &sent[i]))
			r = 1;
	}
	return r;
}

/* One "lsa send" line per part of links[0..n). */
static bool lsa_lines(struct meshd *d, const struct lsdb_link *links, unsigned n, uint64_t seq,
		      struct textbuf *b)
{
	unsigned nparts = n ? (n + LSA_LINKS_MAX - 1) / LSA_LINKS_MAX : 1;

	for (unsigned p = 0; p < nparts; p++) {
		unsigned first = p * LSA_LINKS_MAX, k = n - first < LSA_LINKS_MAX ? n - first : LSA_LINKS_MAX;
		uint8_t buf[LSA_BYTES_MAX];
		char hex[2 * LSA_BYTES_MAX + 1];
		struct lsa_hdr h = {
			.magic = htonl(LSA_MAGIC),
			.version = LSA_VERSION,
			.part = (uint8_t)p,
			.nparts = (uint8_t)nparts,
			.nlinks = (uint8_t)(n ? k : 0),
			.origin = htons(d->self_id),
			.lifetime_s = htons((uint16_t)d->cfg.link_lease_s),
			.seq = htobe64(seq),
		};

		memcpy(buf, &h, sizeof(h));
		for (unsigned i = 0; n && i < k; i++) {
			const struct lsdb_link *l = &links[first + i];
			struct lsa_link w = {
				.to = htons(l->to),
				.flags = l->up ? LSA_LINK_UP : 0,
				.rtt_us = htonl(us_of(l->rtt_ms)),
				.p50_us = htonl(us_of(l->p50_ms)),
				.p90_us = htonl(us_of(l->p90_ms)),
				.p99_us = htonl(us_of(l->p99_ms)),
				.jitter_us = htonl(us_of(l->jitter_ms)),
				.loss = htons((uint16_t)lround(fmin(fmax(l->loss, 0), 1) * 65535)),
			};

			memcpy(buf + sizeof(h) + i * sizeof(w), &w, sizeof(w));
		}
		lsa_part_to_hex(buf, sizeof(h) + h.nlinks * sizeof(struct lsa_link), hex);
		textbuf_printf(b, "lsa send %s\n", hex);
	}
	return !b->failed;
}

void meshd_lsa_originate(struct meshd *d, uint64_t now)
{
	struct textbuf b = { 0 };
	struct lsdb_link *swap;
	char err[256];
	unsigned n;
	int change;

	/* Two sets, each with room for every gateway, made once: this runs
	 * every pass. */
	if (!d->lsa_sent && !(d->lsa_sent = calloc(REG_MAX_GATEWAY_ID, sizeof(*d->lsa_sent))))
		return;
	if (!d->lsa_now && !(d->lsa_now = calloc(REG_MAX_GATEWAY_ID, sizeof(*d->lsa_now))))
		return;
	if (!d->self_id || !d->gateway_up)
		return;
	n = meshd_lsa_own(d, d->lsa_now);
	change = compare(d->lsa_now, n, d->lsa_sent, d->nlsa_sent);
	if (!(change == 2 || now - d->lsa_sent_ns >= d->cfg.publish_interval_ms * 1000000ULL ||
	      (change == 1 && now - d->lsa_sent_ns >= MIN_GAP_NS)))
		return;
	d->lsa_seq = wall_ns() > d->lsa_seq ? wall_ns() : d->lsa_seq + 1;
	if (!lsa_lines(d, d->lsa_now, n, d->lsa_seq, &b) ||
	    gw_ctl(d->cfg.control, b.s, NULL, NULL, err, sizeof(err))) {
		/* The gateway is away (its loop says so) or refused: next pass. */
		free(b.s);
		return;
	}
	free(b.s);
	swap = d->lsa_sent;
	d->lsa_sent = d->lsa_now;
	d->lsa_now = swap;
	d->nlsa_sent = n;
	d->lsa_sent_ns = now;
}

/* ---- theirs ---- */

static double ms_of(uint32_t be_us)
{
	return (double)ntohl(be_us) / 1000.0;
}

/* The part held has the same links in the same states: only figures can
 * differ. */
static bool same_states(const struct lsdb *db, uint16_t origin, unsigned part, unsigned nparts,
			const struct lsdb_link *links, size_t n)
{
	const struct lsdb_origin *o = db->origin[origin];
	const struct lsdb_part *k = o ? o->part[part] : NULL;

	if (!k || o->nparts != nparts || k->n != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (k->link[i].to != links[i].to || k->link[i].up != links[i].up)
			return false;
	return true;
}

/* One well-formed part (buf), age ms old, into the database: 0 if it
 * changed nothing we hold, 1 if figures only, 2 if a link came, went or
 * changed state; *origin says whose. */
static int read_part(struct meshd *d, const uint8_t *buf, uint64_t age, uint64_t now, uint16_t *origin)
{
	const struct lsa_hdr *h = (const struct lsa_hdr *)buf;
	const struct lsa_link *w = (const struct lsa_link *)(h + 1);
	struct lsdb_link links[LSA_LINKS_MAX];
	bool same;

	if (age > now / 1000000ULL)
		return 0;
	*origin = ntohs(h->origin);
	if (*origin > REG_MAX_GATEWAY_ID || *origin == d->self_id)
		return 0;
	for (unsigned i = 0; i < h->nlinks; i++)
		links[i] = (struct lsdb_link){
			.to = ntohs(w[i].to),
			.up = (w[i].flags & LSA_LINK_UP) != 0,
			.rtt_ms = ms_of(w[i].rtt_us),
			.p50_ms = ms_of(w[i].p50_us),
			.p90_ms = ms_of(w[i].p90_us),
			.p99_ms = ms_of(w[i].p99_us),
			.jitter_ms = ms_of(w[i].jitter_us),
			.loss = (double)ntohs(w[i].loss) / 65535.0,
		};
	same = same_states(&d->lsdb, *origin, h->part, h->nparts, links, h->nlinks);
	if (lsdb_put(&d->lsdb, *origin, be64toh(h->seq), h->part, h->nparts, links, h->nlinks,
		     now - (uint64_t)age * 1000000ULL, (uint64_t)ntohs(h->lifetime_s) * 1000000000ULL, now) <= 0)
		return 0;
	return same ? 1 : 2;
}

bool meshd_lsa_read(struct meshd *d, uint64_t now)
{
	bool changed[REG_MAX_GATEWAY_ID + 1] = { false }, states = false;
	char req[48], err[256];
	const char *reply;
	struct lsa_dump_reader rd;
	uint8_t buf[LSA_BYTES_MAX];
	uint64_t seq = 0, age = 0;
	size_t len;
	int more = -1;

	snprintf(req, sizeof(req), "lsa dump %" PRIu64 " wire", d->lsa_dump_seq);
	reply = gw_ctl_conn_get(&d->ctl, d->cfg.control, req, err, sizeof(err));
	if (reply && lsa_dump_begin(&rd, reply, &seq)) {
		while ((more = lsa_dump_next(&rd, &age, buf, &len)) > 0) {
			uint16_t origin = 0;
			int r = more == 1 ? read_part(d, buf, age, now, &origin) : 0;

			if (r)
				changed[origin] = true;
			states |= r == 2;
		}
	}
	/* The next read starts after this one only if all of it was read; a
	 * part read twice changes nothing (lsdb_put keeps the newer). */
	if (!more)
		d->lsa_dump_seq = seq;
	states |= lsdb_expire(&d->lsdb, now, changed) > 0;
	for (unsigned id = 1; id <= REG_MAX_GATEWAY_ID; id++) {
		bool held = d->lsdb.origin[id] != NULL;

		if (!changed[id])
			continue;
		/* Said on each change only: a gateway whose meshd is gone, or
		 * that no path reaches, is silent for good. */
		if (held != d->lsa_held[id])
			meshd_log(d, held ? "link state from gateway %u" :
				  "no link state from gateway %u within its lifetime: its links are out of our graph", id);
		d->lsa_held[id] = held;
		if (d->have_snap)
			topofeed_origin(d->topo, &d->snap, &d->lsdb, (uint16_t)id);
	}
	return states;
}
