// SPDX-License-Identifier: MIT
/* The link-state database (lsdb.h). */
#include <stdlib.h>
#include <string.h>

#include "lsdb.h"

int lsdb_put(struct lsdb *db, uint16_t origin, uint64_t seq, unsigned part, unsigned nparts,
	     const struct lsdb_link *links, unsigned n, uint64_t heard_ns, uint64_t lifetime_ns,
	     uint64_t now)
{
	struct lsdb_origin *o;
	struct lsdb_part *k;

	if (!origin || origin > REG_MAX_GATEWAY_ID || !nparts || nparts > LSA_PARTS_MAX ||
	    part >= nparts || n > LSA_LINKS_MAX)
		return -1;
	if (!(o = db->origin[origin]) && !(o = db->origin[origin] = calloc(1, sizeof(*o))))
		return -1;
	k = o->part[part];
	if (k && seq <= k->seq && now < k->expires_ns)
		return 0;
	if (!k && !(k = o->part[part] = calloc(1, sizeof(*k))))
		return -1;
	k->seq = seq;
	k->heard_ns = heard_ns;
	k->expires_ns = heard_ns + lifetime_ns;
	k->n = n;
	memcpy(k->link, links, n * sizeof(*links));
	if (k->expires_ns < db->next_expiry_ns)
		db->next_expiry_ns = k->expires_ns;
	for (unsigned p = nparts; p < LSA_PARTS_MAX; p++)
		if (o->part[p] && o->part[p]->seq < seq) {
			free(o->part[p]);
			o->part[p] = NULL;
		}
	o->nparts = nparts;
	return 1;
}

unsigned lsdb_expire(struct lsdb *db, uint64_t now, bool *gone)
{
	uint64_t next = UINT64_MAX;
	unsigned n = 0;

	if (db->expiry_known && now < db->next_expiry_ns)
		return 0;
	for (unsigned id = 1; id <= REG_MAX_GATEWAY_ID; id++) {
		struct lsdb_origin *o = db->origin[id];
		bool any = false;

		for (unsigned p = 0; o && p < LSA_PARTS_MAX; p++) {
			if (!o->part[p])
				continue;
			if (now < o->part[p]->expires_ns) {
				if (o->part[p]->expires_ns < next)
					next = o->part[p]->expires_ns;
				continue;
			}
			free(o->part[p]);
			o->part[p] = NULL;
			n++;
			if (gone)
				gone[id] = true;
		}
		for (unsigned p = 0; o && p < LSA_PARTS_MAX && !any; p++)
			any = o->part[p] != NULL;
		if (o && !any) {
			free(o);
			db->origin[id] = NULL;
		}
	}
	db->expiry_known = true;
	db->next_expiry_ns = next;
	return n;
}

static int cmp_to(const void *key, const void *elem)
{
	uint16_t a = *(const uint16_t *)key, b = ((const struct lsdb_link *)elem)->to;

	return a < b ? -1 : a > b;
}

const struct lsdb_link *lsdb_find(const struct lsdb *db, uint16_t from, uint16_t to,
				  const struct lsdb_part **part)
{
	const struct lsdb_origin *o = from && from <= REG_MAX_GATEWAY_ID ? db->origin[from] : NULL;

	for (unsigned p = 0; o && p < LSA_PARTS_MAX; p++) {
		const struct lsdb_part *k = o->part[p];
		const struct lsdb_link *l;

		if (!k || !k->n || to < k->link[0].to || to > k->link[k->n - 1].to)
			continue;
		if ((l = bsearch(&to, k->link, k->n, sizeof(*l), cmp_to))) {
			if (part)
				*part = k;
			return l;
		}
	}
	return NULL;
}

void lsdb_clear(struct lsdb *db)
{
	for (unsigned id = 1; id <= REG_MAX_GATEWAY_ID; id++) {
		for (unsigned p = 0; db->origin[id] && p < LSA_PARTS_MAX; p++)
			free(db->origin[id]->part[p]);
		free(db->origin[id]);
		db->origin[id] = NULL;
	}
	db->expiry_known = false;
}
