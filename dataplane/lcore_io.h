/* SPDX-License-Identifier: MIT */
/*
 * The lowest layer of the packet path, shared by the main lcore and the
 * workers: what an lcore does with a packet it is done with. It drops it with
 * a reason (and counts it), queues it for transmission, or hands it to the
 * main lcore with a note of why (struct pkt_meta), in the queue of that
 * reason's class, and wakes it. Also the
 * clock, and retirement of memory the workers may still be reading.
 *
 * Transmission depends on who sends: a worker batches frames per port and
 * sends them on its own queue (lcore_tx_flush); the main lcore owns no queue,
 * so its frames go through gw->to_port, which worker 0 drains into its own
 * batches (lcore_tx_drain). Nothing here calls up into the layers above.
 */
#ifndef HOPMESH_DATAPLANE_LCORE_IO_H
#define HOPMESH_DATAPLANE_LCORE_IO_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

#include "config.h"
#include "counters.h"

struct gateway;
struct rte_ring;

#define TX_BUF 64

/* One per lcore: the main lcore's is gw->main_lc, worker w's gw->worker_lc[w]. */
struct lcore_ctx {
	struct gateway *gw;
	struct wg_crypto *crypto;
	struct counters counters;
	bool is_worker;
	unsigned worker; /* index, also its queue on both ports */
	uint16_t ip_id;
	/* Worker: turns of its loop, for the main lcore's systemd watchdog
	 * (watchdog.h); written by the worker only. */
	_Atomic uint64_t polls;
	struct rte_mbuf *tx[PORT_COUNT][TX_BUF];
	unsigned ntx[PORT_COUNT];
};

uint64_t mono_ns(void);

/* The receive entry, on pkts[0..n) as rx_burst gave them from port: frames in
 * more than one segment are counted (received, and dropped as multi_segment)
 * and freed, since the packet path reads a frame as one contiguous buffer;
 * the rest are packed to the front, in order. Returns how many are left. */
unsigned lcore_rx_whole(struct lcore_ctx *lc, unsigned port, struct rte_mbuf **pkts, unsigned n);
/* Count m under reason and free it. */
void lcore_drop(struct lcore_ctx *lc, struct rte_mbuf *m, unsigned reason);
/* Count a finished frame and queue it for port: the worker's own batch (sent
 * when full or by lcore_tx_flush), or, on the main lcore, worker 0's ring. */
void lcore_tx(struct lcore_ctx *lc, unsigned port, struct rte_mbuf *m);
/* Worker: send what is batched for port on its queue; what the port refuses
 * after a few tries is dropped as tx_full. */
void lcore_tx_flush(struct lcore_ctx *lc, unsigned port);
/* Worker 0: frames the main lcore queued (already counted) into its batch for
 * port. Returns how many. */
unsigned lcore_tx_drain(struct lcore_ctx *lc, struct rte_ring *r, unsigned port);

/* ---- the hand-off to the main lcore ---- */

/* Why a worker handed a packet to the main lcore. */
enum slow_reason {
	SLOW_HANDSHAKE = 1, /* backbone: WireGuard types 1-3 (maybe relayed) */
	SLOW_ARP,           /* either port */
	SLOW_ND,            /* IPv6 neighbour discovery, either port */
	SLOW_LOCAL,         /* addressed to the gateway itself */
	SLOW_STAGE,         /* VM packet (at its IP header) whose peer has no session */
	SLOW_NEIGH,         /* finished frame whose next-hop MAC is unknown */
	SLOW_ICMP,          /* packet (at its IP header) that needs an ICMP error */
	SLOW_FRAGMENT,      /* IPv4 packet (at its IP header) over the MTU, DF clear */
	SLOW_OVERLAY,       /* decrypted packet (at its IP header) for our overlay
			     * address: a probe, or a remote VM's ping; src_gw */
	SLOW_NOTICE,        /* a relay's notice (at its struct relay_notice),
			     * authenticated hop by hop; src_gw: the relay */
};

enum icmp_kind { ICMP_TIME_EXCEEDED = 1, ICMP_TOO_BIG };

/* What a worker tells the main lcore about a packet (mbuf dynamic field). */
struct pkt_meta {
	uint8_t next_hop[16]; /* SLOW_NEIGH: the neighbour to resolve (neigh key) */
	uint8_t reason;       /* enum slow_reason */
	uint8_t port;         /* the port it came from, or (SLOW_NEIGH) leaves by */
	uint8_t relayed;      /* SLOW_HANDSHAKE: came through a relay */
	uint8_t icmp_kind;    /* SLOW_ICMP */
	uint16_t src_gw;      /* relayed: the gateway it came from; SLOW_ICMP: speak
				 * for this relay gateway (0: ourselves) */
	uint16_t mtu;         /* SLOW_ICMP too big / SLOW_FRAGMENT: the path MTU */
};
extern int pkt_meta_offset;
static inline struct pkt_meta *pkt_meta(struct rte_mbuf *m)
{
	return RTE_MBUF_DYNFIELD(m, pkt_meta_offset, struct pkt_meta *);
}
bool pkt_meta_register(void);

/* m's note, cleared, with why and port filled in. */
struct pkt_meta *lcore_note(struct rte_mbuf *m, enum slow_reason why, unsigned port);
/* The main lcore's queue (enum slow_queue, gateway.h) for reason why. */
unsigned lcore_slow_queue(enum slow_reason why);
/* m (noted) into the main lcore's queue for its reason, and the main lcore
 * woken; if that queue is full, dropped as its slowpath_full_* reason. */
void lcore_to_main(struct lcore_ctx *lc, struct rte_mbuf *m);
static inline void lcore_slow(struct lcore_ctx *lc, struct rte_mbuf *m, enum slow_reason why,
			      unsigned port)
{
	lcore_note(m, why, port);
	lcore_to_main(lc, m);
}
/* Wake the main lcore from epoll (once until it reads the eventfd). */
void lcore_wake_main(struct gateway *gw);

/* ---- memory the workers may be reading ---- */

/* Memory handed to rte_rcu_qsbr_dq, freed once no worker can hold it. */
struct retired {
	void *obj;
	void (*destroy)(void *obj);
};
/* Main lcore: free obj with destroy once no worker can hold it. */
void lcore_retire(struct gateway *gw, void *obj, void (*destroy)(void *obj));

#endif
