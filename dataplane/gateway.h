/* SPDX-License-Identifier: MIT */
/*
 * The gateway: one DPDK process with a VM-side port and a backbone port.
 *
 * N worker lcores run the packet path (worker.c: egress.c from the VM port,
 * ingress.c from the backbone port), each on its own queue of both ports. The
 * main lcore runs mainlcore.c: handshakes, timers, neighbour resolution, ICMP
 * errors, the UAPI and control sockets, and whatever the workers hand it
 * through the to_main queues (one per class, enum slow_queue). Frames the main lcore originates reach the wire through
 * to_port rings that worker 0 drains. Tables the workers read are updated
 * lock-free and old memory is reclaimed through rte_rcu_qsbr.
 *
 * Layers, each calling only those below it (files on one line do not call
 * each other, except where an arrow says so; hop.h is inline):
 *   gateway.c            setup, launch of the lcores, teardown
 *   mainlcore.c          the main lcore's loop: sockets, timers, what the
 *                        workers hand over
 *   ctl.c, uapi_socket.c the control and UAPI sockets, over sock.c
 *   worker.c             a worker's loop
 *   probe.c -> icmp.c    main lcore: probes, echo, ICMP errors, fragments
 *   ingress.c, egress.c  backbone -> VM; VM -> backbone (and the main lcore's
 *                        packets for the tunnel)
 *   hop.h, underlay.c    the inner packet's router hop; paths, relay header,
 *                        outer headers
 *   neigh.c, routes.c    Ethernet out and MAC resolution; routes and paths
 *   lcore_io.c           drop, tx, hand-off to the main lcore, clock, retirement
 *   counters.c, config.c, watchdog.c (when the main lcore may pet systemd's
 *                        watchdog)
 */
#ifndef HOPMESH_DATAPLANE_GATEWAY_H
#define HOPMESH_DATAPLANE_GATEWAY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rte_ether.h>

#include "config.h"
#include "tunnels.h"

struct lcore_ctx;
struct neigh_table;
struct lsa_store;
struct probes;
struct routes;
struct rte_mempool;
struct rte_rcu_qsbr;
struct rte_rcu_qsbr_dq;
struct rte_ring;

/* tunnels/ receiver-index table size: live indices differ in their low bits. */
#define INDEX_BITS 16

/* The workers' hand-off to the main lcore is one queue per class, each with
 * its own bound and drop counter, so that a flood of one class (ARP from any
 * neighbour) cannot crowd out another (a peer's handshake). Which reason goes
 * where: lcore_io.c; how the main lcore takes turns: mainlcore.c. */
enum slow_queue {
	SLOWQ_HANDSHAKE, /* WireGuard handshake, response, cookie reply */
	SLOWQ_ARP_ND,    /* ARP and IPv6 neighbour discovery from either port */
	SLOWQ_OTHER,     /* the rest: to us, staging, resolution, ICMP, probes */
	SLOWQ__COUNT
};

struct gateway {
	struct config cfg;
	struct wg_device *dev;
	struct routes *routes;
	uint16_t port_id[PORT_COUNT];
	struct rte_ether_addr mac[PORT_COUNT];
	struct rte_mempool *pool;
	struct rte_ring *to_main[SLOWQ__COUNT]; /* workers -> main lcore */
	struct rte_ring *to_port[PORT_COUNT]; /* main lcore -> worker 0's tx */
	struct rte_ring *handoff[MAX_WORKERS];
	/* Which worker decrypts a session, per index slot: index << 8 | flags |
	 * worker (ingress.c, session_owner()). */
	_Atomic uint64_t *owner;
	struct neigh_table *neigh[PORT_COUNT];
	struct rte_rcu_qsbr *qsbr;
	struct rte_rcu_qsbr_dq *retired;
	int wake_fd;
	atomic_bool wake_pending;
	/* Worker 0 asleep (worker.c): the main lcore, having queued on to_port,
	 * wakes it through tx_wake_fd (lcore_tx) instead of waiting out its sleep. */
	int tx_wake_fd;
	atomic_bool tx_asleep;
	atomic_bool quit;
	struct lcore_ctx *main_lc;
	struct lcore_ctx *worker_lc[MAX_WORKERS];
	unsigned workers;
	struct probes *probes;
	struct lsa_store *lsas;
	uint64_t started_ns;
};

/* Needs gw->cfg and gw->workers set and EAL up (gw->workers + 1 lcores). */
bool gateway_setup(struct gateway *gw, const uint8_t key[WG_KEY_LEN]);
/* Workers on the worker lcores, the main lcore's loop on this one, until
 * SIGINT/SIGTERM or gw->quit. */
int gateway_run(struct gateway *gw);
void gateway_teardown(struct gateway *gw);

/* addr (in packet memory) is the gateway's own IPv6 address on port. */
static inline bool gateway_ip6_is_ours(const struct gateway *gw, unsigned port, const uint8_t *addr)
{
	const struct in6_addr *a = &gw->cfg.port[port].address6;

	return !IN6_IS_ADDR_UNSPECIFIED(a) && !memcmp(addr, a->s6_addr, 16);
}

#endif
