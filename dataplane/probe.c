// SPDX-License-Identifier: MIT
/*
 * Link probes: what meshd measures links with. Every interval (the control
 * socket's "probe interval MS"; 0, the default, is off) the main lcore sends a
 * probe to every gateway bound to a peer: a small UDP datagram from our overlay
 * address to its overlay address, encrypted in the same session as data and
 * sent on the direct path whatever the routes say, so it measures the link
 * itself. The far gateway reflects it back the same way. Replies give RTT
 * samples; meshd reads the new ones with "probe dump SINCE" and keeps the
 * statistics (EWMA, percentiles, loss window, jitter, BFD-like up/down).
 *
 * Probes are datagrams between overlay addresses (overlay.c builds them and
 * hands us those that arrive at our probe port).
 *
 * A relay that cannot reach the next gateway of one of our paths says so
 * (ingress.c, underlay_send_notice()); what relays said is kept here too, one
 * record per relay, and dumped with the probes: it is a measurement of a link
 * we cannot probe ourselves, and meshd reads the dump every interval.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_random.h>
#include <rte_udp.h>

#include "egress.h"
#include "gateway.h"
#include "icmp.h"
#include "lcore_io.h"
#include "overlay.h"
#include "probe.h"
#include "textbuf.h"
#include "routes.h"
#include "underlay.h"

#define PROBE_MAGIC 0x484d5052 /* "HMPR" */
#define PROBE_REQUEST 0
#define PROBE_REPLY 1
#define SAMPLES 128
/* Probes of a link awaiting a reply: a reply later than this many intervals
 * (0.64 s at the shortest interval, 3.2 s at meshd's default 50 ms) finds its
 * probe gone and counts as lost. A power of two. */
#define OUTSTANDING 64

struct probe_msg {
	uint32_t magic;
	uint8_t version;
	uint8_t kind;
	uint16_t src_gw;
	uint32_t seq;
	uint64_t sent_ns; /* the sender's clock, echoed; read by no one */
} __attribute__((packed));

/* The last SAMPLES RTTs of a link, each with its number in the gateway's
 * sequence of samples: a dump only reads them, so meshd asking for what is
 * newer than it saw and an operator looking at the same time both get all. */
struct probe_sample {
	uint64_t seq;
	uint32_t rtt_us;
};

/* A probe sent: slot seq % OUTSTANDING of its link. */
struct probe_pending {
	uint64_t sent_ns; /* our clock; 0: the slot was never used */
	uint32_t seq;
	bool answered;
};

struct probe_link {
	uint64_t sent, received;
	uint64_t last_reply_ns;
	struct probe_sample sample[SAMPLES]; /* a ring, at nsamples % SAMPLES */
	uint64_t nsamples;
	struct probe_pending pending[OUTSTANDING]; /* a ring, at sent % OUTSTANDING */
};

/* The last notice of one relay: its link to `unreachable` is down. */
struct probe_notice {
	uint64_t count; /* notices from this relay; 0: none */
	uint64_t last_ns;
	uint16_t unreachable;
};

struct probes {
	uint32_t interval_ms;
	uint64_t next_ns;
	uint64_t sample_seq; /* samples taken, over all links */
	struct probe_link link[MAX_GATEWAYS];
	struct probe_notice notice[MAX_GATEWAYS]; /* by the relay's id */
};

bool probe_setup(struct gateway *gw)
{
	gw->probes = rte_zmalloc("probes", sizeof(struct probes), RTE_CACHE_LINE_SIZE);
	return gw->probes != NULL;
}

void probe_free(struct gateway *gw)
{
	rte_free(gw->probes);
}

void probe_tick(struct gateway *gw, uint64_t now)
{
	struct probes *pr = gw->probes;
	uint16_t self = routes_self(gw->routes);

	if (!pr->interval_ms || now < pr->next_ns)
		return;
	pr->next_ns = now + pr->interval_ms * 1000000ULL;
	for (unsigned id = 1; id < MAX_GATEWAYS; id++) {
		struct gw_entry *e = routes_gateway(gw->routes, (uint16_t)id);
		struct wg_peer *peer = e ? atomic_load(&e->peer) : NULL;
		struct probe_link *l = &pr->link[id];
		unsigned slot = (unsigned)(l->sent % OUTSTANDING);
		struct probe_msg msg = {
			.magic = rte_cpu_to_be_32(PROBE_MAGIC),
			.version = 1,
			.kind = PROBE_REQUEST,
			.src_gw = rte_cpu_to_be_16(self),
			.sent_ns = now,
		};
		struct rte_mbuf *m;
		uint32_t seq;

		if (!peer || id == self)
			continue;
		seq = ((uint32_t)rte_rand() & ~(uint32_t)(OUTSTANDING - 1)) | slot;
		msg.seq = rte_cpu_to_be_32(seq);
		if (!(m = overlay_udp_build(gw, e, PROBE_PORT, &msg, sizeof(msg))))
			continue;
		/* A probe that could not leave (no session yet: the handshake
		 * it started takes an RTT) is not a lost one. Counted, those of
		 * a link's first handshake read as several % of loss for the
		 * whole loss window, enough to route around a sound link; a
		 * link without a session is already told by its silence. The
		 * reply is read on this lcore, after this returns. */
		if (!egress_send_direct(gw->main_lc, peer, m, now))
			continue;
		/* Overwrites the probe sent OUTSTANDING intervals ago: lost. */
		l->pending[slot] = (struct probe_pending){ .sent_ns = now, .seq = seq };
		l->sent++;
	}
}

/* Why a reply that arrived through the session of gateway src_gw is refused,
 * or 0 if it counts; then *sent_ns is when we sent its probe. */
static unsigned reply_refusal(struct gateway *gw, const struct overlay_dgram *d,
			      const struct probe_msg *msg, uint16_t src_gw, uint64_t *sent_ns)
{
	struct gw_entry *e = routes_gateway(gw->routes, src_gw);
	uint32_t seq = rte_be_to_cpu_32(msg->seq);
	struct probe_pending *p;

	/* The gateway it names, and whose session it came through. */
	if (!e || rte_be_to_cpu_16(msg->src_gw) != src_gw)
		return GW_DROP_PROBE_WRONG_SESSION;
	if (!overlay_from(e, d))
		return GW_DROP_PROBE_WRONG_SOURCE;
	p = &gw->probes->link[src_gw].pending[seq % OUTSTANDING];
	if (!p->sent_ns || p->seq != seq)
		return GW_DROP_PROBE_UNKNOWN_SEQ;
	if (p->answered)
		return GW_DROP_PROBE_DUPLICATE;
	p->answered = true;
	*sent_ns = p->sent_ns;
	return 0;
}

/* A datagram to our probe port, through gateway src_gw's session (0: a peer
 * with no gateway id). */
void probe_input(struct gateway *gw, struct rte_mbuf *m, const struct overlay_dgram *d,
		 uint16_t src_gw, uint64_t now)
{
	uint8_t *ip = d->ip;
	bool v4 = d->v4;
	struct rte_udp_hdr *udp = d->udp;
	struct probe_msg *msg = (struct probe_msg *)d->payload;
	struct gw_entry *e = routes_gateway(gw->routes, src_gw);
	struct wg_peer *peer = e ? atomic_load(&e->peer) : NULL;

	if (d->len < sizeof(*msg) || msg->magic != rte_cpu_to_be_32(PROBE_MAGIC)) {
		icmp_overlay_echo(gw, m, now); /* dropped there, as any other UDP */
		return;
	}
	if (msg->kind == PROBE_REPLY) {
		struct probe_link *l;
		uint64_t sent_ns = 0, rtt;
		unsigned refused = reply_refusal(gw, d, msg, src_gw, &sent_ns);

		if (refused) {
			lcore_drop(gw->main_lc, m, refused);
			return;
		}
		l = &gw->probes->link[src_gw];
		rtt = now - sent_ns;
		l->received++;
		l->last_reply_ns = now;
		l->sample[l->nsamples++ % SAMPLES] = (struct probe_sample){
			.seq = ++gw->probes->sample_seq, .rtt_us = (uint32_t)(rtt / 1000)
		};
		rte_pktmbuf_free(m);
		return;
	}
	if (msg->kind != PROBE_REQUEST || !peer) {
		lcore_drop(gw->main_lc, m, GW_DROP_NOT_FOR_US);
		return;
	}
	/* Reflect it: addresses swapped, the same way back. */
	msg->kind = PROBE_REPLY;
	msg->src_gw = rte_cpu_to_be_16(routes_self(gw->routes));
	if (v4) {
		struct rte_ipv4_hdr *h = (struct rte_ipv4_hdr *)ip;
		uint32_t a = h->src_addr;

		h->src_addr = h->dst_addr;
		h->dst_addr = a;
		h->time_to_live = 64;
		h->hdr_checksum = 0;
		h->hdr_checksum = rte_ipv4_cksum(h);
	} else {
		struct rte_ipv6_hdr *h6 = (struct rte_ipv6_hdr *)ip;
		uint8_t a[16];

		memcpy(a, h6->src_addr, 16);
		memcpy(h6->src_addr, h6->dst_addr, 16);
		memcpy(h6->dst_addr, a, 16);
		h6->hop_limits = 64;
		udp->dgram_cksum = 0;
		udp->dgram_cksum = rte_ipv6_udptcp_cksum(h6, udp);
	}
	egress_send_direct(gw->main_lc, peer, m, now);
}

static bool probe_interval(struct gateway *gw, const char *arg, char *out, size_t outlen)
{
	char *end;
	unsigned long ms = strtoul(arg, &end, 10);

	if (!*arg || *end || ms > 60000 || (ms && ms < 10)) {
		snprintf(out, outlen, "{\"error\":\"probe interval is 0 (off) or 10-60000 ms\"}");
		return false;
	}
	gw->probes->interval_ms = (uint32_t)ms;
	gw->probes->next_ns = 0;
	snprintf(out, outlen, "{\"ok\":true}");
	return true;
}

void probe_command(struct gateway *gw, char **argv, int argc, char *out, size_t outlen)
{
	if (argc == 2 && !strcmp(argv[0], "interval"))
		probe_interval(gw, argv[1], out, outlen);
	else
		snprintf(out, outlen, "{\"error\":\"usage: probe interval MS | probe dump [SINCE]\"}");
}

void probe_notice_input(struct gateway *gw, struct rte_mbuf *m, uint16_t from, uint64_t now)
{
	const struct relay_notice *n = rte_pktmbuf_mtod(m, const struct relay_notice *);
	uint16_t next = rte_be_to_cpu_16(n->unreachable);
	struct probe_notice *pn;

	/* The hop tags say a member sent it; what it names is still checked. */
	if (rte_pktmbuf_data_len(m) < sizeof(*n) || n->reason != RELAY_NOTICE_NEXT_DOWN || !from ||
	    from >= MAX_GATEWAYS || !next || next >= MAX_GATEWAYS || next == from ||
	    next == routes_self(gw->routes)) {
		lcore_drop(gw->main_lc, m, GW_DROP_RELAY_MALFORMED);
		return;
	}
	pn = &gw->probes->notice[from];
	pn->count++;
	pn->last_ns = now;
	pn->unreachable = next;
	COUNT(&gw->main_lc->counters, notices_received, 1);
	rte_pktmbuf_free(m);
}

/* Counters and the RTT samples kept, per gateway probed: those numbered
 * above since (0: all kept). A since beyond the last sample's number is from
 * before the gateway restarted: all kept, then. Nothing is consumed. */
char *probe_dump_json(struct gateway *gw, uint64_t since, uint64_t now)
{
	struct probes *pr = gw->probes;
	struct textbuf b = { 0 };
	bool first = true;

	if (since > pr->sample_seq)
		since = 0;
	textbuf_printf(&b, "{\"interval_ms\":%u,\"seq\":%" PRIu64 ",\"links\":[", pr->interval_ms,
		       pr->sample_seq);
	for (unsigned id = 1; id < MAX_GATEWAYS; id++) {
		struct probe_link *l = &pr->link[id];
		uint64_t kept = l->nsamples < SAMPLES ? l->nsamples : SAMPLES;
		bool one = false;

		if (!l->sent)
			continue;
		textbuf_printf(&b, "%s{\"gateway\":%u,\"sent\":%" PRIu64 ",\"received\":%" PRIu64
			       ",\"since_reply_ms\":%" PRId64 ",\"rtt_us\":[",
			       first ? "" : ",", id, l->sent, l->received,
			       l->last_reply_ns ? (int64_t)((now - l->last_reply_ns) / 1000000) : -1);
		for (uint64_t i = l->nsamples - kept; i < l->nsamples; i++) {
			const struct probe_sample *smp = &l->sample[i % SAMPLES];

			if (smp->seq <= since)
				continue;
			textbuf_printf(&b, "%s%u", one ? "," : "", smp->rtt_us);
			one = true;
		}
		textbuf_printf(&b, "]}");
		first = false;
	}
	/* What relays said: the last notice of each, and how long ago. */
	textbuf_printf(&b, "],\"notices\":[");
	first = true;
	for (unsigned id = 1; id < MAX_GATEWAYS; id++) {
		const struct probe_notice *pn = &pr->notice[id];

		if (!pn->count)
			continue;
		textbuf_printf(&b, "%s{\"from\":%u,\"unreachable\":%u,\"count\":%" PRIu64
			       ",\"age_ms\":%" PRIu64 "}", first ? "" : ",", id, pn->unreachable, pn->count,
			       (now - pn->last_ns) / 1000000);
		first = false;
	}
	textbuf_printf(&b, "]}");
	return textbuf_take(&b);
}
