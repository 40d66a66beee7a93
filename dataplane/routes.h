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
struct rte_rcu_qsbr;

#define MAX_GATEWAYS 4096
#define PATH_VALID (1u << 31)

/* A path word: how to reach a gateway, swapped in one store. */
static inline uint32_t path_make(uint16_t via, uint8_t hops)
{
	return PATH_VALID | (uint32_t)via << 8 | hops;
}
static inline uint16_t path_via(uint32_t p) { return (uint16_t)(p >> 8); }
static inline uint8_t path_hops(uint32_t p) { return (uint8_t)p; }

/* A gateway of the mesh, by its id. */
struct gw_entry {
	_Atomic(struct wg_peer *) peer; /* its WireGuard peer, NULL until bound */
	_Atomic uint32_t path;          /* 0: direct */
	/* Its overlay addresses: the source of ICMP errors sent in its name. */
	struct in_addr overlay4;
	struct in6_addr overlay6;
	/* main lcore only */
	uint8_t public_key[WG_KEY_LEN];
	bool configured;
	char name[32];
};

struct routes;
struct routes *routes_new(struct rte_rcu_qsbr *qsbr, uint32_t host_routes, char *err,
			  size_t errlen);
void routes_free(struct routes *r);
/* Data path: the gateway owning an address, 0 if no route. */
uint16_t routes_lookup(const struct routes *r, sa_family_t family, const void *addr);
/* The same for n (at most 64) IPv4 addresses at once, network order: the hash
 * lookups of a burst overlap their cache misses. */
void routes_lookup4_bulk(const struct routes *r, const uint32_t *addr, unsigned n,
			 uint16_t *dst_gw);
struct gw_entry *routes_gateway(struct routes *r, uint16_t id);
uint16_t routes_self(const struct routes *r);
/* Main lcore: the control socket's route, nexthop and gateway commands;
 * replies with one JSON line into out. */
void routes_command(struct routes *r, struct gateway *gw, char *line, char *out, size_t outlen);
/* Main lcore, each tick: bind gateways to peers added since, publish IPv6. */
void routes_maintain(struct routes *r, struct gateway *gw);
/* tunnels/ removed a peer: unbind it. */
void routes_peer_removed(struct routes *r, struct wg_peer *peer);
char *routes_dump_json(struct routes *r, const char *what);

#endif
