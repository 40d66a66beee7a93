// SPDX-License-Identifier: MIT
/* A registry snapshot and a link-state database into topology/ (topofeed.h). */
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

void topofeed_gateways(struct topofeed *f, struct topo *t, const struct reg_snapshot *s)
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
}

void topofeed_origin(struct topo *t, const struct reg_snapshot *s, const struct lsdb *db,
		     uint16_t origin)
{
	for (unsigned j = 0; j < s->ngateways; j++) {
		uint16_t to = s->gateways[j].id;
		const struct lsdb_link *l;

		if (to == origin)
			continue;
		if (!(l = lsdb_find(db, origin, to, NULL)))
			topo_remove_link(t, origin, to);
		else
			topofeed_link(t, origin, to, l->rtt_ms, l->loss, l->up, l->jitter_ms);
	}
}

void topofeed_lsdb(struct topo *t, const struct reg_snapshot *s, const struct lsdb *db, uint16_t own)
{
	for (unsigned i = 0; i < s->ngateways; i++)
		if (s->gateways[i].id != own)
			topofeed_origin(t, s, db, s->gateways[i].id);
}
