// SPDX-License-Identifier: MIT
/*
 * perf/pktgen's two loops, on queue 0 of each port.
 *
 *   tx (main lcore): tx_step(): how many packets are due by now at the
 *     rate (a burst at most; all of it without a rate), mbufs from the pool,
 *     pg_frame_build() with the TSC now, rte_eth_tx_burst(); what the port
 *     did not take is freed and its sequence numbers built again next time,
 *     so that the numbers the receiver sees are exactly 0 .. sent - 1.
 *   rx (second lcore, or the same loop when there is only one): rx_step():
 *     rte_eth_rx_burst(), the TSC, pg_frame_parse() of each frame; ours go to
 *     the sequence window, the latency histogram and the hop counts, the
 *     rest are counted by why they are not ours.
 *
 * Both stamps are the same process's TSC (constant and synchronised across
 * cores on the machines we run on), so a latency is one subtraction.
 */
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_pause.h>

#include "pktgen_port.h"

#define BURST 32

static void rx_step(struct pg_run *r, struct pg_rx_stats *rx)
{
	struct rte_mbuf *pkts[BURST];
	uint16_t n = rte_eth_rx_burst(r->rx_port, 0, pkts, BURST);
	uint64_t now;

	if (!n)
		return;
	now = rte_rdtsc();
	rx->frames += n;
	for (uint16_t i = 0; i < n; i++) {
		struct pg_rx_info info;

		/* The first segment only: our frames fit one mbuf, and a
		 * header that ran over into a second would be read past
		 * data_len. */
		switch (pg_frame_parse(rte_pktmbuf_mtod(pkts[i], const uint8_t *),
				       rte_pktmbuf_data_len(pkts[i]), r->tmpl.run, &info)) {
		case PG_OURS:
			break;
		case PG_FOREIGN_SHORT:
			rx->foreign_short++;
			continue;
		case PG_FOREIGN_NOT_UDP4:
			rx->foreign_not_udp4++;
			continue;
		case PG_FOREIGN_MAGIC:
			rx->foreign_magic++;
			continue;
		}
		if (!pg_window_add(&rx->win, info.seq))
			continue;
		if (!rx->first_tsc)
			rx->first_tsc = now;
		rx->last_tsc = now;
		rx->bytes += PG_ETH_LEN + info.ip_len;
		rx->hops[(uint8_t)(info.ttl_sent - info.ttl_now)]++;
		if (info.tsc > now)
			rx->clock_back++;
		else
			pg_hist_add(&rx->lat_cycles, now - info.tsc);
	}
	rte_pktmbuf_free_bulk(pkts, n);
}

/* Packets due at now: all sent so far plus what the rate allows since the
 * start, a burst at most so that a stall is not made up in one go. */
static unsigned tx_due(const struct pg_run *r, const struct pg_tx_stats *tx, uint64_t now,
		       uint64_t hz)
{
	unsigned __int128 due;

	if (!r->rate)
		return BURST;
	due = (unsigned __int128)(now - tx->start_tsc) * r->rate / hz + 1;
	if (due <= tx->packets)
		return 0;
	return due - tx->packets > BURST ? BURST : (unsigned)(due - tx->packets);
}

static void tx_step(struct pg_run *r, struct pg_tx_stats *tx, unsigned n)
{
	struct rte_mbuf *pkts[BURST];
	uint64_t now;
	uint16_t sent;

	if (r->count && n > r->count - tx->packets)
		n = (unsigned)(r->count - tx->packets);
	if (!n || rte_pktmbuf_alloc_bulk(r->pool, pkts, n))
		return;
	now = rte_rdtsc();
	for (unsigned i = 0; i < n; i++) {
		uint64_t seq = tx->packets + i;
		size_t len = pg_frame_build(rte_pktmbuf_mtod(pkts[i], uint8_t *),
					    rte_pktmbuf_tailroom(pkts[i]), &r->tmpl,
					    pg_packet_size(r->size, seq), seq, now);

		pkts[i]->data_len = (uint16_t)len;
		pkts[i]->pkt_len = (uint32_t)len;
	}
	sent = rte_eth_tx_burst(r->tx_port, 0, pkts, (uint16_t)n);
	for (uint16_t i = 0; i < sent; i++)
		tx->bytes += PG_ETH_LEN + pg_packet_size(r->size, tx->packets + i);
	tx->packets += sent;
	tx->end_tsc = now;
	if (sent < n) {
		tx->refused += n - sent;
		rte_pktmbuf_free_bulk(pkts + sent, n - sent);
	}
}

static bool drained(const struct pg_run *r, _Atomic uint64_t *tx_end, uint64_t hz)
{
	uint64_t end = atomic_load(tx_end);

	return end && rte_rdtsc() - end > (uint64_t)r->drain_ms * hz / 1000;
}

void pg_run_tx(struct pg_run *r, struct pg_tx_stats *tx, struct pg_rx_stats *rx,
	       _Atomic uint64_t *tx_end)
{
	uint64_t hz = r->hz, limit = (uint64_t)(r->seconds * (double)hz);

	tx->start_tsc = tx->end_tsc = rte_rdtsc();
	for (;;) {
		uint64_t now = rte_rdtsc();

		if (atomic_load(&r->stop) || (r->count && tx->packets >= r->count) ||
		    now - tx->start_tsc >= limit)
			break;
		tx_step(r, tx, tx_due(r, tx, now, hz));
		if (rx)
			rx_step(r, rx);
		else if (r->rate)
			rte_pause();
	}
	atomic_store(tx_end, rte_rdtsc());
	if (rx)
		pg_run_rx(r, rx, tx_end);
}

void pg_run_rx(struct pg_run *r, struct pg_rx_stats *rx, _Atomic uint64_t *tx_end)
{
	uint64_t hz = r->hz;

	while (!drained(r, tx_end, hz))
		rx_step(r, rx);
}
