/* SPDX-License-Identifier: MIT */
/*
 * Neighbours per port (neigh.c): the last step of every frame the gateway
 * sends, the Ethernet header. Keys are 16-byte addresses, IPv4 in
 * ::ffff:0:0/96. Written by the main lcore, read lock-free by the workers.
 *
 * Bounded against whoever sends traffic to addresses nobody has: a table of
 * NEIGH_SLOTS per port of which at most NEIGH_UNRESOLVED_MAX are being
 * resolved, NEIGH_HOLD frames parked per neighbour and NEIGH_PARKED_MAX on
 * the whole gateway; an unresolved neighbour is given up after
 * NEIGH_RESOLVE_NS, a resolved one that stops answering after
 * NEIGH_STALE_NS. ARP and ND only update neighbours that have a slot.
 */
#ifndef HOPMESH_DATAPLANE_NEIGH_H
#define HOPMESH_DATAPLANE_NEIGH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_mbuf.h>

struct gateway;
struct lcore_ctx;

#define NEIGH_SLOTS 4096
#define NEIGH_WINDOW 32            /* a key lives in its hash's slot or the 31 after it */
#define NEIGH_HOLD 3               /* frames parked per neighbour (Linux's unres_qlen) */
#define NEIGH_PARKED_MAX 1024      /* frames parked on the whole gateway */
#define NEIGH_UNRESOLVED_MAX 256   /* neighbours being resolved, per port */
#define NEIGH_RESOLVE_NS 3000000000ULL /* unresolved: given up (3 requests, 1 s apart) */
#define NEIGH_REFRESH_NS 60000000000ULL /* resolved: asked again every 10 s after this */
#define NEIGH_STALE_NS 90000000000ULL   /* resolved but silent this long: forgotten */

enum neigh_state { NEIGH_FREE, NEIGH_UNRESOLVED, NEIGH_RESOLVED };

struct neigh_slot {
	/* What the workers read, as one consistent snapshot: seq is odd while
	 * the main lcore rewrites key and mac (a seqlock). A free slot's key is
	 * all zero, which is no neighbour's. */
	_Atomic uint32_t seq;
	_Atomic uint64_t key[2];  /* the address's 16 bytes as two words */
	_Atomic uint64_t mac;     /* low 48 bits; bit 63: valid */
	/* main lcore only */
	uint8_t state;            /* enum neigh_state */
	uint8_t nheld;
	uint8_t addr[16];
	uint64_t created, confirmed, last_request;
	struct rte_mbuf *held[NEIGH_HOLD];
};
struct neigh_table {
	struct neigh_slot slot[NEIGH_SLOTS];
	/* Gauges, main lcore only (the control socket reads them there). */
	unsigned entries, unresolved, parked;
};

void neigh_key4(uint8_t key[16], uint32_t ip);
bool neigh_lookup(const struct neigh_table *t, const uint8_t key[16], struct rte_ether_addr *mac);
/* Any lcore: an Ethernet header in front of the IP packet at m's start,
 * towards next_hop (key) on port, and the frame queued for port. An unknown
 * MAC: a worker hands the frame to the main lcore, which parks it here. */
void neigh_output(struct lcore_ctx *lc, unsigned port, struct rte_mbuf *m,
		  const uint8_t next_hop[16]);

/* ---- main lcore ---- */

/* Park m (a finished frame) until the MAC of key on port is known, or drop
 * it with a counted reason when a bound is reached. */
void neigh_resolve(struct gateway *gw, unsigned port, const uint8_t key[16], struct rte_mbuf *m,
		   uint64_t now);
void neigh_input_arp(struct gateway *gw, unsigned port, struct rte_mbuf *m, uint64_t now);
void neigh_input_nd(struct gateway *gw, unsigned port, struct rte_mbuf *m, uint64_t now);
/* Requests again, gives up and forgets, by the times above. */
void neigh_maintain(struct gateway *gw, uint64_t now);
/* Resolve key on port before anything needs it (a path may switch to it). */
void neigh_prime(struct gateway *gw, unsigned port, const uint8_t key[16], uint64_t now);

#endif
