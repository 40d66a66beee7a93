// SPDX-License-Identifier: MIT
/*
 * The network between the simulated gateways (simgw.h): no packets, only
 * what meshd can see of them through its gateway's control socket.
 *
 *   the delay matrix:  an RTT per ordered pair of slots (a file of
 *                      "A B RTT_MS" lines, the reverse taken as the same
 *                      unless given; --rtt for the rest), changed and cut
 *                      at run time by the harness (sim_link_set);
 *   probes:            every "probe interval", each slot "sends" a probe to
 *                      every gateway it has bound, as probe.c does, but
 *                      counts it sent only if there is a session (a slot
 *                      holds the key and has bound us too: probe.c does
 *                      not count a probe that cannot leave); the reply is
 *                      due one RTT later (the pair's, +-jitter) if the link
 *                      is not cut; replies due are counted when the slot
 *                      next probes or is asked for a dump, with their exact
 *                      due time as the time of the reply, so since_reply_ms,
 *                      the counters and the samples are what probe.c's dump
 *                      would give (a cut drops the replies in flight);
 *   LSAs:              "lsa send" goes to every bound gateway as lsa.c sends
 *                      it; one held by a slot arrives there half the pair's
 *                      RTT later (a queue by due time), where it is kept if
 *                      it names as origin a gateway bound to its sender and
 *                      is newer than the part kept, as lsa_input() keeps it.
 *                      Over a cut link a part is dropped, at sending or on
 *                      the way: the real gateway sends an LSA by the path
 *                      installed for its destination, through a relay when
 *                      meshd has moved it there, and this simulation does
 *                      not model relaying. So a gateway whose only way to
 *                      another is a relay hears nothing from it here, where
 *                      the real one would.
 *
 *   puppets:           with --puppets F, slots F..N have no meshd (a mesh of N
 *                      measured with F - 1 meshds, when N meshds would
 *                      starve the machine): simgw plays them as a meshd and
 *                      gateway would be, seen from outside. They hold and
 *                      bind every gateway, answer every probe, and every
 *                      PUPPET_PUBLISH_NS advertise their links (to every
 *                      other slot, up unless cut, RTT and percentiles the
 *                      matrix's, no loss) to every slot that has them
 *                      bound; what is sent to them is dropped unread.
 *
 * The dumps are made for 100 meshds each reading twice every 50 ms: an LSA
 * part's JSON is made once when it is sent and shared by every slot that
 * keeps it (only its age is printed per dump), and numbers are printed
 * without printf.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "simgw.h"

/* ---- text, fast ---- */

static void put(struct textbuf *b, const char *s)
{
	textbuf_append(b, s, strlen(s));
}

static void put_u64(struct textbuf *b, uint64_t v)
{
	char d[24];
	int i = sizeof(d);

	do
		d[--i] = (char)('0' + v % 10);
	while (v /= 10);
	textbuf_append(b, d + i, sizeof(d) - (size_t)i);
}

static void put_i64(struct textbuf *b, int64_t v)
{
	if (v < 0)
		put(b, "-");
	put_u64(b, v < 0 ? (uint64_t)-v : (uint64_t)v);
}

/* ---- the delay matrix ---- */

static size_t at(unsigned a, unsigned b)
{
	return (size_t)a * (sim.nslots + 1) + b;
}

static bool in_range(unsigned a, unsigned b)
{
	return a && b && a <= sim.nslots && b <= sim.nslots && a != b;
}

bool sim_matrix_load(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	bool *given = calloc((size_t)(sim.nslots + 1) * (sim.nslots + 1), sizeof(bool));
	unsigned a, b, lineno = 0;
	char line[128];
	float ms;

	if (!f || !given) {
		snprintf(err, errlen, "%s: %s", path, f ? "out of memory" : strerror(errno));
		if (f)
			fclose(f);
		free(given);
		return false;
	}
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (line[0] == '#' || line[strspn(line, " \t\r\n")] == '\0')
			continue;
		if (sscanf(line, "%u %u %f", &a, &b, &ms) != 3 || !in_range(a, b) || !(ms >= 0)) {
			snprintf(err, errlen, "%s:%u: expected \"A B RTT_MS\" with slots 1-%u", path, lineno,
				 sim.nslots);
			fclose(f);
			free(given);
			return false;
		}
		sim.rtt_ms[at(a, b)] = ms;
		given[at(a, b)] = true;
		if (!given[at(b, a)])
			sim.rtt_ms[at(b, a)] = ms;
	}
	fclose(f);
	free(given);
	return true;
}

bool sim_is_puppet(unsigned slot)
{
	return sim.first_puppet && slot >= sim.first_puppet;
}

static bool is_cut(unsigned a, unsigned b)
{
	return in_range(a, b) && sim.cut[at(a, b)];
}

static struct sim_link *link_get(struct sim_gw *g, uint16_t id)
{
	if (!g->link[id])
		g->link[id] = calloc(1, sizeof(struct sim_link));
	return g->link[id];
}

/* Replies due by now, counted; those after it stay on their way. */
static void link_catch_up(struct sim_gw *g, struct sim_link *l, uint64_t now)
{
	while (l->in_len && l->inflight[l->in_head].due_ns <= now) {
		uint32_t rtt_us = l->inflight[l->in_head].rtt_us;

		l->received++;
		l->last_reply_ns = l->inflight[l->in_head].due_ns;
		l->sample[l->nsamples++ % SIM_SAMPLES].seq = ++g->sample_seq;
		l->sample[(l->nsamples - 1) % SIM_SAMPLES].rtt_us = rtt_us;
		l->in_head = (l->in_head + 1) % SIM_INFLIGHT;
		l->in_len--;
	}
}

/* Slot a's link to slot b, if a probes it: replies due until now are
 * counted, and with cut those still on their way are lost. */
static void link_settle(unsigned a, unsigned b, bool cut, uint64_t now)
{
	struct sim_gw *g = &sim.gw[a];

	for (unsigned i = 0; i < g->nids; i++) {
		struct sim_link *l = g->link[g->ids[i]];

		if (!l || g->entry[g->ids[i]]->far != b)
			continue;
		link_catch_up(g, l, now);
		if (cut)
			l->in_len = 0;
	}
}

void sim_link_set(unsigned a, unsigned b, bool cut, float rtt_ms)
{
	uint64_t now = sim_mono_ns();

	if (!in_range(a, b))
		return;
	link_settle(a, b, cut, now);
	link_settle(b, a, cut, now);
	sim.cut[at(a, b)] = sim.cut[at(b, a)] = cut;
	if (rtt_ms >= 0)
		sim.rtt_ms[at(a, b)] = sim.rtt_ms[at(b, a)] = rtt_ms;
}

/* ---- probes ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

/* Uniform in [-1, 1]: xorshift64*, enough for noise. */
static double noise(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (double)((rng_state * 0x2545F4914F6CDD1DULL) >> 11) / (double)(1ULL << 52) - 1.0;
}

/* Whether g and slot f have a session: both bound each other's key (a
 * handshake needs both). A puppet binds every gateway. */
static bool session(const struct sim_gw *f, const struct sim_gw *g)
{
	const struct sim_entry *fe = g->self ? f->entry[g->self] : NULL;

	return sim_is_puppet(f->slot) || (fe && fe->bound && fe->far == g->slot);
}

/* Whether slot f answers g's probes: a session (probe.c reflects only
 * through one) over a link that is up. */
static bool answers(const struct sim_gw *f, const struct sim_gw *g)
{
	return session(f, g) && !is_cut(f->slot, g->slot);
}

static void probe_one(struct sim_gw *g, uint16_t id, const struct sim_entry *e, uint64_t now)
{
	struct sim_link *l = link_get(g, id);
	double rtt_ms;
	unsigned slot;

	if (!l)
		return;
	link_catch_up(g, l, now);
	/* As probe.c since 2fc4092: a probe with no session to leave through
	 * (no slot holds the key, e.g. a gateway added past the slots, or the
	 * far end has not bound us) is not sent, so reads as silence, not
	 * loss. A cut link keeps its session: those are sent, and lost. */
	if (!e->far || !session(&sim.gw[e->far], g))
		return;
	l->sent++;
	if (!answers(&sim.gw[e->far], g))
		return;
	rtt_ms = sim.rtt_ms[at(g->slot, e->far)] * (1.0 + sim.jitter * noise());
	if (rtt_ms < 0.01)
		rtt_ms = 0.01;
	/* A reply later than SIM_INFLIGHT probes finds its probe gone, as in
	 * probe.c: the oldest one on its way is lost. */
	if (l->in_len == SIM_INFLIGHT) {
		l->in_head = (l->in_head + 1) % SIM_INFLIGHT;
		l->in_len--;
	}
	slot = (l->in_head + l->in_len++) % SIM_INFLIGHT;
	l->inflight[slot].due_ns = now + (uint64_t)(rtt_ms * 1e6);
	l->inflight[slot].rtt_us = (uint32_t)(rtt_ms * 1000.0 + 0.5);
}

static void probe_tick(struct sim_gw *g, uint64_t now)
{
	for (unsigned i = 0; i < g->nids; i++) {
		uint16_t id = g->ids[i];
		const struct sim_entry *e = g->entry[id];

		if (id != g->self && e->bound)
			probe_one(g, id, e, now);
	}
}

void sim_probe_interval(struct sim_gw *g, uint32_t ms)
{
	g->interval_ms = ms;
	g->next_probe_ns = 0;
}

/* probe.c's probe_dump_json: per link probed, the counters and the samples
 * numbered above since; no relay ever sends a notice here. */
char *sim_probe_dump(struct sim_gw *g, uint64_t since, uint64_t now)
{
	struct textbuf b = { 0 };
	bool first = true;

	for (unsigned id = 1; id < SIM_IDS; id++)
		if (g->link[id])
			link_catch_up(g, g->link[id], now);
	if (since > g->sample_seq)
		since = 0;
	put(&b, "{\"interval_ms\":");
	put_u64(&b, g->interval_ms);
	put(&b, ",\"seq\":");
	put_u64(&b, g->sample_seq);
	put(&b, ",\"links\":[");
	for (unsigned id = 1; id < SIM_IDS; id++) {
		const struct sim_link *l = g->link[id];
		uint64_t kept, from;

		if (!l || !l->sent)
			continue;
		put(&b, first ? "{\"gateway\":" : ",{\"gateway\":");
		put_u64(&b, id);
		put(&b, ",\"sent\":");
		put_u64(&b, l->sent);
		put(&b, ",\"received\":");
		put_u64(&b, l->received);
		put(&b, ",\"since_reply_ms\":");
		put_i64(&b, l->last_reply_ns ? (int64_t)((now - l->last_reply_ns) / 1000000) : -1);
		put(&b, ",\"rtt_us\":[");
		/* Newest first back to since, then printed oldest first. */
		kept = l->nsamples < SIM_SAMPLES ? l->nsamples : SIM_SAMPLES;
		for (from = l->nsamples; from > l->nsamples - kept &&
		     l->sample[(from - 1) % SIM_SAMPLES].seq > since; from--)
			;
		for (uint64_t i = from; i < l->nsamples; i++) {
			if (i > from)
				put(&b, ",");
			put_u64(&b, l->sample[i % SIM_SAMPLES].rtt_us);
		}
		put(&b, "]}");
		first = false;
	}
	put(&b, "],\"notices\":[]}");
	return textbuf_take(&b);
}

/* ---- LSAs ---- */

static void blob_unref(struct sim_blob *k)
{
	if (k && !--k->refs) {
		free(k->json_head);
		free(k->json_tail);
		free(k->wire_tail);
		free(k);
	}
}

/* A part as lsa.c's part_json prints it, in two pieces around age_ms, and
 * the tail of its wire form. */
static struct sim_blob *blob_new(const uint8_t *p, size_t len)
{
	const struct lsa_hdr *h = (const struct lsa_hdr *)p;
	const struct lsa_link *l = (const struct lsa_link *)(h + 1);
	struct sim_blob *k = calloc(1, sizeof(*k));
	struct textbuf head = { 0 }, tail = { 0 }, wire = { 0 };
	char hex[2 * LSA_BYTES_MAX + 1];

	if (!k)
		return NULL;
	k->refs = 1;
	k->len = (uint16_t)len;
	memcpy(k->bytes, p, len);
	k->origin = ntohs(h->origin);
	k->part = h->part;
	k->nparts = h->nparts;
	k->lifetime_s = ntohs(h->lifetime_s);
	k->seq = be64toh(h->seq);
	textbuf_printf(&head, "{\"origin\":%u,\"seq\":%" PRIu64 ",\"part\":%u,\"parts\":%u,\"lifetime_s\":%u,"
		       "\"age_ms\":", k->origin, k->seq, k->part, k->nparts, k->lifetime_s);
	textbuf_printf(&tail, ",\"links\":[");
	for (unsigned i = 0; i < h->nlinks; i++)
		textbuf_printf(&tail, "%s[%u,%u,%u,%u,%u,%u,%u,%u]", i ? "," : "", ntohs(l[i].to),
			       l[i].flags & LSA_LINK_UP, ntohl(l[i].rtt_us), ntohl(l[i].p50_us),
			       ntohl(l[i].p90_us), ntohl(l[i].p99_us), ntohl(l[i].jitter_us), ntohs(l[i].loss));
	textbuf_printf(&tail, "]}");
	lsa_part_to_hex(p, len, hex);
	textbuf_printf(&wire, ",\"wire\":\"%s\"}", hex);
	k->json_head = textbuf_take(&head);
	k->json_tail = textbuf_take(&tail);
	k->wire_tail = textbuf_take(&wire);
	if (!k->json_head || !k->json_tail || !k->wire_tail) {
		blob_unref(k);
		return NULL;
	}
	return k;
}

/* The flag of the part's link to `to`: 1 up, 0 down, -1 not in it. */
static int blob_flag(const struct sim_blob *k, uint16_t to)
{
	const struct lsa_hdr *h = (const struct lsa_hdr *)k->bytes;
	const struct lsa_link *l = (const struct lsa_link *)(h + 1);

	for (unsigned i = 0; i < h->nlinks; i++)
		if (ntohs(l[i].to) == to)
			return l[i].flags & LSA_LINK_UP;
	return -1;
}

/* False if there is no memory for it (the part is lost). */
static bool heap_push(struct sim_delivery d)
{
	size_t i;

	if (sim.nheap == sim.heap_cap) {
		size_t cap = sim.heap_cap ? 2 * sim.heap_cap : 4096;
		struct sim_delivery *grown = realloc(sim.heap, cap * sizeof(*grown));

		if (!grown)
			return false;
		sim.heap = grown;
		sim.heap_cap = cap;
	}
	for (i = sim.nheap++; i && sim.heap[(i - 1) / 2].due_ns > d.due_ns; i = (i - 1) / 2)
		sim.heap[i] = sim.heap[(i - 1) / 2];
	sim.heap[i] = d;
	return true;
}

static struct sim_delivery heap_pop(void)
{
	struct sim_delivery top = sim.heap[0], last = sim.heap[--sim.nheap];
	size_t i = 0, c;

	while ((c = 2 * i + 1) < sim.nheap) {
		if (c + 1 < sim.nheap && sim.heap[c + 1].due_ns < sim.heap[c].due_ns)
			c++;
		if (sim.heap[c].due_ns >= last.due_ns)
			break;
		sim.heap[i] = sim.heap[c];
		i = c;
	}
	if (sim.nheap)
		sim.heap[i] = last;
	return top;
}

/* Each change of a link's flag in what g advertises, for the event log. */
static void log_sent_flags(struct sim_gw *g, const struct sim_blob *k)
{
	const struct lsa_hdr *h = (const struct lsa_hdr *)k->bytes;
	const struct lsa_link *l = (const struct lsa_link *)(h + 1);

	for (unsigned i = 0; i < h->nlinks; i++) {
		uint16_t to = ntohs(l[i].to);
		int8_t up = l[i].flags & LSA_LINK_UP;

		if (g->sent_up[to] != up)
			sim_event(g, "lsa-sent %u %s", to, up ? "up" : "down");
		g->sent_up[to] = up;
	}
}

unsigned sim_lsa_send(struct sim_gw *g, const uint8_t *p, size_t len, uint64_t now)
{
	struct sim_blob *k = blob_new(p, len);
	unsigned sent = 0;

	if (!k)
		return 0;
	log_sent_flags(g, k);
	for (unsigned i = 0; i < g->nids; i++) {
		uint16_t id = g->ids[i];
		const struct sim_entry *e = g->entry[id];

		if (id == g->self || !e->bound)
			continue;
		sent++;
		if (!e->far || sim_is_puppet(e->far))
			continue; /* registered, but no slot's meshd reads it */
		if (is_cut(g->slot, e->far)) {
			sim.lsa_dropped_cut++;
			continue;
		}
		if (heap_push((struct sim_delivery){
			    .due_ns = now + (uint64_t)(sim.rtt_ms[at(g->slot, e->far)] * 0.5e6),
			    .to = e->far, .from = g->slot, .blob = k }))
			k->refs++;
	}
	g->lsas_sent += sent;
	blob_unref(k);
	return sent;
}

static struct sim_kept *kept_slot(struct sim_gw *g, uint16_t origin, unsigned part)
{
	struct sim_origin *o = g->origin[origin];

	if (!o || o->nparts <= part) {
		unsigned had = o ? o->nparts : 0, n = part + 1;
		struct sim_origin *grown = realloc(o, sizeof(*o) + n * sizeof(struct sim_kept));

		if (!grown)
			return NULL;
		memset(&grown->part[had], 0, (n - had) * sizeof(struct sim_kept));
		grown->nparts = n;
		g->origin[origin] = o = grown;
	}
	return &o->part[part];
}

/* A part arriving at slot d.to, kept as lsa_input() keeps it. */
static void deliver(struct sim_delivery d, uint64_t now)
{
	struct sim_gw *g = &sim.gw[d.to];
	const struct sim_entry *e = g->entry[d.blob->origin];
	struct sim_origin *o;
	struct sim_kept *k;

	if (is_cut(d.from, d.to)) {
		sim.lsa_dropped_cut++;
		return blob_unref(d.blob);
	}
	if (!e || !e->bound) {
		g->lsa_unbound_source++;
		sim.lsa_dropped_unbound++;
		return blob_unref(d.blob);
	}
	if (e->far != d.from) {
		g->lsa_wrong_source++;
		return blob_unref(d.blob);
	}
	if (!(k = kept_slot(g, d.blob->origin, d.blob->part)))
		return blob_unref(d.blob);
	if (k->blob && d.blob->seq <= k->blob->seq &&
	    now - k->at_ns < (uint64_t)k->blob->lifetime_s * 1000000000ULL) {
		g->lsa_stale++;
		return blob_unref(d.blob);
	}
	blob_unref(k->blob);
	*k = (struct sim_kept){ .number = ++g->lsa_received, .at_ns = now, .blob = d.blob };
	/* Fewer parts than before: the older ones past the end are gone. */
	o = g->origin[d.blob->origin];
	for (unsigned p = d.blob->nparts; p < o->nparts; p++)
		if (o->part[p].blob && o->part[p].blob->seq < d.blob->seq) {
			blob_unref(o->part[p].blob);
			o->part[p] = (struct sim_kept){ 0 };
		}
	sim.lsa_delivered++;
}

/* What g's meshd now reads of a watched link, logged when it changes. */
static void log_read_flags(struct sim_gw *g, const struct sim_blob *k)
{
	for (unsigned w = 0; w < sim.nwatch; w++) {
		struct sim_watch *x = &sim.watch[w];
		bool ab = k->origin == x->a;
		int8_t *seen = ab ? &x->read_ab[g->slot] : &x->read_ba[g->slot];
		int flag;

		if (k->origin != x->a && k->origin != x->b)
			continue;
		flag = blob_flag(k, (uint16_t)(ab ? x->b : x->a));
		if (flag >= 0 && flag != *seen)
			sim_event(g, "lsa-read %u %u %s", k->origin, ab ? x->b : x->a, flag ? "up" : "down");
		if (flag >= 0)
			*seen = (int8_t)flag;
	}
}

static char *lsa_dump(struct sim_gw *g, uint64_t since, uint64_t now, bool wire)
{
	struct textbuf b = { 0 };
	bool first = true;

	if (since > g->lsa_received)
		since = 0;
	put(&b, "{\"seq\":");
	put_u64(&b, g->lsa_received);
	put(&b, ",\"lsas\":[");
	for (unsigned id = 1; id < SIM_IDS; id++) {
		const struct sim_origin *o = g->origin[id];

		for (unsigned p = 0; o && p < o->nparts; p++) {
			const struct sim_kept *k = &o->part[p];

			if (!k->blob || k->number <= since)
				continue;
			if (!first)
				put(&b, ",");
			put(&b, wire ? "{\"age_ms\":" : k->blob->json_head);
			put_u64(&b, (now - k->at_ns) / 1000000);
			put(&b, wire ? k->blob->wire_tail : k->blob->json_tail);
			log_read_flags(g, k->blob);
			first = false;
		}
	}
	put(&b, "]}");
	return textbuf_take(&b);
}

char *sim_lsa_dump(struct sim_gw *g, uint64_t since, uint64_t now)
{
	return lsa_dump(g, since, now, false);
}

char *sim_lsa_dump_wire(struct sim_gw *g, uint64_t since, uint64_t now)
{
	return lsa_dump(g, since, now, true);
}

bool sim_watch_add(unsigned a, unsigned b)
{
	struct sim_watch *w;

	for (unsigned i = 0; i < sim.nwatch; i++)
		if ((sim.watch[i].a == a && sim.watch[i].b == b) || (sim.watch[i].a == b && sim.watch[i].b == a))
			return true;
	if (!in_range(a, b) || sim.nwatch == sizeof(sim.watch) / sizeof(sim.watch[0]))
		return false;
	w = &sim.watch[sim.nwatch];
	w->a = a;
	w->b = b;
	w->read_ab = malloc(sim.nslots + 1);
	w->read_ba = malloc(sim.nslots + 1);
	if (!w->read_ab || !w->read_ba) {
		free(w->read_ab);
		free(w->read_ba);
		return false;
	}
	memset(w->read_ab, -1, sim.nslots + 1);
	memset(w->read_ba, -1, sim.nslots + 1);
	sim.nwatch++;
	return true;
}

/* ---- puppets ---- */

#define PUPPET_PUBLISH_NS 1000000000ULL /* meshd's publish_interval_ms */
#define PUPPET_LIFETIME_S 5             /* meshd's link_lease_s */

static uint32_t us_of(double ms)
{
	return (uint32_t)(ms * 1000.0 + 0.5);
}

/* Part `part` of puppet p's LSA: its links, every other slot ascending,
 * LSA_LINKS_MAX to a part. */
static struct sim_blob *puppet_part(unsigned p, unsigned part, unsigned nparts, uint64_t seq)
{
	uint8_t buf[LSA_BYTES_MAX];
	struct lsa_hdr *h = (struct lsa_hdr *)buf;
	struct lsa_link *l = (struct lsa_link *)(h + 1);
	unsigned n = 0, index = 0;

	for (unsigned to = 1; to <= sim.nslots && n < LSA_LINKS_MAX; to++) {
		double rtt = sim.rtt_ms[at(p, to)];

		if (to == p || index++ < part * LSA_LINKS_MAX)
			continue;
		l[n++] = (struct lsa_link){
			.to = htons((uint16_t)to), .flags = is_cut(p, to) ? 0 : LSA_LINK_UP,
			.rtt_us = htonl(us_of(rtt)), .p50_us = htonl(us_of(rtt)),
			.p90_us = htonl(us_of(rtt * (1 + sim.jitter / 2))),
			.p99_us = htonl(us_of(rtt * (1 + sim.jitter))),
			.jitter_us = htonl(us_of(rtt * sim.jitter / 2)),
		};
	}
	*h = (struct lsa_hdr){ .magic = htonl(LSA_MAGIC), .version = LSA_VERSION, .part = (uint8_t)part,
			       .nparts = (uint8_t)nparts, .nlinks = (uint8_t)n, .origin = htons((uint16_t)p),
			       .lifetime_s = htons(PUPPET_LIFETIME_S), .seq = htobe64(seq) };
	return blob_new(buf, sizeof(*h) + n * sizeof(*l));
}

/* Each puppet's LSA to every meshd's slot that has bound it. */
static void puppets_publish(uint64_t now)
{
	unsigned nparts = (sim.nslots - 1 + LSA_LINKS_MAX - 1) / LSA_LINKS_MAX;
	struct timespec ts;
	uint64_t seq;

	/* The wall clock in ns, kept increasing: meshd_lsa.c's seq. */
	clock_gettime(CLOCK_REALTIME, &ts);
	seq = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	sim.puppet_seq = seq > sim.puppet_seq ? seq : sim.puppet_seq + 1;
	for (unsigned p = sim.first_puppet; p && p <= sim.nslots; p++) {
		for (unsigned part = 0; part < nparts; part++) {
			struct sim_blob *k = puppet_part(p, part, nparts, sim.puppet_seq);

			for (unsigned r = 1; k && r < sim.first_puppet; r++) {
				const struct sim_entry *e = sim.gw[r].entry[p];

				if (!e || !e->bound || e->far != p || is_cut(p, r))
					continue;
				if (heap_push((struct sim_delivery){
					    .due_ns = now + (uint64_t)(sim.rtt_ms[at(p, r)] * 0.5e6),
					    .from = p, .to = r, .blob = k }))
					k->refs++;
			}
			blob_unref(k);
		}
	}
}

/* ---- the clock ---- */

uint64_t sim_net_run(uint64_t now)
{
	uint64_t next = 0;

	for (unsigned s = 1; s <= sim.nslots; s++) {
		struct sim_gw *g = &sim.gw[s];

		if (!g->interval_ms)
			continue;
		if (now >= g->next_probe_ns) {
			probe_tick(g, now);
			g->next_probe_ns = now + g->interval_ms * 1000000ULL;
		}
		if (!next || g->next_probe_ns < next)
			next = g->next_probe_ns;
	}
	if (sim.first_puppet && now >= sim.next_puppet_ns) {
		puppets_publish(now);
		sim.next_puppet_ns = now + PUPPET_PUBLISH_NS;
	}
	if (sim.first_puppet && (!next || sim.next_puppet_ns < next))
		next = sim.next_puppet_ns;
	while (sim.nheap && sim.heap[0].due_ns <= now)
		deliver(heap_pop(), now);
	if (sim.nheap && (!next || sim.heap[0].due_ns < next))
		next = sim.heap[0].due_ns;
	return next;
}
