// SPDX-License-Identifier: MIT
/*
 * A worker lcore's loop: poll its queue of each port and its hand-off ring,
 * refuse frames in more than one segment (lcore_rx_whole: the packet path
 * assumes one), run the bursts through egress.c and ingress.c, send what
 * they queued, and report a quiescent state to RCU. Worker 0 also sends the frames the main
 * lcore built (gw->to_port). When idle, and not busy-polling, it sleeps in
 * rx_wait.c: until a frame reaches a port's socket, the main lcore queues a
 * frame for worker 0 (gw->tx_wake_fd), or a timeout that bounds how long the
 * hand-off ring can wait.
 */

#include <rte_ethdev.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "egress.h"
#include "gateway.h"
#include "ingress.h"
#include "lcore_io.h"
#include "rx_wait.h"
#include "worker.h"

#define BURST 32

/* Adaptive idle: after a stretch of empty polls, sleep in growing steps up to
 * IDLE_MAX_US, offline for RCU so reclamation does not wait on a sleeper. A
 * frame on a port, or from the main lcore, ends the sleep at once (rx_wait.c),
 * so the steps only bound what waits in the hand-off ring and keep the
 * watchdog's polls coming. A sleep of fixed length cost light traffic half a
 * step per gateway on average (p50 1.6 ms per round trip through two gateways
 * at one ping per 10 ms), and shorter steps cost too much idle CPU: a wake-up
 * costs 15-30 us of CPU on a VM, 1.5-3 % of a core at 1,000 a second.
 * Woken by a frame, the worker spins again before sleeping: a frame for one
 * of its sessions that another worker's queue took comes through the
 * hand-off ring a moment later. */
#define IDLE_SPINS 512
#define IDLE_MAX_US 1000

static void idle_wait(struct lcore_ctx *lc, struct rx_wait *rw, unsigned *empty, unsigned *sleep_us)
{
	struct gateway *gw = lc->gw;

	if (++*empty < IDLE_SPINS) {
		rte_pause();
		return;
	}
	*sleep_us = *sleep_us ? (*sleep_us * 2 > IDLE_MAX_US ? IDLE_MAX_US : *sleep_us * 2) : 10;
	if (lc->worker == 0) {
		/* Say so before the last look at the main lcore's rings: a frame
		 * queued after that look finds tx_asleep set (lcore_tx). */
		atomic_store(&gw->tx_asleep, true);
		atomic_thread_fence(memory_order_seq_cst);
		if (!rte_ring_empty(gw->to_port[0]) || !rte_ring_empty(gw->to_port[1])) {
			atomic_store(&gw->tx_asleep, false);
			return;
		}
	}
	rte_rcu_qsbr_thread_offline(gw->qsbr, lc->worker);
	if (rx_wait_sleep(rw, *sleep_us))
		*empty = *sleep_us = 0;
	rte_rcu_qsbr_thread_online(gw->qsbr, lc->worker);
	if (lc->worker == 0)
		atomic_store(&gw->tx_asleep, false);
}

/* The clock, read once per poll and only when a burst has frames: an idle
 * worker polls millions of times a second, and where the clock source is not
 * the TSC (kvm-clock) a read is dear. Two workers spent 34 % of their samples
 * in clock_gettime() when every poll read it (docs/PERFORMANCE.md). */
static uint64_t poll_now(uint64_t *now)
{
	if (!*now)
		*now = mono_ns();
	return *now;
}

unsigned worker_poll(struct lcore_ctx *lc)
{
	struct gateway *gw = lc->gw;
	uint16_t q = (uint16_t)lc->worker;
	struct rte_mbuf *pkts[BURST];
	unsigned work = 0, n;
	uint64_t now = 0;

	n = rte_eth_rx_burst(gw->port_id[PORT_VM], q, pkts, BURST);
	work += n;
	if (n && (n = lcore_rx_whole(lc, PORT_VM, pkts, n)))
		egress_burst(lc, pkts, n, poll_now(&now));
	n = rte_eth_rx_burst(gw->port_id[PORT_BACKBONE], q, pkts, BURST);
	work += n;
	if (n && (n = lcore_rx_whole(lc, PORT_BACKBONE, pkts, n)))
		ingress_burst(lc, pkts, n, poll_now(&now), false);
	/* Data messages other workers received for sessions we own. */
	n = rte_ring_dequeue_burst(gw->handoff[lc->worker], (void **)pkts, BURST, NULL);
	if (n)
		ingress_burst(lc, pkts, n, poll_now(&now), true);
	work += n;
	if (lc->worker == 0)
		for (unsigned p = 0; p < PORT_COUNT; p++)
			work += lcore_tx_drain(lc, gw->to_port[p], p);
	for (unsigned p = 0; p < PORT_COUNT; p++)
		if (lc->ntx[p])
			lcore_tx_flush(lc, p);
	return work;
}

int worker_run(void *arg)
{
	struct lcore_ctx *lc = arg;
	struct gateway *gw = lc->gw;
	unsigned empty = 0, sleep_us = 0, socks;
	struct rx_wait rw;

	socks = rx_wait_init(&rw, gw->port_id, PORT_COUNT, lc->worker == 0 ? gw->tx_wake_fd : -1);
	/* Said once, for the operator: with no socket (a PMD whose queues are
	 * not sockets) an idle worker only wakes on its timeout, and a frame
	 * waits up to IDLE_MAX_US at each gateway. */
	if (!gw->cfg.busy_poll && socks)
		fprintf(stderr, "%s: worker %u: idle waits on %u port sockets\n", gw->cfg.name, lc->worker, socks);
	else if (!gw->cfg.busy_poll)
		fprintf(stderr, "%s: worker %u: no port socket to wait on: idle wakes every %u us (idle = poll for less latency)\n",
			gw->cfg.name, lc->worker, IDLE_MAX_US);
	rte_rcu_qsbr_thread_register(gw->qsbr, lc->worker);
	rte_rcu_qsbr_thread_online(gw->qsbr, lc->worker);
	while (!atomic_load_explicit(&gw->quit, memory_order_relaxed)) {
		unsigned work = worker_poll(lc);

		rte_rcu_qsbr_quiescent(gw->qsbr, lc->worker);
		/* Its only writer: no locked add on the packet path. */
		atomic_store_explicit(&lc->polls, atomic_load_explicit(&lc->polls, memory_order_relaxed) + 1,
				      memory_order_relaxed);
		if (work) {
			empty = 0;
			sleep_us = 0;
		} else if (!gw->cfg.busy_poll) {
			idle_wait(lc, &rw, &empty, &sleep_us);
		}
	}
	rte_rcu_qsbr_thread_offline(gw->qsbr, lc->worker);
	rte_rcu_qsbr_thread_unregister(gw->qsbr, lc->worker);
	return 0;
}
