/* SPDX-License-Identifier: MIT */
/*
 * Routes (routes.c): destination prefixes -> destination gateways -> paths.
 * Workers look up without locks; the main lcore changes them on the control
 * socket's commands.
 */
#ifndef HOPMESH_DATAPLANE_ROUTES_H
#define HOPMESH_DATAPLANE_ROUTES_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include "tunnels.h"

struct gateway;
struct relay_key;
struct rte_rcu_qsbr;

#define MAX_GATEWAYS 4096 /* ids 1..4095: 12 bits each */
#define PATH_WORD_HOPS 4  /* the most backbone hops a path word holds */

/*
 * A path word: the whole path to a gateway, swapped in with one 64-bit store
 * so that a worker never reads half of an old path and half of a new one.
 * Bits 0-3: backbone hops (0: none installed, the direct path); bits 4 + 12 i:
 * the i-th gateway after us, the last being the destination.
 */
static inline uint64_t path_word(const uint16_t *gw, unsigned hops)
{
	uint64_t w = hops;

	for (unsigned i = 0; i < hops; i++)
		w |= (uint64_t)(gw[i] & 0xfff) << (4 + 12 * i);
	return w;
}
static inline unsigned path_word_hops(uint64_t w) { return (unsigned)(w & 0xf); }
static inline uint16_t path_word_gw(uint64_t w, unsigned i)
{
	return (uint16_t)((w >> (4 + 12 * i)) & 0xfff);
}

/* A gateway of the mesh, by its id. */
struct gw_entry {
	_Atomic(struct wg_peer *) peer; /* its WireGuard peer, NULL until bound */
	_Atomic uint64_t path;          /* a path word; 0: direct */
	/* The key of relay tags between it and us (relay_auth.h); NULL while
	 * unbound or without our identity. */
	_Atomic(struct relay_key *) relay_key;
	/* Its residency zone (an index into the routes' zone names), 0: none.
	 * Read per relayed packet (routes_path_resident()). */
	_Atomic uint8_t zone;
	/* meshd's word on our direct link to it (link ID up|down): a relay
	 * forwards nothing to a gateway it cannot reach, and tells the
	 * source instead. Read per relayed packet. */
	_Atomic bool link_down;
	/* When we last sent it a notice as a source (TSC): a flood through
	 * a broken relay earns it a few notices, not one per frame. */
	_Atomic uint64_t notice_tsc;
	/* Its overlay addresses: the source of ICMP errors sent in its name. */
	struct in_addr overlay4;
	struct in6_addr overlay6;
	/* main lcore only */
	uint8_t public_key[WG_KEY_LEN];
	bool configured;
	char name[32];
};

struct routes;
/* hop_ceiling: the configuration's hop_limit, above which no pushed limit goes. */
struct routes *routes_new(struct rte_rcu_qsbr *qsbr, uint32_t host_routes, uint8_t hop_ceiling,
			  char *err, size_t errlen);
void routes_free(struct routes *r);
/* Data path: the gateway owning an address, 0 if no route. */
uint16_t routes_lookup(const struct routes *r, sa_family_t family, const void *addr);
/* The same for n (at most 64) IPv4 addresses at once, network order: the hash
 * lookups of a burst overlap their cache misses. */
void routes_lookup4_bulk(const struct routes *r, const uint32_t *addr, unsigned n,
			 uint16_t *dst_gw);
struct gw_entry *routes_gateway(struct routes *r, uint16_t id);
uint16_t routes_self(const struct routes *r);
/* The effective hop limit: the pushed one (hop_limit set), never above the
 * ceiling; the ceiling until one is pushed. Read per packet. */
unsigned routes_hop_limit(const struct routes *r);
/* Whether a frame on the path gws[0] (its source), ..., gws[n - 1] (its
 * destination) keeps to the residency policy (residency on|off, pushed by
 * meshd): when the source and the destination are gateways of one zone, every
 * gateway between them is of that zone too. Gateways we know no zone of are
 * of none. Read per relayed packet, at the source and at every relay. */
bool routes_path_resident(const struct routes *r, const uint16_t *gws, unsigned n);
/* Main lcore: the control socket's route, path, hop_limit, residency, link and gateway commands;
 * replies with one JSON line into out. */
void routes_command(struct routes *r, struct gateway *gw, char *line, char *out, size_t outlen);
/* Main lcore, each tick: bind gateways to peers added since, publish IPv6. */
void routes_maintain(struct routes *r, struct gateway *gw);
/* tunnels/ added a peer: bind the gateway that has its key, at once. */
void routes_peer_added(struct routes *r, struct gateway *gw, struct wg_peer *peer);
/* tunnels/ removed a peer: unbind it (its pair key retired through gw). */
void routes_peer_removed(struct routes *r, struct gateway *gw, struct wg_peer *peer);
char *routes_dump_json(struct routes *r, const char *what);

#endif
