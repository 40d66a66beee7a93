// SPDX-License-Identifier: MIT
/*
 * The paths one gateway uses, with hysteresis. Per destination:
 *
 * - no path in use: take the best one at once;
 * - the path in use has a link that is unusable now, or the policy no longer
 *   allows it (hop bound, residency, a gateway removed): leave it at once for
 *   the best one, or none;
 * - otherwise keep it, its cost re-evaluated, until at every update for
 *   hold_ns without interruption the best path beats it by both margins
 *   (cheaper by switch_margin of its cost and by switch_margin_ms); then move
 *   to the best path of that moment. The best path may change while the hold
 *   runs (two relays trading places); what must not stop is the advantage.
 *
 * Two paths are the same if their sequences of gateways are.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct route {
	struct topo_path path;
	bool in_use;
	bool pending;          /* a better path has been seen since... */
	uint64_t since;        /* ...this update */
};

struct topo_router {
	const struct topo *t;
	unsigned self;
	struct route *routes;  /* by destination id */
	struct topo_search *all;
	struct topo_search *zone; /* searches for destinations in self's zone */
};

struct topo_router *topo_router_new(const struct topo *t, uint16_t self)
{
	struct topo_router *r;

	if (!t || !topo_valid_id(t, self))
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->t = t;
	r->self = self;
	r->routes = calloc(t->n1, sizeof(*r->routes));
	r->all = topo_search_new(t->n1);
	r->zone = topo_search_new(t->n1);
	if (!r->routes || !r->all || !r->zone) {
		topo_router_free(r);
		return NULL;
	}
	return r;
}

void topo_router_free(struct topo_router *r)
{
	if (!r)
		return;
	topo_search_free(r->zone);
	topo_search_free(r->all);
	free(r->routes);
	free(r);
}

static bool same_path(const struct topo_path *a, const struct topo_path *b)
{
	if (a->hops != b->hops)
		return false;
	for (unsigned i = 0; i <= a->hops; i++)
		if (a->gw[i] != b->gw[i])
			return false;
	return true;
}

/* The cost of the path in use if it may still be used; < 0 if not. */
static double current_cost(const struct topo *t, const struct topo_params *q, const struct topo_path *path,
			   unsigned self, unsigned dst, bool in_zone)
{
	if (path->hops < 1 || path->hops > q->hop_limit || path->gw[0] != self || path->gw[path->hops] != dst)
		return -1;
	for (unsigned i = 0; i <= path->hops; i++) {
		if (!topo_present(t, path->gw[i]))
			return -1;
		if (in_zone && i > 0 && i < path->hops && !topo_same_zone(t, self, path->gw[i]))
			return -1;
	}
	return topo_path_cost_p(t, q->penalty, path);
}

/* noise: how much the two costs wander on their own (both paths' jitter). */
static bool better_by_margins(const struct topo_params *q, double best, double current, double noise)
{
	double gain = current - best;

	return gain > 0 && gain >= q->margin * current && gain >= q->margin_ms && gain > noise;
}

unsigned topo_router_update(struct topo_router *r, const struct topo_policy *p, uint64_t now_ns)
{
	const struct topo *t = r->t;
	const unsigned self = r->self;
	struct topo_params q;
	bool self_up = topo_present(t, self), zoned;
	unsigned changes = 0;

	topo_params_from(&q, p);
	zoned = self_up && q.residency && t->zone[self][0];
	if (self_up) {
		topo_search_run(t, r->all, self, q.hop_limit, q.penalty, false);
		if (zoned) {
			for (unsigned v = 1; v <= t->max; v++)
				r->zone->mask[v] = t->present[v] && topo_same_zone(t, self, v);
			topo_search_run(t, r->zone, self, q.hop_limit, q.penalty, true);
		}
	}

	for (unsigned d = 1; d <= t->max; d++) {
		struct route *rt = &r->routes[d];
		bool in_zone = zoned && r->zone->mask[d];
		struct topo_path best;
		bool have_best = false;
		double cur;

		if (self_up && d != self)
			have_best = topo_search_result(in_zone ? r->zone : r->all, d, &best);

		if (!rt->in_use) {
			rt->pending = false;
			if (have_best) {
				rt->path = best;
				rt->in_use = true;
				changes++;
			}
			continue;
		}

		cur = current_cost(t, &q, &rt->path, self, d, in_zone);
		if (cur < 0) {
			/* Dead or no longer allowed: now, with no hold. */
			rt->pending = false;
			rt->in_use = have_best;
			if (have_best)
				rt->path = best;
			changes++;
			continue;
		}
		rt->path.cost = cur;
		if (!have_best || same_path(&best, &rt->path) ||
		    !better_by_margins(&q, best.cost, cur,
				       topo_path_jitter(t, &best) + topo_path_jitter(t, &rt->path))) {
			rt->pending = false;
			continue;
		}
		if (!rt->pending) {
			rt->pending = true;
			rt->since = now_ns;
		}
		if (now_ns >= rt->since && now_ns - rt->since >= q.hold_ns) {
			rt->pending = false;
			rt->path = best;
			changes++;
		}
	}
	return changes;
}

bool topo_router_path(const struct topo_router *r, uint16_t dst, struct topo_path *out)
{
	if (!topo_valid_id(r->t, dst) || !r->routes[dst].in_use)
		return false;
	*out = r->routes[dst].path;
	return true;
}
