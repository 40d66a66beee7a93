// SPDX-License-Identifier: MIT
/*
 * Best paths from one source within a hop bound: Bellman-Ford limited to
 * hop_limit levels, level h relaxing only from the gateways that improved at
 * level h - 1 (the others' relaxations were done at an earlier level).
 *
 * Order: lower cost, then fewer hops, then the lexicographically smaller
 * sequence of gateway ids. Link costs are >= 0, so a walk that repeats a
 * gateway costs at least as much as the walk with the cycle cut out and has
 * more hops: it always loses, and every path found is loop-free. Floating
 * point addition is monotonic, so this holds to the last bit. With exact sums
 * (integral costs) the result is exactly the minimum of that order over all
 * simple paths within the bound.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct topo_search *topo_search_new(unsigned n1)
{
	struct topo_search *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->n1 = n1;
	s->cost = calloc(n1, sizeof(*s->cost));
	s->hops = calloc(n1, sizeof(*s->hops));
	s->path = calloc(n1, sizeof(*s->path));
	s->pred = calloc(n1, sizeof(*s->pred));
	s->changed = calloc(n1, sizeof(*s->changed));
	s->fr_id = calloc(n1, sizeof(*s->fr_id));
	s->fr_cost = calloc(n1, sizeof(*s->fr_cost));
	s->fr_path = calloc(n1, sizeof(*s->fr_path));
	s->mask = calloc(n1, sizeof(*s->mask));
	if (!s->cost || !s->hops || !s->path || !s->pred || !s->changed || !s->fr_id || !s->fr_cost ||
	    !s->fr_path || !s->mask) {
		topo_search_free(s);
		return NULL;
	}
	return s;
}

void topo_search_free(struct topo_search *s)
{
	if (!s)
		return;
	free(s->mask);
	free(s->fr_path);
	free(s->fr_cost);
	free(s->fr_id);
	free(s->changed);
	free(s->pred);
	free(s->path);
	free(s->hops);
	free(s->cost);
	free(s);
}

/* a < b over gw[1..n-1] (gw[0] is the source in both). */
static bool path_less(const uint16_t *a, const uint16_t *b, unsigned n)
{
	for (unsigned i = 1; i < n; i++)
		if (a[i] != b[i])
			return a[i] < b[i];
	return false;
}

/* Relax every link out of frontier entry f (gateway u, h - 1 hops). */
static inline __attribute__((always_inline)) void relax_row(const struct topo *t, struct topo_search *s,
							      unsigned src, unsigned f, unsigned h,
							      double penalty, bool masked)
{
	const unsigned u = s->fr_id[f];
	const double base = s->fr_cost[f];
	const size_t row = (size_t)t->slot[u] * (t->cap + 1);
	const uint8_t *ok = t->usable + row;
	const double *rtt = t->rtt_ms + row;
	const double *loss = t->loss + row;
	const uint8_t *mask = s->mask;
	double *cost = s->cost;
	uint16_t *pred = s->pred;

	for (unsigned k = 1; k <= t->nslots; k++) {
		const unsigned v = t->id_of[k];
		double c;

		if (!ok[k] || v == src)
			continue;
		if (masked && !mask[v])
			continue;
		c = base + topo_cost_of(rtt[k], loss[k], penalty);
		if (c < cost[v]) {
			if (!pred[v])
				s->changed[s->nchanged++] = (uint16_t)v;
			cost[v] = c;
			pred[v] = (uint16_t)(f + 1);
		} else if (c == cost[v] && pred[v] && path_less(s->fr_path[f], s->fr_path[pred[v] - 1], h)) {
			/* Same cost and hops (both found at this level). */
			pred[v] = (uint16_t)(f + 1);
		}
	}
}

void topo_search_run(const struct topo *t, struct topo_search *s, unsigned src, unsigned hop_limit,
		     double penalty, bool masked)
{
	const size_t row = (size_t)t->slot[src] * (t->cap + 1);

	for (unsigned v = 0; v < s->n1; v++)
		s->cost[v] = INFINITY;
	memset(s->hops, 0, s->n1 * sizeof(*s->hops));
	s->nchanged = 0;

	/* Level 1: the direct links. */
	for (unsigned k = 1; k <= t->nslots; k++) {
		const unsigned v = t->id_of[k];

		if (!t->usable[row + k] || v == src || (masked && !s->mask[v]))
			continue;
		s->cost[v] = topo_cost_of(t->rtt_ms[row + k], t->loss[row + k], penalty);
		s->hops[v] = 1;
		s->path[v][0] = (uint16_t)src;
		s->path[v][1] = (uint16_t)v;
		s->changed[s->nchanged++] = (uint16_t)v;
	}

	for (unsigned h = 2; h <= hop_limit; h++) {
		unsigned nf = 0;

		/* The relays of this level, as they were after the last one. */
		for (unsigned i = 0; i < s->nchanged; i++) {
			unsigned u = s->changed[i];

			s->fr_id[nf] = (uint16_t)u;
			s->fr_cost[nf] = s->cost[u];
			memcpy(s->fr_path[nf], s->path[u], h * sizeof(uint16_t));
			nf++;
		}
		if (!nf)
			break;
		s->nchanged = 0;
		for (unsigned f = 0; f < nf; f++) {
			if (masked)
				relax_row(t, s, src, f, h, penalty, true);
			else
				relax_row(t, s, src, f, h, penalty, false);
		}
		for (unsigned i = 0; i < s->nchanged; i++) {
			unsigned v = s->changed[i], f = s->pred[v] - 1u;

			memcpy(s->path[v], s->fr_path[f], h * sizeof(uint16_t));
			s->path[v][h] = (uint16_t)v;
			s->hops[v] = (uint8_t)h;
			s->pred[v] = 0;
		}
	}
}

bool topo_search_result(const struct topo_search *s, unsigned dst, struct topo_path *out)
{
	if (dst >= s->n1 || !s->hops[dst])
		return false;
	memset(out, 0, sizeof(*out));
	out->hops = s->hops[dst];
	memcpy(out->gw, s->path[dst], (out->hops + 1) * sizeof(uint16_t));
	out->cost = s->cost[dst];
	return true;
}
