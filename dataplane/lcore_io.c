// SPDX-License-Identifier: MIT
/*
 * The lcores' common ground (lcore_io.h): drop, tx batching, the hand-off to
 * the main lcore and its wake-up, the clock, RCU retirement.
 *
 *   worker:     lcore_tx() -> lc->tx[port] -> lcore_tx_flush() -> rte_eth_tx_burst
 *   main lcore: lcore_tx() -> gw->to_port[port] -> worker 0's lcore_tx_drain()
 *   worker:     lcore_to_main() -> gw->to_main[its reason's class]
 *               -> lcore_wake_main() (eventfd)
 */
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_ethdev.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "gateway.h"
#include "lcore_io.h"

#define BURST 32

int pkt_meta_offset = -1;

bool pkt_meta_register(void)
{
	static const struct rte_mbuf_dynfield desc = {
		.name = "hopmesh_pkt_meta",
		.size = sizeof(struct pkt_meta),
		.align = __alignof__(struct pkt_meta),
	};

	pkt_meta_offset = rte_mbuf_dynfield_register(&desc);
	return pkt_meta_offset >= 0;
}

uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void lcore_wake_main(struct gateway *gw)
{
	uint64_t one = 1;

	if (!atomic_exchange_explicit(&gw->wake_pending, true, memory_order_acq_rel) &&
	    write(gw->wake_fd, &one, sizeof(one)) < 0) {
		/* The eventfd counter cannot overflow at one write per wake-up; the
		 * main lcore also polls on its tick, so a lost wake-up only delays. */
	}
}

void lcore_drop(struct lcore_ctx *lc, struct rte_mbuf *m, unsigned reason)
{
	COUNT(&lc->counters, drop[reason], 1);
	rte_pktmbuf_free(m);
}

unsigned lcore_rx_whole(struct lcore_ctx *lc, unsigned port, struct rte_mbuf **pkts, unsigned n)
{
	unsigned k = 0;

	for (unsigned i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];

		if (likely(m->nb_segs == 1)) {
			pkts[k++] = m;
			continue;
		}
		/* Counted as received here: egress/ingress count what they see. */
		COUNT(&lc->counters, rx_packets[port], 1);
		COUNT(&lc->counters, rx_bytes[port], rte_pktmbuf_pkt_len(m));
		lcore_drop(lc, m, GW_DROP_MULTI_SEGMENT);
	}
	return k;
}

struct pkt_meta *lcore_note(struct rte_mbuf *m, enum slow_reason why, unsigned port)
{
	struct pkt_meta *meta = pkt_meta(m);

	memset(meta, 0, sizeof(*meta));
	meta->reason = (uint8_t)why;
	meta->port = (uint8_t)port;
	return meta;
}

unsigned lcore_slow_queue(enum slow_reason why)
{
	switch (why) {
	case SLOW_HANDSHAKE:
	case SLOW_NOTICE: /* a member's word, and rare: not behind a flood */
		return SLOWQ_HANDSHAKE;
	case SLOW_ARP:
	case SLOW_ND:
		return SLOWQ_ARP_ND;
	default:
		return SLOWQ_OTHER;
	}
}

void lcore_to_main(struct lcore_ctx *lc, struct rte_mbuf *m)
{
	static const unsigned full[SLOWQ__COUNT] = {
		[SLOWQ_HANDSHAKE] = GW_DROP_SLOWPATH_FULL_HANDSHAKE,
		[SLOWQ_ARP_ND] = GW_DROP_SLOWPATH_FULL_ARP_ND,
		[SLOWQ_OTHER] = GW_DROP_SLOWPATH_FULL_OTHER,
	};
	unsigned q = lcore_slow_queue((enum slow_reason)pkt_meta(m)->reason);

	if (rte_ring_enqueue(lc->gw->to_main[q], m)) {
		lcore_drop(lc, m, full[q]);
		return;
	}
	lcore_wake_main(lc->gw);
}

/* ---- transmit ---- */

void lcore_tx_flush(struct lcore_ctx *lc, unsigned port)
{
	struct gateway *gw = lc->gw;
	unsigned n = lc->ntx[port], sent = 0;

	for (int tries = 0; sent < n && tries < 4; tries++)
		sent += rte_eth_tx_burst(gw->port_id[port], (uint16_t)lc->worker, lc->tx[port] + sent,
					 (uint16_t)(n - sent));
	for (unsigned i = sent; i < n; i++)
		lcore_drop(lc, lc->tx[port][i], GW_DROP_TX_FULL);
	lc->ntx[port] = 0;
}

void lcore_tx(struct lcore_ctx *lc, unsigned port, struct rte_mbuf *m)
{
	COUNT(&lc->counters, tx_packets[port], 1);
	COUNT(&lc->counters, tx_bytes[port], rte_pktmbuf_pkt_len(m));
	if (!lc->is_worker) {
		uint64_t one = 1;

		if (rte_ring_enqueue(lc->gw->to_port[port], m))
			lcore_drop(lc, m, GW_DROP_TX_FULL);
		else if (atomic_exchange(&lc->gw->tx_asleep, false) &&
			 write(lc->gw->tx_wake_fd, &one, sizeof(one)) < 0) {
			/* Worker 0 looks at the ring after saying it sleeps
			 * (worker.c): it saw this frame, or we see it asleep. A
			 * failed write leaves the frame to the end of its sleep. */
		}
		return;
	}
	lc->tx[port][lc->ntx[port]++] = m;
	if (lc->ntx[port] == TX_BUF)
		lcore_tx_flush(lc, port);
}

unsigned lcore_tx_drain(struct lcore_ctx *lc, struct rte_ring *r, unsigned port)
{
	struct rte_mbuf *pkts[BURST];
	unsigned n = rte_ring_dequeue_burst(r, (void **)pkts, BURST, NULL);

	for (unsigned i = 0; i < n; i++) {
		lc->tx[port][lc->ntx[port]++] = pkts[i];
		if (lc->ntx[port] == TX_BUF)
			lcore_tx_flush(lc, port);
	}
	return n;
}

/* ---- reclamation ---- */

void lcore_retire(struct gateway *gw, void *obj, void (*destroy)(void *))
{
	struct retired r = { obj, destroy };

	if (rte_rcu_qsbr_dq_enqueue(gw->retired, &r) == 0)
		return;
	/* Queue full even after reclaiming: wait out a grace period here. */
	rte_rcu_qsbr_synchronize(gw->qsbr, RTE_QSBR_THRID_INVALID);
	destroy(obj);
}
