// SPDX-License-Identifier: MIT
/*
 * The mesh as a graph: gateways 1..max with their residency zone, and the
 * measured directed links between them, held in dense matrices over the
 * gateways set so far (the mesh is a full mesh): each gateway gets a slot
 * the first time it is set, and the matrices double when the slots run out,
 * so their size follows the mesh's, not the largest id. Link and path costs
 * under a policy.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void topo_policy_default(struct topo_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->hop_limit = 2;
	p->loss_penalty_ms = 1000;
	p->switch_margin = 0.1;
	p->switch_margin_ms = 5;
	p->hold_ns = 2000000000ULL;
	p->residency = false;
}

void topo_params_from(struct topo_params *out, const struct topo_policy *p)
{
	out->hop_limit = p->hop_limit < 1 ? 1 : p->hop_limit > TOPO_MAX_HOPS ? TOPO_MAX_HOPS : p->hop_limit;
	/* NaN and negative figures count as 0: a negative link cost would let a
	 * detour look cheaper than the path it leaves. */
	out->penalty = p->loss_penalty_ms >= 0 ? p->loss_penalty_ms : 0;
	if (out->penalty > TOPO_PENALTY_MAX_MS)
		out->penalty = TOPO_PENALTY_MAX_MS;
	out->margin = p->switch_margin >= 0 ? p->switch_margin : 0;
	out->margin_ms = p->switch_margin_ms >= 0 ? p->switch_margin_ms : 0;
	out->hold_ns = p->hold_ns;
	out->residency = p->residency;
}

#define FIRST_CAP 16u

/* Room for twice the slots (FIRST_CAP at first, max at most): the matrices
 * made again at the new stride, what they held copied row by row. */
static bool grow(struct topo *t)
{
	unsigned cap = t->cap ? 2 * t->cap : FIRST_CAP;
	size_t old = (size_t)t->cap + 1, now, cells;
	uint8_t *usable;
	double *rtt, *loss, *jitter;
	uint16_t *id_of;

	if (cap > t->max)
		cap = t->max;
	now = (size_t)cap + 1;
	cells = now * now;
	usable = calloc(cells, sizeof(*usable));
	rtt = calloc(cells, sizeof(*rtt));
	loss = calloc(cells, sizeof(*loss));
	jitter = calloc(cells, sizeof(*jitter));
	id_of = calloc(now, sizeof(*id_of));
	if (!usable || !rtt || !loss || !jitter || !id_of) {
		free(usable);
		free(rtt);
		free(loss);
		free(jitter);
		free(id_of);
		return false;
	}
	for (size_t r = 0; t->usable && r < old; r++) {
		memcpy(usable + r * now, t->usable + r * old, old * sizeof(*usable));
		memcpy(rtt + r * now, t->rtt_ms + r * old, old * sizeof(*rtt));
		memcpy(loss + r * now, t->loss + r * old, old * sizeof(*loss));
		memcpy(jitter + r * now, t->jitter_ms + r * old, old * sizeof(*jitter));
	}
	if (t->id_of)
		memcpy(id_of, t->id_of, old * sizeof(*id_of));
	free(t->usable);
	free(t->rtt_ms);
	free(t->loss);
	free(t->jitter_ms);
	free(t->id_of);
	t->usable = usable;
	t->rtt_ms = rtt;
	t->loss = loss;
	t->jitter_ms = jitter;
	t->id_of = id_of;
	t->cap = cap;
	return true;
}

struct topo *topo_new(unsigned max_gateways)
{
	struct topo *t;
	size_t n1;

	if (max_gateways < 1 || max_gateways > UINT16_MAX)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	n1 = (size_t)max_gateways + 1;
	t->max = max_gateways;
	t->n1 = (unsigned)n1;
	t->present = calloc(n1, sizeof(*t->present));
	t->zone = calloc(n1, sizeof(*t->zone));
	t->slot = calloc(n1, sizeof(*t->slot));
	t->scratch = topo_search_new(t->n1);
	if (!t->present || !t->zone || !t->slot || !t->scratch || !grow(t)) {
		topo_free(t);
		return NULL;
	}
	return t;
}

void topo_free(struct topo *t)
{
	if (!t)
		return;
	topo_search_free(t->scratch);
	free(t->loss);
	free(t->jitter_ms);
	free(t->rtt_ms);
	free(t->usable);
	free(t->id_of);
	free(t->slot);
	free(t->zone);
	free(t->present);
	free(t);
}

bool topo_set_gateway(struct topo *t, uint16_t id, const char *zone)
{
	size_t len;

	if (!topo_valid_id(t, id))
		return false;
	if (!zone)
		zone = "";
	len = strlen(zone);
	if (len >= TOPO_ZONE_LEN)
		return false; /* cut short, two zones could become one */
	if (!t->slot[id]) {
		if (t->nslots == t->cap && !grow(t))
			return false;
		t->slot[id] = (uint16_t)++t->nslots;
		t->id_of[t->nslots] = id;
	}
	memset(t->zone[id], 0, TOPO_ZONE_LEN);
	memcpy(t->zone[id], zone, len);
	t->present[id] = 1;
	return true;
}

void topo_remove_gateway(struct topo *t, uint16_t id)
{
	if (!topo_valid_id(t, id))
		return;
	t->present[id] = 0;
	memset(t->zone[id], 0, TOPO_ZONE_LEN);
	/* Its slot stays its own: a gateway that comes back takes it again. */
	for (unsigned s = 1; t->slot[id] && s <= t->nslots; s++) {
		t->usable[topo_idx(t, id, t->id_of[s])] = 0;
		t->usable[topo_idx(t, t->id_of[s], id)] = 0;
	}
}

bool topo_set_link(struct topo *t, uint16_t a, uint16_t b, double rtt_ms, double loss, bool up)
{
	size_t i;

	if (!topo_present(t, a) || !topo_present(t, b) || a == b)
		return false;
	if (!(rtt_ms >= 0 && rtt_ms <= TOPO_RTT_MAX_MS) || !(loss >= 0 && loss <= 1))
		return false;
	i = topo_idx(t, a, b);
	t->rtt_ms[i] = rtt_ms;
	t->loss[i] = loss;
	t->usable[i] = up;
	return true;
}

void topo_set_link_down(struct topo *t, uint16_t a, uint16_t b)
{
	if (topo_present(t, a) && topo_present(t, b) && a != b)
		t->usable[topo_idx(t, a, b)] = false;
}

bool topo_set_link_jitter(struct topo *t, uint16_t a, uint16_t b, double jitter_ms)
{
	if (!topo_present(t, a) || !topo_present(t, b) || a == b)
		return false;
	if (!(jitter_ms >= 0 && jitter_ms <= TOPO_RTT_MAX_MS))
		return false;
	t->jitter_ms[topo_idx(t, a, b)] = jitter_ms;
	return true;
}

double topo_path_jitter(const struct topo *t, const struct topo_path *path)
{
	double sum = 0;

	for (unsigned i = 0; i < path->hops && i < TOPO_MAX_HOPS; i++)
		if (topo_valid_id(t, path->gw[i]) && topo_valid_id(t, path->gw[i + 1]))
			sum += t->jitter_ms[topo_idx(t, path->gw[i], path->gw[i + 1])];
	return sum;
}

void topo_remove_link(struct topo *t, uint16_t a, uint16_t b)
{
	if (!topo_valid_id(t, a) || !topo_valid_id(t, b))
		return;
	t->usable[topo_idx(t, a, b)] = 0;
}

double topo_link_cost_p(const struct topo *t, double penalty, unsigned a, unsigned b)
{
	size_t i;

	if (!topo_valid_id(t, a) || !topo_valid_id(t, b))
		return -1;
	i = topo_idx(t, a, b);
	if (!t->usable[i])
		return -1;
	return topo_cost_of(t->rtt_ms[i], t->loss[i], penalty);
}

double topo_link_cost(const struct topo *t, const struct topo_policy *p, uint16_t a, uint16_t b)
{
	struct topo_params q;

	topo_params_from(&q, p);
	return topo_link_cost_p(t, q.penalty, a, b);
}

double topo_path_cost_p(const struct topo *t, double penalty, const struct topo_path *path)
{
	double sum = 0;

	if (path->hops < 1 || path->hops > TOPO_MAX_HOPS)
		return -1;
	for (unsigned i = 0; i < path->hops; i++) {
		double c = topo_link_cost_p(t, penalty, path->gw[i], path->gw[i + 1]);

		if (c < 0)
			return -1;
		sum += c;
	}
	return sum;
}

double topo_path_cost(const struct topo *t, const struct topo_policy *p, const struct topo_path *path)
{
	struct topo_params q;

	topo_params_from(&q, p);
	return topo_path_cost_p(t, q.penalty, path);
}

bool topo_same_zone(const struct topo *t, unsigned a, unsigned b)
{
	return t->zone[a][0] && strcmp(t->zone[a], t->zone[b]) == 0;
}

bool topo_best_path(const struct topo *t, const struct topo_policy *p, uint16_t src, uint16_t dst,
		    struct topo_path *out)
{
	struct topo_search *s = t->scratch;
	struct topo_params q;
	bool masked;

	if (!topo_present(t, src) || !topo_present(t, dst) || src == dst)
		return false;
	topo_params_from(&q, p);
	masked = q.residency && topo_same_zone(t, src, dst);
	if (masked)
		for (unsigned v = 1; v <= t->max; v++)
			s->mask[v] = t->present[v] && topo_same_zone(t, src, v);
	topo_search_run(t, s, src, q.hop_limit, q.penalty, masked);
	return topo_search_result(s, dst, out);
}
