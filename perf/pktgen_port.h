/* SPDX-License-Identifier: MIT */
/*
 * perf/pktgen on DPDK ports: a run's settings, what it counted, and the
 * loops that send and receive (pktgen_port.c).
 */
#ifndef HOPMESH_PERF_PKTGEN_PORT_H
#define HOPMESH_PERF_PKTGEN_PORT_H

#include <stdatomic.h>
#include <stdint.h>

#include <rte_mempool.h>

#include "pktgen.h"

struct pg_run {
	uint16_t tx_port, rx_port;
	uint64_t rate;       /* packets per second; 0: as fast as the port takes them */
	unsigned size;       /* IP length, or PG_SIZE_IMIX */
	uint64_t count;      /* stop after this many sent; 0: by time only */
	double seconds;      /* stop sending after this long */
	unsigned drain_ms;   /* keep receiving this long after the last send */
	struct pg_tmpl tmpl;
	struct rte_mempool *pool;
	uint64_t hz;         /* TSC cycles per second, measured (pg_tsc_hz()) */
	atomic_bool stop;    /* a signal: stop sending now */
};

struct pg_tx_stats {
	uint64_t packets, bytes;
	uint64_t refused;    /* built, then not taken by the port (sent again later) */
	uint64_t start_tsc, end_tsc;
};

struct pg_rx_stats {
	uint64_t frames;     /* everything the rx port gave us */
	uint64_t bytes;      /* frames of ours, duplicates left out */
	uint64_t foreign_short, foreign_not_udp4, foreign_magic;
	uint64_t clock_back; /* a stamp later than its arrival: no latency sample */
	uint64_t first_tsc, last_tsc;
	uint64_t hops[256];  /* by TTL sent minus TTL received, mod 256 */
	struct pg_window win;
	struct pg_hist lat_cycles;
};

/* Sends on the calling lcore until done; with rx non-NULL also receives in
 * the same loop (one lcore for both), through the drain. */
void pg_run_tx(struct pg_run *r, struct pg_tx_stats *tx, struct pg_rx_stats *rx,
	       _Atomic uint64_t *tx_end);
/* Receives until drain_ms after *tx_end is set (non-zero). */
void pg_run_rx(struct pg_run *r, struct pg_rx_stats *rx, _Atomic uint64_t *tx_end);

#endif
