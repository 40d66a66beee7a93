/* SPDX-License-Identifier: MIT */
/*
 * topology/ inside: the graph's storage and the path search shared by
 * topo_best_path() and the router. Not for use outside topology/.
 */
#ifndef HOPMESH_TOPOLOGY_INTERNAL_H
#define HOPMESH_TOPOLOGY_INTERNAL_H

#include <stddef.h>

#include "topology.h"

/* Inputs past these are refused (rtt) or clamped (penalty), so that a path's
 * cost, a sum of at most TOPO_MAX_HOPS link costs, is always finite. */
#define TOPO_RTT_MAX_MS 1e9
#define TOPO_PENALTY_MAX_MS 1e9

/* Scratch of one search from one source: every array has n1 entries (index =
 * gateway id). Allocated once (topo_new, topo_router_new), reused. */
struct topo_search {
	unsigned n1;
	double *cost;                          /* best cost so far; valid if hops */
	uint8_t *hops;                         /* 0: not reached */
	uint16_t (*path)[TOPO_MAX_HOPS + 1];   /* the best path: path[v][0..hops] */
	uint16_t *pred;                        /* 1 + frontier index, this level */
	uint16_t *changed;                     /* reached or improved this level */
	unsigned nchanged;
	/* The frontier: the gateways improved at the previous level, with the
	 * cost and path they had then (the relays of this level). */
	uint16_t *fr_id;
	double *fr_cost;
	uint16_t (*fr_path)[TOPO_MAX_HOPS + 1];
	uint8_t *mask;                         /* caller's: who may take part */
};

struct topo {
	unsigned max;
	unsigned n1;                           /* max + 1: the id-indexed arrays' size */
	uint8_t *present;
	char (*zone)[TOPO_ZONE_LEN];
	/* Each gateway ever set has a slot, 1..nslots (0: none), which indexes
	 * the link matrices: they grow with the gateways, not with max. */
	uint16_t *slot;                        /* by id, n1 */
	uint16_t *id_of;                       /* by slot, cap + 1 */
	unsigned nslots, cap;
	/* Links, row slot(a) column slot(b) (a->b), (cap + 1)^2 each; row and
	 * column 0 (no slot) are never usable. */
	uint8_t *usable;                       /* set, and up */
	double *rtt_ms;
	double *loss;
	double *jitter_ms;
	/* Scratch for topo_best_path() (which is why it is not reentrant on one
	 * topo; routers have their own). */
	struct topo_search *scratch;
};

/* The policy's figures made safe to compute with. */
struct topo_params {
	unsigned hop_limit;                    /* 1..TOPO_MAX_HOPS */
	double penalty;                        /* 0..TOPO_PENALTY_MAX_MS */
	double margin;                         /* >= 0 */
	double margin_ms;                      /* >= 0 */
	uint64_t hold_ns;
	bool residency;
};
void topo_params_from(struct topo_params *out, const struct topo_policy *p);

/* The cell of link a->b (ids). An id without a slot gives row or column 0,
 * which no link is ever set in. */
static inline size_t topo_idx(const struct topo *t, unsigned a, unsigned b)
{
	return (size_t)t->slot[a] * (t->cap + 1) + t->slot[b];
}

static inline bool topo_valid_id(const struct topo *t, unsigned id)
{
	return id >= 1 && id <= t->max;
}

static inline bool topo_present(const struct topo *t, unsigned id)
{
	return topo_valid_id(t, id) && t->present[id];
}

/* The one formula for a link's cost, so that a path's cost computed link by
 * link and the search's running sums agree to the last bit (the library is
 * built with -ffp-contract=off for the same reason). */
static inline double topo_cost_of(double rtt_ms, double loss, double penalty)
{
	return rtt_ms + loss * penalty;
}

/* Cost of a->b, < 0 if unusable. */
double topo_link_cost_p(const struct topo *t, double penalty, unsigned a, unsigned b);
/* Cost of a path, < 0 if it is malformed or a link is unusable. */
double topo_path_cost_p(const struct topo *t, double penalty, const struct topo_path *path);
/* The sum of the path's links' jitter (0 for links with none set). */
double topo_path_jitter(const struct topo *t, const struct topo_path *path);
/* Whether src and dst share a non-empty zone (so residency applies). */
bool topo_same_zone(const struct topo *t, unsigned a, unsigned b);

struct topo_search *topo_search_new(unsigned n1);
void topo_search_free(struct topo_search *s);
/* Best paths from src to every gateway within hop_limit backbone hops,
 * ordered by cost, then hops, then the sequence of gateway ids. With a mask
 * (s->mask, set by the caller, mask[src] set), only gateways in it are
 * relays or destinations. Results in s->cost/hops/path. */
void topo_search_run(const struct topo *t, struct topo_search *s, unsigned src, unsigned hop_limit,
		     double penalty, bool masked);
/* Copy the search's result for dst into out; false if dst was not reached. */
bool topo_search_result(const struct topo_search *s, unsigned dst, struct topo_path *out);

#endif
