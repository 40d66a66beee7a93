/* SPDX-License-Identifier: MIT */
/*
 * topology: the mesh as a graph and the paths through it. Pure: no I/O, no
 * clock of its own (time is a parameter); memory is allocated in
 * topo_new/topo_router_new and when a gateway set for the first time needs
 * room (topo_set_gateway), so the graph's size follows the mesh's.
 *
 * Gateways are numbered 1..max (the registry's gateway ids). Links are
 * directed (a->b measured by a); a path from src to dst is src, zero or more
 * relays, dst. A path is loop-free and within the hop bound by construction:
 * it is computed whole at the source, and relays forward straight to the next
 * gateway it names (with the default bound of 2 backbone hops, a relay always
 * forwards to the destination directly).
 */
#ifndef HOPMESH_TOPOLOGY_H
#define HOPMESH_TOPOLOGY_H

#include <stdbool.h>
#include <stdint.h>

#define TOPO_MAX_HOPS 8
#define TOPO_ZONE_LEN 16

struct topo_policy {
	unsigned hop_limit;        /* backbone hops a path may have (default 2) */
	double loss_penalty_ms;    /* cost of a link = rtt_ms + loss * loss_penalty_ms,
				    * loss in [0,1] (default 1000: 10% loss costs 100 ms) */
	double switch_margin;      /* a better path must be cheaper by this fraction... */
	double switch_margin_ms;   /* ...and by this many ms (defaults 0.1 and 5), and by
				    * the jitter of both paths (topo_set_link_jitter)... */
	uint64_t hold_ns;          /* ...for this long before traffic moves (default 2 s) */
	bool residency;            /* traffic between two gateways of one zone never
				    * transits a gateway outside it */
};
void topo_policy_default(struct topo_policy *p);

struct topo;
struct topo *topo_new(unsigned max_gateways);
void topo_free(struct topo *t);
/* Add or update a gateway; zone "" is none. Returns false if id is 0 or > max,
 * or if there is no memory for a gateway never set before. */
bool topo_set_gateway(struct topo *t, uint16_t id, const char *zone);
void topo_remove_gateway(struct topo *t, uint16_t id); /* and its links */
/* The measured link from a to b. A link never set, or set down, is unusable. */
bool topo_set_link(struct topo *t, uint16_t a, uint16_t b, double rtt_ms, double loss, bool up);
/* How much the link's RTT varies (ms, >= 0; 0 until set). A path must be
 * better than the one in use by more than both paths' jitter together, on top
 * of the policy's margins: noise in the figures compared moves no traffic. */
bool topo_set_link_jitter(struct topo *t, uint16_t a, uint16_t b, double jitter_ms);
void topo_remove_link(struct topo *t, uint16_t a, uint16_t b);
/* Mark the link a->b unusable, its figures kept (a relay said it cannot
 * reach b); the next topo_set_link() decides again. */
void topo_set_link_down(struct topo *t, uint16_t a, uint16_t b);
/* Cost of the link a->b under the policy; < 0 if it is unusable. */
double topo_link_cost(const struct topo *t, const struct topo_policy *p, uint16_t a, uint16_t b);

struct topo_path {
	uint16_t gw[TOPO_MAX_HOPS + 1]; /* gw[0] = src ... gw[hops] = dst */
	unsigned hops;                  /* backbone hops, 1 = direct */
	double cost;
};
/* The cheapest path from src to dst within the hop bound and the residency
 * policy; false if there is none. */
bool topo_best_path(const struct topo *t, const struct topo_policy *p, uint16_t src, uint16_t dst,
		    struct topo_path *out);
/* The cost of a given path now; < 0 if one of its links is unusable. */
double topo_path_cost(const struct topo *t, const struct topo_policy *p, const struct topo_path *path);

/* A router: the paths one gateway (self) uses, with hysteresis. The current
 * path to a destination is kept until another is better by the policy's
 * margins for hold_ns without interruption; a path with a dead link is left at
 * once (for the best usable one, or none). */
struct topo_router;
struct topo_router *topo_router_new(const struct topo *t, uint16_t self);
void topo_router_free(struct topo_router *r);
/* Recompute every destination at time now; returns how many paths changed. */
unsigned topo_router_update(struct topo_router *r, const struct topo_policy *p, uint64_t now_ns);
/* The path in use to dst; false if none (unreachable). */
bool topo_router_path(const struct topo_router *r, uint16_t dst, struct topo_path *out);

#endif
