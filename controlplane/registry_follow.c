// SPDX-License-Identifier: MIT
/*
 * Changes applied to kept entries (registry_follow.h). Each change finds
 * its key by binary search over the kept entries (in key order, as etcd
 * ranges them), then:
 *
 *   put     an entry there: its value, read error and revisions replaced;
 *           none: a copy inserted at its place in the order
 *   delete  the entry there removed; none: nothing (a key outside what
 *           was read, or deleted twice)
 *
 * Work per change is a search and at most one move of the array's tail
 * (pointers only): proportional to the change, not to the record count,
 * but for that memmove.
 */
#include <stdlib.h>
#include <string.h>

#include "registry_follow.h"

static bool change_is_delete(const struct reg_entry *c)
{
	return !c->value && !c->read_error;
}

/* Where key is or would go in kept; *hit when it is there. */
static unsigned find(const struct reg_entries *kept, const char *key, bool *hit)
{
	unsigned lo = 0, hi = kept->n;

	*hit = false;
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		int c = strcmp(kept->v[mid].key, key);

		if (!c) {
			*hit = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void entry_free(struct reg_entry *e)
{
	free(e->where);
	free(e->key);
	free(e->value);
	free(e->read_error);
}

/* A deep copy of c's contents into e; -1 on no memory (e untouched). */
static int entry_copy(struct reg_entry *e, const struct reg_entry *c)
{
	struct reg_entry n = {
		.where = strdup(c->where),
		.key = strdup(c->key),
		.value = c->value ? strdup(c->value) : NULL,
		.read_error = c->read_error ? strdup(c->read_error) : NULL,
		.mod_revision = c->mod_revision,
		.create_revision = c->create_revision,
	};

	if (!n.where || !n.key || (c->value && !n.value) || (c->read_error && !n.read_error)) {
		entry_free(&n);
		return -1;
	}
	*e = n;
	return 0;
}

static int put(struct reg_entries *kept, const struct reg_entry *c)
{
	struct reg_entry n;
	bool hit;
	unsigned at = find(kept, c->key, &hit);

	if (entry_copy(&n, c) < 0)
		return -1;
	if (hit) {
		entry_free(&kept->v[at]);
		kept->v[at] = n;
		return 0;
	}
	if (kept->n == kept->cap) {
		unsigned cap = kept->cap ? kept->cap * 2 : 64;
		struct reg_entry *v = realloc(kept->v, cap * sizeof(*v));

		if (!v) {
			entry_free(&n);
			return -1;
		}
		kept->v = v;
		kept->cap = cap;
	}
	memmove(&kept->v[at + 1], &kept->v[at], (kept->n - at) * sizeof(*kept->v));
	kept->v[at] = n;
	kept->n++;
	return 0;
}

static void del(struct reg_entries *kept, const char *key)
{
	bool hit;
	unsigned at = find(kept, key, &hit);

	if (!hit)
		return;
	entry_free(&kept->v[at]);
	memmove(&kept->v[at], &kept->v[at + 1], (kept->n - at - 1) * sizeof(*kept->v));
	kept->n--;
}

int reg_follow_apply(struct reg_entries *kept, const struct reg_entries *changes)
{
	/* the revision kept holds before this batch: the writes of one etcd
	 * transaction share a revision, so the batch's own must not count */
	long long base = kept->revision;

	for (unsigned i = 0; i < changes->n; i++) {
		const struct reg_entry *c = &changes->v[i];

		/* a change the read already holds (it came while the read ran) */
		if (c->mod_revision && c->mod_revision <= base)
			continue;
		if (change_is_delete(c))
			del(kept, c->key);
		else if (put(kept, c) < 0)
			return -1;
		/* not the answer header's revision: a later answer may still bring
		 * changes below it, and those must not be passed over */
		if (c->mod_revision > kept->revision)
			kept->revision = c->mod_revision;
	}
	return 0;
}

bool reg_follow_ordered(const struct reg_entries *es)
{
	for (unsigned i = 1; i < es->n; i++)
		if (strcmp(es->v[i - 1].key, es->v[i].key) >= 0)
			return false;
	return true;
}
