/* SPDX-License-Identifier: MIT */
/*
 * Neighbours per port (neigh.c): the last step of every frame the gateway
 * sends, the Ethernet header. Keys are 16-byte addresses, IPv4 in
 * ::ffff:0:0/96. Written by the main lcore, read lock-free by the workers.
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
#define NEIGH_HOLD 32
struct neigh_slot {
	uint8_t addr[16];
	_Atomic uint32_t ready;  /* addr is written and final */
	_Atomic uint64_t mac;    /* low 48 bits; bit 63: valid */
	/* main lcore only */
	uint64_t confirmed, last_request, hold_since;
	struct rte_mbuf *held[NEIGH_HOLD];
	unsigned nheld;
};
struct neigh_table {
	struct neigh_slot slot[NEIGH_SLOTS];
};

void neigh_key4(uint8_t key[16], uint32_t ip);
bool neigh_lookup(const struct neigh_table *t, const uint8_t key[16], struct rte_ether_addr *mac);
/* Any lcore: an Ethernet header in front of the IP packet at m's start,
 * towards next_hop (key) on port, and the frame queued for port. An unknown
 * MAC: a worker hands the frame to the main lcore, which holds it here. */
void neigh_output(struct lcore_ctx *lc, unsigned port, struct rte_mbuf *m,
		  const uint8_t next_hop[16]);

/* ---- main lcore ---- */

/* Hold m (a finished frame) until the MAC of key on port is known. */
void neigh_resolve(struct gateway *gw, unsigned port, const uint8_t key[16], struct rte_mbuf *m,
		   uint64_t now);
void neigh_input_arp(struct gateway *gw, unsigned port, struct rte_mbuf *m, uint64_t now);
void neigh_input_nd(struct gateway *gw, unsigned port, struct rte_mbuf *m, uint64_t now);
void neigh_maintain(struct gateway *gw, uint64_t now);
/* Resolve key on port before anything needs it (a path may switch to it). */
void neigh_prime(struct gateway *gw, unsigned port, const uint8_t key[16], uint64_t now);

#endif
