// SPDX-License-Identifier: MIT
/* A registry snapshot into topology/ (topofeed.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topofeed.h"

void topofeed_policy(const struct reg_snapshot *s, struct topo_policy *p)
{
	topo_policy_default(p);
	p->hop_limit = s->policy.hop_limit < TOPOFEED_MAX_HOPS ? s->policy.hop_limit : TOPOFEED_MAX_HOPS;
	p->residency = s->policy.residency;
	p->loss_penalty_ms = s->policy.loss_penalty_ms;
}

bool topofeed_link(struct topo *t, uint16_t a, uint16_t b, double rtt_ms, double loss, bool up,
		   double jitter_ms)
{
	if (!topo_set_link(t, a, b, rtt_ms, loss, up)) {
		topo_remove_link(t, a, b);
		return false;
	}
	/* A jitter out of range leaves the last one: it only damps switching. */
	topo_set_link_jitter(t, a, b, jitter_ms);
	return true;
}

static int cmp_link(const void *a, const void *b)
{
	const struct reg_link *x = a, *y = b;
	int c = strcmp(x->from, y->from);

	return c ? c : strcmp(x->to, y->to);
}

/* A snapshot's links are sorted by FROM, TO (registry.h). */
static const struct reg_link *link_between(const struct reg_snapshot *s, const char *from, const char *to)
{
	struct reg_link key;

	snprintf(key.from, sizeof(key.from), "%s", from);
	snprintf(key.to, sizeof(key.to), "%s", to);
	return bsearch(&key, s->links, s->nlinks, sizeof(*s->links), cmp_link);
}

void topofeed_registry(struct topofeed *f, struct topo *t, const struct reg_snapshot *s, uint16_t own)
{
	bool now_present[REG_MAX_GATEWAY_ID + 1] = { false };

	for (unsigned i = 0; i < s->ngateways; i++) {
		topo_set_gateway(t, s->gateways[i].id, s->gateways[i].zone);
		now_present[s->gateways[i].id] = true;
	}
	for (unsigned id = 1; id <= REG_MAX_GATEWAY_ID; id++) {
		if (f->present[id] && !now_present[id])
			topo_remove_gateway(t, (uint16_t)id);
		f->present[id] = now_present[id];
	}
	/* Links between the gateways present: as published, or gone. */
	for (unsigned i = 0; i < s->ngateways; i++) {
		const struct reg_gateway *a = &s->gateways[i];

		if (a->id == own)
			continue;
		for (unsigned j = 0; j < s->ngateways; j++) {
			const struct reg_gateway *b = &s->gateways[j];
			const struct reg_link *l;

			if (a->id == b->id)
				continue;
			l = link_between(s, a->name, b->name);
			if (!l)
				topo_remove_link(t, a->id, b->id);
			else
				topofeed_link(t, a->id, b->id, l->rtt_ms, l->loss, l->up, l->jitter_ms);
		}
	}
}
