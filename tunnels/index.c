// SPDX-License-Identifier: MIT
/*
 * Receiver indices. Every session and pending handshake has a 32-bit index that
 * the peer puts in front of its messages to us. We pick indices at random among
 * those whose low bits name a free slot, so a lookup is one load with no probing:
 * the data threads read slots without locks while the control thread writes them
 * (an entry is fully written before its pointer is published, and freed only
 * through wg_ops.retire after it is unpublished).
 */
#include <stdlib.h>

#include "wg.h"

#define INSERT_TRIES 64

bool wg_index_init(struct wg_index_table *t, unsigned bits)
{
	if (bits < 4 || bits > 24)
		return false;
	t->mask = (1u << bits) - 1;
	t->used = 0;
	t->slots = calloc((size_t)t->mask + 1, sizeof(*t->slots));
	return t->slots != NULL;
}

void wg_index_destroy(struct wg_index_table *t)
{
	free(t->slots);
	t->slots = NULL;
}

/* Fails only when the table is nearly full, which the caller treats like any
 * other reason a handshake cannot proceed. */
bool wg_index_insert(struct wg_index_table *t, struct wg_index_entry *e)
{
	uint32_t candidate;

	if (t->used * 4 > t->mask * 3)
		return false;
	for (int i = 0; i < INSERT_TRIES; i++) {
		wg_random(&candidate, sizeof(candidate));
		if (atomic_load_explicit(&t->slots[candidate & t->mask], memory_order_relaxed))
			continue;
		e->index = candidate;
		atomic_store_explicit(&t->slots[candidate & t->mask], e, memory_order_release);
		t->used++;
		return true;
	}
	return false;
}

/* A session takes over the index of the handshake that made it: the peer
 * already knows that number. */
void wg_index_replace(struct wg_index_table *t, struct wg_index_entry *old, struct wg_index_entry *e)
{
	_Atomic(struct wg_index_entry *) *slot = &t->slots[old->index & t->mask];

	if (atomic_load_explicit(slot, memory_order_relaxed) != old) {
		wg_index_insert(t, e);
		return;
	}
	e->index = old->index;
	atomic_store_explicit(slot, e, memory_order_release);
}

void wg_index_remove(struct wg_index_table *t, struct wg_index_entry *e)
{
	_Atomic(struct wg_index_entry *) *slot = &t->slots[e->index & t->mask];

	if (atomic_load_explicit(slot, memory_order_relaxed) != e)
		return;
	atomic_store_explicit(slot, NULL, memory_order_release);
	t->used--;
}

struct wg_index_entry *wg_index_lookup(const struct wg_index_table *t, uint32_t index, unsigned kinds)
{
	struct wg_index_entry *e =
		atomic_load_explicit(&t->slots[index & t->mask], memory_order_acquire);

	if (!e || e->index != index || !(e->kind & kinds))
		return NULL;
	return e;
}
